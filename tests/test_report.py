"""The HTML report: rendered from real findings, opened in a real browser.

Chromium (Debian's) runs headless on the ``file://`` report: the script must
run (``data-ready``), the search filter (pre-filled from ``#q=``) must hide
rows, and the page has the verdict, the matrix, the cycle SVG and the trace
stepper. Names from binaries are untrusted: crafted ones must come out
escaped and inert. A golden file pins the rendering of a fixed findings
document, with versions, times and paths scrubbed.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from dwarfdiag.errors import BadInputError
from dwarfdiag.report.render import render_html, write_report

pytestmark = pytest.mark.toolchain  # every test here runs a compiler or an outside tool

GOLDEN = Path(__file__).parent / "data" / "report_golden.html"


def chromium() -> str:
    path = shutil.which("chromium") or shutil.which("chromium-browser")
    if not path:
        pytest.fail("chromium is required for the report tests (apt-get install chromium)")
    return path


def browser(url: str, *extra: str) -> str:
    proc = subprocess.run([chromium(), "--headless=new", "--no-sandbox", "--disable-gpu",
                           "--no-first-run", "--host-resolver-rules=MAP * ~NOTFOUND",
                           *extra, url], capture_output=True, text=True, timeout=180)
    return proc.stdout


@pytest.fixture(scope="session")
def real_report(tmp_path_factory, toolchains_for_report) -> Path:
    from dwarfdiag.toolchains.go import gc, gccgo
    from dwarfdiag.investigate import run_investigation

    out = tmp_path_factory.mktemp("report")
    run_investigation(out, [gc(), gccgo()], ["bookworm", "trixie", "sid"],
                      ["seed-example", "statefn"], bisect=False)
    return out


@pytest.fixture(scope="session")
def toolchains_for_report(sid_toolchain, trixie_toolchain):
    return sid_toolchain, trixie_toolchain


def test_report_works_in_chromium(real_report):
    index = real_report / "index.html"
    dom = browser(f"file://{index}#q=statefn", "--dump-dom")
    assert 'data-ready="1"' in dom, "the report's script did not run"
    assert "Verdict" in dom and "bookworm (pahole 1.24" in dom
    assert dom.count('class="cell cell-fails') >= 3
    assert '<svg class="cycle"' in dom and "main.stateFn" in dom
    rows = re.findall(r'<tr class="row" data-names="([^"]*)"( style="display: none;")?', dom)
    assert rows and all(("statefn" in names) == (hidden == "") for names, hidden in rows)
    assert re.search(r'class="pos">\d+ / \d+<', dom)  # the stepper shows an event


def png_rows(data: bytes) -> tuple[int, int, list[bytes]]:
    """Width, height and unfiltered pixel rows of an 8-bit RGB(A) PNG (what Chromium writes)."""
    import struct
    import zlib

    assert data[:8] == b"\x89PNG\r\n\x1a\n"
    pos, idat, header = 8, b"", None
    while pos < len(data):
        length, kind = struct.unpack(">I4s", data[pos:pos + 8])
        chunk = data[pos + 8:pos + 8 + length]
        if kind == b"IHDR":
            header = struct.unpack(">IIBBBBB", chunk)
        elif kind == b"IDAT":
            idat += chunk
        pos += 12 + length
    width, height, depth, color = header[:4]
    assert depth == 8 and color in (2, 6)
    bpp = 3 if color == 2 else 4
    raw, stride, rows, prev = zlib.decompress(idat), width * bpp, [], bytes(width * bpp)
    for y in range(height):
        kind, line = raw[y * (stride + 1)], bytearray(raw[y * (stride + 1) + 1:(y + 1) * (stride + 1)])
        for x in range(stride):
            a = line[x - bpp] if x >= bpp else 0
            b, c = prev[x], prev[x - bpp] if x >= bpp else 0
            p = a + b - c
            pa, pb, pc = abs(p - a), abs(p - b), abs(p - c)
            pred = (0, a, b, (a + b) // 2, a if pa <= pb and pa <= pc else b if pb <= pc else c)[kind]
            line[x] = (line[x] + pred) & 0xFF
        rows.append(bytes(line))
        prev = line
    return width, height, rows


def test_screenshot_shows_the_verdict_at_the_top(real_report, tmp_path):
    """The first screen is not blank: the verdict's text draws many distinct colours
    (anti-aliased glyphs) in the top 400 px, and the page is at least that tall."""
    shot = tmp_path / "report.png"
    browser(f"file://{real_report / 'index.html'}", f"--screenshot={shot}",
            "--window-size=1280,800", "--hide-scrollbars")
    width, height, rows = png_rows(shot.read_bytes())
    assert (width, height) == (1280, 800)
    top = rows[:400]
    colours = {row[i:i + 3] for row in top for i in range(0, len(row), 12)}
    inked = sum(1 for row in top if len(set(row)) > 4)
    assert len(colours) > 20 and inked > 40, (len(colours), inked)


def test_self_contained_and_no_requests(real_report):
    html = (real_report / "index.html").read_text()
    assert "Content-Security-Policy" in html and "default-src 'none'" in html
    assert not re.search(r'(src|href)\s*=\s*"(https?:)?//', html)
    assert "<link" not in html and "<img" not in html and "@import" not in html
    assert (real_report / "index.html").stat().st_size < 10 * 2**20
    findings = json.loads((real_report / "findings.json").read_text())
    assert findings["diagnosis"] and findings["diffs"]


def test_report_command_rerenders_without_recomputing(real_report, tmp_path):
    proc = subprocess.run([sys.executable, "-m", "dwarfdiag", "report",
                           str(real_report / "findings.json"), "--out-dir", str(tmp_path)],
                          capture_output=True, text=True)
    assert proc.returncode == 0, proc.stderr
    assert (tmp_path / "index.html").read_text() == (real_report / "index.html").read_text()


EVIL = '<script>alert(1)</script>"\'</svg><img src=x onerror=alert(2)>'


def _findings_data(name: str = "main.stateFn") -> dict:
    cell = {"program": "statefn", "level": 9, "compiler": "gc-1.27.3", "profile": "debug",
            "toolchain": "trixie", "outcome": "fails", "binary": "/bin/statefn"}
    chain = [{"id": 7, "kind": "FUNC_PROTO", "name": "", "provenance": {"die_offset": 16}},
             {"id": 8, "kind": "TYPEDEF", "name": name,
              "provenance": {"die_offset": 32, "package": "main", "tag": "DW_TAG_typedef"}},
             {"id": 7, "kind": "FUNC_PROTO", "name": "", "provenance": {"die_offset": 16}}]
    return {
        "kind": "findings", "schema": 1,
        "dwarfdiag": "0.1.0", "title": "golden", "tools": [{"name": "pahole", "version": "1.24",
                                                           "path": "/usr/bin/pahole"}],
        "commands": ["dwarfdiag investigate"],
        "matrix": {"seconds": 1.0, "builds": [],
                   "toolchains": [{"name": "trixie", "pahole_version": "1.30",
                                   "libbpf_version": "1.5.0", "root": "/cache/trixie"}],
                   "cells": [cell]},
        "diagnosis": [{"program": "statefn", "compiler": "gc-1.27.3", "profile": "debug",
                       "binary": "/bin/statefn", "types": 3,
                       "cells": {"trixie": {"real": "fails", "variant": "1.5",
                                            "predicted": "fails", "agrees": True,
                                            "failure": {"errno": -40, "phase": "ref_types",
                                                        "first_id": 7, "at_id": 7, "root_cause":
                                                        "reference cycle through func_proto, typedef",
                                                        "chain": chain},
                                            "trace": [{"ev": "failed", "name": name}]}}}],
        "diffs": [{"program": "statefn", "gc": "/bin/statefn", "gccgo": "/bin/statefn-gccgo",
                   "matched": 1, "only_gc": 0, "only_gccgo": 0,
                   "differing": 1, "patterns": [{"pattern": name, "count": 1,
                                                 "examples": [name]}],
                   "cycles_gc": [[f"TYPEDEF {name}"]], "cycles_gccgo": [],
                   "relevant": [{"name": name, "on_cycle": [True, False],
                                 "representation": ["typedef>subroutine_type", "x"]}]}],
        "bisects": []}


def _findings(name: str = "main.stateFn"):
    from dwarfdiag.findings import parse

    return parse(_findings_data(name), "golden findings")


def _evil_findings_through_the_pipeline(tmp_path: Path):
    """A crafted BTF whose typedef cycle is named EVIL, explained by the real
    replay, so the name reaches the report the way a binary's names do."""
    from dwarfdiag.analysis import load_dedup_input
    from dwarfdiag.btf.build import BtfBuilder
    from dwarfdiag.dedup.explain import explain
    from dwarfdiag.dedup.variants import variant
    from dwarfdiag.diagnose import _trace_window, _trimmed

    b = BtfBuilder()
    td = b.add_typedef(EVIL, 0)
    proto = b.add_func_proto(td)
    b.set_type(td, size_or_type=proto)
    raw = tmp_path / "evil.btf"
    raw.write_bytes(b.raw())
    inp = load_dedup_input(raw)
    first = explain(inp, variant("1.5")).first_failure
    assert first is not None and any(link.name == EVIL for link in first.chain)
    doc = _findings()
    cell = doc.diagnosis[0].cells["trixie"]
    cell.failure, cell.trace = _trimmed(first), _trace_window(inp.btf, "1.5")
    return doc


