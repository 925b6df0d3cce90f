"""dwarfdiag's one ELF reader: headers, sections, segments, notes and symbols.

Everything dwarfdiag reads from an ELF goes through :class:`ElfFile`: the
DWARF loader (debug sections, inflated), the BTF loader (``.BTF``), build
ids for cache keys and manifests, and probe (program headers and symbols for
uprobe offsets). It reads only headers and the sections asked for, from a
memory map, so a 150 MB binary costs what its wanted sections cost. Both
byte orders and both classes are read; probe refuses what it cannot attach
to on its own.

Compressed sections are inflated here: ``SHF_COMPRESSED`` with an
``Elf_Chdr`` (what gc and modern binutils write) and the older ``.zdebug_*``
sections with a ``ZLIB`` + big-endian size header. Inflation is bounded by
the size the header declares, by a plausible ratio (:data:`MAX_RATIO`) and by
:data:`MAX_INFLATED`, so a small file that claims gigabytes fails at once
with one line.

Malformed input raises :class:`~dwarfdiag.errors.BadInputError` naming the
file, what is wrong and where; pyelftools is the tests' oracle, not a
run-time dependency.
"""

from __future__ import annotations

import os
import stat
import struct
import zlib
from dataclasses import dataclass
from pathlib import Path

from dwarfdiag.errors import BadInputError
from dwarfdiag.inputfile import check_readable, read_input

ELF_MAGIC = b"\x7fELF"
SHF_COMPRESSED = 0x800
ELFCOMPRESS_ZLIB = 1
SHT_NOBITS = 8
SHN_XINDEX = 0xFFFF
PT_LOAD = 1
STT_FUNC = 2
EM_X86_64 = 62
MACHINES = {3: "x86 (32-bit)", 40: "arm", 62: "x86-64", 183: "arm64 (aarch64)", 243: "riscv",
            8: "mips", 20: "powerpc", 21: "powerpc64", 22: "s390"}
# No real debug section inflates past this; a file that says so is a bomb or corrupt.
MAX_INFLATED = int(os.environ.get("DWARFDIAG_MAX_SECTION_BYTES", 4 << 30))
# DWARF deflates 3 to 6 times (measured on gc, gccgo and C binaries, kubeadm included);
# zlib allows about 1000. A section claiming more than this is refused before inflating.
MAX_RATIO = 64


@dataclass(frozen=True)
class Section:
    name: str
    type: int
    flags: int
    addr: int
    offset: int
    size: int
    index: int


@dataclass(frozen=True)
class Segment:
    vaddr: int
    offset: int
    filesz: int
    memsz: int
    flags: int


@dataclass(frozen=True)
class Symbol:
    name: str
    value: int
    size: int
    kind: int  # STT_*
    bind: int
    shndx: int
    table: str  # ".symtab" or ".dynsym"


def is_elf(path: Path) -> bool:
    """True for a regular file that starts with the ELF magic (never blocks on a pipe)."""
    try:
        if not Path(path).is_file():
            return False
        with open(path, "rb") as f:
            return f.read(4) == ELF_MAGIC
    except OSError:
        return False


