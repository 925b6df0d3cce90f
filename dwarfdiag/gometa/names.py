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
from dwarfdiag.gometa.layouts import (ARRAY, CHAN, FUNC, INTERFACE, MAP, POINTER, SLICE, STRUCT,
                                      UINTPTR)

CHAN_RECV, CHAN_SEND = 1, 2
MAX_DEPTH = 64


class Namer:
    """Linker names for the descriptors of one binary.

    A name is ``types.TypeSymName`` of cmd/compile: the type's LinkString
    (its parts spelled by theirs), prefixed ``noalg.`` where the compiler
    marked the type, or the part of it that decides its equality, as having no
    hash or equality functions (``types.TypeHasNoAlg``; #17752). The compiler
    marks its own types so: a closure's and a method value's context struct
    (``struct { F uintptr; ... }``, ``typecheck.ClosureType``,
    ``MethodValueType``), a map's bucket or group and the arrays and slot
    struct in it (``reflectdata``), and from Go 1.22 a pointer to a marked type
    (``types.NewPtr``). How a mark spreads to a type holding a marked part
    changed in Go 1.23 (an AlgKind ANOALG that outranks the others, where
    before only the first incomparable part counted): both are followed, by
    the binary's own Go version.
    """

    def __init__(self, descriptors: dict[int, Descriptor], swiss_maps: bool = True,
                 release: tuple[int, int] = (1, 27)):
        self.descriptors = descriptors
        self.release = release
        self._names: dict[int, str] = {}
        self._links: dict[int, str] = {}
        paths: dict[str, set[str]] = {}
        for d in descriptors.values():
            if d.named and d.pkgpath:
                paths.setdefault(_package_name(d.string), set()).add(d.pkgpath)
        # package name -> its path, where only one package of the binary has that name
        self._path_of = {name: next(iter(p)) for name, p in paths.items() if len(p) == 1}
        self._map_links: dict[int, str] = {}  # a map's bucket or group -> its LinkString
        self._marked: set[int] = set()  # marked noalg by the compiler
        self._find_map_internals(swiss_maps)
        self._noalg_memo: dict[int, bool] = {}

    def name(self, addr: int, depth: int = 0) -> str:
        """The linker's (and DWARF's) name of the type at ``addr``."""
        known = self._names.get(addr)
        if known is None:
            d = self.descriptors.get(addr)
            if d is None:
                known = "<unknown>"
            else:
                link = self.link_string(addr, depth)
                known = "noalg." + link if not d.named and self._has_noalg(d, 0) else link
            self._names[addr] = known
        return known

    def link_string(self, addr: int, depth: int = 0) -> str:
        """``types.LinkString``: the name without a ``noalg.`` of its own (a part of a
        type is always spelled so)."""
        known = self._links.get(addr)
        if known is None:
            d = self.descriptors.get(addr)
            known = "<unknown>" if d is None else self._name(d, depth)
            self._links[addr] = known
        return known

    def _find_map_internals(self, swiss_maps: bool) -> None:
        """A map's group (``map.group[K]V``; before Swiss tables its bucket,
        ``map.bucket[K]V``) and, marked noalg with it, the arrays and the key/elem
        slot struct inside it (``reflectdata.MapGroupType``, ``MapBucketType``)."""
        for m in self.descriptors.values():
            group = self.descriptors.get(m.group) if m.kind == MAP else None
            if group is None or group.kind != STRUCT:
                continue
            kind = "map.group" if swiss_maps else "map.bucket"
            self._map_links[group.address] = \
                f"{kind}[{self.link_string(m.key)}]{self.link_string(m.elem)}"
            self._marked.add(group.address)
            for f in group.fields:
                array = self.descriptors.get(f.type)
                if array is None or array.kind != ARRAY or f.name in ("ctrl", "topbits"):
                    continue
                self._marked.add(array.address)
                slot = self.descriptors.get(array.elem)
                if swiss_maps and f.name == "slots" and slot is not None and \
                        slot.kind == STRUCT and not slot.named:  # a group's key/elem slot
                    self._marked.add(slot.address)
        self._links.clear()  # (worked out above before the groups had their names)

    def _is_marked(self, d: Descriptor, depth: int) -> bool:
        """Did the compiler mark this type noalg itself (``Type.Noalg``)?"""
        if d.address in self._marked:
            return True
        if d.kind == STRUCT and not d.named and d.fields and \
                d.fields[0].name in ("F", ".F") and not d.fields[0].embedded:
            first = self.descriptors.get(d.fields[0].type)
            # a closure's or method value's context: the code pointer F first
            return first is not None and first.kind == UINTPTR and first.string == "uintptr"
        if d.kind == POINTER and self.release >= (1, 22) and depth < MAX_DEPTH:
            elem = self.descriptors.get(d.elem)  # types.NewPtr passes the mark on
            return elem is not None and self._is_marked(elem, depth + 1)
        return False

    def _has_noalg(self, d: Descriptor, depth: int) -> bool:
        """``types.TypeHasNoAlg`` of the binary's Go version."""
        known = self._noalg_memo.get(d.address)
        if known is None:
            if self.release >= (1, 23):
                known = self._alg_noalg(d, depth)
            else:
                incomparable, marked = self._first_incomparable(d, depth)
                known = incomparable and marked
            self._noalg_memo[d.address] = known
        return known

    def _parts(self, d: Descriptor) -> list[Descriptor] | None:
        """What decides the equality of an array or struct: its element, or its
        fields (a struct of one non-blank field is that field)."""
        if d.kind == ARRAY:
            elem = self.descriptors.get(d.elem)
            return [elem] if elem is not None else None
        if d.kind == STRUCT:
            fields = d.fields[:1] if len(d.fields) == 1 and d.fields[0].name != "_" \
                else d.fields
            parts = [self.descriptors.get(f.type) for f in fields]
            return None if None in parts else parts
        return None

    def _alg_noalg(self, d: Descriptor, depth: int) -> bool:
        """Go 1.23 on: ANOALG outranks every other AlgKind, so a type has it when it
        is marked or any part deciding its equality has it."""
        if self._is_marked(d, depth):
            return True
        if depth > MAX_DEPTH:
            return False
        parts = self._parts(d) or []
        return any(self._alg_noalg(p, depth + 1) for p in parts)

    def _first_incomparable(self, d: Descriptor, depth: int) -> tuple[bool, bool]:
        """Go 1.20 to 1.22's AlgType: is the type incomparable, and is the part that
        makes it so (the first one found) marked noalg?"""
        if self._is_marked(d, depth):
            return True, True
        if d.kind in (FUNC, MAP, SLICE):
            return True, False
        if depth > MAX_DEPTH or d.kind not in (ARRAY, STRUCT):
            return False, False
        for part in self._parts(d) or []:
            incomparable, marked = self._first_incomparable(part, depth + 1)
            if incomparable:
                return True, marked
        return False, False

    def _name(self, d: Descriptor, depth: int) -> str:
        """LinkString of ``d``, its parts by theirs."""
        group = self._map_links.get(d.address)
        if group is not None:
            return group
        if depth > MAX_DEPTH:
            return d.string
        if d.named:
            return self._qualified(d)
        n = lambda a: self.link_string(a, depth + 1)  # noqa: E731
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
                if f.name == ".F":  # Go 1.20-1.21's closure code pointer, printed as F
                    name = "F"  # (types.fldconv: "Hack for toolstash -cmp")
                else:
                    name = f.name if f.exported or not pkg else \
                        f"{link_prefix(pkg)}.{f.name}"
                if f.embedded and self._embeds_under_own_name(f):
                    text = n(f.type)
                elif f.embedded:  # through an alias: LinkString's "struct { Int = int }"
                    text = f"{name} = {n(f.type)}"
                else:
                    text = f"{name} {n(f.type)}"
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

    def _embeds_under_own_name(self, f) -> bool:
        """Is an embedded field named after its type (``struct { T }``, ``struct { *T }``)
        rather than after an alias of it (``type Int = int; struct { Int }``)? A generic
        type's arguments are not part of the name."""
        d = self.descriptors.get(f.type)
        if d is not None and d.kind == POINTER and not d.named:
            d = self.descriptors.get(d.elem)
        if d is None:
            return True
        local = d.string.split("[", 1)[0].rsplit(".", 1)[-1]
        return local == f.name

    def _signature(self, d: Descriptor, depth: int) -> str:
        n = lambda a: self.link_string(a, depth + 1)  # noqa: E731
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
