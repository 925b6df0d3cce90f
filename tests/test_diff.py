"""diff: gc against gccgo for a program built in the test, checked against llvm-dwarfdump."""

from __future__ import annotations

import os
import random
import re
import shutil
import subprocess
from pathlib import Path

import pytest
from hypothesis import given, settings, strategies as st

from dwarfdiag.target import of_file
from dwarfdiag.diff.differ import diff
from dwarfdiag.dwarf.loader import load_typegraph
from dwarfdiag.dwarf.typegraph import TypeGraph


SOURCE = """package main

import "fmt"

type lexer struct {
	input string
	pos   int
	items []string
}

type stateFn func(*lexer) stateFn

type P *P

type Shape interface{ Area() float64 }

type square struct{ side float64 }

func (s square) Area() float64 { return s.side * s.side }

type Registry struct {
	byName map[string]Shape
	events chan int
	next   P
	start  stateFn
}

func lexText(l *lexer) stateFn { l.pos++; return nil }

func main() {
	r := Registry{byName: map[string]Shape{"sq": square{2}}, start: lexText}
	var p P
	l := &lexer{input: "x", items: []string{"a"}}
	fmt.Println(len(r.byName), r.start(l) == nil, p == nil, l.pos, cap(r.events))
}
"""
META = 'level = 0\nfeatures = ["diff test"]\nmin_go = "1.17"\ndescription = "diff"\n'


@pytest.fixture(scope="session")
def pair(tmp_path_factory, toolchain) -> tuple[Path, Path]:
    from dwarfdiag.corpus.build import build
    from dwarfdiag.corpus.catalogue import load_program
    from dwarfdiag.toolchains.go import gc, gccgo

    root = tmp_path_factory.mktemp("diffsrc") / "x-shapes"
    root.mkdir()
    (root / "main.go").write_text(SOURCE)
    (root / "meta.toml").write_text(META)
    program = load_program(root)
    out = []
    for compiler in (gc(), gccgo()):
        built = build(program, compiler)
        assert built.status == "built", built.message
        out.append(Path(built.binary))
    return out[0], out[1]


def llvm_dies(binary: Path) -> dict[int, tuple[str, dict[str, str]]]:
    """offset -> (tag, {attribute: raw value}) as llvm-dwarfdump prints them."""
    tool = shutil.which("llvm-dwarfdump")
    if not tool:
        pytest.fail("llvm-dwarfdump is required (apt-get install llvm)")
    text = subprocess.run([tool, "--debug-info", str(binary)], capture_output=True, text=True,
                          check=True).stdout
    dies, current = {}, None
    for line in text.splitlines():
        m = re.match(r"^0x([0-9a-f]+):\s+(DW_TAG_\w+)", line)
        if m:
            current = int(m.group(1), 16)
            dies[current] = (m.group(2), {})
            continue
        m = re.match(r"^\s+(DW_AT_\w+)\s+\((.*)\)$", line)
        if m and current is not None:
            dies[current][1][m.group(1)] = m.group(2)
    return dies


def llvm_chain(dies, *names: str) -> list[str]:
    """Tags from the typedef called one of ``names`` down through typedefs and pointers."""
    wanted = {f'"{n}"' for n in names}
    start = next(o for o, (tag, attrs) in dies.items()
                 if tag == "DW_TAG_typedef" and attrs.get("DW_AT_name") in wanted)
    tags, offset, seen = [], start, set()
    while offset is not None and len(tags) < 6 and offset not in seen:  # stop where it cycles
        seen.add(offset)
        tag, attrs = dies[offset]
        tags.append(tag[len("DW_TAG_"):])
        if tag not in ("DW_TAG_typedef", "DW_TAG_pointer_type") or "DW_AT_type" not in attrs:
            break
        offset = int(attrs["DW_AT_type"].split()[0], 16)
    return tags


