"""Which subprograms pahole 1.32 encodes as a FUNC, and why it leaves the others out.

Read from pahole 1.32's output on gc, gccgo, cgo and gcc ``-O2`` code
(podman's sqlite): every rule below is checked against it by the tests
(``tests/test_usable.py``, ``tests/test_encoder.py``).

* **Symbols.** pahole files the ELF's STT_FUNC symbols under their name up
  to the first ``.``; gcc's ``.cold`` and ``.part.N`` pieces are not
  functions of their own and do not count. A subprogram is a candidate when
  exactly one symbol is filed under its name: the name itself, or a single
  clone (``foo.constprop.0``, ``foo.isra.0``). This leaves out every
  package-qualified Go function (its name has a dot), names defined twice
  (cgo's ``_cgo_panic``, when gcc emitted two) and gccgo's C ``main``.
* **Registers.** Parameters are taken in signature order (an inlined or cloned
  function's abstract DIE), each using one integer register slot, two for a
  9 to 16 byte value, whatever its class (so a double third parameter is
  "expected" in rdx and found in xmm0). Within the six System V slots (rdi,
  rsi, rdx, rcx, r8, r9), a parameter whose location starts with a register
  op (``DW_OP_regN``, ``DW_OP_bregN``) must name the slot's register; one
  whose location is a constant or another computed value was optimised, and
  so was a parameter with no location in a clone. Either leaves the function
  out: its BTF prototype would promise registers the code does not use.
"""

from __future__ import annotations

import re

from dwarfdiag.dwarf.constants import At, Tag
from dwarfdiag.dwarf.typegraph import Die, TypeGraph

SYSV_INTEGER_REGS = ("rdi", "rsi", "rdx", "rcx", "r8", "r9")
_PIECE = re.compile(r"\.(cold|part)(\.\d+)?")


def filed_symbols(graph: TypeGraph, names: set[str] | None = None) -> dict[str, list[str]]:
    """STT_FUNC symbols by the name up to the first dot, gcc's pieces left out; only
    those filed under ``names`` when given (a Go binary has 250k symbols, nearly all
    filed under a package's first word, which no candidate function is called)."""
    filed: dict[str, list[str]] = {}
    for symbol in graph.functions:
        stem, _, suffix = symbol.partition(".")
        if names is not None and stem not in names:
            continue
        if suffix and _PIECE.search("." + suffix):
            continue
        filed.setdefault(stem, []).append(symbol)
    return filed


def select_functions(graph: TypeGraph) -> tuple[dict[str, Die], dict[str, str]]:
    """The subprograms pahole encodes (name -> DIE), and those it leaves out with why."""
    # plain ints: this visits every DIE, and an IntEnum member costs a lookup each
    subprogram, at_name, at_declaration = int(Tag.subprogram), int(At.name), int(At.declaration)
    candidates = []
    for die in graph.dies.values():
        if die.tag != subprogram:
            continue
        name = die.attrs.get(at_name)
        if name and "." not in name:  # Go's package-qualified functions: no symbol
            candidates.append((name, die))  # pahole files as such
    filed = filed_symbols(graph, {name for name, _ in candidates})
    chosen: dict[str, Die] = {}
    skipped: dict[str, str] = {}
    for name, die in candidates:
        if die.attrs.get(at_declaration) or name in chosen or name in skipped:
            continue
        symbols = filed.get(name, [])
        if len(symbols) != 1:
            continue  # not a function pahole's symbol table knows as such: silently
        why = unexpected_register(graph, die)
        if why is None:
            chosen[name] = die
        else:
            skipped[name] = why
    return chosen, skipped


def _concrete(g, func):
    """The DIE that holds the code, and so the parameter locations, of ``func``.

    A function gcc inlined or cloned (``foo.constprop.0``) keeps its signature
    in an abstract DIE (DW_AT_inline, no address) and its locations in a
    concrete DIE that points back with DW_AT_abstract_origin; of those, the one
    whose parameters have locations (a ``.cold`` part has none).
    """
    if func.attrs.get(At.low_pc) is not None or func.attrs.get(At.ranges) is not None:
        return func
    index = g.memo.get("concrete_of")
    if index is None:
        index = g.memo["concrete_of"] = {}
        subprogram, at_origin = int(Tag.subprogram), int(At.abstract_origin)
        at_low_pc, at_ranges = int(At.low_pc), int(At.ranges)
        for d in g:
            if d.tag != subprogram:  # the cheap test first: this visits every DIE
                continue
            origin = d.attrs.get(at_origin)
            if origin is not None and (d.attrs.get(at_low_pc) or d.attrs.get(at_ranges)):
                index.setdefault(origin, []).append(d)
    candidates = index.get(func.offset, [])
    for c in candidates:
        if any(x.attrs.get(At.location) is not None for x in g.children(c)
               if x.tag == Tag.formal_parameter):
            return c
    return candidates[0] if candidates else func


def _first_op(g, func, param) -> tuple[int | None, bytes]:
    """The first DWARF expression op of the parameter's location (the first entry of a
    location list, as pahole reads it) and the expression."""
    from dwarfdiag.dwarf.locations import _loclist_expr

    value = param.attrs.get(At.location)
    if value is None:
        return None, b""
    expr = value if isinstance(value, bytes) else _loclist_expr(g, g.unit(func), value, None)
    return (expr[0], expr) if expr else (None, b"")


def _size_of(g, type_offset) -> int:
    t, depth = (g.die(type_offset) if type_offset is not None else None), 0
    while t is not None and depth < 32:
        if At.byte_size in t.attrs:
            return t.attrs[At.byte_size]
        t, depth = (g.die(t.type) if t.type is not None else None), depth + 1
    return 8


def unexpected_register(g: TypeGraph, func: Die) -> str | None:
    """Why pahole leaves the function at ``die_offset`` out, or None if it keeps it.

    (The module docstring states the rule.)
    """
    from dwarfdiag.dwarf.locations import _reg

    code = _concrete(g, func)
    clone = code is not func
    signature = [c for c in g.children(func) if c.tag == Tag.formal_parameter]
    located = {c.attrs.get(At.abstract_origin, c.offset): c for c in g.children(code)
               if c.tag == Tag.formal_parameter}
    slot = 0
    for param in signature:
        if slot >= len(SYSV_INTEGER_REGS):
            break
        name = param.name or "_"
        where = located.get(param.offset, None if clone else param)
        op, expr = _first_op(g, code, where) if where is not None else (None, b"")
        expected = SYSV_INTEGER_REGS[slot]
        if op is None:
            if clone:
                return f"parameter {slot + 1} ({name}) was optimised out of the clone"
        elif 0x50 <= op <= 0x6F or 0x70 <= op <= 0x8F or op in (0x90, 0x92):
            number = (op - 0x50 if op <= 0x6F else op - 0x70 if op <= 0x8F
                      else _uleb(expr, 1))
            if _reg(number) != expected:
                return (f"parameter {slot + 1} ({name}) is in {_reg(number)} at entry, "
                        f"not {expected}")
        elif op != 0x91:  # DW_OP_fbreg: a stack slot, which pahole does not question
            return (f"parameter {slot + 1} ({name}) was optimised (its location is the "
                    f"computed value DW_OP {op:#x})")
        slot += 2 if 8 < _size_of(g, param.type) <= 16 else 1
    return None


def _uleb(data: bytes, p: int) -> int:
    from dwarfdiag.dwarf.reader import uleb

    return uleb(data, p)[0]
