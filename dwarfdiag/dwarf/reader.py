"""A DIE reader fast enough for 600k-DIE Go binaries, in plain Python.

pyelftools builds an object per DIE and per attribute; iterating GOROOT's
``cmd/compile`` that way takes ~20x pahole (docs/facts.md, "Sizes and speeds"). BTF needs only the
type DIEs, their members, parameters, enumerators and subranges, and the
subprograms with their parameters: in a gc binary that is about a third of
the DIEs, and of their attributes it needs a handful. So:

* each abbreviation is compiled once (per abbrev table) into two small
  Python functions generated from source: one that decodes just the
  attributes we keep, one that only skips the DIE. Runs of fixed-size forms
  collapse into a single ``struct.unpack_from`` call;
* the walk reads every DIE header (DWARF has no index to jump with) but
  calls the decoder only for DIEs that BTF needs, the skipper otherwise.

The output is plain data (tuples shaped like :class:`RawDie`) that
:mod:`dwarfdiag.dwarf.typegraph` turns into the TypeGraph. Malformed input
raises BadInputError naming the section and the offset.
"""

from __future__ import annotations

import struct
import sys
from collections import Counter
from typing import Callable, Iterator, NamedTuple

from dwarfdiag.dwarf.constants import At, Form, Tag
from dwarfdiag.dwarf.sections import ElfSections
from dwarfdiag.errors import BadInputError

# Tags whose DIEs become BTF types (or are dropped by rule, like pahole does
# with DW_TAG_unspecified_type, but must be known to resolve references).
TYPE_TAGS = frozenset({
    Tag.base_type, Tag.pointer_type, Tag.reference_type, Tag.rvalue_reference_type,
    Tag.const_type, Tag.volatile_type, Tag.restrict_type, Tag.atomic_type, Tag.typedef,
    Tag.structure_type, Tag.union_type, Tag.class_type, Tag.enumeration_type,
    Tag.array_type, Tag.subroutine_type, Tag.unspecified_type, Tag.ptr_to_member_type,
})
# Children that belong to a kept parent (members, parameters, ...).
CHILD_TAGS = frozenset({Tag.member, Tag.formal_parameter, Tag.unspecified_parameters,
                        Tag.enumerator, Tag.subrange_type, Tag.variant})
# Attributes the TypeGraph keeps; everything else is skipped unread.
KEPT_ATTRS = frozenset({
    At.name, At.type, At.location, At.byte_size, At.bit_size, At.bit_offset, At.data_bit_offset,
    At.data_member_location, At.upper_bound, At.count, At.encoding, At.declaration,
    At.external, At.const_value, At.variable_parameter, At.decl_file, At.decl_line,
    At.specification, At.abstract_origin, At.linkage_name, At.MIPS_linkage_name, At.low_pc,
    At.inline, At.producer, At.language, At.comp_dir, At.str_offsets_base, At.addr_base,
    At.high_pc, At.frame_base, At.ranges, At.call_file, At.call_line, At.loclists_base,
    At.go_kind, At.go_key, At.go_elem, At.go_embedded_field, At.go_runtime_type,
    At.go_package_name, At.go_dict_index, At.go_closure_offset, At.stmt_list,
})
AT_STMT_LIST = At.stmt_list



class FormSpec(NamedTuple):
    """How one DW_FORM is laid out and what its value means.

    ``layout`` is one of: ``fixed`` (``size`` bytes, or the unit's offset or
    address size when ``size`` is OFFSET or ADDRESS), ``uleb``, ``sleb``,
    ``cstring``, ``block`` (uleb length), ``block1``/``block2``/``block4``,
    ``present`` (no data: true), ``implicit`` (the value is in the
    abbreviation), ``indirect`` (the form itself is in the DIE).
    ``meaning`` turns the raw number into the attribute value: ``value``,
    ``ref_cu`` (unit-relative reference), ``strp``, ``line_strp``, ``strx``,
    ``addrx`` or ``flag``.
    """

    layout: str
    size: int
    meaning: str = "value"


