"""The verdict: what fails, under which toolchains, why, and what to do about each cause.

Computed from the findings alone (the report computes nothing else): every
failing cell is filed under each of its independent causes: the root causes of
the replay's failures (the program's own types, e.g. a func type that returns
itself) and, where ``check`` found pahole's own BTF unfaithful to the DWARF,
that. The fix offered for a cause is read from the matrix: the toolchains
under which every build that fails for that cause encodes. Where none does,
the way out is dwarfdiag's own BTF, or changing the types the bisect sets name,
but only for cells where the program's types are the whole story: changing
the program never fixes a cell whose pahole also writes wrong BTF.

The verdict leads with the culprits (the types on the failing cycles, or the
pahole whose BTF is wrong) and a command to copy that names a real binary.
"""

from __future__ import annotations

import re
import shlex
from dataclasses import dataclass, field

from dwarfdiag.findings.investigation import CellDiagnosis, Findings


@dataclass
class Cause:
    title: str  # the root cause in words
    anchor: str  # where its detail starts in the report
    cells: list[tuple[str, str, str, str]] = field(default_factory=list)  # program, compiler, profile, toolchain
    fix: str = ""  # the one-line fix: the toolchain that encodes, or dwarfdiag's BTF
    actions: list[str] = field(default_factory=list)  # every way out, most direct first
    in_program: bool = True  # the program's own types (not the encoder's mistakes)

    @property
    def programs(self) -> list[str]:
        return sorted({f"{p} ({c}, {prof})" for p, c, prof, _ in self.cells})

    @property
    def toolchains(self) -> list[str]:
        return sorted({tc for *_, tc in self.cells})


@dataclass
class Verdict:
    culprits: list[str]  # the types (and encoders) behind the failures, most cells first
    command: str  # the command that makes working BTF of a real failing binary here
    headline: list[str]  # one line per toolchain
    causes: list[Cause]
    fixes: list[str]  # one line per cause: the cause, where, and what to do
    failing: int  # failing cells
    cells: int

    def lines(self) -> list[str]:
        """The verdict as the terminal shows it: culprits and the command first."""
        out = []
        if self.culprits:
            out.append("culprits: " + ", ".join(self.culprits[:8])
                       + (f" and {len(self.culprits) - 8} more" if len(self.culprits) > 8
                          else ""))
        if self.command:
            out.append(f"working BTF now: {self.command}")
        return out + self.headline + [f"  {fix}" for fix in self.fixes]


# the way out that needs no other toolchain, whatever the cause
OWN_BTF_WHY = ("writes, on this machine, the BTF pahole 1.32 with libbpf 1.7 write (with "
               "--for kernel: BTF the kernel, bpftool and libbpf before 1.7 accept)")


def own_btf_command(binary: str | None) -> str:
    if not binary:
        return ""
    name = re.sub(r"[^A-Za-z0-9_.-]", "_", binary.rsplit("/", 1)[-1]) or "binary"
    return f"dwarfdiag btf final {shlex.quote(binary)} -o {name}.btf --for kernel"


def causes_of(cell: CellDiagnosis) -> list[tuple[str, bool]]:
    """Every independent cause a failing cell is filed under, with whether it lies in
    the program's own types (True) or in pahole's BTF (False)."""
    out: dict[str, bool] = {}
    for failure in filter(None, [cell.failure, *cell.hidden]):
        out.setdefault(re.sub(r"\s*\(.*\)$", "", failure.root_cause) or "dedup failed", True)
    check = cell.check
    if check is not None:
        if check.error:
            out.setdefault("pahole fails before dedup", False)
        elif check.inconsistency_count or check.encoder_made_cycles:
            drift = check.drifts[0] if check.drifts else None
            title = (f"pahole's own BTF is wrong: ids drift after the "
                     f"{drift.unencoded_dies[0].tag} it gives no type"
                     if drift is not None and drift.unencoded_dies
                     else "pahole's own BTF is inconsistent with the DWARF")
            out.setdefault(title, False)
    if not out:
        out["dedup failed (not explained)"] = False
    return list(out.items())


def anchor_of(title: str) -> str:
    return "cause-" + re.sub(r"[^a-z0-9]+", "-", title.lower()).strip("-")[:60]


