"""Small ELF files with hand-written DWARF, from declarative DIE trees.

The pattern is drgn's ``tests/dwarfwriter.py`` (our own code): a test states
the DIEs it needs as a tree of :class:`D` nodes whose attributes are
``(DW_AT, DW_FORM, value)`` triples, and :func:`elf_with_dwarf` lays them out
as ``.debug_abbrev``/``.debug_info``/``.debug_str``/``.debug_line`` (plus the
DWARF 5 string-offset table) inside a minimal ELF file. Reader and encoder
edge cases then run in milliseconds with no compiler.

References name their target by label: a value ``Ref("T")`` in a reference
form points at the DIE built with ``label="T"``. Strings in ``strp`` and
``strx*`` forms go to the string sections automatically. ``decl_file``
values are indexes into the unit's ``files``.

Knobs the tests turn: DWARF ``version`` 2 to 5, 32- or 64-bit DWARF
(``offset_size``), the DWARF 5 ``unit_type`` (compile or partial), byte order
and ELF class, and ``indirect=True`` to write every form as DW_FORM_indirect.
"""

from __future__ import annotations

import struct
from dataclasses import dataclass, field
from typing import Any

from dwarfdiag.dwarf.constants import At, Form, Tag

DW_UT_compile, DW_UT_partial = 0x01, 0x03
DW_LNCT_path, DW_LNCT_directory_index = 1, 2


@dataclass(frozen=True)
class Ref:
    label: str


@dataclass
class D:
    """One DIE: tag, attributes ``[(at, form, value)]``, children, an optional label."""

    tag: int
    attrs: list[tuple[int, int, Any]] = field(default_factory=list)
    children: list["D"] = field(default_factory=list)
    label: str | None = None


@dataclass
class Unit:
    root: D  # the DW_TAG_compile_unit / partial_unit DIE
    files: list[str] = field(default_factory=list)  # the line table's file names
    unit_type: int = DW_UT_compile


def uleb(value: int) -> bytes:
    out = bytearray()
    while True:
        byte = value & 0x7F
        value >>= 7
        out.append(byte | (0x80 if value else 0))
        if not value:
            return bytes(out)


def uleb_padded(value: int, size: int) -> bytes:
    """``value`` as a ULEB128 stretched to exactly ``size`` bytes (legal padding)."""
    out = bytearray()
    for i in range(size):
        byte = value & 0x7F
        value >>= 7
        out.append(byte | (0x80 if i < size - 1 else 0))
    assert value == 0, "value too large for the padded width"
    return bytes(out)


def sleb(value: int) -> bytes:
    out = bytearray()
    while True:
        byte = value & 0x7F
        value >>= 7
        done = (value == 0 and not byte & 0x40) or (value == -1 and byte & 0x40)
        out.append(byte | (0 if done else 0x80))
        if done:
            return bytes(out)


class _Strings:
    def __init__(self) -> None:
        self.data = bytearray(b"\0")
        self.offsets: dict[str, int] = {}

    def add(self, text: str) -> int:
        if text not in self.offsets:
            self.offsets[text] = len(self.data)
            self.data += text.encode() + b"\0"
        return self.offsets[text]


@dataclass
class Layout:
    version: int = 5
    offset_size: int = 4  # 8: 64-bit DWARF
    address_size: int = 8
    little_endian: bool = True
    indirect: bool = False

    @property
    def e(self) -> str:
        return "<" if self.little_endian else ">"

    def word(self, value: int, size: int) -> bytes:
        return struct.pack(self.e + {1: "B", 2: "H", 4: "I", 8: "Q"}[size], value)


def _abbrevs(roots: list[D], lay: Layout) -> tuple[bytes, dict[int, int]]:
    """One abbreviation per DIE, in one table shared by all units; DIE id -> code."""
    table = bytearray()
    codes: dict[int, int] = {}

    def visit(die: D) -> None:
        code = len(codes) + 1
        codes[id(die)] = code
        table.extend(uleb(code) + uleb(die.tag) + bytes([1 if die.children else 0]))
        for at, form, value in die.attrs:
            table.extend(uleb(at) + uleb(Form.indirect if lay.indirect else form))
            if form == Form.implicit_const and not lay.indirect:
                table.extend(sleb(value))
        table.extend(b"\0\0")
        for child in die.children:
            visit(child)

    for root in roots:
        visit(root)
    table.append(0)
    return bytes(table), codes


