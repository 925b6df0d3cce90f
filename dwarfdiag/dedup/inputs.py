"""What the replay takes: BTF, and what is known about where each type came from.

A raw BTF file (or an ELF with a ``.BTF`` section and no DWARF) is read
here. BTF made from a binary's DWARF, by our encoder or captured from
pahole, comes from the application layer (:mod:`dwarfdiag.analysis`),
which fills in each type's DIE provenance and, for pahole's BTF, the
consistency check that tells encoder-made cycles apart.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

from dwarfdiag.btf.model import Btf
from dwarfdiag.btf.raw import parse_btf
from dwarfdiag.errors import BtfFormatError

if TYPE_CHECKING:  # the check (difflib, its findings) is imported only where one is made
    from dwarfdiag.btf.consistency import CheckReport


@dataclass
class DedupInput:
    btf: Btf
    raw: bytes
    producer: str  # what produced the BTF: "raw file", "dwarfdiag encoder", a pahole label
    provenance: dict[int, dict] = field(default_factory=dict)  # BTF id -> DIE provenance
    check: CheckReport | None = None  # when the BTF is pahole's: its check against the DWARF
    base: Btf | None = None
    binary: str | None = None  # the ELF the BTF was made from, if any


def from_btf_file(path: Path, base: Path | None = None) -> DedupInput:
    """Raw (or split) BTF, or the ``.BTF`` section of an ELF, used as it is."""
    from dwarfdiag.btf.files import load_btf, read_btf_bytes

    base_btf = load_btf(base) if base else None
    raw = read_btf_bytes(path)
    try:
        btf = parse_btf(raw, base_btf)
    except BtfFormatError as e:
        raise e.in_file(str(path)) from None
    return DedupInput(btf, raw, "raw file", base=base_btf)