class ElfFile:
    """The headers of one ELF file, and its sections on demand."""

    def __init__(self, path: Path, data: bytes | None = None):
        self.path = Path(path)
        if data is None:
            st = check_readable(self.path)
            if not stat.S_ISREG(st.st_mode):
                raise BadInputError(f"{self.path}: a binary must be a regular file, not a pipe "
                                    f"or device; save it to a file first")
            data = read_input(self.path)
        self.data = data
        d = self.data
        if len(d) == 0:
            raise BadInputError(f"{self.path}: empty file, not an ELF binary")
        if d[:4] != ELF_MAGIC:
            raise BadInputError(f"{self.path}: not an ELF file (no \\x7fELF magic)")
        if len(d) < 52:
            raise BadInputError(f"{self.path}: truncated ELF header ({len(d)} bytes)")
        cls, enc = d[4], d[5]
        if cls not in (1, 2) or enc not in (1, 2):
            raise BadInputError(f"{self.path}: corrupt ELF header (class {cls}, data "
                                f"encoding {enc})")
        self.elf_class = 64 if cls == 2 else 32
        self.little_endian = enc == 1
        self.endian = "<" if self.little_endian else ">"
        try:
            self._read_headers()
        except struct.error as err:
            raise BadInputError(f"{self.path}: truncated ELF headers ({err})") from None

    # --- headers ----------------------------------------------------------------
    def _read_headers(self) -> None:
        d, e = self.data, self.endian
        if self.elf_class == 64:
            self.type, self.machine = struct.unpack_from(e + "HH", d, 16)
            phoff, shoff = struct.unpack_from(e + "QQ", d, 32)
            phentsize, phnum, shentsize, shnum, shstrndx = struct.unpack_from(e + "HHHHH", d, 54)
            phdr, shdr = e + "IIQQQQQQ", e + "IIQQQQIIQQ"
        else:
            self.type, self.machine = struct.unpack_from(e + "HH", d, 16)
            phoff, shoff = struct.unpack_from(e + "II", d, 28)
            phentsize, phnum, shentsize, shnum, shstrndx = struct.unpack_from(e + "HHHHH", d, 42)
            phdr, shdr = e + "IIIIIIII", e + "IIIIIIIIII"
        self.segments: list[Segment] = []
        if phoff and phnum and phentsize >= struct.calcsize(phdr):
            if phoff + phnum * phentsize > len(d):
                raise BadInputError(f"{self.path}: program headers at {phoff:#x} run past the "
                                    f"end of the file; the file is truncated")
            for i in range(phnum):
                f = struct.unpack_from(phdr, d, phoff + i * phentsize)
                if self.elf_class == 64:
                    p_type, flags, offset, vaddr, _, filesz, memsz, _ = f
                else:
                    p_type, offset, vaddr, _, filesz, memsz, flags, _ = f
                if p_type == PT_LOAD:
                    self.segments.append(Segment(vaddr, offset, filesz, memsz, flags))
        self.sections: list[Section] = []
        if not shoff or shentsize < struct.calcsize(shdr):
            return
        if shnum == 0 or shstrndx == SHN_XINDEX:  # extended numbering: counts in section 0
            first = self._shdr(shdr, shoff)
            shnum = shnum or first[5]
            shstrndx = first[6] if shstrndx == SHN_XINDEX else shstrndx
        if shoff + shnum * shentsize > len(d):
            raise BadInputError(f"{self.path}: section header table at {shoff:#x} runs past the "
                                f"end of the file ({len(d)} bytes); the file is truncated")
        raw = [self._shdr(shdr, shoff + i * shentsize) for i in range(shnum)]
        names = b""
        if 0 < shstrndx < len(raw):
            _, _, _, _, off, size, *_ = raw[shstrndx]
            names = bytes(d[off:off + size])
        for i, (name_off, sh_type, flags, addr, offset, size, *_) in enumerate(raw):
            end = names.find(b"\0", name_off)
            name = names[name_off:end].decode("latin-1") if 0 <= name_off < end else ""
            self.sections.append(Section(name, sh_type, flags, addr, offset, size, i))

    def _shdr(self, fmt: str, at: int) -> tuple:
        name, sh_type, flags, addr, offset, size, link, info, _align, _entsize = \
            struct.unpack_from(fmt, self.data, at)
        return name, sh_type, flags, addr, offset, size, link, info

    @property
    def arch(self) -> str:
        return MACHINES.get(self.machine, f"machine {self.machine}")

    def section(self, name: str) -> Section | None:
        return next((s for s in self.sections if s.name == name), None)

    # --- contents ---------------------------------------------------------------
    def raw(self, section: Section) -> bytes:
        """A section's bytes as stored in the file (b"" for SHT_NOBITS)."""
        if section.type == SHT_NOBITS:
            return b""
        if section.offset + section.size > len(self.data):
            raise BadInputError(f"{self.path}: section {section.name} ({section.size} bytes at "
                                f"{section.offset:#x}) runs past the end of the file; the file "
                                f"is truncated")
        return bytes(self.data[section.offset:section.offset + section.size])

    def contents(self, name: str) -> bytes | None:
        """A section's bytes, inflated if compressed; ``.debug_x`` also finds the old
        ``.zdebug_x``. None when the file has no such section."""
        section = self.section(name)
        if section is None and name.startswith(".debug_"):
            section = self.section(".z" + name[1:])
        if section is None:
            return None
        data = self.raw(section)
        if section.flags & SHF_COMPRESSED:
            return self._inflate_chdr(section.name, data)
        if section.name.startswith(".zdebug_"):
            return self._inflate_zdebug(section.name, data)
        return data

    def is_compressed(self, name: str) -> bool:
        section = self.section(name) or self.section(".z" + name[1:])
        return section is not None and (bool(section.flags & SHF_COMPRESSED)
                                        or section.name.startswith(".zdebug_"))

    def _inflate_chdr(self, name: str, raw: bytes) -> bytes:
        fmt = self.endian + ("IIQQ" if self.elf_class == 64 else "III")
        hdr_size = struct.calcsize(fmt)
        if len(raw) < hdr_size:
            raise BadInputError(f"{self.path}: compressed section {name} is shorter than its "
                                f"header")
        ch_type, *rest = struct.unpack_from(fmt, raw)
        ch_size = rest[1] if self.elf_class == 64 else rest[0]
        if ch_type != ELFCOMPRESS_ZLIB:
            raise BadInputError(f"{self.path}: section {name} uses compression type {ch_type}; "
                                f"only zlib is supported (rebuild with "
                                f"-ldflags=-compressdwarf=false or objcopy "
                                f"--decompress-debug-sections)")
        return self._inflate(name, raw[hdr_size:], ch_size)

    def _inflate_zdebug(self, name: str, raw: bytes) -> bytes:
        if raw[:4] != b"ZLIB" or len(raw) < 12:
            raise BadInputError(f"{self.path}: section {name} lacks its ZLIB header")
        size, = struct.unpack_from(">Q", raw, 4)
        return self._inflate(name, raw[12:], size)

    def _inflate(self, name: str, body: bytes, size: int) -> bytes:
        if size > MAX_INFLATED:
            raise BadInputError(f"{self.path}: section {name} claims to inflate to {size} bytes, "
                                f"more than any real debug section ({MAX_INFLATED} bytes; "
                                f"DWARFDIAG_MAX_SECTION_BYTES raises it); the file is corrupt "
                                f"or hostile")
        if size > MAX_RATIO * len(body) + (1 << 20):
            raise BadInputError(f"{self.path}: section {name} claims to inflate {len(body)} "
                                f"bytes to {size}, a ratio no debug section has (at most "
                                f"{MAX_RATIO}); the file is corrupt or a decompression bomb")
        inflater = zlib.decompressobj()
        try:
            # never more than the header promised, plus one byte to notice a liar
            out = inflater.decompress(body, size + 1)
        except zlib.error as err:
            raise BadInputError(f"{self.path}: compressed section {name} is corrupt ({err})") \
                from None
        except MemoryError:
            raise BadInputError(f"{self.path}: section {name} does not fit in memory when "
                                f"inflated ({size} bytes)") from None
        if len(out) != size:
            raise BadInputError(f"{self.path}: section {name} inflates to "
                                f"{'more than ' if len(out) > size else ''}{len(out)} bytes, its "
                                f"header says {size}; the section is corrupt")
        return out

    # --- notes and symbols ------------------------------------------------------
    def note(self, name: str) -> bytes:
        """The descriptor of the first note in section ``name`` (b"" if none).

        GNU's build-id note and Go's (owner "Go", type 4) share the plain
        note layout: namesz, descsz, type, then name and desc padded to 4.
        """
        data = self.contents(name) or b""
        if len(data) < 12:
            return b""
        namesz, descsz, _ = struct.unpack_from(self.endian + "III", data)
        start = 12 + ((namesz + 3) & ~3)
        desc = data[start:start + descsz]
        return desc if len(desc) == descsz else b""

    def build_ids(self) -> dict[str, str]:
        """The GNU build-id (hex) and the Go build ID (text), where present."""
        out: dict[str, str] = {}
        gnu = self.note(".note.gnu.build-id")
        if gnu:
            out["gnu"] = gnu.hex()
        go = self.note(".note.go.buildid")
        if go:
            out["go"] = go.decode("ascii", "replace")
        return out

    def symbols(self, table: str = ".symtab") -> list[Symbol]:
        """Every entry of ``.symtab`` (or ``.dynsym``), with its name."""
        strings = {".symtab": ".strtab", ".dynsym": ".dynstr"}[table]
        symtab, strtab = self.contents(table), self.contents(strings)
        if not symtab or strtab is None:
            return []
        if self.elf_class == 64:
            fmt, entry = self.endian + "IBBHQQ", 24
        else:
            fmt, entry = self.endian + "IIIBBH", 16
        out = []
        for off in range(0, len(symtab) - entry + 1, entry):
            fields = struct.unpack_from(fmt, symtab, off)
            if self.elf_class == 64:
                name_off, info, _, shndx, value, size = fields
            else:
                name_off, value, size, info, _, shndx = fields
            end = strtab.find(b"\0", name_off)
            name = strtab[name_off:end].decode("utf-8", "replace") if end >= name_off else ""
            out.append(Symbol(name, value, size, info & 0xF, info >> 4, shndx, table))
        return out

    def function_names(self, table: str = ".symtab") -> list[str]:
        """Names of the STT_FUNC entries of ``table``, duplicates kept, in table order.

        What :meth:`symbols` gives filtered to functions, without building a
        Symbol per entry: a Go binary's ``.symtab`` holds 100k+ entries.
        """
        strings = {".symtab": ".strtab", ".dynsym": ".dynstr"}[table]
        symtab, strtab = self.contents(table), self.contents(strings)
        if not symtab or strtab is None:
            return []
        if self.elf_class == 64:  # st_name, st_info only; the rest is padding to the entry
            fmt, entry = self.endian + "IB19x", 24
        else:
            fmt, entry = self.endian + "I8xB3x", 16
        usable = len(symtab) - len(symtab) % entry
        find, out = strtab.find, []
        for name_off, info in struct.iter_unpack(fmt, memoryview(symtab)[:usable]):
            if info & 0xF == STT_FUNC and name_off:
                end = find(b"\0", name_off)
                if end > name_off:
                    out.append(strtab[name_off:end].decode("utf-8", "replace"))
        return out

    # --- addresses --------------------------------------------------------------
    def offset_by_segments(self, addr: int) -> int | None:
        """The file offset of a virtual address, as the kernel maps the file."""
        for seg in self.segments:
            if seg.vaddr <= addr < seg.vaddr + seg.filesz:
                return addr - seg.vaddr + seg.offset
        return None

    def offset_by_section(self, sym: Symbol) -> int | None:
        """libbpf's ``elf_find_func_offset``: through the section holding the symbol."""
        if 0 < sym.shndx < len(self.sections):
            sec = self.sections[sym.shndx]
            return sym.value - sec.addr + sec.offset
        return None

    def read(self, offset: int, size: int) -> bytes:
        return bytes(self.data[offset:offset + size])


