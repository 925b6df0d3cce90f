// Level 8: generics. gc names instantiated types with their type arguments
// (main.List[int]); a generic recursive type refers to its own instantiation.
// gccgo 12 has no generics, so this level is unsupported there.
package main

import "fmt"

type Number interface {
	~int | ~int64 | ~float64
}

type List[T any] struct {
	Head T
	Tail *List[T]
}

type Tree[K comparable, V any] struct {
	Key         K
	Val         V
	Left, Right *Tree[K, V]
	Visit       func(*Tree[K, V]) bool
}

type Pair[A, B any] struct {
	First  A
	Second B
}

func Sum[T Number](xs *List[T]) T {
	var s T
	for ; xs != nil; xs = xs.Tail {
		s += xs.Head
	}
	return s
}

func (t *Tree[K, V]) Walk(f func(*Tree[K, V]) bool) {
	if t == nil || !f(t) {
		return
	}
	t.Left.Walk(f)
	t.Right.Walk(f)
}

func main() {
	l := &List[int]{1, &List[int]{2, nil}}
	fl := &List[float64]{1.5, nil}
	t := &Tree[string, Pair[int, string]]{Key: "a", Left: &Tree[string, Pair[int, string]]{Key: "b"}}
	n := 0
	t.Walk(func(*Tree[string, Pair[int, string]]) bool { n++; return true })
	fmt.Println(Sum(l), Sum(fl), n)
}
