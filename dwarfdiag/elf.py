"""Open ELF files safely: sections, and the failure messages users see.

Every entry point turns pyelftools' exceptions (ELFError, struct.error,
IndexError on truncated files...) into one BadInputError that names the file
and the problem, so callers never see a parser traceback.
"""

from __future__ import annotations

import struct
from contextlib import contextmanager
from pathlib import Path
from typing import Iterator

from elftools.common.exceptions import DWARFError, ELFError
from elftools.elf.elffile import ELFFile

from dwarfdiag.errors import BadInputError, DwarfdiagError, NotFoundError

# What pyelftools raises on malformed input, directly or from the struct and
# construct layers beneath it.
_PARSER_FAILURES = (ELFError, DWARFError, ValueError, IndexError, KeyError, EOFError,
                    struct.error, AssertionError, UnicodeDecodeError)

ELF_MAGIC = b"\x7fELF"


def is_elf(path: Path) -> bool:
    try:
        with open(path, "rb") as f:
            return f.read(4) == ELF_MAGIC
    except OSError:
        return False


@contextmanager
def open_elf(path: Path) -> Iterator[ELFFile]:
    """Yield an ELFFile; any parse failure inside the block becomes BadInputError."""
    path = Path(path)
    try:
        f = open(path, "rb")
    except OSError as e:
        raise BadInputError(f"{path}: cannot open: {e.strerror}") from e
    with f:
        try:
            yield ELFFile(f)
        except DwarfdiagError:
            raise
        except _PARSER_FAILURES as e:
            raise BadInputError(f"{path}: corrupt or truncated ELF ({type(e).__name__}: {e})") from e


def section_data(path: Path, name: str) -> bytes:
    """Contents of section ``name`` (decompressed if SHF_COMPRESSED)."""
    with open_elf(path) as elf:
        sec = elf.get_section_by_name(name)
        if sec is None:
            raise NotFoundError(f"{path}: no {name} section")
        data = sec.data()
        if len(data) < sec.data_size and sec["sh_type"] != "SHT_NOBITS":
            raise BadInputError(f"{path}: section {name} is truncated")
        return data


def _note_desc(elf: ELFFile, section: str) -> bytes | None:
    """The descriptor of the first note in ``section`` (pyelftools decodes GNU
    notes but not Go's, so both go through the plain note layout)."""
    from dwarfdiag.dwarf.sections import note_desc

    sec = elf.get_section_by_name(section)
    if sec is None:
        return None
    return note_desc(sec.data(), "<" if elf.little_endian else ">") or None


def build_ids(path: Path) -> dict[str, str]:
    """The binary's GNU build-id (hex) and Go build ID (text), where present."""
    out: dict[str, str] = {}
    with open_elf(path) as elf:
        gnu = _note_desc(elf, ".note.gnu.build-id")
        if gnu:
            out["gnu"] = gnu.hex()
        go = _note_desc(elf, ".note.go.buildid")
        if go:
            out["go"] = go.decode("ascii", "replace")
    return out
