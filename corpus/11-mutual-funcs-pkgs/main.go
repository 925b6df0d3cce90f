// Level 11: mutually recursive named func types across two packages.
package main

import (
	"fmt"

	"corpus.example/mutualfuncs/fsm"
)

// Route refers to itself through a func type of package fsm.
type Route func(fsm.Handler) Route

func route(h fsm.Handler) Route {
	if h == nil {
		return nil
	}
	return route
}

func main() {
	c := &fsm.Conn{State: fsm.Start}
	steps := 0
	for h := fsm.Handler(fsm.Start); h != nil && steps < 5; steps++ {
		next := h(c)
		h = next(steps)
	}
	fmt.Println(steps, route(fsm.Start) != nil)
}