OFFSET, ADDRESS = -1, -2  # sizes that depend on the unit
F = Form
# The one form table: the generated decoders and the generic reader (used for
# DW_FORM_indirect and line-table headers) both follow it.
FORMS: dict[int, FormSpec] = {
    F.addr: FormSpec("fixed", ADDRESS), F.data1: FormSpec("fixed", 1),
    F.data2: FormSpec("fixed", 2), F.data4: FormSpec("fixed", 4), F.data8: FormSpec("fixed", 8),
    F.data16: FormSpec("fixed", 16), F.sdata: FormSpec("sleb", 0), F.udata: FormSpec("uleb", 0),
    F.flag: FormSpec("fixed", 1, "flag"), F.flag_present: FormSpec("present", 0),
    F.string: FormSpec("cstring", 0), F.strp: FormSpec("fixed", OFFSET, "strp"),
    F.line_strp: FormSpec("fixed", OFFSET, "line_strp"),
    F.strp_sup: FormSpec("fixed", OFFSET), F.GNU_strp_alt: FormSpec("fixed", OFFSET),
    F.strx: FormSpec("uleb", 0, "strx"), F.GNU_str_index: FormSpec("uleb", 0, "strx"),
    F.strx1: FormSpec("fixed", 1, "strx"), F.strx2: FormSpec("fixed", 2, "strx"),
    F.strx3: FormSpec("fixed", 3, "strx"), F.strx4: FormSpec("fixed", 4, "strx"),
    F.addrx: FormSpec("uleb", 0, "addrx"), F.GNU_addr_index: FormSpec("uleb", 0, "addrx"),
    F.addrx1: FormSpec("fixed", 1, "addrx"), F.addrx2: FormSpec("fixed", 2, "addrx"),
    F.addrx3: FormSpec("fixed", 3, "addrx"), F.addrx4: FormSpec("fixed", 4, "addrx"),
    F.ref1: FormSpec("fixed", 1, "ref_cu"), F.ref2: FormSpec("fixed", 2, "ref_cu"),
    F.ref4: FormSpec("fixed", 4, "ref_cu"), F.ref8: FormSpec("fixed", 8, "ref_cu"),
    F.ref_udata: FormSpec("uleb", 0, "ref_cu"), F.ref_addr: FormSpec("fixed", OFFSET),
    F.ref_sig8: FormSpec("fixed", 8), F.ref_sup4: FormSpec("fixed", 4),
    F.ref_sup8: FormSpec("fixed", 8), F.GNU_ref_alt: FormSpec("fixed", OFFSET),
    F.sec_offset: FormSpec("fixed", OFFSET), F.loclistx: FormSpec("uleb", 0),
    F.rnglistx: FormSpec("uleb", 0), F.exprloc: FormSpec("block", 0),
    F.block: FormSpec("block", 0), F.block1: FormSpec("block1", 1),
    F.block2: FormSpec("block2", 2), F.block4: FormSpec("block4", 4),
    F.implicit_const: FormSpec("implicit", 0), F.indirect: FormSpec("indirect", 0),
}
_STRUCT_CODE = {1: "B", 2: "H", 4: "I", 8: "Q"}


class RawDie(NamedTuple):
    """The shape of the plain tuples :func:`read_unit` returns (a NamedTuple per
    DIE would cost a Python-level constructor call each)."""

    offset: int
    tag: int
    parent: int  # offset of the parent DIE (the CU DIE for top-level DIEs)
    attrs: dict  # DW_AT number -> decoded value (refs are absolute .debug_info offsets)


class UnitHeader(NamedTuple):
    offset: int  # of the unit header in .debug_info
    version: int
    unit_type: int
    address_size: int
    offset_size: int  # 4 for 32-bit DWARF, 8 for 64-bit
    abbrev_offset: int
    die_offset: int  # first DIE
    end: int


class Abbrev(NamedTuple):
    tag: int
    has_children: bool
    attrs: tuple  # ((at, form, implicit_const), ...)


def uleb(d: bytes, p: int) -> tuple[int, int]:
    result = shift = 0
    while True:
        b = d[p]
        p += 1
        result |= (b & 0x7F) << shift
        if b < 0x80:
            return result, p
        shift += 7


