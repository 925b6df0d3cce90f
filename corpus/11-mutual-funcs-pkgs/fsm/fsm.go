// Package fsm holds two named func types that refer to each other. Go
// forbids import cycles, so the cross-package part of the cycle is closed in
// package main, whose Route type refers back to itself through fsm.Handler.
package fsm

type Conn struct {
	Buf   []byte
	State Handler
}

// Handler and Next are mutually recursive: neither passes through a struct.
type Handler func(*Conn) Next
type Next func(int) Handler

func Start(c *Conn) Next {
	return func(n int) Handler {
		if n > 2 {
			return nil
		}
		return Start
	}
}
