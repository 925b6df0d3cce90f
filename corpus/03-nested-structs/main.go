// Level 3: nested structs and pointers, including a self-referential struct.
// Every cycle here passes through a struct, which is what C has too, so every
// libbpf version must handle it.
package main

import "fmt"

type Point struct{ X, Y int32 }

type Rect struct {
	Min, Max Point
	Label    *string
}

type Node struct {
	Value int
	Next  *Node
	Box   *Rect
}

type Tree struct {
	Left, Right *Tree
	Parent      **Tree
	Payload     struct {
		Weight float64
		Flags  [4]bool
	}
}

func area(r *Rect) int32 { return (r.Max.X - r.Min.X) * (r.Max.Y - r.Min.Y) }

func length(n *Node) int {
	c := 0
	for ; n != nil; n = n.Next {
		c++
	}
	return c
}

func main() {
	name := "box"
	r := &Rect{Max: Point{3, 4}, Label: &name}
	list := &Node{Value: 1, Next: &Node{Value: 2, Box: r}}
	t := &Tree{}
	t.Left = &Tree{Parent: &t}
	fmt.Println(area(r), length(list), t.Left.Parent != nil, t.Payload.Weight)
}