def sleb(d: bytes, p: int) -> tuple[int, int]:
    result = shift = 0
    while True:
        b = d[p]
        p += 1
        result |= (b & 0x7F) << shift
        shift += 7
        if b < 0x80:
            if b & 0x40:
                result -= 1 << shift
            return result, p


def parse_abbrevs(data: bytes, offset: int) -> dict[int, Abbrev]:
    table: dict[int, Abbrev] = {}
    p = offset
    try:
        while True:
            code, p = uleb(data, p)
            if code == 0:
                return table
            tag, p = uleb(data, p)
            children = data[p] != 0
            p += 1
            attrs = []
            while True:
                at, p = uleb(data, p)
                form, p = uleb(data, p)
                if at == 0 and form == 0:
                    break
                implicit = None
                if form == Form.implicit_const:
                    implicit, p = sleb(data, p)
                attrs.append((at, form, implicit))
            table[code] = Abbrev(tag, children, tuple(attrs))
    except IndexError:
        raise BadInputError(f".debug_abbrev: table at {offset:#x} runs past the end of the "
                            f"section ({len(data)} bytes); the section is truncated") from None


class Context:
    """Per-unit state the generated decoders consult (strings, string offsets)."""

    def __init__(self, sections: ElfSections):
        self.debug_str = sections.get(".debug_str")
        self.line_str = sections.get(".debug_line_str")
        self.str_offsets = sections.get(".debug_str_offsets")
        self.endian = sections.endian
        self.str_offsets_base = 8
        self.offset_size = 4
        self.debug_addr = sections.get(".debug_addr")
        self.addr_base = 8  # DWARF 5 default: just past the .debug_addr header
        self.address_size = 8
        self._strp_cache: dict[int, str] = {}  # names repeat a lot across Go's CUs
        self._line_strp_cache: dict[int, str] = {}
        self.deferred = False  # while the unit DIE is read for its bases: look nothing up

    def strp(self, off: int) -> str:
        s = self._strp_cache.get(off)
        if s is None:
            end = self.debug_str.find(b"\0", off)
            if end < 0 or off >= len(self.debug_str):
                raise BadInputError(f".debug_str: string offset {off:#x} is out of range "
                                    f"({len(self.debug_str)} bytes)")
            # interned: the cache stores the graph in pieces, and marshal restores an
            # interned string as one object however many pieces hold it
            s = self._strp_cache[off] = sys.intern(
                self.debug_str[off:end].decode("utf-8", "replace"))
        return s

    def line_strp(self, off: int) -> str:
        s = self._line_strp_cache.get(off)
        if s is None:  # every unit's line header names the same directories
            data = self.line_str or b""
            end = data.find(b"\0", off)
            if end < 0:
                raise BadInputError(f".debug_line_str: string offset {off:#x} is out of range "
                                    f"({len(data)} bytes)")
            s = self._line_strp_cache[off] = data[off:end].decode("utf-8", "replace")
        return s

    def addrx(self, index: int) -> int | None:
        """An address from .debug_addr (DW_FORM_addrx); None if the table lacks it."""
        if self.deferred:
            return None
        pos = self.addr_base + index * self.address_size
        fmt = self.endian + ("Q" if self.address_size == 8 else "I")
        try:
            return struct.unpack_from(fmt, self.debug_addr, pos)[0]
        except struct.error:
            return None

    def strx(self, index: int) -> str | None:
        if self.deferred:
            return None
        pos = self.str_offsets_base + index * self.offset_size
        fmt = self.endian + ("I" if self.offset_size == 4 else "Q")
        try:
            off, = struct.unpack_from(fmt, self.str_offsets, pos)
        except struct.error:
            raise BadInputError(f".debug_str_offsets: index {index} (at {pos:#x}) is out of "
                                f"range") from None
        return self.strp(off)


def _spec(form: int, where: str) -> FormSpec:
    spec = FORMS.get(form)
    if spec is None:
        raise BadInputError(f"{where}: unknown attribute form {form:#x}")
    return spec


def _form_size(spec: FormSpec, unit: UnitHeader) -> int | None:
    """Bytes a fixed-size form takes in this unit; None for variable-size forms."""
    if spec.layout != "fixed":
        return None
    if spec.size == OFFSET:
        return unit.offset_size
    if spec.size == ADDRESS:
        return unit.address_size
    return spec.size


