// Level 10: named types that refer to themselves only through pointers and
// arrays. Neither cycle passes through a struct.
package main

import "fmt"

type P *P

type A [2]*A

func depth(p P) int {
	n := 0
	for p != nil && n < 10 {
		p = *p
		n++
	}
	return n
}

func fill(a *A) int {
	if a[0] == nil {
		return 0
	}
	return 1 + fill(a[0])
}

func main() {
	var p P
	p = &p
	var a, b A
	a[0] = &b
	fmt.Println(depth(p), fill(&a))
}