def llvm_cycles_back(dies, *names: str) -> bool:
    """Does following DW_AT_type from the typedef ``name`` lead back to it?"""
    wanted = {f'"{n}"' for n in names}
    start = next(o for o, (tag, attrs) in dies.items()
                 if tag == "DW_TAG_typedef" and attrs.get("DW_AT_name") in wanted)
    offset, seen = start, set()
    while offset not in seen:
        seen.add(offset)
        value = dies[offset][1].get("DW_AT_type")
        if value is None:
            return False
        offset = int(value.split()[0], 16)
        if offset == start:
            return True
    return False


def tags_of(representation: str) -> list[str]:
    return [part.split()[0] for part in representation.split(">")]


def test_gc_vs_gccgo_representations_match_llvm_dwarfdump(pair):
    gc_bin, gccgo_bin = pair
    result = diff(load_typegraph(gc_bin), load_typegraph(gccgo_bin))
    by_name = {d.name: d for d in result.diffs}
    gc_dies, gccgo_dies = llvm_dies(gc_bin), llvm_dies(gccgo_bin)
    # (gccgo emits no typedef for the interface Shape here: nothing needs it)
    for name in ("main.stateFn", "main.P", "main.lexer", "main.Registry", "main.square"):
        d = by_name[name]
        assert tags_of(d.representation[0]) == llvm_chain(gc_dies, name), name
        # gccgo spells its own package's types ".main.T" or, unqualified, "T"
        unqualified = name.split(".", 1)[1]
        assert tags_of(d.representation[1]) == llvm_chain(gccgo_dies, "." + name, unqualified), name
    func = by_name["main.stateFn"]
    assert func.representation[0] == "typedef>subroutine_type"
    assert "__go_descriptor" in func.representation[1]
    assert func.go_kind == ("func", "func")


def test_attribute_patterns_follow_the_dwarf(pair):
    gc_bin, gccgo_bin = pair
    result = diff(load_typegraph(gc_bin), load_typegraph(gccgo_bin))
    patterns = {p.pattern for p in result.patterns}
    gc_dies, gccgo_dies = llvm_dies(gc_bin), llvm_dies(gccgo_bin)
    gc_has_kind = any("DW_AT_GO_kind" in a for _, a in gc_dies.values())
    gccgo_has_kind = any("DW_AT_GO_kind" in a for _, a in gccgo_dies.values())
    gccgo_typedef_lines = any(t == "DW_TAG_typedef" and "DW_AT_decl_line" in a
                              for t, a in gccgo_dies.values())
    gc_typedef_lines = any(t == "DW_TAG_typedef" and "DW_AT_decl_line" in a
                           for t, a in gc_dies.values())
    assert gc_has_kind and not gccgo_has_kind
    assert any("DW_AT_go_kind only in A" in p for p in patterns)
    assert gccgo_typedef_lines and not gc_typedef_lines
    assert "DW_TAG_typedef has DW_AT_decl_line only in B" in patterns
    assert result.a.dies_by_tag["DW_TAG_subprogram"] == sum(
        1 for t, _ in gc_dies.values() if t == "DW_TAG_subprogram")
    # the usage lists say the same: Go's attributes are gc's alone
    assert "DW_AT_go_kind" in result.usage_only_a["attributes"]
    assert "DW_AT_go_kind" not in result.usage_only_b["attributes"]


def test_cycles_per_side_and_their_relevance(pair):
    gc_bin, gccgo_bin = pair
    result = diff(load_typegraph(gc_bin), load_typegraph(gccgo_bin))
    names_a = {n for c in result.a.reference_cycles for n in c}
    names_b = {n for c in result.b.reference_cycles for n in c}
    assert "TYPEDEF main.stateFn" in names_a and "TYPEDEF main.P" in names_a
    assert not any("stateFn" in n for n in names_b)  # gccgo: func values go through a struct
    # type P *P: a cycle on the gccgo side exactly when its DWARF has one
    gccgo_p_cycles = llvm_cycles_back(llvm_dies(gccgo_bin), ".main.P", "P")
    assert any(n in ("TYPEDEF P", "TYPEDEF .main.P") for n in names_b) == gccgo_p_cycles
    assert llvm_cycles_back(llvm_dies(gc_bin), "main.P")
    state = next(d for d in result.diffs if d.name == "main.stateFn")
    assert state.on_cycle == (True, False)
    assert any("stateFn" in line and "creates the cycle in A" for line in result.lines()
               if "main.stateFn" in line)


