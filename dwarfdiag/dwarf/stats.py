"""Summary statistics of a binary's DWARF: what a corpus manifest records.

DWARF version(s), whether the debug sections are compressed, the number of
compile units, DIE counts per tag and the producer strings (which tell gc
``Go cmd/compile go1.27.3`` from gccgo ``GNU Go 12.2.0`` and from gcc's C in
cgo programs). The fast reader counts every DIE per abbreviation while it
loads the TypeGraph (:func:`dwarfdiag.dwarf.loader.read_typegraph`), so the
numbers come with the (cached) graph and cost nothing more.
"""

from __future__ import annotations

from pathlib import Path

from dwarfdiag.dwarf.loader import load_typegraph
from dwarfdiag.findings.matrix import DwarfStats


def dwarf_stats(path: Path) -> DwarfStats:
    graph = load_typegraph(Path(path))
    return DwarfStats(
        versions=list(graph.stats.get("dwarf_versions", [])),
        compressed=graph.compressed,
        cu_count=graph.stats.get("unit_count", len(graph.cus)),
        die_count=graph.die_count,
        dies_by_tag=dict(graph.stats.get("dies_by_tag", {})),
        producers=sorted({cu.producer for cu in graph.cus if cu.producer}))
