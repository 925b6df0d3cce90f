// Level 6: func values. gc describes a func type as a DW_TAG_subroutine_type
// (a BTF FUNC_PROTO behind a pointer); gccgo describes a func value as a
// pointer to a __go_descriptor struct. Nothing here is recursive.
package main

import "fmt"

type Handler func(req string, n int) (string, error)

type Middleware func(Handler) Handler

type Server struct {
	OnRequest Handler
	Chain     []Middleware
	Hooks     map[string]func()
}

func logging(next Handler) Handler {
	return func(req string, n int) (string, error) {
		out, err := next(req, n+1)
		return "[" + out + "]", err
	}
}

func counter() func() int {
	c := 0
	return func() int { c++; return c }
}

func (s *Server) serve(req string) string {
	h := s.OnRequest
	for i := len(s.Chain) - 1; i >= 0; i-- {
		h = s.Chain[i](h)
	}
	out, _ := h(req, 0)
	return out
}

func main() {
	next := counter()
	s := &Server{
		OnRequest: func(req string, n int) (string, error) { return fmt.Sprint(req, n, next()), nil },
		Chain:     []Middleware{logging, logging},
		Hooks:     map[string]func(){"start": func() {}},
	}
	serve := s.serve // method value
	fmt.Println(serve("get"), next())
}
