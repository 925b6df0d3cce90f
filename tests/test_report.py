"""The HTML report: rendered from real findings, read in a real browser.

Headless Chromium, driven over the DevTools protocol (:mod:`browser`), opens the
``file://`` report at 1280x800 and 1400x900 and checks what an investigator
relies on: the verdict and its fixes above the fold; nothing wider than the
window; search that finds every name on the page (``internal/abi.Type`` finds the
groups that mention it, ``gccgo`` the gccgo rows) and never hides the matrix
header; every edge of a drawn cycle labelled; the stepper opening on an event
about a type of the cycle; sortable matrix columns; a footer with the time, the
command and the versions; a verdict region that is not blank on screen. Names
from binaries are untrusted: crafted ones must come out escaped and inert. A
golden file pins the rendering of a fixed findings document.
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

from browser import Browser
from dwarfdiag.errors import BadInputError
from dwarfdiag.report.render import render_html, write_report


GOLDEN = Path(__file__).parent / "data" / "report_golden.html"


@pytest.fixture(scope="session")
def real_report(tmp_path_factory, toolchains_for_report) -> Path:
    """The corpus report of four programs by gc and gccgo under three toolchains:
    pahole 1.24's own BTF errors, ELOOP cycles through func_proto, pointer and array,
    and a cross-package cycle."""
    from dwarfdiag.toolchains.go import gc, gccgo
    from dwarfdiag.investigate import run_investigation

    out = tmp_path_factory.mktemp("report")
    run_investigation(out, [gc(), gccgo()], ["bookworm", "trixie", "sid"],
                      ["seed-example", "statefn", "recursive-ptr-array", "mutual-funcs-pkgs"],
                      bisect=False)
    return out


@pytest.fixture(scope="session")
def toolchains_for_report(sid_toolchain, trixie_toolchain):
    return sid_toolchain, trixie_toolchain


@pytest.fixture
def page(real_report):
    browser = Browser(1280, 800)
    browser.open(f"file://{real_report / 'index.html'}")
    yield browser
    browser.close()


def _search(page: Browser, text: str) -> None:
    page.eval(f"var q = document.getElementById('q'); q.value = {json.dumps(text)}; "
              f"q.dispatchEvent(new Event('input'))")


def _visible(page: Browser, selector: str) -> list[str]:
    """The ``id`` (or text) of every element matching ``selector`` that is rendered."""
    return page.eval(f"Array.from(document.querySelectorAll({json.dumps(selector)}))"
                     f".filter(e => e.offsetParent !== null || e.getClientRects().length)"
                     f".map(e => e.id || e.textContent.trim().slice(0, 80))")


def test_the_verdict_and_its_fixes_are_above_the_fold(page):
    assert page.eval("document.body.dataset.ready") == "1"
    bottom = page.eval("Math.max(...Array.from(document.querySelectorAll("
                       "'#verdict .cards, #verdict ol.causes')).map(e => "
                       "e.getBoundingClientRect().bottom))")
    assert 0 < bottom <= 800
    fixes = page.eval("Array.from(document.querySelectorAll('#verdict ol.causes > li'))"
                      ".map(li => li.textContent)")
    assert fixes and all("upgrade: pahole" in f for f in fixes)
    # each cause links to its group
    targets = page.eval("Array.from(document.querySelectorAll('#verdict ol.causes > li > a'))"
                        ".map(a => !!document.getElementById(a.hash.slice(1)))")
    assert targets and all(targets)
    cards = page.eval("Array.from(document.querySelectorAll('.card')).map(c => c.textContent)")
    assert any(c.startswith("bookworm") and "fail" in c for c in cards)


# a word of a table cell drawn on more than one line ("encod|es", "DI|E"); a path may
# wrap after a slash or a hyphen, as text does
BROKEN_WORDS = """(() => {
  const broken = [];
  for (const cell of document.querySelectorAll('th, td')) {
    if (!cell.getClientRects().length) continue;
    const walk = document.createTreeWalker(cell, NodeFilter.SHOW_TEXT);
    for (let n = walk.nextNode(); n; n = walk.nextNode()) {
      for (const m of n.data.matchAll(/[^\\s\\/-]+/g)) {
        const r = document.createRange();
        r.setStart(n, m.index); r.setEnd(n, m.index + m[0].length);
        const lines = new Set(Array.from(r.getClientRects()).filter(x => x.width > 0)
                              .map(x => Math.round(x.top)));
        if (lines.size > 1) broken.push(m[0]);
      }
    }
  }
  return broken;
})()"""

# every cycle drawing whole: its boxes inside the SVG, and the SVG inside the window or
# inside a box that scrolls sideways
CLIPPED_DRAWINGS = """Array.from(document.querySelectorAll('svg.cycle')).filter(svg => {
  const width = svg.viewBox.baseVal.width;
  const outside = Array.from(svg.querySelectorAll('rect')).some(r =>
      r.x.baseVal.value + r.width.baseVal.value > width + 0.5);
  const box = svg.closest('.scroll');
  const scrolls = box && getComputedStyle(box).overflowX === 'auto'
                  && box.scrollWidth >= svg.getBoundingClientRect().width - 1;
  const fits = svg.getBoundingClientRect().right <= window.innerWidth;
  return outside || !(fits || scrolls);
}).length"""


@pytest.mark.parametrize("size", [(390, 844), (1280, 800), (1920, 1080)])
def test_every_width_from_a_phone_to_a_wide_screen(real_report, size):
    """Nothing wider than the window; no word of a table cell broken over two lines;
    every cycle drawing whole (scrolling in its own box where the window is narrow)."""
    browser = Browser(*size)
    try:
        browser.open(f"file://{real_report / 'index.html'}")
        browser.eval("document.querySelectorAll('details').forEach(d => d.open = true)")
        assert browser.eval("document.documentElement.scrollWidth") <= size[0]
        assert browser.eval(BROKEN_WORDS) == []
        assert browser.eval("document.querySelectorAll('svg.cycle').length") > 0
        assert browser.eval(CLIPPED_DRAWINGS) == 0
    finally:
        browser.close()


def test_search_finds_every_name_and_keeps_the_matrix_header(page):
    _search(page, "internal/abi.Type")
    shown = _visible(page, ".cause")
    assert shown, "a group mentions internal/abi.Type (pahole 1.24's id drift)"
    assert all("internal/abi.type" in page.eval(f"document.getElementById('{a}')"
                                                f".dataset.names") for a in shown)
    assert page.eval("document.getElementById('search-count').textContent").endswith(
        ("match", "matches"))
    _search(page, "gccgo")
    rows = page.eval("Array.from(document.querySelectorAll('#matrix-table tbody tr'))"
                     ".filter(r => !r.hidden).map(r => r.cells[2].textContent)")
    assert rows and all("gccgo" in r for r in rows)
    assert page.eval("document.querySelector('#matrix-table thead tr').getClientRects()"
                     ".length") == 1
    _search(page, "no-such-name-anywhere")
    hidden = page.eval("Array.from(document.querySelectorAll('main > section'))"
                       ".filter(s => s.hidden).map(s => s.id)")
    assert "causes" in hidden and "verdict" not in hidden  # no empty headings left behind
    _search(page, "")
    assert page.eval("Array.from(document.querySelectorAll('[data-names]'))"
                     ".every(e => !e.hidden)")


def test_every_edge_of_a_cycle_is_labelled(page):
    labels = page.eval("Array.from(document.querySelectorAll('svg.cycle')).map(svg => "
                       "Array.from(svg.querySelectorAll('.edge')).map(g => "
                       "g.querySelector('.edge-label').textContent.trim()))")
    assert labels and all(edges and all(edges) for edges in labels), labels
    words = {w for edges in labels for w in edges}
    assert words & {"names", "return type", "points to", "element"}
    assert any(w.startswith("param ") for w in words)
    # boxes fit their labels: nothing overflows its node
    overflow = page.eval("Array.from(document.querySelectorAll('svg.cycle .node')).filter(g => "
                         "g.querySelector('.node-title').getBBox().width + 18 > "
                         "g.querySelector('rect').getBBox().width).length")
    assert overflow == 0


def test_the_stepper_opens_on_the_cycle(page):
    opened = page.eval("""Array.from(document.querySelectorAll('.failure')).filter(f =>
        f.querySelector('.stepper') && f.querySelector('svg.cycle')).map(f => {
          const ids = Array.from(f.querySelectorAll('svg.cycle .node')).map(g =>
              g.id.split('-').pop());
          const step = f.querySelector('.step.current .text').textContent;
          return [ids, step];
        })""")
    assert opened
    for ids, step in opened:
        assert any(f"[{i}]" in step for i in ids), (ids, step)
    # the raw event is one click away
    page.eval("document.querySelector('.stepper .raw-toggle').click()")
    raw = page.eval("document.querySelector('.stepper .step.current .raw').hidden")
    assert raw is False


def test_matrix_columns_sort_by_mouse_and_keyboard(page):
    def programs():
        return page.eval("Array.from(document.querySelectorAll('#matrix-table tbody tr'))"
                         ".map(r => r.cells[1].textContent)")

    def sorts():
        return page.eval("Array.from(document.querySelectorAll('#matrix-table thead th'))"
                         ".map(th => th.getAttribute('aria-sort'))")

    assert set(sorts()) == {"none"}
    page.eval("document.querySelectorAll('#matrix-table thead th button')[1].click()")
    assert programs() == sorted(programs()) and sorts()[1] == "ascending"
    # the keyboard: Tab reaches the heading's button, Enter sorts the other way
    page.eval("document.querySelectorAll('#matrix-table thead th button')[1].focus()")
    for event in ({"type": "keyDown", "text": "\r"}, {"type": "keyUp"}):
        page.call("Input.dispatchKeyEvent", {**event, "key": "Enter", "code": "Enter",
                                             "windowsVirtualKeyCode": 13})
    assert programs() == sorted(programs(), reverse=True)
    assert sorts()[1] == "descending" and sorts().count("none") == len(sorts()) - 1


def test_footer_names_time_command_and_versions(page, real_report):
    footer = page.eval("document.getElementById('footer').textContent")
    findings = json.loads((real_report / "findings.json").read_text())
    assert findings["generated"] and findings["generated"] in footer
    assert "pahole 1.24" in footer and "libbpf 1.7.0" in footer and "dwarfdiag" in footer


def test_sources_shown_exist(page):
    """Declared-at paths are real files: the corpus program's own, or GOROOT's, never a
    temporary build directory."""
    shown = page.eval("Array.from(document.querySelectorAll('table.types tbody tr'))"
                      ".map(r => r.cells[4].textContent).filter(t => t)")
    assert shown and not any("/tmp" in s for s in shown)
    root = Path(__file__).resolve().parent.parent
    corpus = [s for s in shown if s.startswith("corpus/")]
    assert corpus and all((root / s.rsplit(":", 1)[0]).is_file() for s in corpus)


def png_colours(data: bytes) -> int:
    """Distinct colours of an 8-bit RGB(A) PNG (what Chromium writes), sampled."""
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
    raw, stride, prev, colours = zlib.decompress(idat), width * bpp, bytes(width * bpp), set()
    for y in range(height):
        kind, line = raw[y * (stride + 1)], bytearray(raw[y * (stride + 1) + 1:(y + 1) * (stride + 1)])
        for x in range(stride):
            a = line[x - bpp] if x >= bpp else 0
            b, c = prev[x], prev[x - bpp] if x >= bpp else 0
            p = a + b - c
            pa, pb, pc = abs(p - a), abs(p - b), abs(p - c)
            pred = (0, a, b, (a + b) // 2, a if pa <= pb and pa <= pc else b if pb <= pc else c)[kind]
            line[x] = (line[x] + pred) & 0xFF
        colours.update(bytes(line[i:i + 3]) for i in range(0, stride, bpp * 4))
        prev = line
    return len(colours)


def test_the_verdict_region_is_drawn(page):
    """On screen, not only in the DOM: the verdict's region holds text in several
    colours (the red and green counts, anti-aliased glyphs), so it is not blank."""
    box = page.eval("(() => { const r = document.getElementById('verdict')"
                    ".getBoundingClientRect(); return {x: r.x, y: r.y, width: r.width, "
                    "height: Math.min(r.height, 400)}; })()")
    assert box["height"] > 100
    assert png_colours(page.screenshot(box)) > 30


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
        "kind": "findings", "schema": 2,
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


def _two_cause_findings():
    """statefn failing under trixie (its own cycle) and under bookworm (the same cycle,
    and pahole 1.24's id drift besides), encoding under sid."""
    import copy

    data = _findings_data()
    trixie = data["matrix"]["cells"][0]
    data["matrix"]["toolchains"] = [
        {"name": "bookworm", "pahole_version": "1.24", "libbpf_version": "1.1.2"},
        *data["matrix"]["toolchains"],
        {"name": "sid", "pahole_version": "1.32", "libbpf_version": "1.7.0"}]
    data["matrix"]["cells"] = [{**trixie, "toolchain": "bookworm"}, trixie,
                               {**trixie, "toolchain": "sid", "outcome": "encodes"}]
    cells = data["diagnosis"][0]["cells"]
    drift = {"binary": "/bin/statefn", "pahole": "bookworm", "capture_method": "preload",
             "dedup_ret": -40, "pahole_types": 9, "our_types": 9, "aligned": 9,
             "alignment": "positional", "inconsistency_count": 5, "patterns": [],
             "drifts": [{"delta": 1, "from_id": 3, "shifted": 5, "checked": 5,
                         "first_shifted_target": "[4] STRUCT x",
                         "unencoded_dies": [{"die_offset": 99,
                                             "tag": "DW_TAG_unspecified_type",
                                             "name": None}]}],
             "pahole_cycles": 2, "encoder_made_cycles": [[1, 1]], "dwarf_cycles": 1,
             "cycle_example": "", "unmatched": None, "verdict": ["id drift +1"]}
    cells["bookworm"] = {**copy.deepcopy(cells["trixie"]), "variant": "1.1", "check": drift}
    from dwarfdiag.findings import parse

    return parse(data, "two causes")


def test_a_cell_with_two_causes_is_filed_under_both_and_never_told_to_change_the_program():
    from dwarfdiag.report.verdict import verdict

    v = verdict(_two_cause_findings())
    titles = {c.title: c for c in v.causes}
    cycle = titles["reference cycle through func_proto, typedef"]
    drift = titles["pahole's own BTF is wrong: ids drift after the DW_TAG_unspecified_type "
                   "it gives no type"]
    assert sorted(w[3] for w in cycle.cells) == ["bookworm", "trixie"]
    assert [w[3] for w in drift.cells] == ["bookworm"]
    assert v.failing == 2  # two failing cells, one of them under two causes
    # changing the program fixes trixie's cell, not bookworm's
    change = [a for a in cycle.actions if "change the program" in a]
    assert change and "fixes the cells under trixie, not those under bookworm" in change[0]
    assert not any("change the program" in a for a in drift.actions)
    assert all(a.startswith("upgrade: pahole 1.32") for a in cycle.actions[:1] + drift.actions)
    # the verdict leads with the culprits and a command naming the failing binary
    lines = v.lines()
    assert lines[0] == "culprits: main.stateFn, pahole 1.24's encoder (bookworm)"
    assert lines[1] == "working BTF now: dwarfdiag btf final /bin/statefn -o statefn.btf --for kernel"


def _findings(name: str = "main.stateFn"):
    from dwarfdiag.findings import parse

    return parse(_findings_data(name), "golden findings")


def _evil_findings_through_the_pipeline(tmp_path: Path):
    """A crafted BTF whose typedef cycle is named EVIL, explained by the real
    replay, so the name reaches the report the way a binary's names do."""
    from dwarfdiag.analysis import load_dedup_input
    from dwarfdiag.btf.build import BtfBuilder
    from dwarfdiag.dedup.explain import explain, focused_trace
    from dwarfdiag.dedup.variants import variant
    from dwarfdiag.diagnose import _trimmed

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
    cell.failure, cell.trace = _trimmed(first), focused_trace(inp.btf, variant("1.5"), first)
    assert any(e.get("name") == EVIL for e in cell.trace)
    return doc


def test_untrusted_names_are_escaped_and_inert(tmp_path, toolchain):  # chromium
    html = render_html(_evil_findings_through_the_pipeline(tmp_path))
    assert EVIL not in html
    assert "<script>alert(1)" not in html and "<img src=x" not in html
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in html
    index = write_report(_evil_findings_through_the_pipeline(tmp_path), tmp_path / "out")
    browser = Browser()
    try:
        browser.open(f"file://{index}")
        assert browser.eval("document.scripts.length") == 1  # only ours
        assert browser.eval("document.images.length") == 0
        assert browser.eval("typeof window.alert") == "function"  # nothing redefined it
        texts = browser.eval("Array.from(document.querySelectorAll('.step .text, "
                             "svg.cycle .node-title')).map(e => e.textContent)")
        assert any(EVIL in t for t in texts)  # shown as text, exactly
    finally:
        browser.close()


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

    bisect_doc = {"kind": "bisect", "schema": 2,
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


def test_merging_findings_keeps_every_field():
    """Two investigations merged: every list of each (parity included), both matrices'
    builds, cells and toolchains, the first's title, time and command, the sum of times."""
    import dataclasses

    from dwarfdiag.findings.investigation import Findings
    from dwarfdiag.findings.matrix import Cell, MatrixRecord, ToolchainRecord
    from dwarfdiag.report.render import merge_inputs

    docs = []
    for side in ("a", "b"):
        doc = Findings(f"title {side}", "0.1.0", f"2026-12-0{1 if side == 'a' else 2}",
                       f"command {side}", 1.5)
        for f in dataclasses.fields(Findings):
            if isinstance(getattr(doc, f.name), list):
                setattr(doc, f.name, [f"{f.name} of {side}"])
        doc.matrix = MatrixRecord(2.0, [ToolchainRecord(f"tc-{side}", "1", "1")], [],
                                  [Cell(side, 1, "gc", "debug", f"tc-{side}", "fails")])
        docs.append((side, doc))
    merged = merge_inputs(docs)
    for f in dataclasses.fields(Findings):
        value = getattr(merged, f.name)
        if isinstance(value, list):
            assert value == [f"{f.name} of a", f"{f.name} of b"], f.name
    assert (merged.title, merged.generated, merged.command) == ("title a", "2026-12-01",
                                                               "command a")
    assert merged.seconds == 3.0 and merged.matrix.seconds == 4.0
    assert [t.name for t in merged.matrix.toolchains] == ["tc-a", "tc-b"]
    assert [c.program for c in merged.matrix.cells] == ["a", "b"]


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