def _value(form: int, value: Any, lay: Layout, strs: _Strings, line_strs: _Strings,
           str_index: dict[str, int], fixups: list, pos: int, unit_start: int) -> bytes:
    if form in (Form.data1, Form.flag, Form.ref1, Form.strx1):
        if form == Form.strx1:
            value = str_index.setdefault(value, len(str_index))
        return bytes([value & 0xFF])
    if form in (Form.data2, Form.strx2):
        if form == Form.strx2:
            value = str_index.setdefault(value, len(str_index))
        return lay.word(value, 2)
    if form == Form.data4:
        return lay.word(value & 0xFFFFFFFF, 4)
    if form == Form.data8:
        return lay.word(value & (2**64 - 1), 8)
    if form == Form.data16:
        return bytes(value)
    if form == Form.udata:
        return uleb(value)
    if form == Form.sdata:
        return sleb(value)
    if form == Form.string:
        return value.encode() + b"\0"
    if form == Form.strp:
        return lay.word(strs.add(value), lay.offset_size)
    if form == Form.line_strp:
        return lay.word(line_strs.add(value), lay.offset_size)
    if form == Form.strx:
        return uleb(str_index.setdefault(value, len(str_index)))
    if form == Form.flag_present or form == Form.implicit_const:
        return b""
    if form in (Form.exprloc, Form.block):
        return uleb(len(value)) + bytes(value)
    if form == Form.block1:
        return bytes([len(value)]) + bytes(value)
    if form == Form.addr:
        return lay.word(value, lay.address_size)
    if form == Form.sec_offset:
        return lay.word(value, lay.offset_size)
    if form in (Form.ref4, Form.ref_addr, Form.ref_udata):
        size = {Form.ref4: 4, Form.ref_addr: lay.offset_size, Form.ref_udata: 5}[form]
        fixups.append((pos, form, value.label, unit_start, size))
        return bytes(size)  # patched once every DIE has its offset
    raise AssertionError(f"dwarfwriter: form {form:#x} not supported")


def _info(roots: list[tuple[Unit, D]], codes: dict[int, int], lay: Layout, strs: _Strings,
          line_strs: _Strings, str_index: dict[str, int]) -> bytes:
    info = bytearray()
    offsets: dict[str, int] = {}
    fixups: list = []
    for unit, root in roots:
        start = len(info)
        if lay.offset_size == 8:
            info += lay.word(0xFFFFFFFF, 4) + bytes(8)
        else:
            info += bytes(4)
        info += lay.word(lay.version, 2)
        if lay.version >= 5:
            info += bytes([unit.unit_type, lay.address_size]) + lay.word(0, lay.offset_size)
        else:
            info += lay.word(0, lay.offset_size) + bytes([lay.address_size])

        def visit(die: D) -> None:
            if die.label:
                offsets[die.label] = len(info)
            info.extend(uleb(codes[id(die)]))
            for at, form, value in die.attrs:
                if lay.indirect:
                    info.extend(uleb(form))
                info.extend(_value(form, value, lay, strs, line_strs, str_index, fixups,
                                   len(info), start))
            for child in die.children:
                visit(child)
            if die.children:
                info.append(0)

        visit(root)
        length = len(info) - start - (12 if lay.offset_size == 8 else 4)
        if lay.offset_size == 8:
            info[start + 4:start + 12] = lay.word(length, 8)
        else:
            info[start:start + 4] = lay.word(length, 4)
    for pos, form, label, unit_start, size in fixups:
        target = offsets[label]
        if form == Form.ref_udata:
            info[pos:pos + size] = uleb_padded(target - unit_start, size)
        else:
            value = target - unit_start if form == Form.ref4 else target
            info[pos:pos + size] = lay.word(value, size)
    return bytes(info)


