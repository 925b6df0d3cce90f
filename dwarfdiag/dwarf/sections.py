"""The debug sections of an ELF file, inflated, as the DWARF reader wants them.

:class:`ElfSections` is the bundle :mod:`dwarfdiag.dwarf.reader` reads from:
the raw (decompressed) bytes of the wanted ``.debug_*`` sections plus the
ELF facts a report mentions. The ELF itself is read by
:class:`dwarfdiag.elf.ElfFile`.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass, field
from pathlib import Path

from dwarfdiag.elf import ElfFile
from dwarfdiag.fork import second_core

WANTED = (".debug_info", ".debug_abbrev", ".debug_str", ".debug_line_str",
          ".debug_str_offsets", ".debug_line", ".debug_addr")


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


def read_sections(source: Path | ElfFile, wanted: tuple[str, ...] = WANTED) -> ElfSections:
    """The ``wanted`` sections of an ELF (a path or an open :class:`ElfFile`).

    Go compresses its DWARF; zlib lets other threads run while it inflates, so
    ``.debug_info`` (the largest) is inflated by a thread on the second core while
    this one inflates the rest.
    """
    elf = source if isinstance(source, ElfFile) else ElfFile(Path(source))
    out = ElfSections(str(elf.path), elf.little_endian, elf.elf_class, elf.machine)
    found: dict[str, bytes | BaseException | None] = {}

    def inflate(name: str) -> None:
        try:
            found[name] = elf.contents(name)
        except BaseException as e:  # noqa: BLE001 - raised below, in the caller's thread
            found[name] = e

    apart = ".debug_info" if ".debug_info" in wanted and second_core() else None
    thread = threading.Thread(target=inflate, args=(apart,)) if apart else None
    if thread:
        thread.start()
    try:
        for name in wanted:
            if name != apart:
                inflate(name)
    finally:
        if thread:
            thread.join()
    for name in wanted:  # in order: the first error is the one a plain loop meets
        data = found[name]
        if isinstance(data, BaseException):
            raise data
        if data is not None:
            out.data[name] = data
            out.compressed = out.compressed or elf.is_compressed(name)
    return out
