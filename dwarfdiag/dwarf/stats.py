"""Summary statistics of a binary's DWARF: what a corpus manifest records.

DWARF version(s), whether the debug sections are compressed, the number of
compile units, DIE counts per tag and the producer strings (which tell gc
``Go cmd/compile go1.27.3`` from gccgo ``GNU Go 12.2.0`` and from gcc's C in
cgo programs). Counting visits every DIE, so callers cache the result (the
corpus manifest does, per build).
"""

from __future__ import annotations

from collections import Counter
from pathlib import Path

from elftools.elf.constants import SH_FLAGS

from dwarfdiag.elf import open_elf
from dwarfdiag.errors import BadInputError
from dwarfdiag.findings.matrix import DwarfStats

DEBUG_INFO_SECTIONS = (".debug_info", ".zdebug_info")


def dwarf_stats(path: Path) -> DwarfStats:
    """Walk every CU and DIE of ``path`` once and count them."""
    with open_elf(path) as elf:
        if not any(elf.get_section_by_name(s) for s in DEBUG_INFO_SECTIONS):
            raise BadInputError(f"{path}: no DWARF (.debug_info is missing; the binary is "
                                f"stripped or built with -ldflags=-w); rebuild it without "
                                f"stripping")
        compressed = any(
            s.name.startswith(".zdebug_") or
            (s.name.startswith(".debug_") and s["sh_flags"] & SH_FLAGS.SHF_COMPRESSED)
            for s in elf.iter_sections())
        dwarf = elf.get_dwarf_info(relocate_dwarf_sections=False)
        versions: set[int] = set()
        tags: Counter[str] = Counter()
        producers: set[str] = set()
        cus = 0
        for cu in dwarf.iter_CUs():
            cus += 1
            versions.add(cu["version"])
            top = cu.get_top_DIE()
            producer = top.attributes.get("DW_AT_producer")
            if producer is not None and isinstance(producer.value, bytes):
                producers.add(producer.value.decode("utf-8", "replace"))
            for die in cu.iter_DIEs():
                if die.tag is not None:  # null entries close sibling lists
                    tags[str(die.tag)] += 1
            # pyelftools keeps every parsed DIE of a CU alive through the CU;
            # dropping the CU cache lets them go (cmd/compile has ~600 k DIEs)
            dwarf._cu_cache.clear()
            dwarf._cu_offsets_map.clear()
    return DwarfStats(sorted(versions), compressed, cus, sum(tags.values()),
                      dict(sorted(tags.items(), key=lambda kv: -kv[1])), sorted(producers))
