// Level 13: encoding/json and reflect, which pull in reflect's type
// descriptors (rtype, structType, funcType, ...) and json's encoder cache of
// func values.
package main

import (
	"encoding/json"
	"fmt"
	"reflect"
	"time"
)

type Address struct {
	Street string `json:"street"`
	City   string `json:"city,omitempty"`
}

type Person struct {
	Name     string            `json:"name"`
	Age      int               `json:"age"`
	Address  *Address          `json:"address,omitempty"`
	Friends  []*Person         `json:"friends"`
	Meta     map[string]interface{}   `json:"meta"`
	Birthday Date              `json:"birthday"`
	Extra    json.RawMessage   `json:"extra"`
	Labels   map[string]string `json:"-"`
}

type Date struct{ time.Time }

func (d Date) MarshalJSON() ([]byte, error) { return json.Marshal(d.Format("2006-01-02")) }

func fields(v interface{}) []string {
	var out []string
	t := reflect.TypeOf(v)
	for i := 0; i < t.NumField(); i++ {
		out = append(out, t.Field(i).Name+":"+t.Field(i).Type.Kind().String())
	}
	return out
}

func main() {
	p := Person{Name: "ada", Age: 36, Address: &Address{Street: "x"},
		Meta: map[string]interface{}{"k": 1.0}, Extra: json.RawMessage(`{}`)}
	p.Friends = []*Person{{Name: "bob"}}
	b, err := json.Marshal(p)
	if err != nil {
		panic(err)
	}
	var back map[string]interface{}
	_ = json.Unmarshal(b, &back)
	fmt.Println(len(b), len(back), fields(p)[0])
}