def _convert(expr: str, meaning: str) -> str:
    """Python source computing an attribute value from its raw number ``expr``."""
    return {"value": expr, "ref_cu": f"{expr} + cu", "strp": f"ctx.strp({expr})",
            "line_strp": f"ctx.line_strp({expr})", "strx": f"ctx.strx({expr})",
            "addrx": f"ctx.addrx({expr})", "flag": f"{expr} != 0"}[meaning]


def _value(v: int, meaning: str, cu: int, ctx: "Context"):
    """What :func:`_convert`'s expressions compute, as a function."""
    if meaning == "value":
        return v
    if meaning == "ref_cu":
        return v + cu
    if meaning == "flag":
        return v != 0
    return getattr(ctx, meaning)(v)


def _compile(abbrev: Abbrev, unit: UnitHeader, endian: str, keep: bool) -> Callable:
    """Generate ``f(d, p, cu, ctx) -> (p, attrs)`` (or ``-> p`` when not keeping)."""
    lines: list[str] = []
    pending: list[tuple[str, int | None, str]] = []  # (struct code, at or None, meaning)

    def flush() -> None:
        if not pending:
            return
        fmt = endian + "".join(code for code, _, _ in pending)
        size = struct.calcsize(fmt)
        wanted = [(at, meaning) for code, at, meaning in pending if at is not None]
        if wanted:
            names = ", ".join(f"v{i}" for i in range(len(wanted)))
            lines.append(f"    {names}, = unpack_from({fmt!r}, d, p)")
            for i, (at, meaning) in enumerate(wanted):
                lines.append(f"    a[{at}] = {_convert(f'v{i}', meaning)}")
        lines.append(f"    p += {size}")
        pending.clear()

    for at, form, implicit in abbrev.attrs:
        spec = _spec(form, f".debug_abbrev: attribute {at:#x} of tag {abbrev.tag:#x}")
        want = keep and at in KEPT_ATTRS
        layout = spec.layout
        if layout == "implicit":
            if want:
                lines.append(f"    a[{at}] = {implicit!r}")
            continue
        if layout == "present":
            if want:
                lines.append(f"    a[{at}] = True")
            continue
        if layout == "fixed":
            size = _form_size(spec, unit)
            if want and size in _STRUCT_CODE:
                pending.append((_STRUCT_CODE[size], at, spec.meaning))
            else:  # skipped, or 3/16 bytes that BTF never needs
                pending.append((f"{size}x", None, spec.meaning))
            continue
        flush()
        if layout == "cstring":
            if want:  # interned, as strp strings are: gc repeats names a lot
                lines.append("    e = d.index(0, p)")
                lines.append(f"    a[{at}] = intern(d[p:e].decode('utf-8', 'replace')); "
                             f"p = e + 1")
            else:
                lines.append("    p = d.index(0, p) + 1")
        elif layout == "uleb":
            lines.append("    b = d[p]")
            lines.append("    if b < 128: v = b; p += 1")
            lines.append("    else: v, p = uleb(d, p)")
            if want:
                lines.append(f"    a[{at}] = {_convert('v', spec.meaning)}")
        elif layout == "sleb":
            lines.append("    b = d[p]")
            lines.append("    if b < 64: v = b; p += 1")
            lines.append("    else: v, p = sleb(d, p)")
            if want:
                lines.append(f"    a[{at}] = v")
        elif layout == "block":  # exprlocs: lengths under 128 take one byte
            lines.append("    n = d[p]")
            lines.append("    if n < 128: p += 1")
            lines.append("    else: n, p = uleb(d, p)")
            if want:
                lines.append(f"    a[{at}] = d[p:p + n]")
            lines.append("    p += n")
        elif layout in ("block1", "block2", "block4"):
            width = _STRUCT_CODE[spec.size]
            lines.append(f"    n, = unpack_from({endian + width!r}, d, p); p += {spec.size}")
            if want:
                lines.append(f"    a[{at}] = d[p:p + n]")
            lines.append("    p += n")
        else:  # indirect: the form is in the DIE itself; decode it the generic way
            lines.append("    form, p = uleb(d, p)")
            lines.append("    v, p = read_form(d, p, form, cu, ctx, unit)")
            if want:
                lines.append(f"    a[{at}] = v")
    flush()
    if keep:
        body = ["def f(d, p, cu, ctx):", "    a = {}", *lines, "    return p, a"]
    else:
        body = ["def f(d, p, cu, ctx):", *lines, "    return p"]
    scope = {"unpack_from": struct.unpack_from, "uleb": uleb, "sleb": sleb,
             "read_form": read_form, "unit": unit, "intern": sys.intern}
    exec(compile("\n".join(body), f"<abbrev {abbrev.tag:#x}>", "exec"), scope)
    return scope["f"]


