"""View models for the report, built from ``findings.json`` and nothing else.

The report renders what the stages produced; this module only arranges it,
verdict first: the toolchains' counts and, per cause, what fails and what
fixes it (:mod:`dwarfdiag.report.verdict`); then one group per cause, one
representative failure in full and the others one click away; the matrix;
parity, gc against gccgo, bisect and the environment. Every string that came
from a binary (type, package and file names) stays data, escaped by the
template.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from dwarfdiag.findings.check import CheckSummary
from dwarfdiag.findings.common import Provenance, TypeRef
from dwarfdiag.findings.diff import DiffSummary
from dwarfdiag.findings.investigation import BisectEntry, CellDiagnosis, Findings
from dwarfdiag.findings.matrix import ToolchainRecord, ToolRecord
from dwarfdiag.report.cycle import Drawing, draw_chain
from dwarfdiag.report.sentences import Step, steps_of
from dwarfdiag.report.verdict import OWN_BTF_WHY, Cause, anchor_of, causes_of, verdict


@dataclass
class CellView:
    toolchain: str
    outcome: str  # encodes | fails | unsupported | error
    predicted: str | None
    agrees: bool
    anchor: str | None  # the failure detail to link to


@dataclass
class RowView:
    program: str
    level: int
    compiler: str
    profile: str
    cells: list[CellView]
    names: str  # lower-cased words the search matches


@dataclass
class NodeView:
    """One type of a failure's chain, for the table under the drawing."""

    id: int
    kind: str
    name: str
    via: str  # how it refers to the next type
    provenance: Provenance


@dataclass
class HiddenView:
    errno: str
    root_cause: str
    chain: list[str]


@dataclass
class FailureView:
    anchor: str
    title: str  # program (compiler, profile) with toolchain
    build: str  # program (compiler, profile)
    toolchain: str
    variant: str
    errno: str
    phase: str
    first_id: int | None
    root_cause: str
    drawing: Drawing | None
    nodes: list[NodeView]
    hidden: list[HiddenView]
    hidden_count: int
    steps: list[Step]
    check: CheckSummary | None
    names: str  # every name in it, lower case, for the search


@dataclass
class CauseView:
    anchor: str
    title: str
    fix: str
    actions: list[str]  # every way out, most direct first
    toolchains: list[str]
    builds: list[str]  # program (compiler, profile), each once
    representative: FailureView | None
    others: list[FailureView]
    count: int  # failing cells
    names: str


@dataclass
class ToolchainSummary:
    name: str
    pahole: str
    libbpf: str
    fails: int
    encodes: int
    other: int


@dataclass
class BisectSetView:
    number: int
    errno: str
    cycle: list[str]  # the failing chain, each type as "KIND name"
    packages: list[str]  # the Go packages the set's types are in
    breakers: list[str]  # the types whose removal alone makes the set pass
    verified: bool
    duplicate_of: int | None  # the number of the set with the same types
    reproducer: object | None  # its Reproducer, or None


@dataclass
class BisectView:
    program: str
    compiler: str
    toolchain: str
    lines: list[str]
    report: object  # the BisectReport
    names: str
    summary: str = ""  # the search in one sentence
    sets: list[BisectSetView] = field(default_factory=list)


@dataclass
class TocEntry:
    anchor: str
    label: str
    count: int | None


@dataclass
class ReportView:
    title: str
    toolchains: list[ToolchainRecord]
    summaries: list[ToolchainSummary]
    causes: list[CauseView]
    rows: list[RowView]
    diffs: list[DiffSummary]
    bisects: list[BisectView]
    tools: list[ToolRecord]
    dwarfdiag: str
    generated: str
    command: str
    seconds: float
    toc: list[TocEntry]
    commands: list[str] = field(default_factory=list)
    parity: list = field(default_factory=list)  # ParityReport
    explanations: list = field(default_factory=list)  # Explanation documents
    any_failure: bool = False
    own_btf: str = ""  # the command that makes working BTF of a failing binary here
    own_btf_why: str = OWN_BTF_WHY
    culprits: list[str] = field(default_factory=list)  # what the failures come down to
    failing_cells: int = 0
    cells: int = 0


