// Level 9: a recursive named func type, the state-machine idiom of
// text/template's lexer. In gc's DWARF the typedef stateFn points at a
// subroutine type whose result is stateFn again: a cycle of reference types
// that passes through no struct.
package main

import "fmt"

type lexer struct {
	input string
	pos   int
}

type stateFn func(*lexer) stateFn

func lexText(l *lexer) stateFn {
	if l.pos >= len(l.input) {
		return nil
	}
	l.pos++
	return lexText
}

func run(l *lexer) {
	for state := stateFn(lexText); state != nil; {
		state = state(l)
	}
}

func main() {
	l := &lexer{input: "abc"}
	run(l)
	fmt.Println(l.pos)
}