def _line_program(files: list[str], lay: Layout, line_strs: _Strings) -> bytes:
    """A line program header with ``files`` and no line rows (the reader needs only names)."""
    body = bytearray()
    if lay.version >= 5:
        body += bytes([lay.address_size, 0])
    header = bytearray()
    header += bytes([1])  # minimum_instruction_length
    if lay.version >= 4:
        header += bytes([1])  # maximum_operations_per_instruction
    header += bytes([1, 0xFB, 14, 13])  # default_is_stmt, line_base, line_range, opcode_base
    header += bytes([0, 1, 1, 1, 1, 0, 0, 0, 1, 0, 0, 1])  # standard_opcode_lengths
    directories = sorted({f.rsplit("/", 1)[0] for f in files if "/" in f})
    if lay.version >= 5:
        header += bytes([1]) + uleb(DW_LNCT_path) + uleb(Form.line_strp)
        header += uleb(len(directories) + 1)
        for d in ["/src", *directories]:
            header += lay.word(line_strs.add(d), lay.offset_size)
        header += bytes([2]) + uleb(DW_LNCT_path) + uleb(Form.string) \
            + uleb(DW_LNCT_directory_index) + uleb(Form.udata)
        header += uleb(len(files))
        for f in files:
            d, name = (f.rsplit("/", 1) if "/" in f else ("", f))
            header += name.encode() + b"\0" + uleb(directories.index(d) + 1 if d else 0)
    else:
        for d in directories:
            header += d.encode() + b"\0"
        header += b"\0"
        for f in files:
            d, name = (f.rsplit("/", 1) if "/" in f else ("", f))
            header += name.encode() + b"\0" + uleb(directories.index(d) + 1 if d else 0)
            header += b"\0\0"  # mtime, length
        header += b"\0"
    body += lay.word(len(header), lay.offset_size) + header
    version = lay.word(lay.version, 2)
    if lay.offset_size == 8:
        return lay.word(0xFFFFFFFF, 4) + lay.word(len(version + body), 8) + version + body
    return lay.word(len(version + body), 4) + version + body


def dwarf_sections(units: list[Unit], **layout: Any) -> dict[str, bytes]:
    """The debug sections of ``units`` (see :class:`Layout` for the knobs)."""
    lay = Layout(**layout)
    strs, line_strs = _Strings(), _Strings()
    str_index: dict[str, int] = {}
    line = bytearray()
    roots = []
    for unit in units:  # every unit DIE points at its line program
        root = unit.root
        roots.append((unit, D(root.tag, [*root.attrs, (At.stmt_list, Form.sec_offset,
                                                       len(line))], root.children, root.label)))
        line += _line_program(unit.files, lay, line_strs)
    abbrev, codes = _abbrevs([root for _, root in roots], lay)
    info = _info(roots, codes, lay, strs, line_strs, str_index)
    sections = {".debug_abbrev": abbrev, ".debug_info": info, ".debug_str": bytes(strs.data),
                ".debug_line": bytes(line)}
    if lay.version >= 5:
        sections[".debug_line_str"] = bytes(line_strs.data)
    if str_index:
        # header: unit_length, version 5, padding; the base is just past it
        # (8 bytes, or 16 in 64-bit DWARF)
        table = b"".join(lay.word(strs.add(s), lay.offset_size)
                         for s, _ in sorted(str_index.items(), key=lambda kv: kv[1]))
        length = len(table) + 4
        head = (lay.word(length, 4) if lay.offset_size == 4
                else lay.word(0xFFFFFFFF, 4) + lay.word(length, 8))
        sections[".debug_str_offsets"] = head + lay.word(5, 2) + bytes(2) + table
        sections[".debug_str"] = bytes(strs.data)
    return sections