def failure_anchor(*parts: str) -> str:
    import re

    return "fail-" + re.sub(r"[^A-Za-z0-9_.-]+", "-", "-".join(parts))


def _failure_view(link: str, program: str, compiler: str, profile: str, tc: str,
                  dc: CellDiagnosis) -> FailureView:
    f = dc.failure
    chain: list[TypeRef] = f.chain if f else []
    names = {t.name.lower() for t in chain if t.name}
    names |= {(t.provenance.package or "").lower() for t in chain}
    if dc.check is not None:
        for p in dc.check.patterns:
            names |= {(e.name or "").lower() for e in p.examples}
        for d in dc.check.drifts:
            names |= {(u.name or "").lower() for u in d.unencoded_dies}
    hidden = [HiddenView(h.errno_name, h.root_cause,
                         [f"{t.kind} {t.name or '(anon)'}" for t in h.chain]) for h in dc.hidden]
    for h in dc.hidden:
        names |= {t.name.lower() for t in h.chain if t.name}
    build = f"{program} ({compiler}, {profile})"
    nodes = [NodeView(t.id, t.kind, t.name, t.via or "", t.provenance) for t in chain]
    if len(nodes) > 1 and nodes[0].id == nodes[-1].id:
        nodes = nodes[:-1]  # a cycle names its first type again at the end
    return FailureView(
        link, f"{build} with {tc}", build, tc, dc.variant, f.errno_name if f else "",
        f.phase if f else "", f.first_id if f else None, f.root_cause if f else "",
        draw_chain(chain) if chain else None, nodes, hidden, dc.hidden_count,
        steps_of(dc.trace, {t.id for t in chain}), dc.check,
        " ".join(sorted(n for n in names if n)) + f" {program.lower()} {compiler.lower()} "
                                                   f"{tc.lower()}")


def _summaries(findings: Findings) -> list[ToolchainSummary]:
    matrix = findings.matrix
    out = []
    for t in matrix.toolchains if matrix else []:
        counts = matrix.counts.get(t.name, {})
        fails, encodes = counts.get("fails", 0), counts.get("encodes", 0)
        total = sum(1 for c in matrix.cells if c.toolchain == t.name)
        out.append(ToolchainSummary(t.name, t.pahole_version, t.libbpf_version, fails, encodes,
                                    total - fails - encodes))
    return out