def _compiled(memo: dict, abbrev: Abbrev, unit: UnitHeader, endian: str, keep: bool) -> Callable:
    """:func:`_compile`, once per distinct abbreviation: C units each bring their own
    abbreviation table, mostly with the same entries."""
    key = ("code", abbrev, unit.address_size, unit.offset_size, keep)
    f = memo.get(key)
    if f is None:
        f = memo[key] = _compile(abbrev, unit, endian, keep)
    return f


def read_form(d: bytes, p: int, form: int, cu: int, ctx: "Context", unit: UnitHeader):
    """One attribute value of any form, interpreted: ``(value, next position)``.

    The generic twin of the generated decoders, for DW_FORM_indirect and for
    the entry formats of DWARF 5 line-table headers. Blocks come back as
    bytes, 3- and 16-byte data as None.
    """
    spec = _spec(form, f".debug_info at {p:#x}")
    layout = spec.layout
    if layout == "indirect":
        form, p = uleb(d, p)
        return read_form(d, p, form, cu, ctx, unit)
    if layout == "cstring":
        end = d.index(0, p)
        return d[p:end].decode("utf-8", "replace"), end + 1
    if layout == "present":
        return True, p
    if layout == "implicit":
        return 0, p  # the value lives in the abbreviation, which an indirect form lacks
    if layout == "sleb":
        return sleb(d, p)
    if layout == "block":
        n, p = uleb(d, p)
        return d[p:p + n], p + n
    if layout in ("block1", "block2", "block4"):
        n, = struct.unpack_from(ctx.endian + _STRUCT_CODE[spec.size], d, p)
        p += spec.size
        return d[p:p + n], p + n
    if layout == "uleb":
        v, p = uleb(d, p)
    else:
        size = _form_size(spec, unit)
        if size not in _STRUCT_CODE:
            return None, p + size
        v, = struct.unpack_from(ctx.endian + _STRUCT_CODE[size], d, p)
        p += size
    return _value(v, spec.meaning, cu, ctx), p


def unit_headers(info: bytes, endian: str) -> Iterator[UnitHeader]:
    p = 0
    while p < len(info):
        start = p
        try:
            length, = struct.unpack_from(endian + "I", info, p)
            p += 4
            offset_size = 4
            if length == 0xFFFFFFFF:
                length, = struct.unpack_from(endian + "Q", info, p)
                p += 8
                offset_size = 8
            end = p + length
            version, = struct.unpack_from(endian + "H", info, p)
            p += 2
            off_code = "I" if offset_size == 4 else "Q"
            if version >= 5:
                unit_type, address_size = info[p], info[p + 1]
                abbrev_offset, = struct.unpack_from(endian + off_code, info, p + 2)
                p += 2 + offset_size
                if unit_type in (4, 5):  # skeleton / split_compile: dwo id
                    p += 8
                elif unit_type in (2, 6):  # type / split_type: signature + type offset
                    p += 8 + offset_size
            elif version >= 2:
                unit_type = 1
                abbrev_offset, = struct.unpack_from(endian + off_code, info, p)
                address_size = info[p + offset_size]
                p += offset_size + 1
            else:
                raise BadInputError(f".debug_info: unit at {start:#x} has DWARF version "
                                    f"{version}; versions 2 to 5 are supported")
        except (struct.error, IndexError):
            raise BadInputError(f".debug_info: unit header at {start:#x} is truncated") from None
        if version > 5:
            raise BadInputError(f".debug_info: unit at {start:#x} has DWARF version {version}; "
                                f"versions 2 to 5 are supported")
        if end > len(info):
            raise BadInputError(f".debug_info: unit at {start:#x} claims {length} bytes, past the "
                                f"end of the section ({len(info)} bytes); the section is truncated")
        yield UnitHeader(start, version, unit_type, address_size, offset_size, abbrev_offset,
                         p, end)
        p = end