def test_a_binary_against_itself_has_no_differences(pair):
    graph = load_typegraph(pair[0])
    result = diff(graph, graph)
    assert result.differing == [] and result.only_a == [] and result.only_b == []
    assert result.patterns == []


def test_filters(pair):
    result = diff(load_typegraph(pair[0]), load_typegraph(pair[1]), type_name="stateFn")
    assert [d.name for d in result.diffs] == ["main.stateFn"]
    result = diff(load_typegraph(pair[0]), load_typegraph(pair[1]), package="main")
    assert result.diffs and all(d.name.startswith("main.") for d in result.diffs)


def _shuffled(g: TypeGraph, seed: int) -> TypeGraph:
    """The same DWARF with its DIEs in another order and its units renamed."""
    from dataclasses import replace

    rng = random.Random(seed)
    order = list(g.dies.items())
    rng.shuffle(order)
    cus = [replace(cu, name=f"unit{rng.randrange(10**6)}") if cu.compiler != "gc" else cu
           for cu in g.cus]  # gc names its units after the packages, which matching uses
    return TypeGraph(g.source, "", cus, dict(order), g.functions, g.die_count, g.compressed,
                     g.stats)


@settings(max_examples=3, deadline=None)
@given(st.integers(0, 2**32 - 1))
def test_reordering_and_renaming_does_not_change_the_verdict(pair, seed):
    ga, gb = load_typegraph(pair[0]), load_typegraph(pair[1])
    base = diff(ga, gb)
    moved = diff(_shuffled(ga, seed), _shuffled(gb, seed + 1))
    assert {(p.pattern, p.count) for p in moved.patterns} == \
        {(p.pattern, p.count) for p in base.patterns}
    members = lambda cycles: sorted(sorted(set(c)) for c in cycles)  # noqa: E731 - start varies
    assert members(moved.a.reference_cycles) == members(base.a.reference_cycles)
    assert members(moved.b.reference_cycles) == members(base.b.reference_cycles)


def test_cli(pair, tmp_path):
    import json
    import sys

    out = tmp_path / "diff.json"
    proc = subprocess.run([sys.executable, "-m", "dwarfdiag", "diff", str(pair[0]), str(pair[1])],
                          capture_output=True, text=True)
    assert proc.returncode == 0, proc.stderr
    assert "reference-only cycles in A" in proc.stdout
    proc = subprocess.run([sys.executable, "-m", "dwarfdiag", "diff", str(pair[0]), str(pair[1]),
                           "--json", "-o", str(out)], capture_output=True, text=True)
    assert proc.returncode == 0 and proc.stdout == "", proc.stderr
    doc = json.loads(out.read_text())
    assert doc["kind"] == "diff" and doc["matched"] > 0 and doc["a"]["compilers"] == ["gc"]


def test_a_type_missing_on_one_side_is_named_not_counted_as_acyclic(corpus):
    """text/template's stateFn is on a cycle in the gc build; the gccgo build links the
    standard library from libgo.so, so it has no such type at all, and the diff says so."""

    gc_bin, gccgo_bin = corpus("text-template", "gc"), corpus("text-template", "gccgo")
    result = diff(load_typegraph(gc_bin), load_typegraph(gccgo_bin))
    absent = {t.name: t for t in result.cycle_types_absent}
    assert "text/template/parse.stateFn" in absent
    assert absent["text/template/parse.stateFn"].side == "A"
    assert "libgo.so" in absent["text/template/parse.stateFn"].why
    assert "text/template/parse.stateFn" not in {d.name for d in result.diffs}
    summary = result.summary("text-template")
    assert [t.name for t in summary.absent] == list(absent)


