"""Render the report: one self-contained ``index.html`` (CSS, JS and data inlined).

Templates and static files are package data loaded with jinja2's
PackageLoader, autoescape on: every name from a binary is text in the markup,
and the script reads nothing but the page itself.
"""

from __future__ import annotations

from importlib import resources
from pathlib import Path

from jinja2 import Environment, PackageLoader, select_autoescape
from markupsafe import Markup

from dwarfdiag import __version__
from dwarfdiag.cache import atomic_write
from dwarfdiag.findings.bisect import BisectReport
from dwarfdiag.findings.diff import DiffResult
from dwarfdiag.findings.explain import Explanation
from dwarfdiag.findings.investigation import BisectEntry, Findings
from dwarfdiag.findings.matrix import MatrixRecord
from dwarfdiag.findings.schema import to_json
from dwarfdiag.report.model import build_view


def render_html(findings: Findings) -> str:
    env = Environment(loader=PackageLoader("dwarfdiag.report", "templates"),
                      autoescape=select_autoescape(["html", "j2"]), trim_blocks=False)
    view = build_view(findings)
    static = resources.files("dwarfdiag.report").joinpath("static")
    template = env.get_template("report.html.j2")
    return template.render(view=view, css=Markup(static.joinpath("report.css").read_text()),
                           js=Markup(static.joinpath("report.js").read_text()))


def write_report(findings: Findings, out_dir: Path) -> Path:
    """``index.html`` and ``findings.json`` in ``out_dir``; returns the index path."""
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    html = render_html(findings)  # render first: a failure leaves the old files alone
    atomic_write(out_dir / "findings.json", to_json(findings).encode())
    index = out_dir / "index.html"
    atomic_write(index, html.encode())
    return index


def merge_inputs(documents: list[tuple[str, object]]) -> Findings:
    """One findings document from saved results, each already checked against its
    schema: investigations' findings.json, ``dwarfdiag bisect`` reports, ``dwarfdiag
    diff --json`` and ``dwarfdiag dedup explain --json`` output. Nothing is recomputed:
    each result is placed where the report shows it, and every field of every
    findings document is kept (lists joined, matrices joined, the first title,
    time and command kept)."""
    from dwarfdiag.errors import BadInputError

    if len(documents) == 1 and isinstance(documents[0][1], Findings):
        return documents[0][1]
    merged = Findings("dwarfdiag report", __version__)
    first = True
    for source, doc in documents:
        if isinstance(doc, Findings):
            _merge_findings(merged, doc, first)
            first = False
        elif isinstance(doc, BisectReport):
            merged.bisects.append(BisectEntry(doc.target, "", doc.search.oracle, doc))
        elif isinstance(doc, DiffResult):
            merged.diffs.append(doc.summary())
        elif isinstance(doc, Explanation):
            merged.explanations.append(doc)
        else:
            raise BadInputError(f"{source}: a {type(doc).KIND} document cannot go into a "
                                f"report; give findings, bisect, diff or explain documents")
    return merged


def _merge_findings(merged: Findings, doc: Findings, first: bool) -> None:
    import dataclasses

    for f in dataclasses.fields(Findings):
        mine, theirs = getattr(merged, f.name), getattr(doc, f.name)
        if f.name == "matrix":
            merged.matrix = _merge_matrices(mine, theirs)
        elif isinstance(mine, list):
            mine.extend(x for x in theirs if x not in mine)
        elif f.name == "seconds":
            merged.seconds = round(mine + theirs, 1)
        elif first:  # title, version, time, command: the first document's
            setattr(merged, f.name, theirs)


def _merge_matrices(a: MatrixRecord | None, b: MatrixRecord | None) -> MatrixRecord | None:
    if a is None or b is None:
        return a or b
    known = {t.name for t in a.toolchains}
    return MatrixRecord(round(a.seconds + b.seconds, 1),
                        a.toolchains + [t for t in b.toolchains if t.name not in known],
                        a.builds + [x for x in b.builds if x not in a.builds],
                        a.cells + [c for c in b.cells if c not in a.cells])
