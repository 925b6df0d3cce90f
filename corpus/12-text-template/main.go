// Level 12: text/template. Its parser's lexer is the stateFn idiom, so the
// binary carries a recursive named func type without this program writing one.
package main

import (
	"os"
	"strings"
	"text/template"
)

type Item struct {
	Name  string
	Price float64
	Tags  []string
}

func main() {
	funcs := template.FuncMap{"upper": strings.ToUpper}
	t := template.Must(template.New("list").Funcs(funcs).Parse(
		"{{range .}}{{upper .Name}}: {{printf \"%.2f\" .Price}}{{range .Tags}} #{{.}}{{end}}\n{{end}}"))
	items := []Item{{"tea", 2.5, []string{"hot"}}, {"cake", 4, nil}}
	if err := t.Execute(os.Stdout, items); err != nil {
		panic(err)
	}
}
