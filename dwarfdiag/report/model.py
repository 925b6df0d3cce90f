"""View models for the report, built from ``findings.json`` and nothing else.

The report renders what the stages produced; this module only arranges it:
rows and cells of the matrix, one detail section per failing build, the
cycle laid out on a circle for the SVG drawing, the gc/gccgo and bisect
summaries, the environment. Every string that came from a binary (type,
package and file names) stays data, escaped by the template.
"""

from __future__ import annotations

import math
import re
from collections import Counter
from dataclasses import dataclass, field

from dwarfdiag.findings.check import CheckSummary
from dwarfdiag.findings.common import Provenance, TypeRef
from dwarfdiag.findings.diff import DiffSummary
from dwarfdiag.findings.investigation import BisectEntry, CellDiagnosis, Findings
from dwarfdiag.findings.matrix import ToolchainRecord, ToolRecord


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
    names: str  # lower-cased words the search filter matches


@dataclass
class Node:
    id: int
    label: str
    x: float
    y: float
    provenance: Provenance
    anchor: str = "start"  # text-anchor: labels on the left half end at their node


@dataclass
class HiddenView:
    errno: str
    root_cause: str
    chain: list[str]


@dataclass
class BisectView:
    program: str
    compiler: str
    toolchain: str
    lines: list[str]
    report: object  # the BisectReport, for its reproducers


@dataclass
class FailureView:
    anchor: str
    title: str
    toolchain: str
    variant: str
    errno: str
    phase: str
    first_id: int | None
    root_cause: str
    nodes: list[Node]
    edges: list[str]  # SVG path data, one arc per reference
    hidden: list[HiddenView]
    hidden_count: int
    trace: list[dict]
    check: CheckSummary | None
    names: str


@dataclass
class ReportView:
    title: str
    verdict: list[str]
    toolchains: list[ToolchainRecord]
    root_causes: list[tuple[str, int]]
    rows: list[RowView]
    failures: list[FailureView]
    diffs: list[DiffSummary]
    bisects: list[BisectView]
    tools: list[ToolRecord]
    dwarfdiag: str
    commands: list[str] = field(default_factory=list)
    fixes: list[str] = field(default_factory=list)
    parity: list = field(default_factory=list)  # ParityReport
    explanations: list = field(default_factory=list)  # Explanation documents
    any_failure: bool = False


LABEL_ROOM = 340  # pixels beside the ring for a node's label


def anchor(*parts: str) -> str:
    return "fail-" + re.sub(r"[^A-Za-z0-9_.-]+", "-", "-".join(parts))


def _layout(chain: list[TypeRef]) -> tuple[list[Node], list[str]]:
    ring = chain[:-1] if len(chain) > 1 and chain[0].id == chain[-1].id else chain
    n = max(len(ring), 1)
    radius = 40 + 22 * n
    cx, cy = radius + LABEL_ROOM, radius + 60  # room for labels left and right
    nodes = []
    for i, link in enumerate(ring):
        angle = 2 * math.pi * i / n - math.pi / 2
        label = f"[{link.id}] {link.kind} {link.name or '(anon)'}"
        left = math.cos(angle) < -0.1
        nodes.append(Node(link.id, label, round(cx + radius * math.cos(angle), 1),
                          round(cy + radius * math.sin(angle), 1), link.provenance,
                          "end" if left else "start"))
    edges = []
    for i in range(len(nodes)):
        a, b = nodes[i], nodes[(i + 1) % len(nodes)]
        if len(nodes) == 1:  # a type referencing itself: a loop above the node
            edges.append(f"M {a.x - 6} {a.y - 6} C {a.x - 40} {a.y - 70} {a.x + 40} {a.y - 70} "
                         f"{a.x + 6} {a.y - 8}")
            continue
        # arcs bent to one side, so that A->B and B->A do not overlap
        mx, my = (a.x + b.x) / 2, (a.y + b.y) / 2
        dx, dy = b.x - a.x, b.y - a.y
        length = math.hypot(dx, dy) or 1
        cx, cy = mx - dy / length * 30, my + dx / length * 30
        ex, ey = b.x - dx / length * 9, b.y - dy / length * 9
        edges.append(f"M {a.x} {a.y} Q {cx:.1f} {cy:.1f} {ex:.1f} {ey:.1f}")
    return nodes, edges


def build_view(findings: Findings) -> ReportView:
    matrix = findings.matrix
    diagnosis = {(d.program, d.compiler, d.profile): d for d in findings.diagnosis}
    toolchains = matrix.toolchains if matrix else []
    tc_names = [t.name for t in toolchains]
    rows, failures = [], []
    causes: Counter = Counter()
    by_build: dict[tuple, dict] = {}
    for c in matrix.cells if matrix else []:
        by_build.setdefault((c.program, c.level, c.compiler, c.profile), {})[c.toolchain] = c
    for (program, level, compiler, profile), cells in sorted(by_build.items(),
                                                             key=lambda kv: (kv[0][1], kv[0])):
        diag = diagnosis.get((program, compiler, profile))
        views, names = [], {program.lower()}
        for tc in tc_names:
            c = cells.get(tc)
            if c is None:
                continue
            dc = diag.cells.get(tc) if diag else None
            link = None
            if c.outcome == "fails" and dc is not None and (dc.failure or dc.check):
                link = anchor(program, compiler, profile, tc)
                failures.append(_failure_view(link, program, compiler, profile, tc, dc))
                cause = dc.failure.root_cause if dc.failure else \
                    "pahole's own BTF is inconsistent with the DWARF"
                causes[re.sub(r"\s*\(.*\)$", "", cause)] += 1
                names.update(n.lower() for n in failures[-1].names.split())
            views.append(CellView(tc, c.outcome, dc.predicted if dc else None,
                                  dc.agrees if dc else True, link))
        rows.append(RowView(program, level, compiler, profile, views, " ".join(sorted(names))))
    from dwarfdiag.report.verdict import verdict

    v = verdict(findings)
    any_failure = bool(v.failing) or any(not e.ok for e in findings.explanations)
    return ReportView(
        title=findings.title, verdict=v.headline, toolchains=toolchains,
        root_causes=causes.most_common(), rows=rows, failures=failures, diffs=findings.diffs,
        bisects=[_bisect_view(b) for b in findings.bisects], tools=findings.tools,
        dwarfdiag=findings.dwarfdiag, commands=findings.commands,
        fixes=v.fixes if findings.matrix else [], parity=findings.parity,
        explanations=findings.explanations, any_failure=any_failure)


def _bisect_view(b: BisectEntry) -> BisectView:
    return BisectView(b.program, b.compiler, b.toolchain, b.report.lines(), b.report)


def _failure_view(link: str, program: str, compiler: str, profile: str, tc: str,
                  dc: CellDiagnosis) -> FailureView:
    f = dc.failure
    chain = f.chain if f else []
    nodes, edges = _layout(chain) if chain else ([], [])
    names = " ".join(t.name for t in chain if t.name)
    hidden = [HiddenView(h.errno_name, h.root_cause,
                         [f"{t.kind} {t.name or '(anon)'}" for t in h.chain]) for h in dc.hidden]
    return FailureView(link, f"{program} ({compiler}, {profile}) with {tc}", tc, dc.variant,
                       f.errno_name if f else "", f.phase if f else "",
                       f.first_id if f else None, f.root_cause if f else "", nodes, edges,
                       hidden, dc.hidden_count, dc.trace, dc.check, names)
