"""Render the report: one self-contained ``index.html`` (CSS, JS and data inlined).

Templates and static files are package data loaded with jinja2's
PackageLoader, autoescape on. The data blob is JSON with ``<``, ``>`` and
``&`` escaped as ``\\u003c`` etc., so a name like ``</script>`` cannot end
the script element.
"""

from __future__ import annotations

import json
from importlib import resources
from pathlib import Path

from jinja2 import Environment, PackageLoader, select_autoescape
from markupsafe import Markup

from dwarfdiag.report.model import build_view


def _safe_json(value) -> Markup:
    text = json.dumps(value, separators=(",", ":"))
    text = text.replace("<", "\\u003c").replace(">", "\\u003e").replace("&", "\\u0026")
    return Markup(text)


def render_html(findings: dict) -> str:
    env = Environment(loader=PackageLoader("dwarfdiag.report", "templates"),
                      autoescape=select_autoescape(["html", "j2"]), trim_blocks=False)
    view = build_view(findings)
    static = resources.files("dwarfdiag.report").joinpath("static")
    data = {"traces": {f.anchor: f.trace for f in view.failures}}
    template = env.get_template("report.html.j2")
    return template.render(view=view, css=Markup(static.joinpath("report.css").read_text()),
                           js=Markup(static.joinpath("report.js").read_text()),
                           data_json=_safe_json(data))


def write_report(findings: dict, out_dir: Path) -> Path:
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    (out_dir / "findings.json").write_text(json.dumps(findings, indent=1) + "\n")
    index = out_dir / "index.html"
    index.write_text(render_html(findings))
    return index


def merge_inputs(documents: list[dict]) -> dict:
    """One findings document from saved results: an investigation's findings.json,
    ``dwarfdiag bisect`` reports (bisect.json) and ``dwarfdiag diff --json`` output.
    Nothing is recomputed: each result is placed where the report shows it."""
    from dwarfdiag.errors import BadInputError

    merged: dict = {"title": "dwarfdiag report", "diagnosis": [], "diffs": [], "bisects": []}
    for doc in documents:
        if "matrix" in doc:
            for key, value in doc.items():
                if key in ("diagnosis", "diffs", "bisects"):
                    merged[key].extend(value)
                else:
                    merged[key] = value
        elif "search" in doc and "target" in doc:
            merged["bisects"].append({"program": doc["target"], "compiler": "",
                                      "toolchain": doc["search"].get("oracle", ""),
                                      "report": doc, "lines": _bisect_lines(doc)})
        elif "a" in doc and "b" in doc and "patterns" in doc:
            merged["diffs"].append(_diff_summary(doc))
        else:
            raise BadInputError("an input is neither findings.json, bisect.json nor a "
                                "'dwarfdiag diff --json' document")
    return merged


def _bisect_lines(doc: dict) -> list[str]:
    s = doc["search"]
    return [f"{doc['target']}: {s['full_types']} types; {s['oracle']}; {len(s['sets'])} set(s) "
            f"in {s['calls']} oracle calls; stopped: {s['stopped']}"]


def _diff_summary(doc: dict) -> dict:
    from pathlib import Path as _Path

    return {"program": f"{_Path(doc['a']['path']).name} vs {_Path(doc['b']['path']).name}",
            "gc": doc["a"]["path"], "gccgo": doc["b"]["path"], "matched": doc["matched"],
            "only_gc": len(doc["only_a"]), "only_gccgo": len(doc["only_b"]),
            "differing": doc.get("differing", 0), "patterns": doc["patterns"][:20],
            "cycles_gc": doc["a"].get("reference_cycles", [])[:10],
            "cycles_gccgo": doc["b"].get("reference_cycles", [])[:10],
            "relevant": [{"name": d["name"], "on_cycle": d["on_cycle"],
                          "representation": d["representation"]}
                         for d in doc["diffs"] if d["on_cycle"][0] != d["on_cycle"][1]]}
