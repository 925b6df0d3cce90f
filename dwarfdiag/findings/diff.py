"""Two builds' DWARF compared (gc against gccgo): ``dwarfdiag diff --json``."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import ClassVar

from dwarfdiag.findings.schema import Document

MAX_SUMMARY_PATTERNS = 20
MAX_SUMMARY_CYCLES = 10


@dataclass
class SideSummary:
    path: str
    compilers: list[str]
    producers: list[str]
    dwarf_versions: list[int]
    compressed: bool
    cu_count: int
    die_count: int
    dies_by_tag: dict[str, int]
    attributes: dict[str, int]
    forms: dict[str, int]
    types: int  # named Go types found
    functions: int
    reference_cycles: list[list[str]] = field(default_factory=list)


@dataclass
class DiffItem:
    pattern: str  # what differs, in words shared by every type it applies to
    detail: str = ""


@dataclass
class TypeDiff:
    name: str
    go_kind: tuple[str, str]
    representation: tuple[str, str]
    identical: bool
    items: list[DiffItem] = field(default_factory=list)
    on_cycle: tuple[bool, bool] = (False, False)  # on a reference-only cycle in A / in B


@dataclass
class DiffPattern:
    pattern: str
    count: int
    examples: list[str]


@dataclass
class CycleDifference:
    """A type on a reference-only cycle on one side only, and why."""

    name: str
    on_cycle: tuple[bool, bool]
    representation: tuple[str, str]


@dataclass
class AbsentCycleType:
    """A type on one side's reference-only cycles that the other side lacks entirely."""

    name: str
    side: str  # "A" or "B": the side whose cycles it is on
    why: str


@dataclass
class DiffSummary:
    """The part of a diff the investigation report shows, for one program."""

    program: str
    gc: str  # side A's binary
    gccgo: str  # side B's binary
    matched: int
    only_gc: int
    only_gccgo: int
    differing: int
    patterns: list[DiffPattern]
    cycles_gc: list[list[str]]
    cycles_gccgo: list[list[str]]
    relevant: list[CycleDifference]
    absent: list[AbsentCycleType] = field(default_factory=list)  # on a cycle, missing opposite


@dataclass
class DiffResult(Document):
    KIND: ClassVar[str] = "diff"

    a: SideSummary
    b: SideSummary
    matched: int
    only_a: list[str]
    only_b: list[str]
    functions_matched: int
    functions_only_a: list[str]
    functions_only_b: list[str]
    diffs: list[TypeDiff]
    patterns: list[DiffPattern] = field(default_factory=list)
    # tags, attributes and forms that one side's DWARF uses and the other's never does
    usage_only_a: dict[str, list[str]] = field(default_factory=dict)
    usage_only_b: dict[str, list[str]] = field(default_factory=dict)
    cycle_types_absent: list[AbsentCycleType] = field(default_factory=list)

    JSON_EXTRA: ClassVar[tuple[str, ...]] = ("differing_count",)

    @property
    def differing(self) -> list[TypeDiff]:
        return [d for d in self.diffs if d.items]

    @property
    def differing_count(self) -> int:
        return len(self.differing)

    def summary(self, program: str | None = None) -> DiffSummary:
        """What the report shows of this diff (the one place that summary is made)."""
        name = program or f"{Path(self.a.path).name} vs {Path(self.b.path).name}"
        return DiffSummary(
            name, self.a.path, self.b.path, self.matched, len(self.only_a), len(self.only_b),
            len(self.differing), self.patterns[:MAX_SUMMARY_PATTERNS],
            self.a.reference_cycles[:MAX_SUMMARY_CYCLES],
            self.b.reference_cycles[:MAX_SUMMARY_CYCLES],
            [CycleDifference(d.name, d.on_cycle, d.representation)
             for d in self.diffs if d.on_cycle[0] != d.on_cycle[1]],
            list(self.cycle_types_absent))

    def lines(self, limit: int = 25) -> list[str]:
        out = []
        for label, side in (("A", self.a), ("B", self.b)):
            out.append(f"{label}: {side.path} ({', '.join(side.producers[:2]) or '?'}; DWARF "
                       f"{'/'.join(map(str, side.dwarf_versions))}"
                       f"{', compressed' if side.compressed else ''}, {side.cu_count} CUs, "
                       f"{side.die_count} DIEs, {side.types} named types)")
        out.append(f"types: {self.matched} matched, {len(self.only_a)} only in A, "
                   f"{len(self.only_b)} only in B; functions: {self.functions_matched} matched, "
                   f"{len(self.functions_only_a)} only in A, {len(self.functions_only_b)} only in B")
        for label, only in (("A", self.usage_only_a), ("B", self.usage_only_b)):
            for what, names in only.items():
                if names:
                    shown = ", ".join(names[:8]) + (" ..." if len(names) > 8 else "")
                    out.append(f"{what} only in {label}: {shown}")
        out.append(f"{len(self.differing)} matched types differ, in {len(self.patterns)} patterns:")
        for p in self.patterns[:limit]:
            out.append(f"  {p.count:>6}  {p.pattern}  e.g. {', '.join(p.examples)}")
        if len(self.patterns) > limit:
            out.append(f"  ... {len(self.patterns) - limit} more patterns (--json has them all)")
        for label, side in (("A", self.a), ("B", self.b)):
            cycles = side.reference_cycles
            shown = "; ".join(" -> ".join(c) for c in cycles[:3])
            out.append(f"reference-only cycles in {label}: {len(cycles)}"
                       + (f": {shown}" if shown else ""))
        for t in self.cycle_types_absent[:limit]:
            out.append(f"  {t.name}: on a reference-only cycle in {t.side}; {t.why}")
        relevant = [d for d in self.diffs if d.on_cycle[0] != d.on_cycle[1]]
        for d in relevant[:limit]:
            side = "A" if d.on_cycle[0] else "B"
            out.append(f"  {d.name}: on a reference-only cycle in {side} only; its "
                       f"representation {d.representation[0]} (A) vs {d.representation[1]} (B) "
                       f"{'creates' if side == 'A' else 'avoids'} the cycle in A")
        return out
