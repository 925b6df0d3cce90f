// Level 5: interfaces, methods and embedding. gc describes a non-empty
// interface as runtime.iface (itab + data), the empty one as runtime.eface,
// and marks embedded fields with DW_AT_go_embedded_field.
package main

import "fmt"

type Shape interface {
	Area() float64
	Name() string
}

type Named interface {
	Name() string
}

type Base struct{ ID int }

func (b Base) Name() string { return fmt.Sprintf("shape-%d", b.ID) }

type Square struct {
	Base
	Side float64
}

func (s *Square) Area() float64 { return s.Side * s.Side }

type Group struct {
	*Square
	Members []Shape
	Any     interface{}
	Label   Named
}

func describe(v interface{}) string {
	switch x := v.(type) {
	case Shape:
		return fmt.Sprintf("%s %.1f", x.Name(), x.Area())
	case fmt.Stringer:
		return x.String()
	default:
		return "?"
	}
}

func main() {
	sq := &Square{Base{7}, 2}
	g := Group{Square: sq, Members: []Shape{sq}, Any: 3, Label: sq}
	fmt.Println(describe(sq), len(g.Members), g.Label.Name(), g.Any)
}
