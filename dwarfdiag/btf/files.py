"""Load BTF from a path the way ``btf__parse_split()`` does: a raw BTF file
(``pahole --btf_encode_detached`` output, ``/sys/kernel/btf/*``) or an ELF
file carrying a ``.BTF`` section."""

from __future__ import annotations

from pathlib import Path

from dwarfdiag.btf.model import Btf
from dwarfdiag.btf.raw import parse_btf
from dwarfdiag.elf import ELF_MAGIC, ElfFile
from dwarfdiag.errors import BadInputError, BtfFormatError
from dwarfdiag.inputfile import read_input


def read_btf_bytes(path: Path) -> bytes:
    """Raw BTF bytes from a raw file or from an ELF's .BTF section (a pipe works too:
    it is read once, then looked at)."""
    path = Path(path)
    data = read_input(path)
    if data[:4] != ELF_MAGIC:
        return bytes(data)
    btf = ElfFile(path, data).contents(".BTF")
    if btf is None:
        raise BadInputError(
            f"{path}: ELF file without a .BTF section; produce BTF with "
            f"'pahole --btf_encode_detached=OUT.btf {path}' and pass OUT.btf")
    return btf


def load_btf(path: Path, base: Path | Btf | None = None) -> Btf:
    """Parse ``path`` as BTF, split on top of ``base`` if given."""
    base_btf = load_btf(base) if isinstance(base, (str, Path)) else base
    data = read_btf_bytes(path)
    try:
        return parse_btf(data, base_btf)
    except BtfFormatError as e:
        raise e.in_file(str(path)) from None
