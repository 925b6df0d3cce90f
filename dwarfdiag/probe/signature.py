"""A function signature the user gives, where the binary kept none.

A stripped Go binary keeps the signature of the methods reached through a
method table (their ``mtyp``); for every other function the linker kept only
the name, the code and the size of its argument area. ``--signature`` supplies
the rest, in Go's own syntax::

    func(s *v3rpc.kvServer, ctx context.Context, r *etcdserverpb.PutRequest) (*etcdserverpb.PutResponse, error)

A method's receiver is its first parameter. Parameter names are optional. Each
type is resolved against the binary's own types, by the name gc gives it
(``go.etcd.io/etcd/api/v3/etcdserverpb.PutRequest``) or by the runtime's
package-name spelling (``etcdserverpb.PutRequest``) where that names one type;
a pointer to a type the binary has is made here (pointers have no layout of
their own). A type the binary has no descriptor of is an error naming it, and
the parameters must fill the function's argument area exactly as the pclntab
records it (``_func.args``: the parameters' stack area under ABI0 rules), so a
wrong signature is refused rather than probed.
"""

from __future__ import annotations

import re

from dwarfdiag.dwarf.constants import At, Tag
from dwarfdiag.dwarf.typegraph import Die, TypeGraph
from dwarfdiag.errors import BadInputError, NotFoundError
from dwarfdiag.probe import abi

PTR_SIZE = 8
ARGS_SIZE_UNKNOWN = -0x80000000
_NAMED = {Tag.typedef, Tag.structure_type, Tag.base_type, Tag.pointer_type,
          Tag.subroutine_type, Tag.array_type, Tag.union_type}


def split_top(text: str) -> list[str]:
    """``text`` split at the commas outside brackets, parentheses and braces."""
    out, depth, start = [], 0, 0
    for i, ch in enumerate(text):
        if ch in "([{":
            depth += 1
        elif ch in ")]}":
            depth -= 1
        elif ch == "," and depth == 0:
            out.append(text[start:i].strip())
            start = i + 1
    tail = text[start:].strip()
    if tail:
        out.append(tail)
    return out


def _closing(text: str, at: int) -> int:
    depth = 0
    for i in range(at, len(text)):
        if text[i] == "(":
            depth += 1
        elif text[i] == ")":
            depth -= 1
            if depth == 0:
                return i
    raise BadInputError(f"--signature {text!r}: unbalanced parentheses")


def parse_signature(text: str) -> tuple[list[tuple[str | None, str]], list[str]]:
    """``func(PARAMS) RESULTS`` -> ([(name or None, type)], [result type])."""
    text = text.strip()
    if not text.startswith("func("):
        raise BadInputError(f"--signature {text!r}: write it as Go does, "
                            f"func(NAME TYPE, ...) RESULTS")
    close = _closing(text, 4)
    params = _fields(split_top(text[5:close]), text)
    rest = text[close + 1:].strip()
    if rest.startswith("("):
        results = [t for _, t in _fields(split_top(rest[1:_closing(rest, 0)]), text)]
    else:
        results = [rest] if rest else []
    return params, results


def _fields(parts: list[str], whole: str) -> list[tuple[str | None, str]]:
    """Go's parameter list: ``a, b int, c string`` or ``int, string``."""
    named = any(re.match(r"^[A-Za-z_]\w*\s+\S", p) for p in parts)
    out: list[tuple[str | None, str]] = []
    pending: list[str] = []
    for part in parts:
        m = re.match(r"^([A-Za-z_]\w*)\s+(.+)$", part)
        if named and m:
            for name in pending:
                out.append((name, m[2].strip()))
            pending = []
            out.append((m[1], m[2].strip()))
        elif named and re.fullmatch(r"[A-Za-z_]\w*", part):
            pending.append(part)  # a, b int: this name takes the next type
        elif named:
            raise BadInputError(f"--signature {whole!r}: {part!r} has no name, and the "
                                f"others do")
        else:
            out.append((None, part))
    if pending:
        raise BadInputError(f"--signature {whole!r}: {', '.join(pending)} have no type")
    return out


