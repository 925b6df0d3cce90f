// Level 2: the program from the REDOCS25 talk that started dwarfdiag:
// pahole encodes its C twin, and the talk shows it encoding with Go too.
package main

import "fmt"

type Example struct {
	ID   int
	Name string
}

func maFonctionTest(e *Example) int {
	fmt.Printf("ID: %d, Name: %s\n", e.ID, e.Name)
	return 0
}

func main() {
	e := Example{ID: 1, Name: "BTF Example"}
	maFonctionTest(&e)
}