def build_ids(path: Path) -> dict[str, str]:
    return ElfFile(path).build_ids()


# --- separate debug information ---------------------------------------------------------
# Where distributions install debug files; DWARFDIAG_DEBUG_ROOT (colon-separated) and
# --debug-root add roots searched before it.
SYSTEM_DEBUG_ROOT = "/usr/lib/debug"
DEBUG_ROOT_ENV = "DWARFDIAG_DEBUG_ROOT"


def debug_roots(extra: tuple[Path, ...] | list[Path] = ()) -> list[Path]:
    """The roots searched for separate debug files, first match wins: ``extra``
    (``--debug-root``), then ``$DWARFDIAG_DEBUG_ROOT``, then ``/usr/lib/debug``."""
    env = [Path(p) for p in os.environ.get(DEBUG_ROOT_ENV, "").split(os.pathsep) if p]
    out: list[Path] = []
    for root in [*map(Path, extra), *env, Path(SYSTEM_DEBUG_ROOT)]:
        if root not in out:
            out.append(root)
    return out


def _debuglink(elf: ElfFile) -> tuple[str, int] | None:
    """The file name and CRC32 in ``.gnu_debuglink``, if the binary has one."""
    data = elf.contents(".gnu_debuglink")
    if not data:
        return None
    end = data.find(b"\0")
    if end <= 0:
        return None
    crc_at = (end + 4) & ~3
    if crc_at + 4 > len(data):
        return None
    crc, = struct.unpack_from(elf.endian + "I", data, crc_at)
    return data[:end].decode("utf-8", "replace"), crc