def test_untrusted_names_are_escaped_and_inert(tmp_path):
    html = render_html(_evil_findings_through_the_pipeline(tmp_path))
    assert EVIL not in html
    assert "<script>alert(1)" not in html and "<img src=x" not in html
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in html
    blob = re.search(r'<script type="application/json" id="report-data">(.*?)</script>', html,
                     re.S).group(1)
    assert "<" not in blob and json.loads(blob)["traces"]
    index = write_report(_evil_findings_through_the_pipeline(tmp_path), tmp_path / "out")
    dom = browser(f"file://{index}", "--dump-dom")
    assert dom.count("<script") == 2 and "<img" not in dom  # only our two scripts
    assert 'data-ready="1"' in dom


def _scrub(html: str) -> str:
    # the inlined CSS and JS are package files of their own; the golden pins the markup
    html = re.sub(r"<style>.*?</style>", "<style>CSS</style>", html, flags=re.S)
    html = re.sub(r"<script>.*?</script>", "<script>JS</script>", html, flags=re.S)
    html = re.sub(r"dwarfdiag \d+\.\d+\.\d+", "dwarfdiag X", html)
    return re.sub(r"/[\w./-]+/(pahole|trixie|statefn)", r"/PATH/\1", html)


def test_golden_file():
    html = _scrub(render_html(_findings()))
    if os.environ.get("DWARFDIAG_UPDATE_GOLDEN"):
        GOLDEN.write_text(html)
    assert GOLDEN.exists(), "run with DWARFDIAG_UPDATE_GOLDEN=1 once to create it"
    assert html == GOLDEN.read_text()