def elf_file(sections: dict[str, bytes], little_endian: bool = True, bits: int = 64,
             machine: int = 62, symbols: list[tuple[str, int, int]] = ()) -> bytes:
    """A relocatable-looking ELF holding ``sections`` (and a symbol table of
    ``(name, value, STT)`` entries when given). No program headers: the DWARF
    loader does not need them."""
    e = "<" if little_endian else ">"
    sections = dict(sections)
    if symbols:
        strtab = bytearray(b"\0")
        entries = [bytes(24 if bits == 64 else 16)]
        for name, value, kind in symbols:
            off = len(strtab)
            strtab += name.encode() + b"\0"
            if bits == 64:
                entries.append(struct.pack(e + "IBBHQQ", off, kind | 0x10, 0, 1, value, 0))
            else:
                entries.append(struct.pack(e + "IIIBBH", off, value, 0, kind | 0x10, 0, 1))
        sections[".symtab"] = b"".join(entries)
        sections[".strtab"] = bytes(strtab)
    names = [""] + list(sections) + [".shstrtab"]
    shstrtab = bytearray(b"\0")
    name_off = {"": 0}
    for n in names[1:]:
        name_off[n] = len(shstrtab)
        shstrtab += n.encode() + b"\0"
    sections[".shstrtab"] = bytes(shstrtab)
    ehsize, shentsize = (64, 64) if bits == 64 else (52, 40)
    body = bytearray(ehsize)
    placed = {}
    for n in names[1:]:
        while len(body) % 8:
            body.append(0)
        placed[n] = (len(body), len(sections[n]))
        body += sections[n]
    while len(body) % 8:
        body.append(0)
    shoff = len(body)
    sh_type = {".symtab": 2, ".strtab": 3, ".shstrtab": 3}
    for n in names:
        if n == "":
            body += bytes(shentsize)
            continue
        off, size = placed[n]
        link = names.index(".strtab") if n == ".symtab" else 0
        entsize = (24 if bits == 64 else 16) if n == ".symtab" else 0
        if bits == 64:
            body += struct.pack(e + "IIQQQQIIQQ", name_off[n], sh_type.get(n, 1), 0, 0, off,
                                size, link, 1 if n == ".symtab" else 0, 1, entsize)
        else:
            body += struct.pack(e + "IIIIIIIIII", name_off[n], sh_type.get(n, 1), 0, 0, off,
                                size, link, 1 if n == ".symtab" else 0, 1, entsize)
    ident = b"\x7fELF" + bytes([2 if bits == 64 else 1, 1 if little_endian else 2, 1, 0]) \
        + bytes(8)
    if bits == 64:
        header = ident + struct.pack(e + "HHIQQQIHHHHHH", 2, machine, 1, 0, 0, shoff, 0,
                                     ehsize, 0, 0, shentsize, len(names), len(names) - 1)
    else:
        header = ident + struct.pack(e + "HHIIIIIHHHHHH", 2, machine, 1, 0, 0, shoff, 0,
                                     ehsize, 0, 0, shentsize, len(names), len(names) - 1)
    body[:ehsize] = header
    return bytes(body)


def elf_with_dwarf(units: list[Unit] | Unit, little_endian: bool = True, bits: int = 64,
                   symbols: list[tuple[str, int, int]] = (), **layout: Any) -> bytes:
    units = [units] if isinstance(units, Unit) else units
    layout.setdefault("address_size", 8 if bits == 64 else 4)
    return elf_file(dwarf_sections(units, little_endian=little_endian, **layout),
                    little_endian, bits, symbols=symbols)


# --- shorthands ---------------------------------------------------------------------
def base(name: str, size: int, encoding: int, label: str | None = None) -> D:
    return D(Tag.base_type, [(At.name, Form.string, name), (At.byte_size, Form.data1, size),
                             (At.encoding, Form.data1, encoding)], label=label or name)


def cu(*children: D, name: str = "main", producer: str = "Go cmd/compile go1.27.3",
       language: int = 0x16, tag: int = Tag.compile_unit) -> D:
    return D(tag, [(At.name, Form.string, name), (At.producer, Form.string, producer),
                   (At.language, Form.data1, language)], list(children))