def _crc32(path: Path) -> int:
    crc = 0
    with open(path, "rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            crc = zlib.crc32(chunk, crc)
    return crc


def has_debug_info(elf: ElfFile) -> bool:
    return any(s is not None and s.size and s.type != SHT_NOBITS
               for s in (elf.section(".debug_info"), elf.section(".zdebug_info")))


def find_debug_file(path: Path, roots: list[Path] | None = None) -> tuple[Path, str] | None:
    """Where the DWARF of a stripped binary lives, as gdb looks for it, and how it
    was found:

    * ``ROOT/.build-id/xx/rest.debug`` for the GNU build-id;
    * the ``.gnu_debuglink`` name beside the binary, in its ``.debug/``
      subdirectory, or under ``ROOT`` + the binary's directory, where the
      file's CRC32 matches the link's;

    for each of ``roots`` (default :func:`debug_roots`). None when nothing is found.
    """
    path = Path(path)
    elf = ElfFile(path)
    roots = debug_roots() if roots is None else roots
    build_id = elf.build_ids().get("gnu")
    if build_id and len(build_id) > 2:
        for root in roots:
            candidate = root / ".build-id" / build_id[:2] / f"{build_id[2:]}.debug"
            if candidate.is_file() and has_debug_info(ElfFile(candidate)):
                return candidate, f"build-id {build_id} under {root}"
    link = _debuglink(elf)
    if link is None:
        return None
    name, crc = link
    here = path.resolve().parent
    candidates = [here / name, here / ".debug" / name,
                  *(root / here.relative_to(here.anchor) / name for root in roots)]
    for candidate in candidates:
        if candidate.is_file() and candidate.resolve() != path.resolve() \
                and _crc32(candidate) == crc and has_debug_info(ElfFile(candidate)):
            return candidate, f".gnu_debuglink {name}"
    return None


def no_dwarf_hint(path: Path, roots: list[Path] | None = None) -> str:
    """Why a binary without DWARF has no debug file either, and how to give one."""
    elf = ElfFile(path)
    roots = debug_roots() if roots is None else roots
    link = _debuglink(elf)
    where = ", ".join(str(r) for r in roots)
    if link:
        seen = f"its .gnu_debuglink names {link[0]}, not found beside it, in .debug/ or under {where}"
    elif elf.build_ids().get("gnu"):
        seen = f"no .build-id/ file for its build-id under {where}, and no .gnu_debuglink"
    else:
        seen = "it has no .gnu_debuglink and no GNU build-id"
    return (f"{path}: no DWARF (.debug_info is missing) and no separate debug file ({seen}); "
            f"give it with --debug-file or --debug-root, or rebuild without -s/-w (gc) or "
            f"with -g (gccgo, gcc)")
