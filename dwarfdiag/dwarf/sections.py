"""The DWARF sections of an ELF file, read without pyelftools.

The fast loader needs only the raw bytes of a few ``.debug_*`` sections. A
few dozen lines of section-header parsing avoid building pyelftools' object
model for a 100 MB binary, and give us errors that name the section and the
offset. Compressed sections are inflated here: ``SHF_COMPRESSED`` with an
``Elf_Chdr`` (what gc and modern binutils write) and the older ``.zdebug_*``
sections with a ``ZLIB`` + big-endian size header (gc before Go 1.12).
"""

from __future__ import annotations

import mmap
import struct
import zlib
from dataclasses import dataclass, field
from pathlib import Path

from dwarfdiag.errors import BadInputError

SHF_COMPRESSED = 0x800
ELFCOMPRESS_ZLIB = 1
SHT_NOBITS = 8
WANTED = (".debug_info", ".debug_abbrev", ".debug_str", ".debug_line_str",
          ".debug_str_offsets", ".debug_line", ".debug_addr", ".symtab", ".strtab")


@dataclass
class ElfSections:
    """Raw (decompressed) section bytes by name, and the ELF facts we report."""

    path: str
    little_endian: bool
    elf_class: int  # 32 or 64
    machine: int
    data: dict[str, bytes] = field(default_factory=dict)
    compressed: bool = False

    @property
    def endian(self) -> str:
        return "<" if self.little_endian else ">"

    def get(self, name: str) -> bytes:
        return self.data.get(name, b"")


def read_sections(path: Path, wanted: tuple[str, ...] = WANTED) -> ElfSections:
    """Read ``wanted`` sections of ``path``; BadInputError names what is wrong."""
    path = Path(path)
    try:
        with open(path, "rb") as f:
            size = f.seek(0, 2)
            if size == 0:
                raise BadInputError(f"{path}: empty file, not an ELF binary")
            with mmap.mmap(f.fileno(), 0, access=mmap.ACCESS_READ) as m:
                return _read(path, m, wanted)
    except OSError as e:
        raise BadInputError(f"{path}: cannot read: {e.strerror}") from e


def _read(path: Path, m: mmap.mmap, wanted: tuple[str, ...]) -> ElfSections:
    if m[:4] != b"\x7fELF":
        raise BadInputError(f"{path}: not an ELF file (no \\x7fELF magic)")
    if len(m) < 52:
        raise BadInputError(f"{path}: truncated ELF header ({len(m)} bytes)")
    cls, data_enc = m[4], m[5]
    if cls not in (1, 2) or data_enc not in (1, 2):
        raise BadInputError(f"{path}: corrupt ELF header (class {cls}, data encoding {data_enc})")
    e = "<" if data_enc == 1 else ">"
    try:
        if cls == 2:
            machine, = struct.unpack_from(e + "H", m, 18)
            shoff, = struct.unpack_from(e + "Q", m, 40)
            shentsize, shnum, shstrndx = struct.unpack_from(e + "HHH", m, 58)
            shdr = e + "IIQQQQIIQQ"
        else:
            machine, = struct.unpack_from(e + "H", m, 18)
            shoff, = struct.unpack_from(e + "I", m, 32)
            shentsize, shnum, shstrndx = struct.unpack_from(e + "HHH", m, 46)
            shdr = e + "IIIIIIIIII"
        if shoff == 0 or shnum == 0:
            raise BadInputError(f"{path}: ELF file has no section headers")
        if shoff + shnum * shentsize > len(m):
            raise BadInputError(f"{path}: section header table at {shoff:#x} runs past the end "
                                f"of the file ({len(m)} bytes); the file is truncated")
        headers = [struct.unpack_from(shdr, m, shoff + i * shentsize) for i in range(shnum)]
    except struct.error as err:
        raise BadInputError(f"{path}: truncated ELF header ({err})") from err
    if shstrndx >= shnum:
        raise BadInputError(f"{path}: section name table index {shstrndx} out of range")
    names_hdr = headers[shstrndx]
    names = bytes(m[names_hdr[4]:names_hdr[4] + names_hdr[5]])
    out = ElfSections(str(path), data_enc == 1, 64 if cls == 2 else 32, machine)
    for h in headers:
        name_off, sh_type, flags, _addr, offset, size = h[:6]
        end = names.find(b"\0", name_off)
        name = names[name_off:end].decode("latin-1") if end >= 0 else ""
        plain = "." + name[2:] if name.startswith(".zdebug_") else name
        if plain not in wanted or sh_type == SHT_NOBITS:
            continue
        if offset + size > len(m):
            raise BadInputError(f"{path}: section {name} ({size} bytes at {offset:#x}) runs past "
                                f"the end of the file; the file is truncated")
        raw = bytes(m[offset:offset + size])
        if flags & SHF_COMPRESSED:
            raw = _inflate_chdr(path, name, raw, e, cls)
            out.compressed = True
        elif name.startswith(".zdebug_"):
            raw = _inflate_zdebug(path, name, raw)
            out.compressed = True
        out.data[plain] = raw
    return out


