"""The corpus, its builds and the investigation, with the real compilers and
Debian 12's pahole 1.24 + libbpf 1.1 (FACTS.md: it fails on every gc build
and encodes the gccgo build of the seed's program)."""

from __future__ import annotations

import json

import pytest

from dwarfdiag.btf.pahole import encode_detached
from dwarfdiag.btf.raw import parse_btf
from dwarfdiag.corpus.catalogue import load_catalogue
from dwarfdiag.investigate import run_investigation
from dwarfdiag.errors import NotFoundError


def test_catalogue_is_ordered_and_described():
    programs = load_catalogue()
    assert [p.level for p in programs] == sorted(p.level for p in programs)
    names = {p.name for p in programs}
    assert {"hello", "seed-example", "statefn"} <= names
    for p in programs:
        assert (p.directory / "main.go").exists()
        assert p.features and p.min_go and p.description
        assert len(p.source_hash()) == 16


def test_pahole_1_24_fails_on_gc_and_encodes_gccgo(pahole, gc_seed_binary, gccgo_seed_binary):
    gc = encode_detached(pahole, gc_seed_binary)
    assert not gc.encoded and gc.returncode != 0
    assert any("btf__dedup failed" in line for line in gc.error_lines)
    assert gc.not_handled.get("DW_TAG_constant", 0) > 0  # gc's constants, counted once per tag

    gccgo = encode_detached(pahole, gccgo_seed_binary)
    assert gccgo.encoded and gccgo.btf is not None
    btf = parse_btf(gccgo.btf)
    assert any(btf.name_of(t).endswith("Example") for t in btf.types)


def test_investigate_writes_findings(tmp_path, monkeypatch):
    monkeypatch.setenv("DWARFDIAG_CACHE", str(tmp_path / "cache"))
    inv = run_investigation(tmp_path / "report", ["gc", "gccgo"], ["seed-example"])
    findings = json.loads((tmp_path / "report" / "findings.json").read_text())
    outcomes = {(c["program"], c["compiler"]): c["outcome"] for c in findings["cells"]}
    assert outcomes == {("seed-example", "gc"): "fails", ("seed-example", "gccgo"): "encodes"}
    assert {t["name"] for t in findings["tools"]} >= {"go", "gccgo", "pahole", "libbpf"}
    lines = inv.verdict_lines()
    assert len(lines) == 3 and "seed-example/gc" in lines[1]
    # a second run reuses the cached builds
    again = run_investigation(tmp_path / "report", ["gc"], ["seed-example"])
    assert again.cells[0].build["binary"] == inv.cells[0].build["binary"]


def test_investigate_rejects_unknown_programs(tmp_path):
    with pytest.raises(NotFoundError, match="no corpus program named nope"):
        run_investigation(tmp_path, ["gc"], ["nope"])