def test_report_merges_saved_bisect_results(tmp_path, real_report):
    from dwarfdiag.report.render import merge_inputs

    bisect_doc = {"kind": "bisect", "schema": 1,
                  "target": "statefn", "binary": "/x", "input": "encoder",
                  "search": {"full_types": 3, "full_errno": -40, "oracle": "replay",
                             "sets": [], "calls": 5, "cache_hits": 0, "seconds": 0.1,
                             "stopped": "done"}, "types": {}, "reproducers": []}
    (tmp_path / "bisect.json").write_text(json.dumps(bisect_doc))
    proc = subprocess.run([sys.executable, "-m", "dwarfdiag", "report",
                           str(real_report / "findings.json"), str(tmp_path / "bisect.json"),
                           "--out-dir", str(tmp_path / "out")], capture_output=True, text=True)
    assert proc.returncode == 0, proc.stderr
    html = (tmp_path / "out" / "index.html").read_text()
    assert "statefn: 3 types (encoder); replay: -ELOOP" in html
    assert "0 independent minimal failing set(s) (0 with duplicates) in 5 oracle calls" in html
    from dwarfdiag.findings.matrix import MatrixRecord

    with pytest.raises(BadInputError, match="matrix document cannot go into a report"):
        merge_inputs([("m.json", MatrixRecord(0.0, [], [], []))])


def test_report_of_a_saved_explanation_shows_the_failure(tmp_path):
    """``dwarfdiag report`` takes ``dedup explain --json`` output, and a report whose input
    records a failure never says "No failures"."""
    from test_hostile import _program

    from dwarfwriter import elf_with_dwarf

    binary = tmp_path / "statefn"
    binary.write_bytes(elf_with_dwarf(_program(), symbols=[("main.main", 0x1000, 2)]))
    explained = tmp_path / "explain.json"
    proc = subprocess.run([sys.executable, "-m", "dwarfdiag", "dedup", "explain", str(binary),
                           "--libbpf", "1.5", "--json", "-o", str(explained)],
                          capture_output=True, text=True)
    assert proc.returncode == 1, proc.stderr  # dedup fails: the verdict, not an error
    proc = subprocess.run([sys.executable, "-m", "dwarfdiag", "report", str(explained),
                           "--out-dir", str(tmp_path / "out")], capture_output=True, text=True)
    assert proc.returncode == 0, proc.stderr
    html = (tmp_path / "out" / "index.html").read_text()
    assert "No failures" not in html
    assert "first failure: -ELOOP in ref_types" in html and "main.stateFn" in html
