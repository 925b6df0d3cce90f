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
    provenance: dict
    anchor: str = "start"  # text-anchor: labels on the left half end at their node


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
    hidden: list[dict]
    hidden_count: int
    trace: list[dict]
    check: dict | None
    names: str


@dataclass
class ReportView:
    title: str
    verdict: list[str]
    toolchains: list[dict]
    root_causes: list[tuple[str, int]]
    rows: list[RowView]
    failures: list[FailureView]
    diffs: list[dict]
    bisects: list[dict]
    tools: list[dict]
    dwarfdiag: str
    commands: list[str] = field(default_factory=list)


LABEL_ROOM = 340  # pixels beside the ring for a node's label


def anchor(*parts: str) -> str:
    return "fail-" + re.sub(r"[^A-Za-z0-9_.-]+", "-", "-".join(parts))


def _layout(chain: list[dict]) -> tuple[list[Node], list[tuple]]:
    ring = chain[:-1] if len(chain) > 1 and chain[0]["id"] == chain[-1]["id"] else chain
    n = max(len(ring), 1)
    radius = 40 + 22 * n
    cx, cy = radius + LABEL_ROOM, radius + 60  # room for labels left and right
    nodes = []
    for i, link in enumerate(ring):
        angle = 2 * math.pi * i / n - math.pi / 2
        label = f"[{link['id']}] {link['kind']} {link['name'] or '(anon)'}"
        left = math.cos(angle) < -0.1
        nodes.append(Node(link["id"], label, round(cx + radius * math.cos(angle), 1),
                          round(cy + radius * math.sin(angle), 1), link.get("provenance", {}),
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


def build_view(findings: dict) -> ReportView:
    matrix = findings.get("matrix", {})
    diagnosis = {(d["program"], d["compiler"], d["profile"]): d
                 for d in findings.get("diagnosis", [])}
    toolchains = matrix.get("toolchains", [])
    tc_names = [t["name"] for t in toolchains]
    rows, failures = [], []
    causes: Counter = Counter()
    by_build: dict[tuple, dict] = {}
    for c in matrix.get("cells", []):
        by_build.setdefault((c["program"], c["level"], c["compiler"], c["profile"]), {})[
            c["toolchain"]] = c
    for (program, level, compiler, profile), cells in sorted(by_build.items(),
                                                             key=lambda kv: (kv[0][1], kv[0])):
        diag = diagnosis.get((program, compiler, profile), {})
        views, names = [], {program.lower()}
        for tc in tc_names:
            c = cells.get(tc)
            if c is None:
                continue
            dc = diag.get("cells", {}).get(tc, {})
            link = None
            if c["outcome"] == "fails" and (dc.get("failure") or dc.get("check")):
                link = anchor(program, compiler, profile, tc)
                failures.append(_failure_view(link, program, compiler, profile, tc, dc))
                cause = (dc.get("failure") or {}).get("root_cause") or \
                    "pahole's own BTF is inconsistent with the DWARF"
                causes[re.sub(r"\s*\(.*\)$", "", cause)] += 1
                names.update(n.lower() for n in failures[-1].names.split())
            views.append(CellView(tc, c["outcome"], dc.get("predicted"),
                                  dc.get("agrees", True), link))
        rows.append(RowView(program, level, compiler, profile, views, " ".join(sorted(names))))
    counts = matrix.get("counts", {})
    verdict = [f"{t['name']} (pahole {t['pahole_version']}, libbpf {t['libbpf_version']}): "
               f"{counts.get(t['name'], {}).get('fails', 0)} fail, "
               f"{counts.get(t['name'], {}).get('encodes', 0)} encode" for t in toolchains]
    return ReportView(
        title=findings.get("title", "dwarfdiag investigation"), verdict=verdict,
        toolchains=toolchains, root_causes=causes.most_common(), rows=rows,
        failures=failures, diffs=findings.get("diffs", []), bisects=findings.get("bisects", []),
        tools=findings.get("tools", []), dwarfdiag=findings.get("dwarfdiag", "?"),
        commands=findings.get("commands", []))


def _failure_view(link: str, program: str, compiler: str, profile: str, tc: str,
                  dc: dict) -> FailureView:
    f = dc.get("failure") or {}
    chain = f.get("chain", [])
    nodes, edges = _layout(chain) if chain else ([], [])
    names = " ".join(link_["name"] for link_ in chain if link_.get("name"))
    return FailureView(link, f"{program} ({compiler}, {profile}) with {tc}", tc,
                       dc.get("variant", "?"), f.get("errno", ""), f.get("phase", ""),
                       f.get("first_id"), f.get("root_cause", ""), nodes, edges,
                       f.get("hidden", []), f.get("hidden_count", 0), dc.get("trace", []),
                       dc.get("check"), names)
