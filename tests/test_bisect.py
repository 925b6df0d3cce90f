"""bisect: ddmin against brute force, subsets, and real binaries with known cycles."""

from __future__ import annotations

import itertools
import json
import subprocess
import sys
from pathlib import Path

import pytest
from hypothesis import given, strategies as st

from dwarfdiag.bisect.ddmin import ddmin
from dwarfdiag.bisect.oracles import OracleSpec
from dwarfdiag.bisect.run import run_bisect
from dwarfdiag.bisect.subset import Universe
from dwarfdiag.targets.resolve import resolve
from dwarfdiag.btf.build import BtfBuilder
from dwarfdiag.btf.libbpf import _refused_by_libbpf
from dwarfdiag.btf.raw import write_btf
from dwarfdiag.errors import NotFoundError



# --- ddmin ----------------------------------------------------------------------
def _minimal(family: list[frozenset]) -> set[frozenset]:
    return {f for f in family if not any(g < f for g in family)}


@given(st.integers(2, 9).flatmap(lambda n: st.tuples(
    st.just(n), st.lists(st.frozensets(st.integers(0, n - 1), min_size=1, max_size=3),
                         min_size=1, max_size=3))), st.integers(1, 3))
def test_ddmin_finds_a_minimal_failing_set(case, width):
    n, family = case
    fails = lambda s: any(f <= set(s) for f in family)  # noqa: E731 - monotone
    result = ddmin(list(range(n)), batch=lambda groups: [fails(g) for g in groups], width=width)
    assert fails(result)
    assert all(not fails([x for x in result if x != y]) for y in result)  # 1-minimal
    assert frozenset(result) in _minimal(family)  # what brute force says is minimal
    # and brute force agrees nothing smaller exists inside it
    assert not any(fails(list(c)) for k in range(len(result))
                   for c in itertools.combinations(result, k))


# --- subsets ------------------------------------------------------------------
def test_subsets_are_closed_valid_btf_with_stubs():
    b = BtfBuilder()
    i = b.add_int("int", 8)
    s = b.add_struct("main.T", 16, [("a", i, 0), ("next", 4, 64)])
    td = b.add_typedef("main.T", s)
    b.add_ptr(td)
    proto = b.add_func_proto(0, [("x", 4)])
    b.add_func("f", proto, 0)
    u = Universe(b.btf())
    kept = u.closure([6])  # FUNC -> proto -> ptr -> typedef -> struct (members not followed)
    assert kept == [2, 3, 4, 5, 6]
    sub = u.build(kept)
    assert _refused_by_libbpf(write_btf(sub), None) is None
    struct = sub.type_by_id(1)
    assert struct.size == 16 and struct.vlen == 0  # stub: int was not kept
    assert u.closure([6], banned=frozenset({5})) == []  # FUNC without its proto is dropped
    full = u.build(u.closure([6, 1]))
    assert full.type_by_id(2).vlen == 2  # all member types kept: the struct stays whole


# --- real binaries -----------------------------------------------------------------
THREE_CYCLES = {
    "go.mod": "module bisect.example/three\n\ngo 1.17\n",
    "main.go": """package main

import "bisect.example/three/sub"

type lexer struct{ pos int }
type stateFn func(*lexer) stateFn
type P *P

var s stateFn
var p P
var a sub.A

func main() {
	println(s == nil, p == nil, a[0] == nil, len(sub.Names()))
}
""",
    "sub/sub.go": """package sub

type A [2]*A

func Names() []string { return []string{"a"} }
""",
    "meta.toml": 'level = 0\nfeatures = ["test"]\nmin_go = "1.17"\ndescription = "three cycles"\n',
}


@pytest.fixture(scope="session")
def three_cycles(tmp_path_factory) -> Path:
    from dwarfdiag.corpus.build import build
    from dwarfdiag.corpus.catalogue import load_program
    from dwarfdiag.toolchains.go import gc

    root = tmp_path_factory.mktemp("src") / "x-three"
    for rel, text in THREE_CYCLES.items():
        (root / rel).parent.mkdir(parents=True, exist_ok=True)
        (root / rel).write_text(text)
    built = build(load_program(root), gc())
    assert built.status == "built", built.message
    return Path(built.binary)


def _cycle_names(report) -> set[str]:
    names = set()
    for s in report.search.independent:
        typedefs = [report.types[i].name for i in s.cycle
                    if report.types[i].kind == "TYPEDEF"]
        names.add(typedefs[0] if typedefs else "?")
    return names