def test_a_side_without_function_bodies_diffs_as_the_whole_graph(pair, tmp_path, monkeypatch):
    """``diff`` keeps each side without what lies inside its functions, read or taken
    from the cache alike; the result is the one the whole graphs give."""
    from dwarfdiag.diff.differ import load_side, side_cycles
    from dwarfdiag.dwarf.constants import Tag
    from dwarfdiag.findings.schema import to_data

    gc_binary, gccgo_binary = pair
    whole = to_data(diff(load_typegraph(gc_binary, use_cache=False),
                         load_typegraph(gccgo_binary, use_cache=False)))
    monkeypatch.setenv("DWARFDIAG_CACHE", str(tmp_path / "cache"))
    read = [load_side(of_file(p)) for p in pair]  # read without the bodies, then cached
    cached = [load_side(of_file(p)) for p in pair]  # from the cache, never made
    for side, again, binary in zip(read, cached, pair):
        assert side.to_data() == again.to_data()
        full = load_typegraph(binary)
        assert full.die_count == side.die_count and len(side.dies) < len(full.dies)
        params = [d for d in full.dies.values() if d.tag == Tag.formal_parameter
                  and full.dies[d.parent].tag == Tag.subprogram]
        assert params and not any(p.offset in side.dies for p in params)
        assert all(d.offset in side.dies for d in full.dies.values()
                   if d.tag in (Tag.subprogram, Tag.structure_type, Tag.member))
    assert to_data(diff(*read)) == whole
    assert to_data(diff(*cached)) == whole
    with side_cycles(cached[0]) as early:  # as the command does: A's cycles first
        assert to_data(diff(*cached, cycles_a=early)) == whole


def test_a_binary_and_a_copy_of_it_share_one_graph(pair, tmp_path, monkeypatch):
    """The second side with the first one's bytes (the binary itself, or a copy) is
    the graph loaded already, under its own name: no second read while the first
    one's cache entry may still wait to be written; the diff is the one two loads
    give: every type identical."""
    from dwarfdiag.diff.differ import load_side, side_cycles
    from dwarfdiag.findings.schema import to_data

    monkeypatch.setenv("DWARFDIAG_CACHE", str(tmp_path / "cache"))
    copy = tmp_path / "copy"
    shutil.copy(pair[0], copy)
    first = load_side(of_file(pair[0]))
    second = load_side(of_file(copy), other=first)
    assert second.dies is first.dies and second.source == str(copy)
    assert load_side(of_file(pair[1]), other=first).dies is not first.dies  # other bytes: loaded
    apart = load_side(of_file(copy))  # from the cache: a graph of its own
    assert apart.dies is not first.dies
    shared = to_data(diff(first, second))
    assert shared == to_data(diff(first, apart))
    with side_cycles(first) as early:  # A's cycles started before B is there
        assert to_data(diff(first, second, cycles_a=early)) == shared
    assert all(d["identical"] for d in shared["diffs"]) and str(copy) in str(shared["b"])


def test_the_second_core_compares_half_the_types_alike(pair, monkeypatch):
    """A big diff compares its later half in a forked child: the same result as one
    process, and the same again when that child is lost."""
    from dwarfdiag import fork
    from dwarfdiag.diff import differ
    from dwarfdiag.findings.schema import to_data

    from conftest import count_forks

    ga, gb = (load_typegraph(p) for p in pair)
    monkeypatch.setenv("DWARFDIAG_JOBS", "1")
    alone = to_data(diff(ga, gb))
    monkeypatch.delenv("DWARFDIAG_JOBS")
    monkeypatch.setattr(os, "sched_getaffinity", lambda pid: {0, 1})
    monkeypatch.setattr(differ, "PARALLEL_MIN_PAIRS", 1)
    forks = count_forks(monkeypatch)
    assert to_data(diff(ga, gb)) == alone
    assert len(forks) >= 2  # the cycles' child and the comparing one
    monkeypatch.setattr(fork.Forked, "result", lambda self: fork.LOST)
    assert to_data(diff(ga, gb)) == alone
