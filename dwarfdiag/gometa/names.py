"""A descriptor's type name as gc's linker spells it, which is the DWARF name.

The runtime's own name of a type (``abi.Type.Str``, what reflect prints)
qualifies named types by package *name* (``v1.Pod``); the linker names the
type's symbol, and gc names its DWARF type, by package *path*
(``k8s.io/api/core/v1.Pod``): ``types.LinkString`` of cmd/compile. A named
type's path is its uncommon part's package path; an unnamed type's name is
built from its parts' names, as LinkString builds it (``*T``, ``[]T``,
``[N]T``, ``map[K]V``, ``chan T``, ``func(A, B) (C, D)``,
``struct { F T "tag" }``, ``interface { M() }``).

Type arguments of a generic named type are written by the runtime with
package names too; each is mapped back to the one path that package name has
among the binary's named types, and left as the runtime wrote it where the
name is ambiguous or unknown (the name only: no layout depends on it).
"""

from __future__ import annotations

import re

from dwarfdiag.gometa.descriptors import Descriptor, link_prefix
from dwarfdiag.gometa.layouts import ARRAY, CHAN, FUNC, INTERFACE, MAP, POINTER, SLICE, STRUCT

CHAN_RECV, CHAN_SEND = 1, 2
MAX_DEPTH = 64