# How the walk treats a DIE, decided once per abbreviation from its tag.
ALWAYS, UNDER_KEPT_PARENT, NEVER = 0, 1, 2
_COMPILE_UNIT = int(Tag.compile_unit)


def keep_rule(tag: int) -> int:
    if tag in TYPE_TAGS or tag in (Tag.subprogram, Tag.compile_unit, Tag.inlined_subroutine):
        return ALWAYS
    if tag in CHILD_TAGS:  # parameters count only under a kept subprogram or func type
        return UNDER_KEPT_PARENT
    return NEVER


def _keeps_children(tag: int) -> bool:
    """Whether a kept DIE's member/parameter children are kept too (a unit's and an
    inlined call's are not; nested type DIEs are kept anywhere)."""
    return tag not in CHILD_TAGS and tag not in (Tag.compile_unit, Tag.inlined_subroutine)


# Without function bodies (the rule of TypeGraph's FunctionBodies too): what a
# function, an inlined call or a block holds is left out, but for types and
# functions, wherever they are.
KEPT_IN_BODIES = frozenset(TYPE_TAGS | {Tag.subprogram})
BODY_SCOPES = frozenset({Tag.subprogram, Tag.inlined_subroutine, Tag.lexical_block})
_SUBPROGRAM, _AT_NAME = int(Tag.subprogram), int(At.name)


def pahole_may_encode(attrs: dict) -> bool:
    """Could pahole make a FUNC of the subprogram with these attributes (and so need
    its parameters)? Not if it is named with a dot: pahole 1.30+ files ELF symbols
    under the name up to the first dot, so a package-qualified Go name never matches
    one (:func:`dwarfdiag.btf.functions.select_functions` has the whole rule).
    Unnamed ones (gcc's concrete instances, named by their abstract origin) may."""
    name = attrs.get(_AT_NAME)
    return not isinstance(name, str) or "." not in name


def _abbrev_table(sections: ElfSections, unit: UnitHeader, compiled: dict) -> dict:
    """code -> (tag, has_children, keep rule, keeps children, kept inside a function
    body, opens a scope, decoder, skipper)."""
    key = (unit.abbrev_offset, unit.version, unit.address_size, unit.offset_size)
    table = compiled.get(key)
    if table is None:
        abbrevs = parse_abbrevs(sections.get(".debug_abbrev"), unit.abbrev_offset)
        table = {}
        for code, ab in abbrevs.items():
            table[code] = (int(ab.tag), ab.has_children, keep_rule(ab.tag),
                           _keeps_children(ab.tag), ab.tag in KEPT_IN_BODIES,
                           ab.tag in BODY_SCOPES,
                           _compiled(compiled, ab, unit, sections.endian, True),
                           _compiled(compiled, ab, unit, sections.endian, False))
        compiled[key] = table
    return table


