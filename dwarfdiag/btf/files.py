"""Load BTF from a path the way ``btf__parse_split()`` does: a raw BTF file
(``pahole --btf_encode_detached`` output, ``/sys/kernel/btf/*``) or an ELF
file carrying a ``.BTF`` section."""

from __future__ import annotations

from pathlib import Path

from dwarfdiag import elf
from dwarfdiag.btf.model import Btf
from dwarfdiag.btf.raw import parse_btf
from dwarfdiag.errors import BadInputError, BtfFormatError, NotFoundError


def read_btf_bytes(path: Path) -> bytes:
    """Raw BTF bytes from a raw file or from an ELF's .BTF section."""
    path = Path(path)
    if elf.is_elf(path):
        try:
            return elf.section_data(path, ".BTF")
        except NotFoundError:
            raise BadInputError(
                f"{path}: ELF file without a .BTF section; produce BTF with "
                f"'pahole --btf_encode_detached=OUT.btf {path}' and pass OUT.btf") from None
    try:
        return path.read_bytes()
    except OSError as e:
        raise BadInputError(f"{path}: cannot read: {e.strerror}") from e


def load_btf(path: Path, base: Path | Btf | None = None) -> Btf:
    """Parse ``path`` as BTF, split on top of ``base`` if given."""
    base_btf = load_btf(base) if isinstance(base, (str, Path)) else base
    data = read_btf_bytes(path)
    try:
        return parse_btf(data, base_btf)
    except BtfFormatError as e:
        raise e.in_file(str(path)) from None