class Namer:
    """Linker names for the descriptors of one binary."""

    def __init__(self, descriptors: dict[int, Descriptor], swiss_maps: bool = True):
        self.descriptors = descriptors
        self._names: dict[int, str] = {}
        paths: dict[str, set[str]] = {}
        for d in descriptors.values():
            if d.named and d.pkgpath:
                paths.setdefault(_package_name(d.string), set()).add(d.pkgpath)
        # package name -> its path, where only one package of the binary has that name
        self._path_of = {name: next(iter(p)) for name, p in paths.items() if len(p) == 1}
        self._noalg: dict[int, str] = {}
        self._noalg = self._map_internals(swiss_maps)

    def name(self, addr: int, depth: int = 0) -> str:
        known = self._names.get(addr)
        if known is None:
            d = self.descriptors.get(addr)
            known = "<unknown>" if d is None else self._name(d, depth)
            self._names[addr] = known
        return known

    def _map_internals(self, swiss_maps: bool) -> dict[int, str]:
        """The compiler's map internals, which the linker names ``noalg.*``: a map's
        group (``noalg.map.group[K]V``; before Swiss tables ``noalg.map.bucket[K]V``),
        and the arrays and slot struct inside it."""
        out: dict[int, str] = {}
        for m in self.descriptors.values():
            group = self.descriptors.get(m.group) if m.kind == MAP else None
            if group is None or group.kind != STRUCT:
                continue
            kv = f"[{self.name(m.key)}]{self.name(m.elem)}"
            out[group.address] = ("noalg.map.group" if swiss_maps else "noalg.map.bucket") + kv
            for f in group.fields:
                array = self.descriptors.get(f.type)
                if array is None or array.kind != ARRAY or f.name in ("ctrl", "topbits"):
                    continue
                out[array.address] = "noalg." + self.name(array.address)
                slot = self.descriptors.get(array.elem)
                if swiss_maps and f.name == "slots" and slot is not None and \
                        slot.kind == STRUCT and not slot.named:  # a group's key/elem slot
                    out[slot.address] = "noalg." + self.name(slot.address)
        self._names.clear()  # names worked out above may hold a renamed part
        return out

    def _name(self, d: Descriptor, depth: int) -> str:
        renamed = self._noalg.get(d.address)
        if renamed is not None:
            return renamed
        if depth > MAX_DEPTH:
            return d.string
        if d.named:
            return self._qualified(d)
        n = lambda a: self.name(a, depth + 1)  # noqa: E731
        if d.kind == POINTER:
            return "*" + n(d.elem)
        if d.kind == SLICE:
            return "[]" + n(d.elem)
        if d.kind == ARRAY:
            return f"[{d.length}]" + n(d.elem)
        if d.kind == MAP:
            return f"map[{n(d.key)}]{n(d.elem)}"
        if d.kind == CHAN:
            elem = n(d.elem)
            if d.chan_dir == CHAN_RECV:
                return "<-chan " + elem
            if d.chan_dir == CHAN_SEND:
                return "chan<- " + elem
            # chan (<-chan T): a receive-only element needs parentheses
            return "chan " + (f"({elem})" if elem.startswith("<-chan") else elem)
        if d.kind == FUNC:
            return "func" + self._signature(d, depth)
        if d.kind == STRUCT:
            if not d.fields:
                return "struct {}"
            parts = []
            for f in d.fields:
                pkg = f.pkgpath or d.kind_pkgpath
                name = f.name if f.exported or not pkg else f"{link_prefix(pkg)}.{f.name}"
                text = n(f.type) if f.embedded else f"{name} {n(f.type)}"
                if f.tag:
                    text += " " + _quote(f.tag)
                parts.append(text)
            return "struct { " + "; ".join(parts) + " }"
        if d.kind == INTERFACE:
            if not d.imethods:
                return "interface {}"
            methods = []
            for name, ftype in d.imethods:  # unexported ones qualified as they were read
                sig = self.descriptors.get(ftype)
                methods.append(name + (self._signature(sig, depth) if sig else "()"))
            return "interface { " + "; ".join(methods) + " }"
        return d.string

    def _signature(self, d: Descriptor, depth: int) -> str:
        n = lambda a: self.name(a, depth + 1)  # noqa: E731
        params = [n(p) for p in d.params]
        if d.variadic and params and params[-1].startswith("[]"):
            params[-1] = "..." + params[-1][2:]
        out = "(" + ", ".join(params) + ")"
        results = [n(r) for r in d.results]
        if len(results) == 1:
            out += " " + results[0]
        elif results:
            out += " (" + ", ".join(results) + ")"
        return out

    def _qualified(self, d: Descriptor) -> str:
        """``v1.Pod`` of package ``k8s.io/api/core/v1`` -> ``k8s.io/api/core/v1.Pod``."""
        text = d.string
        if not d.pkgpath or text.startswith(d.pkgpath + "."):
            return text  # a predeclared type (int, error, any ...), or go.shape.T
        local = text.split("[", 1)[0]
        prefix = _package_name(text)
        base = text[len(prefix) + 1:] if local.startswith(prefix + ".") else text
        if "[" in base:  # a generic instance: its type arguments' packages too
            head, _, args = base.partition("[")
            base = head + "[" + _QUALIFIER.sub(
                lambda m: link_prefix(self._path_of.get(m[1], m[1])) + ".", args)
        return f"{link_prefix(d.pkgpath)}.{base}"


_QUALIFIER = re.compile(r"(?<![\w./])([A-Za-z_]\w*)\.(?=[A-Za-z_])")



def _package_name(runtime_name: str) -> str:
    """The package name a runtime type name starts with (``v1.Pod`` -> ``v1``;
    the compiler's shape types are ``go.shape.T``)."""
    if runtime_name.startswith("go.shape."):
        return "go.shape"
    head = runtime_name.split("[", 1)[0]
    return head.split(".", 1)[0] if "." in head else ""


def _quote(text: str) -> str:
    """``strconv.Quote``: a Go double-quoted string literal."""
    out = ['"']
    for ch in text:
        code = ord(ch)
        if ch in '"\\':
            out.append("\\" + ch)
        elif ch == "\n":
            out.append("\\n")
        elif ch == "\t":
            out.append("\\t")
        elif ch == "\r":
            out.append("\\r")
        elif code < 0x20 or code == 0x7F:
            out.append(f"\\x{code:02x}")
        else:
            out.append(ch)
    out.append('"')
    return "".join(out)
