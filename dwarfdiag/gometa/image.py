"""A Go binary's bytes as its runtime sees them: by virtual address.

The runtime's metadata (the pclntab, the moduledata, the type descriptors) is
made of pointers and offsets between allocated sections. :class:`Image` reads
them by address through the section headers, and applies the binary's
``R_*_RELATIVE`` relocations to pointer reads: a position-independent build
(``-buildmode=pie``) leaves its pointers zero in the file and lets the dynamic
loader add the load address, which for a file read at its link address is the
relocation's addend.

Every read is checked: an address outside the loaded sections is a
:class:`~dwarfdiag.errors.BadInputError` naming the file and the address, never
a wrong value.
"""

from __future__ import annotations

import bisect
import struct

from dwarfdiag.elf import SHT_NOBITS, ElfFile
from dwarfdiag.errors import BadInputError

SHF_ALLOC = 0x2
SHT_RELA = 4
# the relocation a dynamic loader applies as "load address + addend", per machine
RELATIVE = {62: 8, 183: 1027}  # x86-64 R_X86_64_RELATIVE, arm64 R_AARCH64_RELATIVE
MAX_CSTRING = 1 << 16  # no Go name is longer; a longer one is corrupt input


class Image:
    """Reads of a binary's allocated sections by virtual address."""

    def __init__(self, elf: ElfFile):
        self.elf = elf
        self.path = elf.path
        if elf.elf_class != 64:
            raise BadInputError(f"{elf.path}: a 32-bit binary ({elf.arch}); dwarfdiag reads "
                                f"the Go runtime metadata of 64-bit binaries only")
        self.endian = elf.endian
        self.ptr_size = 8
        self._data = elf.data
        placed = sorted((s.addr, s.size, s.offset, s.type) for s in elf.sections
                        if s.flags & SHF_ALLOC and s.addr and s.size)
        self._starts = [p[0] for p in placed]
        self._placed = placed
        self._relative: dict[int, int] | None = None
        self._structs: dict[str, struct.Struct] = {}
        # the section of the last read (start, end, file offset - start, type): most
        # reads follow one another in one section
        self._last = (0, 0, 0, SHT_NOBITS)
        self._word = struct.Struct(self.endian + "Q")

    # --- where an address is ---------------------------------------------------------
    def _locate(self, addr: int, size: int) -> tuple[int, int, int, int]:
        """(start, end, file offset minus start, section type) of the section holding
        ``addr`` to ``addr + size``, its end cut where the file ends."""
        last = self._last
        if last[0] <= addr and addr + size <= last[1]:
            return last
        i = bisect.bisect_right(self._starts, addr) - 1
        if i >= 0:
            start, length, offset, kind = self._placed[i]
            if addr + size <= start + length:
                end = start + length
                if kind != SHT_NOBITS and offset + length > len(self._data):
                    end = start + max(len(self._data) - offset, 0)
                    if addr + size > end:
                        raise BadInputError(f"{self.path}: address {addr:#x} lies past the "
                                            f"end of the file; the file is truncated")
                self._last = (start, end, offset - start, kind)
                return self._last
        raise BadInputError(f"{self.path}: address {addr:#x} ({size} bytes) is in no "
                            f"allocated section; the Go runtime metadata is corrupt")

    def contains(self, addr: int, size: int = 1) -> bool:
        try:
            self._locate(addr, size)
        except BadInputError:
            return False
        return True

    def read(self, addr: int, size: int) -> bytes:
        _, _, delta, kind = self._locate(addr, size)
        if kind == SHT_NOBITS:  # .bss and friends: zeros until the program runs
            return bytes(size)
        return bytes(self._data[addr + delta:addr + delta + size])

    def unpack(self, fmt: str, addr: int) -> tuple:
        packed = self._structs.get(fmt)
        if packed is None:
            packed = self._structs[fmt] = struct.Struct(self.endian + fmt)
        _, _, delta, kind = self._locate(addr, packed.size)
        if kind == SHT_NOBITS:
            return packed.unpack(bytes(packed.size))
        return packed.unpack_from(self._data, addr + delta)

    def u8(self, addr: int) -> int:
        return self.read(addr, 1)[0]

    def u16(self, addr: int) -> int:
        return self.unpack("H", addr)[0]

    def u32(self, addr: int) -> int:
        return self.unpack("I", addr)[0]

    def i32(self, addr: int) -> int:
        return self.unpack("i", addr)[0]

    def word(self, addr: int) -> int:
        """An unsigned pointer-sized integer as stored (no relocation)."""
        _, _, delta, kind = self._locate(addr, 8)
        return 0 if kind == SHT_NOBITS else self._word.unpack_from(self._data, addr + delta)[0]

    def pointer(self, addr: int) -> int:
        """The pointer stored at ``addr`` as the loaded program holds it (the
        relocation's addend where a relative relocation fills it)."""
        value = self.word(addr)
        if value == 0:
            return self.relocations().get(addr, 0)
        return value

    def slice(self, addr: int) -> tuple[int, int]:
        """A Go slice header at ``addr``: (data pointer, length)."""
        return self.pointer(addr), self.word(addr + 8)

    def cstring(self, addr: int) -> bytes:
        """The NUL-terminated bytes at ``addr``, within its section."""
        _, end, delta, kind = self._locate(addr, 1)
        if kind == SHT_NOBITS:
            return b""
        at = addr + delta
        stop = min(end + delta, at + MAX_CSTRING)
        nul = self._data.find(b"\0", at, stop)
        if nul < 0:
            raise BadInputError(f"{self.path}: the string at {addr:#x} has no end; the Go "
                                f"runtime metadata is corrupt")
        return bytes(self._data[at:nul])

    # --- relocations -------------------------------------------------------------------
    def relocations(self) -> dict[int, int]:
        """Address -> addend of every relative relocation (``.rela.dyn``)."""
        if self._relative is None:
            self._relative = {}
            relative = RELATIVE.get(self.elf.machine)
            for section in self.elf.sections:
                if section.type != SHT_RELA or relative is None:
                    continue
                data = self.elf.raw(section)
                usable = len(data) - len(data) % 24
                for r_offset, r_info, r_addend in struct.iter_unpack(
                        self.endian + "QQq", memoryview(data)[:usable]):
                    if r_info & 0xFFFFFFFF == relative:
                        self._relative[r_offset] = r_addend
        return self._relative

    def section(self, *names: str):
        """The first of the sections named (allocated, with contents), or None."""
        for name in names:
            found = self.elf.section(name)
            if found is not None and found.size and found.type != SHT_NOBITS:
                return found
        return None
