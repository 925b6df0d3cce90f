"""Program headers, section headers and symbols of an ELF file, for uprobe offsets.

A uprobe is attached at a *file offset*. libbpf's ``elf_find_func_offset``
finds the symbol and maps its address to the file through the section that
holds it (``st_value - sh_addr + sh_offset``); the kernel maps the file
through the PT_LOAD program headers. Both are computed here so that they can
be checked against each other.
"""

from __future__ import annotations

import struct
from dataclasses import dataclass
from pathlib import Path

from dwarfdiag.errors import BadInputError, UnsupportedError

EM_X86_64 = 62
MACHINES = {3: "x86 (32-bit)", 40: "arm", 62: "x86-64", 183: "arm64 (aarch64)", 243: "riscv",
            8: "mips", 20: "powerpc", 21: "powerpc64", 22: "s390"}
PT_LOAD = 1
STT_FUNC = 2


@dataclass(frozen=True)
class Segment:
    vaddr: int
    offset: int
    filesz: int
    memsz: int
    flags: int


@dataclass(frozen=True)
class Section:
    name: str
    addr: int
    offset: int
    size: int
    index: int


@dataclass(frozen=True)
class Symbol:
    name: str
    value: int
    size: int
    kind: int  # STT_*
    bind: int
    shndx: int
    table: str  # ".symtab" or ".dynsym"


class ElfImage:
    def __init__(self, path: Path):
        self.path = Path(path)
        try:
            self.data = self.path.read_bytes()
        except OSError as e:
            raise BadInputError(f"{path}: cannot read: {e.strerror}") from e
        d = self.data
        if d[:4] != b"\x7fELF" or len(d) < 64:
            raise BadInputError(f"{path}: not an ELF file")
        if d[4] != 2 or d[5] != 1:
            raise UnsupportedError(f"{path}: only 64-bit little-endian ELF is supported "
                                   f"(probe supports x86-64)")
        try:
            (self.type, self.machine) = struct.unpack_from("<HH", d, 16)
            phoff, shoff = struct.unpack_from("<QQ", d, 32)
            phentsize, phnum, shentsize, shnum, shstrndx = struct.unpack_from("<HHHHH", d, 54)
            self.segments = []
            for i in range(phnum):
                p_type, p_flags, p_offset, p_vaddr, _, p_filesz, p_memsz, _ = \
                    struct.unpack_from("<IIQQQQQQ", d, phoff + i * phentsize)
                if p_type == PT_LOAD:
                    self.segments.append(Segment(p_vaddr, p_offset, p_filesz, p_memsz, p_flags))
            raw = [struct.unpack_from("<IIQQQQIIQQ", d, shoff + i * shentsize) for i in range(shnum)]
        except struct.error:
            raise BadInputError(f"{path}: truncated ELF headers") from None
        names = raw[shstrndx] if shstrndx < len(raw) else None
        self.sections: list[Section] = []
        for i, h in enumerate(raw):
            name = ""
            if names is not None:
                start = names[4] + h[0]
                name = d[start:d.index(b"\0", start)].decode("latin-1") if start < len(d) else ""
            self.sections.append(Section(name, h[3], h[4], h[5], i))
        self.symbols = self._symbols(".symtab", ".strtab") + self._symbols(".dynsym", ".dynstr")

    @property
    def arch(self) -> str:
        return MACHINES.get(self.machine, f"machine {self.machine}")

    def section(self, name: str) -> Section | None:
        return next((s for s in self.sections if s.name == name), None)

    def _symbols(self, table: str, strings: str) -> list[Symbol]:
        from dwarfdiag.dwarf.sections import iter_symbols

        sec, strs = self.section(table), self.section(strings)
        if sec is None or strs is None:
            return []
        symtab = self.read(sec.offset, sec.size)
        strtab = self.read(strs.offset, strs.size)
        return [Symbol(name, value, size, info & 0xF, info >> 4, shndx, table)
                for name, value, size, info, shndx in iter_symbols(symtab, strtab, 64, "<")]

    @property
    def has_symtab(self) -> bool:
        return any(s.table == ".symtab" for s in self.symbols)

    def offset_by_segments(self, addr: int) -> int | None:
        for seg in self.segments:
            if seg.vaddr <= addr < seg.vaddr + seg.filesz:
                return addr - seg.vaddr + seg.offset
        return None

    def offset_by_section(self, sym: Symbol) -> int | None:
        if 0 < sym.shndx < len(self.sections):
            sec = self.sections[sym.shndx]
            return sym.value - sec.addr + sec.offset
        return None

    def read(self, offset: int, size: int) -> bytes:
        return self.data[offset:offset + size]
