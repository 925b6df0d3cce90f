"""The final BTF of a binary, as pahole 1.32 + libbpf 1.7 write it, with no newer libbpf needed.

``pahole --btf_encode_detached`` encodes the DWARF, leaves some functions
out, and deduplicates with libbpf's ``btf__dedup``. dwarfdiag does the same
with its own parts: the encoder (pahole 1.32's rules), pahole's function
rule, and the replay of libbpf 1.7's dedup, so a machine with Debian 12's
libbpf 1.1 gets the BTF only libbpf 1.7 can make.

pahole's function rule (:mod:`dwarfdiag.btf.functions`) is the encoder's
own, so the functions pahole leaves out are left out before dedup too.

Every final type keeps the provenance of the DIE it was made from (the
provenance of its canonical representative).
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field

from dwarfdiag.analysis import BinaryAnalysis
from dwarfdiag.btf.model import Btf
from dwarfdiag.errors import DwarfdiagError

class DedupFailed(DwarfdiagError):
    """The replayed dedup rejects the BTF (a libbpf this old cannot encode it)."""


class Representatives(Mapping):
    """Final id -> the provenance of the type it was made from (its canonical
    representative's), each worked out when asked: ``btf final`` writes none of them
    (working them all out is a visible part of its time); the kernel profile and the
    header ask."""

    def __init__(self, representative: dict[int, int], provenance: Mapping[int, dict]):
        self._representative = representative  # final id -> pre-dedup id
        self._provenance = provenance

    def __getitem__(self, final_id: int) -> dict:
        return self._provenance[self._representative[final_id]]

    def __contains__(self, final_id: object) -> bool:
        return final_id in self._representative

    def __iter__(self) -> Iterator[int]:
        return iter(self._representative)

    def __len__(self) -> int:
        return len(self._representative)


@dataclass
class FinalBtf:
    btf: Btf
    provenance: Mapping[int, dict]  # final id -> DIE provenance
    dropped: list[tuple[str, str]] = field(default_factory=list)  # (function, why)
    variant: str = "1.7"


def final_btf(analysis: BinaryAnalysis, variant_name: str = "1.7") -> FinalBtf:
    """Encode, leave out what pahole leaves out, deduplicate as libbpf ``variant_name``."""
    from dwarfdiag.dedup.driver import replay
    from dwarfdiag.dedup.variants import variant
    from dwarfdiag.findings.explain import errno_name

    btf, provenance = analysis.encoded.btf, analysis.encoded.provenance
    result = replay(btf, variant(variant_name))
    if not result.ok or result.btf is None:
        raise DedupFailed(f"{analysis.path}: libbpf {variant_name}'s dedup fails on this "
                          f"binary ({errno_name(result.error)} at [{result.type_id}]); "
                          f"'dwarfdiag dedup explain' says why")
    final_of = {old: n for n, old in enumerate(result.kept, 1)}
    representative: dict[int, int] = {}  # the first type, in id order, merged into each
    for old in range(1, btf.type_cnt):
        final = final_of.get(result.canonical[old])
        if final is not None and final not in representative and old in provenance:
            representative[final] = old
    return FinalBtf(result.btf, Representatives(representative, provenance),
                    sorted(analysis.encoded.skipped.items()), variant_name)


def elf_with_btf(binary, raw_btf: bytes, out) -> None:
    """A copy of ``binary`` with a ``.BTF`` section holding ``raw_btf`` (what ``pahole -J``
    makes), written to ``out``; the binary itself is only read."""
    import tempfile
    from pathlib import Path

    from dwarfdiag.toolchains.run import run_tool

    with tempfile.TemporaryDirectory() as tmp:
        section = Path(tmp) / "btf"
        section.write_bytes(raw_btf)
        copy = Path(tmp) / "with-btf"
        proc = run_tool(["objcopy", "--remove-section=.BTF", f"--add-section=.BTF={section}",
                         "--set-section-flags=.BTF=readonly", str(binary), str(copy)], 600)
        if proc.returncode != 0:
            raise DwarfdiagError(f"objcopy could not add .BTF to a copy of {binary}: "
                                 f"{proc.stderr.strip()[-300:]}")
        Path(out).write_bytes(copy.read_bytes())
