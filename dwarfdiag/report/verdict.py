"""The verdict: what fails, under which toolchains, why, and what to do about each cause.

Computed from the findings alone (the report computes nothing else): every
failing cell is filed under its cause, the root cause the replay gave it or,
where pahole's own BTF is at fault, what ``check`` found. The fix offered for
a cause is read from the matrix: the toolchains under which every build that
fails for that cause encodes. Where none does, the way out is dwarfdiag's own
BTF, or changing the types the bisect sets name.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from dwarfdiag.findings.investigation import CellDiagnosis, Findings


@dataclass
class Cause:
    title: str  # the root cause in words
    anchor: str  # where its detail starts in the report
    cells: list[tuple[str, str, str, str]] = field(default_factory=list)  # program, compiler, profile, toolchain
    fix: str = ""  # the one-line fix: the toolchain that encodes, or dwarfdiag's BTF
    actions: list[str] = field(default_factory=list)  # every way out, most direct first

    @property
    def programs(self) -> list[str]:
        return sorted({f"{p} ({c}, {prof})" for p, c, prof, _ in self.cells})

    @property
    def toolchains(self) -> list[str]:
        return sorted({tc for *_, tc in self.cells})


@dataclass
class Verdict:
    headline: list[str]  # one line per toolchain
    causes: list[Cause]
    fixes: list[str]  # one line per cause: the cause, where, and what to do
    failing: int  # failing cells
    cells: int


# the way out that needs no other toolchain, whatever the cause
OWN_BTF = ("dwarfdiag btf final BINARY -o BINARY.btf writes, on this machine, the BTF pahole "
           "1.32 with libbpf 1.7 write (--for kernel --compat 1.1: BTF the kernel and libbpf "
           "before 1.7 accept)")


def cause_of(cell: CellDiagnosis) -> str:
    """The cause a failing cell is filed under."""
    if cell.failure is not None:
        return re.sub(r"\s*\(.*\)$", "", cell.failure.root_cause) or "dedup failed"
    if cell.check is not None:
        if cell.check.error:
            return "pahole fails before dedup"
        drift = cell.check.drifts[0] if cell.check.drifts else None
        if drift is not None and drift.unencoded_dies:
            return (f"pahole's own BTF is wrong: ids drift after the "
                    f"{drift.unencoded_dies[0].tag} it gives no type")
        return "pahole's own BTF is inconsistent with the DWARF"
    return "dedup failed (not explained)"


def anchor_of(title: str) -> str:
    return "cause-" + re.sub(r"[^a-z0-9]+", "-", title.lower()).strip("-")[:60]


def verdict(findings: Findings) -> Verdict:
    matrix = findings.matrix
    if matrix is None:
        return Verdict(["no matrix: nothing was run through pahole"], [], [], 0, 0)
    diagnosis = {(d.program, d.compiler, d.profile): d for d in findings.diagnosis}
    counts = matrix.counts
    headline = [f"{t.name} (pahole {t.pahole_version}, libbpf {t.libbpf_version}): "
                f"{counts[t.name]['fails']} fail, {counts[t.name]['encodes']} encode"
                for t in matrix.toolchains]
    causes: dict[str, Cause] = {}
    outcome = {(c.program, c.compiler, c.profile, c.toolchain): c.outcome for c in matrix.cells}
    failing = 0
    for c in matrix.cells:
        if c.outcome != "fails":
            continue
        failing += 1
        d = diagnosis.get((c.program, c.compiler, c.profile))
        cell = d.cells.get(c.toolchain) if d else None
        title = cause_of(cell) if cell else "dedup failed (not diagnosed)"
        cause = causes.setdefault(title, Cause(title, anchor_of(title)))
        cause.cells.append((c.program, c.compiler, c.profile, c.toolchain))
    for cause in causes.values():
        builds = {(p, c, prof) for p, c, prof, _ in cause.cells}
        good = [t for t in matrix.toolchains
                if all(outcome.get((*b, t.name)) == "encodes" for b in builds)]
        if good:
            t = good[0]
            cause.fix = (f"pahole {t.pahole_version} with libbpf {t.libbpf_version} "
                         f"({t.name}) encodes {'it' if len(builds) == 1 else 'all of them'}")
            cause.actions.append(f"upgrade: {cause.fix}")
        else:
            cause.fix = ("no toolchain here encodes them: use dwarfdiag's own BTF, or change "
                         "the types the bisect sets name")
            cause.actions.append(f"no toolchain here encodes them: {OWN_BTF}")
        types = _bisected_types(findings, builds)
        if types:
            shown = ", ".join(types[:5]) + (f" and {len(types) - 5} more" if len(types) > 5
                                            else "")
            cause.actions.append(f"or change the program: the bisect's minimal failing sets "
                                 f"are built on {shown}")
    ordered = sorted(causes.values(), key=lambda c: -len(c.cells))
    fixes = [f"{len(c.cells)} x {c.title} [{', '.join(c.toolchains)}]: {c.fix}" for c in ordered]
    if not failing:
        fixes = ["every build encodes under every toolchain"]
    return Verdict(headline, ordered, fixes, failing, len(matrix.cells))


def _bisected_types(findings: Findings, builds: set[tuple[str, str, str]]) -> list[str]:
    """The named types of the bisect's minimal sets for these builds, each once."""
    programs = {(p, c) for p, c, _ in builds}
    out: dict[str, None] = {}
    for entry in findings.bisects:
        if (entry.program, entry.compiler) not in programs:
            continue
        for found in entry.report.search.sets:
            for type_id in found.cycle or found.seeds:
                ref = entry.report.types.get(type_id)
                if ref is not None and ref.name and ref.kind in ("TYPEDEF", "STRUCT", "UNION"):
                    out[ref.name] = None
    return list(out)