class Resolver:
    """Type expressions -> DIEs of a graph (made here for pointers)."""

    def __init__(self, g: TypeGraph):
        self.g = g
        self.by_name: dict[str, Die] = {}
        short: dict[str, list[Die]] = {}
        for d in g:
            if d.name and d.tag in _NAMED and d.parent == g.cus[0].offset:
                # the typedef gc puts in front of a named type is what refers to it
                if d.name not in self.by_name or d.tag == Tag.typedef:
                    self.by_name[d.name] = d
                m = re.match(r"^(?:[\w.-]+/)*([\w-]+\.\w+.*)$", d.name)
                if m and m[1] != d.name:
                    short.setdefault(m[1], []).append(d)
        self.short = short

    def resolve(self, text: str, whole: str) -> int:
        text = text.strip()
        found = self.by_name.get(text)
        if found is not None:
            return found.offset
        if text.startswith("..."):
            return self.resolve("[]" + text[3:], whole)
        if text.startswith("*"):
            target = self.resolve(text[1:], whole)
            name = "*" + (self.g.die(target).name or text[1:])
            known = self.by_name.get(name)
            if known is not None:
                return known.offset
            return self._pointer(name, target)
        candidates = {d.name for d in self.short.get(text, [])}
        if len(candidates) == 1:
            return self.by_name[candidates.pop()].offset
        if candidates:
            raise BadInputError(f"--signature {whole!r}: {text} names "
                                f"{len(candidates)} types: {', '.join(sorted(candidates)[:4])}; "
                                f"write the whole import path")
        raise NotFoundError(f"--signature {whole!r}: the binary has no type {text} (no "
                            f"descriptor of it survived, or it is spelled otherwise); a debug "
                            f"file or an unstripped build has every type")

    def _pointer(self, name: str, target: int) -> int:
        g = self.g
        offset = max(g.dies) + 1
        die = Die(offset, int(Tag.pointer_type), g.cus[0].offset, 0,
                  {int(At.name): name, int(At.type): target})
        g.dies[offset] = die
        self.by_name[name] = die
        return offset


def apply_signature(g: TypeGraph, name: str, entry: int, end: int, args: int,
                    text: str) -> Die:
    """A subprogram DIE for the function at ``entry`` with the signature ``text``,
    added to ``g``; its parameters must fill the argument area of ``args`` bytes."""
    params, results = parse_signature(text)
    resolver = Resolver(g)
    param_types = [resolver.resolve(t, text) for _, t in params]
    result_types = [resolver.resolve(t, text) for t in results]
    if args != ARGS_SIZE_UNKNOWN:
        area = 0
        for t in param_types:
            die = g.die(t)
            align = max(abi.align_of(g, die), 1)
            area = (area + align - 1) // align * align + abi.size_of(g, die)
        area = (area + PTR_SIZE - 1) // PTR_SIZE * PTR_SIZE
        if area != args:
            raise BadInputError(f"--signature {text!r}: its parameters take {area} bytes of "
                                f"arguments, and {name}'s argument area is {args} bytes (the "
                                f"pclntab); the signature is not this function's")
    base = max(g.dies) + 1
    fn = Die(base, int(Tag.subprogram), g.cus[0].offset, 0,
             {int(At.name): name, int(At.low_pc): entry, int(At.high_pc): end})
    g.dies[base] = fn
    children = []
    for i, ((pname, _), t) in enumerate(zip(params, param_types)):
        d = Die(base + 1 + i, int(Tag.formal_parameter), base, 0,
                {int(At.name): pname or f"~p{i}", int(At.type): t})
        g.dies[d.offset] = d
        children.append(d.offset)
    for i, t in enumerate(result_types):
        d = Die(base + 1 + len(params) + i, int(Tag.formal_parameter), base, 0,
                {int(At.name): f"~r{i}", int(At.type): t, int(At.variable_parameter): True})
        g.dies[d.offset] = d
        children.append(d.offset)
    fn.children = children
    g.memo.clear()
    return fn
