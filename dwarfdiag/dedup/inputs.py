"""What the dedup commands take: raw BTF, or an ELF to encode or capture.

A raw BTF file (or an ELF with a ``.BTF`` section and no DWARF) is used as
is. An ELF with DWARF is encoded by our encoder, which gives every type its
DIE provenance; with ``--pahole``/``--toolchain`` pahole's own pre-dedup BTF
is captured instead, and its types get provenance by aligning them with our
encoding (:func:`dwarfdiag.btf.consistency.align`), which also yields the
consistency check that tells encoder-made cycles apart.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from dwarfdiag.btf.model import Btf
from dwarfdiag.btf.raw import parse_btf
from dwarfdiag.elf import is_elf


@dataclass
class DedupInput:
    btf: Btf
    raw: bytes
    source: str  # what produced the BTF: "raw file", "dwarfdiag encoder", a pahole label
    provenance: dict[int, dict] = field(default_factory=dict)  # BTF id -> DIE provenance
    check: object | None = None  # CheckReport when the BTF is pahole's
    base: Btf | None = None


def _has_dwarf(path: Path) -> bool:
    from dwarfdiag.dwarf.sections import read_sections

    return bool(read_sections(path, (".debug_info",)).get(".debug_info"))


def load_input(path: Path, base: Path | None = None, pahole: str | None = None,
               toolchain: str | None = None) -> DedupInput:
    from dwarfdiag.btf.files import read_btf_bytes

    path = Path(path)
    base_btf = parse_btf(read_btf_bytes(base)) if base else None
    if is_elf(path) and _has_dwarf(path):
        if base_btf is not None:
            from dwarfdiag.errors import UnsupportedError

            raise UnsupportedError("--base applies to raw split BTF input, not to a binary")
        return _from_binary(path, pahole, toolchain)
    raw = read_btf_bytes(path)
    return DedupInput(parse_btf(raw, base_btf), raw, "raw file", base=base_btf)


def _from_binary(path: Path, pahole: str | None, toolchain: str | None) -> DedupInput:
    from dwarfdiag.btf.encoder import encode
    from dwarfdiag.btf.raw import write_btf
    from dwarfdiag.dwarf.loader import load_typegraph

    graph = load_typegraph(path)
    ours = encode(graph)
    if not pahole and not toolchain:
        return DedupInput(ours.btf, write_btf(ours.btf), "dwarfdiag encoder (pahole 1.32 rules)",
                          ours.provenance)
    from dwarfdiag.btf.capture import capture
    from dwarfdiag.toolchains.suites import pahole_command
    from dwarfdiag.btf.consistency import align, check

    argv, label = pahole_command(pahole, toolchain)
    cap = capture(path, argv, label)
    theirs = parse_btf(cap.btf)
    mapping, _, _ = align(theirs, ours.btf)
    provenance = {p: ours.provenance[o] for p, o in mapping.items() if o in ours.provenance}
    report = check(graph, ours, theirs, label, cap.method, cap.dedup_ret)
    return DedupInput(theirs, cap.btf, f"{label}, captured before btf__dedup", provenance,
                      report)
