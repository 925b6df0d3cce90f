// Level 4: Go's built-in collections. gc describes a string and a slice as
// structs and a map as a typedef to a pointer to runtime.hmap (or the Swiss
// table since Go 1.24); gccgo spells them differently.
package main

import (
	"fmt"
	"sort"
	"strings"
)

type Employee struct {
	Name  string
	Tags  []string
	Score [3]float32
}

type Directory struct {
	ByName  map[string]*Employee
	ByScore map[float32][]Employee
	Matrix  [2][3]int16
	Raw     []byte
}

func (d *Directory) add(e *Employee) {
	d.ByName[e.Name] = e
	d.ByScore[e.Score[0]] = append(d.ByScore[e.Score[0]], *e)
}

func names(d *Directory) []string {
	out := make([]string, 0, len(d.ByName))
	for n := range d.ByName {
		out = append(out, strings.ToUpper(n))
	}
	sort.Strings(out)
	return out
}

func main() {
	d := &Directory{ByName: map[string]*Employee{}, ByScore: map[float32][]Employee{}}
	d.add(&Employee{Name: "ada", Tags: []string{"x"}, Score: [3]float32{1, 2, 3}})
	d.add(&Employee{Name: "bob", Score: [3]float32{1}})
	d.Raw = []byte("raw")
	fmt.Println(names(d), len(d.ByScore[1]), d.Matrix[1][2], string(d.Raw))
}