def verdict(findings: Findings) -> Verdict:
    matrix = findings.matrix
    if matrix is None:
        return Verdict([], "", ["no matrix: nothing was run through pahole"], [], [], 0, 0)
    diagnosis = {(d.program, d.compiler, d.profile): d for d in findings.diagnosis}
    counts = matrix.counts
    headline = [f"{t.name} (pahole {t.pahole_version}, libbpf {t.libbpf_version}): "
                f"{counts[t.name]['fails']} fail, {counts[t.name]['encodes']} encode"
                for t in matrix.toolchains]
    causes: dict[str, Cause] = {}
    cell_causes: dict[tuple[str, str, str, str], list[str]] = {}
    outcome = {(c.program, c.compiler, c.profile, c.toolchain): c.outcome for c in matrix.cells}
    binary_of = {(c.program, c.compiler, c.profile): c.binary for c in matrix.cells if c.binary}
    failing = 0
    for c in matrix.cells:
        if c.outcome != "fails":
            continue
        failing += 1
        d = diagnosis.get((c.program, c.compiler, c.profile))
        cell = d.cells.get(c.toolchain) if d else None
        found = causes_of(cell) if cell else [("dedup failed (not diagnosed)", False)]
        where = (c.program, c.compiler, c.profile, c.toolchain)
        cell_causes[where] = [title for title, _ in found]
        for title, in_program in found:
            cause = causes.setdefault(title, Cause(title, anchor_of(title), in_program=in_program))
            cause.cells.append(where)
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
                         "the types the bisect sets name" if cause.in_program else
                         "no toolchain here encodes them: use dwarfdiag's own BTF")
            example = next((binary_of[b] for b in sorted(builds) if binary_of.get(b)), None)
            cause.actions.append(f"no toolchain here encodes them: "
                                 f"{own_btf_command(example) or 'dwarfdiag btf final'} "
                                 f"{OWN_BTF_WHY}")
        if not cause.in_program:
            continue
        types = _bisected_types(findings, builds) or _chain_types(findings, cause)
        if not types:
            continue
        shown = ", ".join(types[:5]) + (f" and {len(types) - 5} more" if len(types) > 5 else "")
        # changing the program is a fix only where the program's types are every cause
        mixed = [where for where in cause.cells
                 if any(not causes[t].in_program for t in cell_causes[where])]
        if not mixed:
            cause.actions.append(f"or change the program: the failing cycles are built on "
                                 f"{shown}")
            continue
        others = "; ".join(sorted({t for where in mixed for t in cell_causes[where]
                                   if not causes[t].in_program}))
        stuck = ", ".join(sorted({w[3] for w in mixed}))
        helped = sorted({w[3] for w in cause.cells if w not in mixed})
        if helped:
            cause.actions.append(
                f"or change the program: the failing cycles are built on {shown}; that "
                f"fixes the cells under {', '.join(helped)}, not those under {stuck}, which "
                f"also fail because {others}")
        else:
            cause.actions.append(
                f"changing the program ({shown}) would not be enough: these cells (under "
                f"{stuck}) also fail because {others}")
    ordered = sorted(causes.values(), key=lambda c: -len(c.cells))
    fixes = [f"{len(c.cells)} x {c.title} [{', '.join(c.toolchains)}]: {c.fix}" for c in ordered]
    if not failing:
        fixes = ["every build encodes under every toolchain"]
    culprits = _culprits(findings, ordered)
    example = next((c.binary for c in matrix.cells if c.outcome == "fails" and c.binary), None)
    build = next((b for b in matrix.builds if b.binary == example), None)
    command = own_btf_command(example)
    if command and build is not None and build.debug_file:
        command += f" --debug-file {shlex.quote(build.debug_file)}"
    return Verdict(culprits, command, headline, ordered, fixes, failing, len(matrix.cells))


def _chain_types(findings: Findings, cause: Cause) -> list[str]:
    """The named types on the failing cycles of ``cause``'s cells."""
    diagnosis = {(d.program, d.compiler, d.profile): d for d in findings.diagnosis}
    out: dict[str, None] = {}
    for program, compiler, profile, tc in cause.cells:
        d = diagnosis.get((program, compiler, profile))
        cell = d.cells.get(tc) if d else None
        for failure in filter(None, [cell.failure, *cell.hidden] if cell else []):
            if re.sub(r"\s*\(.*\)$", "", failure.root_cause) != cause.title:
                continue
            for link in failure.chain:
                if link.name and link.kind in ("TYPEDEF", "STRUCT", "UNION"):
                    out[link.name] = None
    return list(out)


def _culprits(findings: Findings, causes: list[Cause]) -> list[str]:
    """What to blame, most failing cells first: the program's types on the cycles (or
    the bisect's sets), and each pahole whose own BTF is wrong."""
    out: dict[str, None] = {}
    for cause in causes:
        if cause.in_program:
            builds = {(p, c, prof) for p, c, prof, _ in cause.cells}
            for name in _bisected_types(findings, builds) or _chain_types(findings, cause):
                out[name] = None
        else:
            labels = {t.name: f"pahole {t.pahole_version}" for t in findings.matrix.toolchains}
            for tc in cause.toolchains:
                out[f"{labels.get(tc, tc)}'s encoder ({tc})"] = None
    return list(out)


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