def build_view(findings: Findings) -> ReportView:
    matrix = findings.matrix
    diagnosis = {(d.program, d.compiler, d.profile): d for d in findings.diagnosis}
    toolchains = matrix.toolchains if matrix else []
    v = verdict(findings)
    by_cause: dict[str, Cause] = {c.title: c for c in v.causes}
    failures_of: dict[str, list[FailureView]] = {c.title: [] for c in v.causes}
    rows: list[RowView] = []
    by_build: dict[tuple, dict] = {}
    for c in matrix.cells if matrix else []:
        by_build.setdefault((c.program, c.level, c.compiler, c.profile), {})[c.toolchain] = c
    for (program, level, compiler, profile), cells in sorted(by_build.items(),
                                                             key=lambda kv: (kv[0][1], kv[0])):
        diag = diagnosis.get((program, compiler, profile))
        views, names = [], {program.lower(), compiler.lower(), profile}
        for t in toolchains:
            c = cells.get(t.name)
            if c is None:
                continue
            dc = diag.cells.get(t.name) if diag else None
            link = None
            if c.outcome == "fails" and dc is not None and (dc.failure or dc.check):
                link = failure_anchor(program, compiler, profile, t.name)
                view = _failure_view(link, program, compiler, profile, t.name, dc)
                for title, _ in causes_of(dc):  # under each of its causes
                    failures_of.setdefault(title, []).append(view)
                names.update(view.names.split())
            if c.outcome == "fails":
                names.add(t.name.lower())
            views.append(CellView(t.name, c.outcome, dc.predicted if dc else None,
                                  dc.agrees if dc else True, link))
        rows.append(RowView(program, level, compiler, profile, views, " ".join(sorted(names))))
    causes = []
    for title, cause in by_cause.items():
        found = failures_of.get(title, [])
        # the representative: the failure with the most to show (a drawn chain first)
        ranked = sorted(found, key=lambda f: (f.drawing is None, -len(f.steps), f.title))
        builds = list(dict.fromkeys(f"{p} ({c}, {prof})" for p, c, prof, _ in cause.cells))
        names = {title.lower(), *(b.lower() for b in builds), *cause.toolchains}
        for f in found:
            names.update(f.names.split())
        causes.append(CauseView(anchor_of(title), title, cause.fix, cause.actions,
                                cause.toolchains, builds,
                                ranked[0] if ranked else None, ranked[1:], len(cause.cells),
                                " ".join(sorted(names))))
    bisects = [_bisect_view(b) for b in findings.bisects]
    any_failure = bool(v.failing) or any(not e.ok for e in findings.explanations)
    toc = [TocEntry("verdict", "Verdict", None),
           TocEntry("causes", "Causes", len(causes)),
           TocEntry("matrix", "Matrix", len(rows))]
    if findings.explanations:
        toc.append(TocEntry("explanations", "Explanations", len(findings.explanations)))
    if findings.parity:
        toc.append(TocEntry("parity", "Parity with pahole", len(findings.parity)))
    toc += [TocEntry("gc-vs-gccgo", "gc vs gccgo", len(findings.diffs)),
            TocEntry("bisect", "Bisect", len(bisects)),
            TocEntry("environment", "Environment", None)]
    return ReportView(
        title=findings.title, toolchains=toolchains, summaries=_summaries(findings),
        causes=causes, rows=rows, diffs=findings.diffs, bisects=bisects,
        tools=findings.tools, dwarfdiag=findings.dwarfdiag, generated=findings.generated,
        command=findings.command, seconds=findings.seconds, toc=toc,
        commands=findings.commands, parity=findings.parity,
        explanations=findings.explanations, any_failure=any_failure,
        own_btf=v.command,
        culprits=v.culprits, failing_cells=v.failing, cells=v.cells)


def _bisect_view(b: BisectEntry) -> BisectView:
    from dwarfdiag.findings.explain import errno_name

    report = b.report
    names = {b.program.lower(), b.compiler.lower(), b.toolchain.lower()}
    names |= {t.name.lower() for t in report.types.values() if t.name}
    names |= {(t.provenance.package or "").lower() for t in report.types.values()}
    search = report.search

    def shown(type_id: int) -> str:
        t = report.types.get(type_id)
        return f"{t.kind} {t.name or '(anon)'}" if t else f"[{type_id}]"

    repros = report.reproducers + [None] * (len(search.sets) - len(report.reproducers))
    sets = []
    for n, (found, repro) in enumerate(zip(search.sets, repros), 1):
        ids = found.cycle or found.seeds
        packages = sorted({report.types[i].provenance.package for i in ids
                           if i in report.types and report.types[i].provenance.package})
        sets.append(BisectSetView(
            n, errno_name(found.errno), [shown(i) for i in found.cycle or found.seeds],
            packages, [shown(i) for i in found.breakers], found.verified,
            found.duplicate_of + 1 if found.duplicate_of is not None else None, repro))
    if search.stopped == "nothing-to-bisect":
        summary = f"{search.full_types} types: nothing to bisect, dedup succeeds ({search.oracle})"
    else:
        summary = (f"{search.full_types} types, {errno_name(search.full_errno)} under "
                   f"{search.oracle}: {len(search.independent)} independent minimal failing "
                   f"set(s) in {search.calls} oracle calls ({search.seconds} s; stopped: "
                   f"{search.stopped})")
    return BisectView(b.program, b.compiler, b.toolchain, report.lines(), report,
                      " ".join(sorted(n for n in names if n)), summary, sets)