def _inflate_chdr(path: Path, name: str, raw: bytes, e: str, cls: int) -> bytes:
    fmt = e + ("IIQQ" if cls == 2 else "III")
    hdr_size = struct.calcsize(fmt)
    if len(raw) < hdr_size:
        raise BadInputError(f"{path}: compressed section {name} is shorter than its header")
    ch_type, *rest = struct.unpack_from(fmt, raw)
    ch_size = rest[1] if cls == 2 else rest[0]
    if ch_type != ELFCOMPRESS_ZLIB:
        raise BadInputError(f"{path}: section {name} uses compression type {ch_type}; only zlib is "
                            f"supported (rebuild with -ldflags=-compressdwarf=false or "
                            f"objcopy --decompress-debug-sections)")
    return _inflate(path, name, raw[hdr_size:], ch_size)


def _inflate_zdebug(path: Path, name: str, raw: bytes) -> bytes:
    if raw[:4] != b"ZLIB" or len(raw) < 12:
        raise BadInputError(f"{path}: section {name} lacks its ZLIB header")
    size, = struct.unpack_from(">Q", raw, 4)
    return _inflate(path, name, raw[12:], size)


def _inflate(path: Path, name: str, body: bytes, size: int) -> bytes:
    try:
        out = zlib.decompress(body)
    except zlib.error as err:
        raise BadInputError(f"{path}: compressed section {name} is corrupt ({err})") from err
    if len(out) != size:
        raise BadInputError(f"{path}: section {name} inflates to {len(out)} bytes, its header "
                            f"says {size}; the section is corrupt")
    return out


def note_desc(data: bytes, endian: str) -> bytes:
    """The descriptor of the first ELF note in ``data`` (namesz, descsz, type,
    name, desc, each padded to 4 bytes); b"" if there is none. Go's build-id
    note (owner "Go", type 4) and GNU's share this layout."""
    if len(data) < 12:
        return b""
    namesz, descsz, _ = struct.unpack_from(endian + "III", data)
    start = 12 + ((namesz + 3) & ~3)
    desc = data[start:start + descsz]
    return desc if len(desc) == descsz else b""


def iter_symbols(symtab: bytes, strtab: bytes, elf_class: int, endian: str):
    """(name, value, size, info, shndx) of every entry of a symbol table."""
    if elf_class == 64:
        fmt, entry = endian + "IBBHQQ", 24
    else:
        fmt, entry = endian + "IIIBBH", 16
    for off in range(0, len(symtab) - entry + 1, entry):
        fields = struct.unpack_from(fmt, symtab, off)
        if elf_class == 64:
            name_off, info, _, shndx, value, size = fields
        else:
            name_off, value, size, info, _, shndx = fields
        end = strtab.find(b"\0", name_off)
        name = strtab[name_off:end].decode("utf-8", "replace") if end >= name_off else ""
        yield name, value, size, info, shndx
