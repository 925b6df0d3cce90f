"""pahole's pre-dedup BTF checked against the DWARF: ``dwarfdiag check --json``."""

from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar

from dwarfdiag.findings.common import Provenance
from dwarfdiag.findings.schema import Document

MAX_EXAMPLES = 3


@dataclass
class Inconsistency:
    """Something pahole's BTF says that the DWARF does not."""

    pahole_id: int
    our_id: int
    kind: str
    name: str
    slot: str  # "type", "member NAME", "param 2", "element", "index", "return", "size", ...
    expected: str  # what the DWARF says, in words
    actual: str  # what pahole's BTF says
    delta: int | None  # for references: pahole's target id minus the right one
    cross_unit: bool | None  # does the DWARF reference leave the referrer's compile unit?
    die: Provenance  # the referring type's DIE
    expected_id: int | None = None  # for references: the right target, in our ids
    actual_id: int | None = None  # for references: where pahole's points, in pahole's ids

    def pattern(self) -> tuple:
        slot = self.slot.split()[0]
        if self.delta is None:
            off = "-"
        elif abs(self.delta) <= 16:
            off = f"{self.delta:+d}"
        else:
            off = "elsewhere"
        return (self.kind, slot, off, self.cross_unit)


@dataclass
class InconsistencyPattern:
    kind: str
    slot: str
    offset: str  # "+1", "-", "elsewhere"
    cross_unit: bool | None
    count: int
    examples: list[Inconsistency]


@dataclass
class UnencodedDie:
    die_offset: int
    tag: str
    name: str | None
    package: str | None = None
    cu: str | None = None


@dataclass
class Drift:
    """References that land a fixed distance past their target from some id on."""

    delta: int
    from_id: int
    shifted: int
    checked: int
    first_shifted_target: str
    unencoded_dies: list[UnencodedDie]


@dataclass
class Unmatched:
    pahole_types: int
    our_types: int
    pahole_functions: int
    our_functions: int


@dataclass
class CheckSummary(Document):
    KIND: ClassVar[str] = "check"

    binary: str
    pahole: str  # the label of the pahole that ran
    capture_method: str
    dedup_ret: int | None
    pahole_types: int
    our_types: int
    aligned: int
    alignment: str  # "positional" or "matching runs"
    inconsistency_count: int
    patterns: list[InconsistencyPattern]
    drifts: list[Drift]
    pahole_cycles: int
    encoder_made_cycles: list[list[int]]
    dwarf_cycles: int
    cycle_example: str
    unmatched: Unmatched | None
    verdict: list[str]
    error: str = ""  # set instead of everything else when the check could not run

    JSON_EXTRA: ClassVar[tuple[str, ...]] = ("passes",)

    @property
    def passes(self) -> bool:
        """pahole's BTF is faithful to the DWARF and its dedup did not fail (the
        check's exit code: 0 when it passes, 1 when not)."""
        return (not self.error and self.inconsistency_count == 0
                and not self.encoder_made_cycles and (self.dedup_ret or 0) == 0)

    def lines(self, patterns: int = 10) -> list[str]:
        out = list(self.verdict)
        for p in self.patterns[:patterns]:
            ex = p.examples[0]
            where = ex.die.die_offset
            out.append(f"  {p.count:>6}  {p.kind} {p.slot} off by {p.offset}"
                       f"{' (cross-unit)' if p.cross_unit else ''}: e.g. [{ex.our_id}] "
                       f"{ex.name or '(anon)'} {ex.slot}: DWARF {ex.expected}, pahole "
                       f"{ex.actual}" + (f" (DIE {where:#x})" if where is not None else ""))
        return out


def failed_check(binary: str, pahole: str, error: str) -> CheckSummary:
    """The record of a check that could not run (pahole never reached dedup, ...)."""
    return CheckSummary(binary, pahole, "", None, 0, 0, 0, "", 0, [], [], 0, [], 0, "", None,
                        [], error)

