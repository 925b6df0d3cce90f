// Level 15: cgo. The binary mixes DWARF from gcc (C types, DW_AT_producer
// "GNU C") with the Go compiler's, and Go sees C types as _Ctype_struct_*.
package main

/*
#include <stdint.h>
#include <string.h>

struct point { int32_t x, y; };
union value { int64_t i; double d; char s[8]; };
typedef int (*visit_fn)(struct point *, void *);

struct shape {
	struct point corners[4];
	union value tag;
	visit_fn visit;
	struct shape *next;
};

static int count_visit(struct point *p, void *ctx) { return p->x + p->y; }

static int walk(struct shape *s) {
	int sum = 0;
	for (; s; s = s->next)
		for (int i = 0; i < 4; i++)
			sum += s->visit ? s->visit(&s->corners[i], 0) : 0;
	return sum;
}

static void init_shape(struct shape *s) {
	memset(s, 0, sizeof *s);
	s->visit = count_visit;
	s->corners[1].x = 2;
	s->tag.d = 1.5;
}
*/
import "C"

import "fmt"

type GoShape struct {
	C     C.struct_shape
	Label string
}

func main() {
	var a, b GoShape
	C.init_shape(&a.C)
	C.init_shape(&b.C)
	a.C.next = &b.C
	fmt.Println(int(C.walk(&a.C)), a.Label)
}