def test_bisect_finds_each_independent_cycle_and_nothing_else(three_cycles, tmp_path):
    target = resolve(str(three_cycles))
    report = run_bisect(target, OracleSpec("replay", "1.5"), out_dir=tmp_path, reproduce=False)
    assert report.search.stopped == "done"
    assert all(s.verified for s in report.search.sets)
    assert _cycle_names(report) == {"main.stateFn", "main.P", "bisect.example/three/sub.A"}
    packages = {report.types[i].provenance.package for s in report.search.independent
                for i in s.cycle}
    assert "bisect.example/three/sub" in packages
    assert json.loads((tmp_path / "bisect.json").read_text())["search"]["calls"] > 0


def test_nothing_to_bisect_under_17(three_cycles, tmp_path):
    target = resolve(str(three_cycles))
    report = run_bisect(target, OracleSpec("replay", "1.7"), out_dir=tmp_path, reproduce=False)
    assert report.search.stopped == "nothing-to-bisect" and report.search.sets == []


def test_real_libbpf_and_pahole_oracles_agree_with_the_replay(corpus, tmp_path, trixie_toolchain):
    binary = corpus("statefn")
    target = resolve(str(binary))
    names = []
    for spec, source in ((OracleSpec("replay", "1.5"), "encoder"),
                         (OracleSpec("libbpf", "1.5"), "encoder"),
                         (OracleSpec("pahole", "1.5", "trixie"), "pahole")):
        report = run_bisect(target, spec, source, workers=1, out_dir=tmp_path, reproduce=False)
        names.append(_cycle_names(report))
    assert names == [{"main.stateFn"}] * 3


def test_reproducer_fails_with_trixie_and_encodes_with_sid(corpus, tmp_path, trixie_toolchain,
                                                           sid_toolchain):
    target = resolve(str(corpus("statefn")))
    report = run_bisect(target, OracleSpec("replay", "1.5"), out_dir=tmp_path)
    [repro] = [r for r in report.reproducers if r is not None]
    assert repro.build == "built"
    assert repro.verdicts == {"trixie": "fails", "sid": "encodes"}
    source = (tmp_path / "repro-1" / "main.go").read_text()
    assert "type stateFn func(" in source and (tmp_path / "repro-1" / "README").exists()


def test_budget_stops_with_the_best_set_so_far(three_cycles, tmp_path):
    target = resolve(str(three_cycles))
    report = run_bisect(target, OracleSpec("replay", "1.5"), max_calls=4, workers=1,
                        out_dir=tmp_path, reproduce=False)
    assert report.search.stopped == "max-calls"
    assert report.search.sets and not report.search.sets[-1].verified


def test_named_target_from_the_users_config(tmp_path, monkeypatch, gc_seed_binary):
    """A ``binary =`` in the user's targets.toml is used as it is, nothing built."""
    config = tmp_path / "dwarfdiag" / "targets.toml"
    config.parent.mkdir()
    config.write_text(f'[kubeadm]\nbinary = "{gc_seed_binary}"\n')
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path))
    target = resolve("kubeadm")
    assert target.binary == gc_seed_binary and target.name == "kubeadm"
    config.write_text('[kubeadm]\nbinary = "/nope"\n')
    with pytest.raises(NotFoundError, match="is not a file"):
        resolve("kubeadm")
    with pytest.raises(NotFoundError, match="unknown target"):
        resolve("no-such-thing")


def _run(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "dwarfdiag", *args], capture_output=True,
                          text=True)


def test_cli(tmp_path, gc_seed_binary):
    proc = _run("bisect", str(gc_seed_binary), "--libbpf", "1.7", "--out-dir", str(tmp_path))
    assert proc.returncode == 0 and "nothing to bisect" in proc.stdout, proc.stderr
    proc = _run("bisect", "no-such-target")
    assert proc.returncode == 2 and len(proc.stderr.strip().splitlines()) == 1
    assert "unknown target 'no-such-target'" in proc.stderr
    proc = _run("bisect", "statefn", "--no-repro", "--json", "--out-dir", str(tmp_path))
    assert proc.returncode == 1, proc.stderr  # a failing set was found
    doc = json.loads(proc.stdout)
    assert doc["search"]["full_errno"] == -40 and len(doc["search"]["sets"]) == 1
    proc = _run("bisect", "statefn", "--oracle", "pahole")
    assert proc.returncode == 2 and "needs --toolchain" in proc.stderr