def read_unit(sections: ElfSections, unit: UnitHeader, ctx: Context,
              compiled: dict, die_count: list[int],
              tally: dict | None = None, function_bodies: bool = True,
              encoder_bodies: bool = False) -> list[tuple]:
    """All DIEs of ``unit`` that BTF needs, in DIE order, as ``(offset, tag,
    parent offset, attrs)`` tuples (see :data:`RawDie`; the parent of a top-level
    DIE is the unit DIE). Without ``function_bodies``, less the DIEs that
    :class:`~dwarfdiag.dwarf.typegraph.FunctionBodies` drops, never decoded: the
    same DIEs, with the same parents, as a whole read after ``drop_function_bodies``;
    with ``encoder_bodies`` too, the bodies of the subprograms pahole may encode
    (:func:`pahole_may_encode`) are read whole all the same: what the encoder needs.

    ``compiled`` caches generated decoders per (abbrev offset, unit shape);
    ``die_count[0]`` is incremented by every DIE read, kept or skipped;
    ``tally``, if given, counts DIEs per abbreviation: ``{(abbrev offset,
    code): n}``, from which tag, attribute and form usage follow.
    """
    table = _abbrev_table(sections, unit, compiled)
    ctx.offset_size = unit.offset_size
    ctx.address_size = unit.address_size
    out: list[tuple] = []
    append = out.append
    codes: list[int] = []  # every DIE's abbreviation code, for the tally
    seen = codes.append
    d, cu, end = sections.get(".debug_info"), unit.offset, unit.end
    p = off = unit.die_offset
    # Open parents, innermost last, above a sentinel for the unit's top level:
    # (offset children hang from, whether their members/parameters are kept,
    # whether they lie in a function body that is left out: True; None inside one
    # read whole for the encoder). A skipped DIE's children hang from the nearest
    # kept ancestor and are skipped too, except for nested type DIEs; a DIE left out
    # as a function body's is their parent, as it is after drop_function_bodies.
    stack: list[tuple[int, bool, bool]] = [(0, False, False)]
    push, pop = stack.append, stack.pop
    parent_off, parent_keeps, in_body = 0, False, False
    try:
        while p < end:
            off = p
            code = d[p]
            if code < 128:
                p += 1
            else:
                code, p = uleb(d, p)
            if code == 0:
                if len(stack) > 1:
                    pop()
                    parent_off, parent_keeps, in_body = stack[-1]
                continue
            seen(code)
            try:
                tag, children, rule, keeps, kept_in_body, scope, decode, skip = table[code]
            except KeyError:
                raise BadInputError(f".debug_info: DIE at {off:#x} uses abbreviation code "
                                    f"{code}, which the unit's table at {unit.abbrev_offset:#x} "
                                    f"does not define; the section is corrupt") from None
            if not (rule == ALWAYS or (rule == UNDER_KEPT_PARENT and parent_keeps)):
                p = skip(d, p, cu, ctx)
                if children:
                    push((parent_off, False, in_body))
                    parent_keeps = False
            elif in_body and not kept_in_body:  # kept, but a function body's: left out
                p = skip(d, p, cu, ctx)
                if children:
                    push((off, keeps, True))
                    parent_off, parent_keeps = off, keeps
            else:
                if tag == _COMPILE_UNIT:
                    p, attrs = _decode_unit_die(decode, d, p, cu, ctx)
                else:
                    p, attrs = decode(d, p, cu, ctx)
                append((off, tag, parent_off, attrs))
                if children:
                    body = scope and not function_bodies
                    if body and encoder_bodies and (
                            in_body is None or (tag == _SUBPROGRAM and pahole_may_encode(attrs))):
                        body = None  # read whole: the encoder may want its parameters
                    push((off, keeps, body))
                    parent_off, parent_keeps, in_body = off, keeps, body
    except (IndexError, ValueError, struct.error) as e:
        raise BadInputError(f".debug_info: DIE data at or after {off:#x} (unit at "
                            f"{unit.offset:#x}) is truncated or corrupt ({e})") from None
    die_count[0] += len(codes)
    if tally is not None:
        for code, n in Counter(codes).items():
            key = (unit.abbrev_offset, code)
            tally[key] = tally.get(key, 0) + n
    return out


def _decode_unit_die(decode: Callable, d: bytes, p: int, cu: int, ctx: Context):
    """The unit DIE may use strx/addrx forms before it states its bases.

    Decode it once with string and address lookups deferred, to learn
    DW_AT_str_offsets_base and DW_AT_addr_base (default: just past the first
    contribution's header, 8 bytes, or 16 in 64-bit DWARF), then for real.
    """
    header = 8 if ctx.offset_size == 4 else 16
    ctx.deferred = True
    try:
        _, first = decode(d, p, cu, ctx)
    finally:
        ctx.deferred = False
    ctx.str_offsets_base = first.get(At.str_offsets_base, header)
    ctx.addr_base = first.get(At.addr_base, header)
    return decode(d, p, cu, ctx)
