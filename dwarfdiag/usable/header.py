"""A C header of chosen Go types, which compiles and asserts its own layout.

What ``bpftool btf dump ... format c`` (libbpf's ``btf_dump.c``) does for the
kernel, done for Go. It starts from the kernel profile of the final BTF
(:mod:`dwarfdiag.usable.kernel`: C names, pointer-sized func values) with
every reference-only cycle already routed through a struct (``compat``):
C cannot declare a typedef that refers to itself, but it can always
forward-declare a struct. Then, as ``btf_dump.c`` does, it orders the
definitions so that each comes after what it needs:

* a struct or union needs the complete definition of every type it holds by
  value (through typedefs, arrays and qualifiers); what it only points to
  needs a forward declaration, which every struct and union gets up front;
* a typedef needs what its declarator needs: the element of an array
  completely, a pointee only declared;
* enums are always defined (ISO C has no forward-declared enums).

With ``--type`` only the chosen types are defined, with the types they hold
by value; the types they point to are only declared, which keeps a header of
one kubeadm struct to a page. Each definition is preceded by
``/* go: <the Go name> */`` and each struct or union is followed by
``_Static_assert``s of its size and of every member's offset, with the
values taken from the DWARF (or from the BTF where no DIE backs a type, as
for the structs that break cycles). Members keep their BTF offsets exactly:
gaps are filled with explicit padding, and a struct whose members would sit
later than C's natural alignment puts them is packed. The header has its own
include guard, no ``__VMLINUX_H__``, and no name that ``vmlinux.h`` defines,
so it can follow it.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from dwarfdiag.btf.model import Btf, BtfKind, BtfType
from dwarfdiag.dwarf.constants import At, Tag
from dwarfdiag.dwarf.typegraph import TypeGraph
from dwarfdiag.errors import NotFoundError

K = BtfKind
COMPOSITE = (K.STRUCT, K.UNION)
QUALIFIERS = {K.CONST: "const", K.VOLATILE: "volatile", K.RESTRICT: "restrict"}
NAMED = (K.TYPEDEF, K.STRUCT, K.UNION, K.ENUM, K.ENUM64, K.FWD, K.INT, K.FLOAT)


def _c_base(t: BtfType, size: int) -> str:
    """The C type an INT or FLOAT becomes."""
    if t.kind == K.FLOAT:
        return {4: "float", 8: "double", 16: "long double"}.get(size, "double")
    if t.int_encoding & 4:  # BTF_INT_BOOL
        return "_Bool"
    signed = bool(t.int_encoding & 1)
    base = {1: "char", 2: "short", 4: "int", 8: "long long", 16: "__int128"}.get(size, "char")
    return f"{'signed' if signed else 'unsigned'} {base}"


def anonymous_name(type_id: int) -> str:
    """The tag the header gives an anonymous struct, union or enum."""
    return f"__anon_{type_id}"


@dataclass
class Header:
    text: str
    types: int  # definitions emitted
    declared: int  # structs and unions only declared
    asserts: int


@dataclass
class _Emitter:
    btf: Btf
    go_names: dict[str, str]  # C name -> Go name
    provenance: dict[int, dict]
    graph: TypeGraph | None
    out: list[str] = field(default_factory=list)
    defined: set[int] = field(default_factory=set)
    declared: set[int] = field(default_factory=set)
    visiting: set[int] = field(default_factory=set)
    asserts: int = 0
    anon: dict[int, str] = field(default_factory=dict)
    mentioned: set[int] = field(default_factory=set)  # structs, unions and fwds named

    # --- names and declarators -------------------------------------------------
    def t(self, type_id: int) -> BtfType | None:
        return self.btf.type_by_id(type_id) if type_id else None

    def name(self, type_id: int) -> str:
        t = self.t(type_id)
        name = self.btf.name_of(t) if t is not None else ""
        if not name:
            name = self.anon.setdefault(type_id, anonymous_name(type_id))
        return name

    def spell(self, type_id: int) -> str:
        """How a named type is written: ``struct x``, ``union y``, ``enum z``, ``x``."""
        t = self.t(type_id)
        if t is None:
            return "void"
        prefix = {K.STRUCT: "struct ", K.UNION: "union ", K.ENUM: "enum ", K.ENUM64: "enum ",
                  K.FWD: "union " if t.kflag else "struct "}.get(t.kind, "")
        if t.kind in (*COMPOSITE, K.FWD):
            self.mentioned.add(type_id)
        return prefix + self.name(type_id)

    def decl(self, type_id: int, inner: str) -> str:
        """The C declarator of ``inner`` (a name, maybe empty) as type ``type_id``."""
        t = self.t(type_id)
        if t is None:
            return f"void {inner}".rstrip()
        k = t.kind
        if k in NAMED:
            return f"{self.spell(type_id)} {inner}".rstrip()
        if k == K.PTR:
            target = self.t(t.type)
            star = f"*{inner}"
            if target is not None and target.kind in (K.ARRAY, K.FUNC_PROTO):
                star = f"({star})"
            return self.decl(t.type, star)
        if k == K.ARRAY:
            return self.decl(t.array.type, f"{inner}[{t.array.nelems}]")
        if k in QUALIFIERS:
            return self.decl(t.type, f"{QUALIFIERS[k]} {inner}".rstrip())
        if k == K.FUNC_PROTO:
            params = [self.decl(p.type, self.btf.str_at(p.name_off)) if p.type else "..."
                      for p in t.params]
            return self.decl(t.type, f"{inner}({', '.join(params) or 'void'})")
        if k == K.TYPE_TAG:
            return self.decl(t.type, inner)
        return f"void {inner}".rstrip()  # FUNC, VAR, DATASEC, DECL_TAG: not types

    # --- sizes and alignment, as C lays them out ---------------------------------
    def size(self, type_id: int) -> int:
        t = self.t(type_id)
        if t is None or t.kind == K.FUNC_PROTO:
            return 0
        if t.kind in (K.INT, K.FLOAT, K.STRUCT, K.UNION, K.ENUM, K.ENUM64):
            return t.size
        if t.kind == K.PTR:
            return 8
        if t.kind == K.ARRAY:
            return t.array.nelems * self.size(t.array.type)
        return self.size(t.type) if t.kind in (K.TYPEDEF, *QUALIFIERS, K.TYPE_TAG) else 0

    def align(self, type_id: int) -> int:
        t = self.t(type_id)
        if t is None:
            return 1
        if t.kind in (K.INT, K.FLOAT, K.ENUM, K.ENUM64):
            return max(1, min(t.size, 16))
        if t.kind == K.PTR:
            return 8
        if t.kind == K.ARRAY:
            return self.align(t.array.type)
        if t.kind in COMPOSITE:
            return self.struct_align(type_id)
        return self.align(t.type) if t.kind in (K.TYPEDEF, *QUALIFIERS, K.TYPE_TAG) else 1

    def struct_align(self, type_id: int) -> int:
        t = self.t(type_id)
        return max([self.align(m.type) for m in t.members] or [1])

    # --- what needs what -----------------------------------------------------------
    def by_value(self, type_id: int) -> list[int]:
        """The struct, union and enum ids a declarator of ``type_id`` needs complete."""
        t = self.t(type_id)
        if t is None:
            return []
        k = t.kind
        if k in (*COMPOSITE, K.ENUM, K.ENUM64):
            return [type_id]
        if k == K.TYPEDEF:  # the typedef itself, and complete what it names
            return [type_id, *self.by_value(t.type)]
        if k == K.ARRAY:
            return self.by_value(t.array.type)
        if k in QUALIFIERS or k == K.TYPE_TAG:
            return self.by_value(t.type)
        if k == K.PTR:
            return self.declared_only(t.type)
        if k == K.FUNC_PROTO:
            return [i for p in t.params for i in self.declared_only(p.type)] + \
                self.declared_only(t.type)
        return []

    def declared_only(self, type_id: int) -> list[int]:
        """What a pointer to ``type_id`` needs: typedefs and enums emitted; structs and
        unions are all forward-declared up front."""
        t = self.t(type_id)
        if t is None or t.kind in (*COMPOSITE, K.FWD):
            return []
        if t.kind in (K.TYPEDEF, K.ENUM, K.ENUM64):
            return [type_id]
        if t.kind in (K.PTR, K.ARRAY, *QUALIFIERS, K.TYPE_TAG, K.FUNC_PROTO):
            return self.by_value(type_id) if t.kind != K.PTR else self.declared_only(t.type)
        return []

    # --- emitting -----------------------------------------------------------------
    def go_comment(self, type_id: int) -> str:
        c_name = self.name(type_id)
        t = self.t(type_id)
        unnamed = t is None or not self.btf.name_of(t)
        go = self.go_names.get(c_name) or self.provenance.get(type_id, {}).get("go_name") \
            or ("(anonymous)" if unnamed else c_name)
        return f"/* go: {_comment_safe(go)} */"

    def emit(self, type_id: int, complete: bool = True) -> None:
        """Emit ``type_id`` (and first what it needs); structs only when ``complete``."""
        t = self.t(type_id)
        if t is None or type_id in self.defined or type_id in self.visiting:
            return
        if t.kind in COMPOSITE and not complete:
            return  # forward-declared already
        if t.kind not in (K.TYPEDEF, *COMPOSITE, K.ENUM, K.ENUM64, K.INT, K.FLOAT):
            for need in self.by_value(type_id):
                self.emit(need, True)
            return
        self.visiting.add(type_id)
        if t.kind in (K.INT, K.FLOAT):
            self.defined.add(type_id)
            self.visiting.discard(type_id)
            return  # base types are all emitted at the top
        if t.kind == K.TYPEDEF:
            target = self.t(t.type)
            needs = self.declared_only(t.type) if target is not None and \
                target.kind in COMPOSITE else self.by_value(t.type)
            for need in needs:
                self.emit(need, target is None or target.kind not in COMPOSITE)
            self.out.append(self.go_comment(type_id))
            self.out.append(f"typedef {self.decl(t.type, self.name(type_id))};\n")
        elif t.kind in (K.ENUM, K.ENUM64):
            self.out.append(self.go_comment(type_id))
            values = ",\n".join(f"\t{self.btf.str_at(v.name_off)} = "
                                f"{_enum_value(v.val, t)}" for v in t.values)
            self.out.append(f"enum {self.name(type_id)} {{\n{values}\n}};\n")
        else:
            for m in t.members:
                for need in self.by_value(m.type):
                    self.emit(need, True)
            self.out.append(self.go_comment(type_id))
            self.out.append(self.struct_text(type_id, t))
            self.out.extend(self.struct_asserts(type_id, t))
        self.visiting.discard(type_id)
        self.defined.add(type_id)

    def _needs_packing(self, t: BtfType) -> bool:
        """Would C's natural alignment put some member later than its BTF offset?"""
        offset = 0
        for m in t.members:
            if m.bitfield_size(t.kflag):
                offset = max(offset, (m.bit_offset(t.kflag) + m.bitfield_size(t.kflag) + 7) // 8)
                continue
            align = self.align(m.type)
            if -(-offset // align) * align > m.bit_offset(t.kflag) // 8:
                return True
            offset = m.bit_offset(t.kflag) // 8 + self.size(m.type)
        return False

    def struct_text(self, type_id: int, t: BtfType) -> str:
        """The definition, every member at its BTF offset: explicit padding fills the gaps
        C would not fill itself, and a struct C would lay out later is packed."""
        kind = "struct" if t.kind == K.STRUCT else "union"
        packed = t.kind == K.STRUCT and self._needs_packing(t)
        lines, offset, pads = [], 0, 0
        for index, m in enumerate(t.members):
            name = self.btf.str_at(m.name_off) or f"__anon_member_{index}"
            bit, width = m.bit_offset(t.kflag), m.bitfield_size(t.kflag)
            if width:
                lines.append(f"\t{self.decl(m.type, name)}: {width};")
                offset = max(offset, (bit + width + 7) // 8)
                continue
            if t.kind == K.STRUCT:
                want = bit // 8
                align = 1 if packed else self.align(m.type)
                if want > -(-offset // align) * align:
                    lines.append(f"\tchar __pad{pads}[{want - offset}];")
                    pads += 1
                offset = want + self.size(m.type)
            lines.append(f"\t{self.decl(m.type, name)};")
        if t.kind == K.STRUCT and t.size > offset:
            align = 1 if packed else self.struct_align(type_id)
            if -(-offset // align) * align != t.size:
                lines.append(f"\tchar __pad{pads}[{t.size - offset}];")
        attrs = ""
        if packed:
            attrs = f" __attribute__((packed, aligned({self._btf_align(t)})))"
        return f"{kind} {self.name(type_id)} {{\n" + "\n".join(lines) + f"\n}}{attrs};\n"

    def _btf_align(self, t: BtfType) -> int:
        """The alignment a packed struct keeps: the largest power of two dividing every
        member offset and the size, at most 8."""
        align = 8
        for value in [t.size, *(m.bit_offset(t.kflag) // 8 for m in t.members)]:
            while align > 1 and value % align:
                align //= 2
        return align

    def struct_asserts(self, type_id: int, t: BtfType) -> list[str]:
        """Size and member offsets, from the struct's DIE where there is one (its members
        in order: Go allows many blank ``_`` fields, so names cannot pair them)."""
        spelled = self.spell(type_id)
        size = t.size
        dwarf_offsets: list[int | None] = [None] * len(t.members)
        die = self._die(type_id)
        if die is not None and At.byte_size in die.attrs:
            size = die.attrs[At.byte_size]
            members = [c for c in self.graph.children(die) if c.tag == Tag.member]
            if len(members) == len(t.members):
                dwarf_offsets = [m.attrs.get(At.data_member_location) for m in members]
        out = [f'_Static_assert(sizeof({spelled}) == {size}, "{spelled}: size");']
        if t.kind == K.STRUCT:
            for m, dwarf in zip(t.members, dwarf_offsets):
                name = self.btf.str_at(m.name_off)
                if not name or m.bitfield_size(t.kflag):
                    continue
                where = dwarf if isinstance(dwarf, int) else m.bit_offset(t.kflag) // 8
                out.append(f'_Static_assert(__builtin_offsetof({spelled}, {name}) == {where}, '
                           f'"{spelled}.{name}: offset");')
        self.asserts += len(out)
        return out + [""]

    def _die(self, type_id: int):
        if self.graph is None:
            return None
        offset = self.provenance.get(type_id, {}).get("die_offset")
        die = self.graph.die(offset) if offset is not None else None
        if die is not None and die.tag == Tag.typedef and die.type is not None:
            die = self.graph.die(die.type)
        return die if die is not None and die.tag in (Tag.structure_type, Tag.union_type) \
            else None


def _enum_value(val: int, t: BtfType) -> str:
    bits = 64 if t.kind == K.ENUM64 else 32
    if t.kflag and val >= 1 << (bits - 1):
        val -= 1 << bits
    return f"{val}LL" if bits == 64 else str(val)


def _comment_safe(text: str) -> str:
    return re.sub(r"[^\x20-\x7e]", "?", text).replace("*/", "* /")


# why a type asked for may be missing, by where the types came from
_MISSING = {
    "runtime": "no type of that Go or C name among those the linker kept a runtime "
               "descriptor for (it keeps one only where the running program needs it: "
               "interface conversions, reflection, maps, channels, allocations); the "
               "binary's debug file (--debug-file) has every type",
    "dwarf": "no type of that Go or C name; 'dwarfdiag btf dump FILE' lists them",
    "btf": "no type of that Go or C name; 'dwarfdiag btf dump FILE' lists them",
}


# the header's second line: what its layout assertions were checked against
_ORIGIN = {
    "dwarf": " * Every struct's size and member offsets are asserted against the binary's DWARF.",
    "runtime": " * The binary has no DWARF: every type here was read from its runtime type\n"
               " * descriptors, and each struct's size and member offsets are asserted as\n"
               " * those descriptors lay them out. A type the linker kept no descriptor for\n"
               " * is not here; the binary's debug file (--debug-file) has every type.",
    "btf": " * Every struct's size and member offsets are asserted as the BTF lays them out\n"
           " * (no DWARF was given: give the binary to check them against its DWARF).",
}


def find_roots(btf: Btf, go_names: dict[str, str], wanted: list[str],
               types_from: str = "dwarf") -> list[int]:
    """Type ids for ``--type`` names, given as Go names or as their C names."""
    by_c: dict[str, list[int]] = {}
    for type_id, t in btf.iter_types():
        if t.kind in (K.TYPEDEF, *COMPOSITE, K.ENUM, K.ENUM64):
            by_c.setdefault(btf.name_of(t), []).append(type_id)
    go_to_c: dict[str, list[str]] = {}
    for c_name, go_name in go_names.items():
        go_to_c.setdefault(go_name, []).append(c_name)
    roots = []
    for name in wanted:
        found = [i for c in [name, *go_to_c.get(name, [])] for i in by_c.get(c, [])]
        if not found:
            raise NotFoundError(f"--type {name}: {_MISSING[types_from]}")
        # a typedef of the name is what Go code refers to; its struct comes with it
        found.sort(key=lambda i: btf.type_by_id(i).kind != K.TYPEDEF)
        roots.append(found[0])
    return roots


def c_header(btf: Btf, go_names: dict[str, str], provenance: dict[int, dict],
             graph: TypeGraph | None, wanted: list[str] | None, guard: str,
             source: str) -> Header:
    """The header text (see the module docstring)."""
    from dwarfdiag import __version__

    # where the types were read: DWARF, a stripped binary's runtime descriptors, or
    # a BTF file (no graph)
    types_from = graph.stats.get("types_from", "dwarf") if graph is not None else "btf"
    e = _Emitter(btf, go_names, provenance, graph)
    roots = find_roots(btf, go_names, wanted, types_from) if wanted else \
        [i for i, t in btf.iter_types() if t.kind in (K.TYPEDEF, *COMPOSITE, K.ENUM, K.ENUM64)]
    for root in roots:
        e.emit(root, True)
        inner = underlying_type(btf, root)
        if inner != root:  # the struct a Go named type stands for comes with it
            e.emit(inner, True)
    body = e.out
    base_lines = []
    for type_id, t in btf.iter_types():
        if t.kind in (K.INT, K.FLOAT) and btf.name_of(t):
            base_lines.append(f"typedef {_c_base(t, t.size)} {btf.name_of(t)};")
    forward = [f"{e.spell(i)};" for i in sorted(e.mentioned | {i for i in e.defined
                                                                if btf.type_by_id(i).kind in
                                                                COMPOSITE})]
    guard = re.sub(r"[^A-Za-z0-9]", "_", guard).upper()
    text = "\n".join([
        f"/* Go types as C, written by dwarfdiag {__version__} from {_comment_safe(source)}.",
        _ORIGIN[types_from],
        " * Names follow dwarfdiag's mapping (main.Account -> main__Account); Go's base",
        " * types are go_<name>. Include it after vmlinux.h, or on its own. */",
        f"#ifndef DWARFDIAG_{guard}_H", f"#define DWARFDIAG_{guard}_H", "",
        *base_lines, "", *forward, "", *body, f"#endif /* DWARFDIAG_{guard}_H */", ""])
    return Header(text, len([i for i in e.defined if btf.type_by_id(i).kind not in
                             (K.INT, K.FLOAT)]), len(forward), e.asserts)


def underlying_type(btf: Btf, type_id: int) -> int:
    """Through typedefs and qualifiers to the type underneath."""
    seen = 0
    while type_id and seen < 32:
        t = btf.type_by_id(type_id)
        if t.kind not in (K.TYPEDEF, *QUALIFIERS, K.TYPE_TAG):
            break
        type_id, seen = t.type, seen + 1
    return type_id
