"""The shape of a Go type in DWARF: its Go kind and its representation class.

gc and gccgo represent the same Go type differently. A named func type is a
typedef of a ``DW_TAG_subroutine_type`` in gc, but a typedef of a pointer to
``__go_descriptor`` in gccgo; strings and slices are structs in both, with
other member names; interfaces, maps and chans are typedefs of (pointers
to) runtime structs. The *representation class* spells the DIE chain a type
goes through (``typedef>subroutine_type``); the *Go kind* comes from gc's
``DW_AT_go_kind`` where present, else from the spelling of the name.
"""

from __future__ import annotations

from dwarfdiag.dwarf.constants import At, Tag, tag_name
from dwarfdiag.dwarf.typegraph import Die, TypeGraph

# reflect.Kind numbering, which DW_AT_go_kind uses
GO_KINDS = {0: "invalid", 1: "bool", 2: "int", 3: "int8", 4: "int16", 5: "int32", 6: "int64", 7: "uint",
            8: "uint8", 9: "uint16", 10: "uint32", 11: "uint64", 12: "uintptr",
            13: "float32", 14: "float64", 15: "complex64", 16: "complex128", 17: "array",
            18: "chan", 19: "func", 20: "interface", 21: "map", 22: "pointer", 23: "slice",
            24: "string", 25: "struct", 26: "unsafe.Pointer"}
BASIC_NAMES = {name: name for name in GO_KINDS.values() if name not in (
    "invalid", "array", "chan", "func", "interface", "map", "pointer", "slice", "string", "struct")}
BASIC_NAMES.update({"byte": "uint8", "rune": "int32", "unsafe.Pointer": "unsafe.Pointer"})
FOLLOW = frozenset({int(Tag.typedef), int(Tag.pointer_type), int(Tag.const_type),
                    int(Tag.volatile_type)})
MAX_CHAIN = 6
# plain ints: an IntEnum member costs a class attribute lookup each time it is named
_TYPE, _GO_KIND, _TYPEDEF = int(At.type), int(At.go_kind), int(Tag.typedef)


def chain(g: TypeGraph, die: Die) -> list[Die]:
    """The DIE and the typedefs/pointers under it, down to the first other tag
    (memoised on the graph: kind, representation and depth all walk it)."""
    cache = g.memo_table("chain")
    found = cache.get(die.offset)
    if found is None:
        found = cache[die.offset] = _chain(g, die)
    return found


def _chain(g: TypeGraph, die: Die) -> list[Die]:
    out = [die]
    dies = g.dies
    last = die
    while last.tag in FOLLOW and len(out) < MAX_CHAIN:
        target = last.attrs.get(_TYPE)
        nxt = dies.get(target) if target else None
        if nxt is None or nxt in out:
            break
        out.append(nxt)
        last = nxt
    return out


def representation(g: TypeGraph, die: Die) -> str:
    # memoised on the graph: a diff asks for the same member types again and again
    cache = g.memo_table("representation")
    rep = cache.get(die.offset)
    if rep is None:
        rep = cache[die.offset] = _representation(g, die)
    return rep


def _representation(g: TypeGraph, die: Die) -> str:
    parts = []
    for d in chain(g, die):
        part = tag_name(d.tag)[len("DW_TAG_"):]
        if d is not die and d.name and d.tag in (Tag.structure_type, Tag.typedef):
            part += f" {d.name}"  # e.g. typedef>pointer_type>typedef __go_descriptor
        parts.append(part)
    return ">".join(parts)


def typedef_depth(g: TypeGraph, die: Die) -> int:
    return sum(1 for d in chain(g, die) if d.tag == _TYPEDEF)


def go_kind(g: TypeGraph, die: Die) -> str:
    for d in chain(g, die):
        k = d.attrs.get(_GO_KIND)
        if k is not None:
            return GO_KINDS.get(k, f"kind {k}")
    last = chain(g, die)[-1]
    if last.tag == Tag.base_type and last.name in BASIC_NAMES:
        return BASIC_NAMES[last.name]  # gccgo has no DW_AT_go_kind; its base types are named
    name = (die.name or "").lstrip(".")
    rep = representation(g, die)
    if "__go_descriptor" in rep or rep.endswith("subroutine_type"):
        return "func"
    for prefix, kind in (("[]", "slice"), ("map[", "map"), ("chan ", "chan"), ("<-chan", "chan"),
                         ("func(", "func"), ("*", "pointer"), ("[", "array"),
                         ("interface", "interface"), ("struct", "struct")):
        if name.startswith(prefix):
            return kind
    if name in ("string",):
        return "string"
    return {Tag.structure_type: "struct", Tag.base_type: "basic", Tag.array_type: "array",
            Tag.pointer_type: "pointer", Tag.subroutine_type: "func"}.get(last.tag, "other")
