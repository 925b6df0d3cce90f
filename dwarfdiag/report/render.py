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
