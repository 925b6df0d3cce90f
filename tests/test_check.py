"""pahole capture, the libbpf helper for newer libbpf, and the consistency check.

The oracles are real: Debian 12's pahole 1.24 (system), trixie's 1.30 and
sid's 1.32 run through their unpacked loaders, each with its own libbpf.
"""

from __future__ import annotations

import errno
import subprocess
from pathlib import Path

import pytest

from dwarfdiag.target import of_file
from dwarfdiag.btf.build import BtfBuilder
from dwarfdiag.btf.capture import capture
from dwarfdiag.toolchains.suites import pahole_command
from dwarfdiag.btf.consistency import check
from dwarfdiag.btf.cycles import reference_cycles
from dwarfdiag.btf.encoder import encode
from dwarfdiag.btf.libbpf import HelperLibbpf
from dwarfdiag.btf.model import BtfKind
from dwarfdiag.btf.raw import parse_btf
from dwarfdiag.toolchains.suites import require
from dwarfdiag.dwarf.loader import load_typegraph
from dwarfdiag.errors import ToolchainError




def test_capture_keeps_btf_that_pahole_124_could_not_dedup(gc_seed_binary):
    argv, label = pahole_command(None, None)
    cap = capture(gc_seed_binary, argv, label)
    assert cap.dedup_ret == -errno.ELOOP
    assert not cap.run.encoded  # pahole itself wrote nothing
    btf = parse_btf(cap.btf)
    assert len(btf.types) > 1000
    assert "interposer" in cap.method


def test_capture_works_under_an_unpacked_loader(gc_seed_binary, sid_toolchain):
    cap = capture(gc_seed_binary, sid_toolchain.pahole_argv(), sid_toolchain.label)
    assert cap.dedup_ret == 0 and cap.run.encoded


def test_capture_of_a_missing_pahole_is_a_toolchain_error(gc_seed_binary):
    with pytest.raises(ToolchainError):
        capture(gc_seed_binary, ["/nonexistent/pahole"], "nowhere")
    with pytest.raises(ToolchainError, match="either"):
        pahole_command("/usr/bin/pahole", "sid")


def _cycle_btf() -> bytes:
    """type P *P: a pointer to itself through a typedef."""
    b = BtfBuilder()
    ptr = b.add_ptr(0)
    td = b.add_typedef("main.P", ptr)
    b.set_type(ptr, size_or_type=td)
    b.add_int("int", 8)
    return b.raw()


def test_helper_libbpf_agrees_with_in_process_libbpf_11(libbpf11, gc_seed_binary):
    bookworm = HelperLibbpf.for_toolchain(require("system"))
    raw = encode_detached_btf(gc_seed_binary)
    a, b = libbpf11.dedup(raw), bookworm.dedup(raw)
    assert (a.error, a.btf) == (b.error, b.btf)
    a, b = libbpf11.dedup(_cycle_btf()), bookworm.dedup(_cycle_btf())
    assert a.error == b.error == -errno.ELOOP


def encode_detached_btf(binary) -> bytes:
    from dwarfdiag.btf.encoded_file import encode_file

    return encode_file(binary).raw


def test_libbpf_17_dedups_typedef_cycles_that_15_cannot(corpus, sid_toolchain, trixie_toolchain):
    statefn = corpus("statefn", "gc")
    raw = encode_detached_btf(statefn)
    old = HelperLibbpf.for_toolchain(trixie_toolchain).dedup(raw)
    new = HelperLibbpf.for_toolchain(sid_toolchain).dedup(raw)
    assert old.error == -errno.ELOOP and old.libbpf_version.startswith("1.5")
    assert new.ok and new.libbpf_version.startswith("1.7")


def test_reference_cycles_found_and_struct_cycles_ignored():
    assert reference_cycles(parse_btf(_cycle_btf())) == [[1, 2]]
    b = BtfBuilder()
    s = b.add_struct("list", 8, [("next", 2, 0)])
    b.add_ptr(s)
    assert reference_cycles(parse_btf(b.raw())) == []


def test_check_explains_pahole_124_from_the_data(gc_seed_binary):
    """Why Debian 12's pahole fails on a tiny gc program: the check must find an
    id drift caused by a DIE pahole 1.24 gave no type, and show that every
    reference-only cycle in its BTF is made by that drift."""
    graph = load_typegraph(gc_seed_binary)
    argv, label = pahole_command(None, None)
    cap = capture(gc_seed_binary, argv, label)
    report = check(graph, encode(graph), parse_btf(cap.btf), label, cap.method, cap.dedup_ret)
    assert report.inconsistencies
    drift = report.drifts[0]
    assert drift.delta == 1 and drift.shifted == drift.checked
    assert [d.tag for d in drift.unencoded_dies] == ["DW_TAG_unspecified_type"]
    assert report.pahole_cycles and report.encoder_made_cycles == report.pahole_cycles
    assert report.dwarf_cycles == 0
    assert report.verdict()[-1].startswith("conclusion: the encoder's inconsistent references")
    patterns = report.patterns()
    assert sum(p.count for p in patterns) == len(report.inconsistencies)
    assert all(p.offset == "+1" for p in patterns)
    example = patterns[0].examples[0]
    assert example.die.die_offset > 0 and example.die.cu
    # spelled out only when asked for: the pattern kept for each is the one its words
    # give, and the examples are the first of their pattern
    spelled = list(report.inconsistencies)
    assert [i.pattern() for i in spelled] == report.inconsistencies.pattern_keys()
    assert report.inconsistencies[-1] == spelled[-1] and report.inconsistencies[:2] == spelled[:2]
    assert all(i.expected_id is not None and i.actual_id is not None for i in spelled)
    assert {(i.pahole_id, i.actual_id) for i in spelled} == report.bad_edges
    first = next(i for i in spelled if i.pattern() == example.pattern())
    assert first == example and report.inconsistencies == spelled


def test_check_finds_pahole_130_consistent(gc_seed_binary, trixie_toolchain):
    graph = load_typegraph(gc_seed_binary)
    cap = capture(gc_seed_binary, trixie_toolchain.pahole_argv(), trixie_toolchain.label)
    report = check(graph, encode(graph), parse_btf(cap.btf), trixie_toolchain.label)
    assert report.inconsistencies == []
    assert report.alignment == "positional" and report.aligned > 1000
    assert report.drifts == [] and report.pahole_cycles == []


def test_check_separates_program_cycles_from_encoder_cycles(corpus, sid_toolchain):
    """On statefn, pahole 1.32's BTF is faithful; its reference cycle is the
    program's own (type stateFn func(*lexer) stateFn)."""
    binary = corpus("statefn", "gc")
    graph = load_typegraph(binary)
    cap = capture(binary, sid_toolchain.pahole_argv(), sid_toolchain.label)
    report = check(graph, encode(graph), parse_btf(cap.btf), sid_toolchain.label)
    assert report.inconsistencies == []
    assert report.pahole_cycles and report.encoder_made_cycles == []
    assert report.dwarf_cycles == len(report.pahole_cycles)
    assert "stateFn" in report.cycle_example
    btf = parse_btf(cap.btf)
    names = {btf.name_of(btf.type_by_id(i)) for c in report.pahole_cycles for i in c}
    assert any("stateFn" in n for n in names)
    assert any(btf.type_by_id(i).kind == BtfKind.FUNC_PROTO
               for c in report.pahole_cycles for i in c)


def test_a_second_check_reads_the_dwarf_without_function_bodies(gc_seed_binary, tmp_path,
                                                                monkeypatch):
    """The check needs no DIE inside a function but those the encoder reads: the first
    reads those alone, and once the encoding is cached, the graph comes without any;
    the report is the one the whole graph gives (pahole 1.24's drift and the DIE
    behind it included)."""
    from dwarfdiag.analysis import BinaryAnalysis, PaholeChoice
    from dwarfdiag.fork import wait_for_background

    monkeypatch.setenv("DWARFDIAG_CACHE", str(tmp_path / "cache"))
    choice = PaholeChoice.of()
    first = BinaryAnalysis(of_file(gc_seed_binary), function_bodies=False)
    whole = first.check(choice).summary()
    assert first.graph.encoder_bodies and not first.graph.function_bodies  # encoded here
    assert len(first.graph.dies) < len(load_typegraph(gc_seed_binary, use_cache=False).dies)
    wait_for_background()
    second = BinaryAnalysis(of_file(gc_seed_binary), function_bodies=False)
    assert second.check(choice).summary() == whole
    assert not second.graph.encoder_bodies and second.graph.cached
    assert set(second.graph.dies) <= set(first.graph.dies)
    assert whole.drifts and whole.drifts[0].unencoded_dies


def test_a_pahole_s_capture_is_cached_by_what_pahole_is_made_of(
        gc_seed_binary, sid_toolchain, tmp_path, monkeypatch):
    """pahole's BTF is a function of the binary's bytes and of the pahole that ran:
    an unpacked toolchain's exact packages, or for the system's pahole the bytes of
    pahole and of every library the loader finds for it. Captured once per (binary,
    pahole); a library that changes under the system's pahole is a new capture, and a
    pahole nothing can be told of (a script) runs every time."""
    import shutil

    from dwarfdiag.analysis import PaholeChoice
    from dwarfdiag.btf import capture as capture_module
    from dwarfdiag.btf.capture import cached_capture
    from dwarfdiag.toolchains.suites import linked_identity, require

    monkeypatch.setenv("DWARFDIAG_CACHE", str(tmp_path / "cache"))
    (tmp_path / "cache").mkdir()
    (tmp_path / "cache" / "toolchains").symlink_to(Path(sid_toolchain.root).parent)
    sid, system = PaholeChoice.of(toolchain="sid"), PaholeChoice.of()
    assert sid.identity and "libbpf1" in sid.identity and system.identity
    assert require("sid").identity() == sid.identity != system.identity
    first = cached_capture(gc_seed_binary, list(sid.argv), sid.label, sid.identity)
    runs = []
    real = capture_module.capture
    monkeypatch.setattr(capture_module, "capture",
                        lambda *a, **k: runs.append(a) or real(*a, **k))
    again = cached_capture(gc_seed_binary, list(sid.argv), sid.label, sid.identity)
    assert runs == [] and (again.btf, again.dedup_ret) == (first.btf, first.dedup_ret)
    assert again.run.returncode == first.run.returncode
    for _ in range(2):
        cached_capture(gc_seed_binary, list(system.argv), system.label, system.identity)
    assert len(runs) == 1

    # the loader finds a copy of libbpf first: its bytes are part of the identity
    libs = tmp_path / "libs"
    libs.mkdir()
    libbpf = next(line.split("=>")[1].split("(")[0].strip() for line in subprocess.run(
        ["ldd", system.argv[0]], capture_output=True, text=True).stdout.splitlines()
        if "libbpf" in line)
    shutil.copy(libbpf, libs / Path(libbpf).name)
    monkeypatch.setenv("LD_LIBRARY_PATH", str(libs))
    copied = linked_identity(system.argv[0])
    with open(libs / Path(libbpf).name, "ab") as f:
        f.write(b"\0")
    assert None is not copied != linked_identity(system.argv[0]) != system.identity
    script = tmp_path / "pahole.sh"
    script.write_text(f"#!/bin/sh\nexec {system.argv[0]} \"$@\"\n")
    script.chmod(0o755)
    assert PaholeChoice.of(pahole=str(script)).identity is None


def test_a_warm_check_of_a_faithful_pahole_reads_no_dwarf(corpus, sid_toolchain, tmp_path,
                                                          monkeypatch):
    """With our encoding and pahole's capture cached, a check where pahole 1.32 is
    faithful looks at no DIE: the same report, and no graph loaded."""
    from dwarfdiag.analysis import BinaryAnalysis, PaholeChoice
    from dwarfdiag.fork import wait_for_background

    monkeypatch.setenv("DWARFDIAG_CACHE", str(tmp_path / "cache"))
    (tmp_path / "cache").mkdir()
    (tmp_path / "cache" / "toolchains").symlink_to(Path(sid_toolchain.root).parent)
    binary = corpus("statefn", "gc")
    sid = PaholeChoice.of(toolchain="sid")
    first = BinaryAnalysis(of_file(binary), function_bodies=False).check(sid)
    wait_for_background()
    assert first.inconsistencies == [] and first.pahole_cycles
    second = BinaryAnalysis(of_file(binary), function_bodies=False)
    again = second.check(sid)
    assert "graph" not in second.__dict__
    assert again.summary() == first.summary()


def test_the_cycles_found_on_the_second_core_are_the_ones_found_here(gc_seed_binary,
                                                                      monkeypatch):
    """check works the reference-only cycles out in forked children (ours while pahole's
    BTF is parsed, pahole's while it compares), and a big alignment's later pairs:
    the same report as one process (every inconsistency, every bad reference), and
    the same again when those children are lost."""
    import dataclasses
    import os

    from dwarfdiag import fork
    from dwarfdiag.analysis import PaholeChoice
    from dwarfdiag.btf import consistency
    from dwarfdiag.btf.capture import cached_capture

    from conftest import count_forks

    system = PaholeChoice.of()
    cap = cached_capture(gc_seed_binary, list(system.argv), system.label, None)
    graph = load_typegraph(gc_seed_binary)
    encoded = encode(graph)

    def report():
        found = check(graph, encoded, lambda: parse_btf(cap.btf), system.label)
        return (found.summary(), [dataclasses.astuple(i) for i in found.inconsistencies],
                sorted(found.bad_edges))

    monkeypatch.setenv("DWARFDIAG_JOBS", "1")
    alone = report()
    assert alone[0].pahole_cycles and alone[0].encoder_made_cycles  # pahole 1.24 drifts
    assert len(alone[1]) > 100
    monkeypatch.delenv("DWARFDIAG_JOBS")
    monkeypatch.setattr(os, "sched_getaffinity", lambda pid: {0, 1})
    forks = count_forks(monkeypatch)
    assert report() == alone
    assert len(forks) == 2
    monkeypatch.setattr(consistency, "PARALLEL_MIN_PAIRS", 10)  # the seed's pairs split
    assert report() == alone
    assert len(forks) == 2 + 3
    monkeypatch.setattr(fork.Forked, "result", lambda self: fork.LOST)
    assert report() == alone


def test_the_read_leaves_the_second_core_to_a_pahole_that_runs(gc_seed_binary, sid_toolchain,
                                                               tmp_path, monkeypatch):
    """While pahole captures on the other core, the DWARF is read in this process
    alone; once the capture is cached (pahole will not run), on both cores."""
    import shutil

    from dwarfdiag.analysis import BinaryAnalysis, PaholeChoice
    from dwarfdiag.dwarf import loader
    from dwarfdiag.fork import wait_for_background

    cache_root = tmp_path / "cache"
    monkeypatch.setenv("DWARFDIAG_CACHE", str(cache_root))
    cache_root.mkdir()
    (cache_root / "toolchains").symlink_to(Path(sid_toolchain.root).parent)
    one_core = []
    real = loader.read_units_on_two_cores
    monkeypatch.setattr(loader, "read_units_on_two_cores",
                        lambda *a, **k: one_core.append(k["one_core"]) or real(*a, **k))
    sid = PaholeChoice.of(toolchain="sid")
    first = BinaryAnalysis(of_file(gc_seed_binary), function_bodies=False).check(sid)
    wait_for_background()
    for area in ("encoded", "provenance", "typegraph", "typegraph-bodies"):
        shutil.rmtree(cache_root / "derived" / area, ignore_errors=True)
    second = BinaryAnalysis(of_file(gc_seed_binary), function_bodies=False).check(sid)
    assert one_core == [True, False]
    assert second.summary() == first.summary()


@pytest.mark.parametrize("jobs", ["2", "1"])
def test_pahole_btf_libbpf_refuses_fails_the_check_as_it_fails_the_parse(
        gc_seed_binary, jobs, monkeypatch):
    """pahole's BTF is parsed without libbpf's per-type checks and checked beside the
    comparison (on the second core, or here): BTF that libbpf refuses fails the check
    with the parse's own message, however the comparison fared on it."""
    import dataclasses

    from dwarfdiag.analysis import PaholeChoice
    from dwarfdiag.btf.capture import cached_capture
    from dwarfdiag.btf.raw import write_btf
    from dwarfdiag.errors import BadInputError, BtfFormatError

    system = PaholeChoice.of()
    cap = cached_capture(gc_seed_binary, list(system.argv), system.label, None)
    btf = parse_btf(cap.btf)
    index = next(i for i, t in enumerate(btf.types) if t.kind == BtfKind.PTR)
    btf.types[index] = dataclasses.replace(btf.types[index], size_or_type=len(btf.types) + 99)
    bad = write_btf(btf)
    with pytest.raises(BtfFormatError) as parsed:
        parse_btf(bad)
    graph = load_typegraph(gc_seed_binary)
    monkeypatch.setenv("DWARFDIAG_JOBS", jobs)
    with pytest.raises(BadInputError) as checked:
        check(graph, encode(graph), lambda: parse_btf(bad, sanity=False), system.label)
    assert str(checked.value) == str(parsed.value)


def _pair_with_every_kind_of_difference() -> tuple[bytes, bytes]:
    """Our BTF and a 'pahole' BTF that agree on 300 ints and differ, one field each,
    in five types after them (few enough for positional alignment)."""
    sides = []
    for pahole in (False, True):
        b = BtfBuilder()
        for n in range(300):
            b.add_int(f"i{n}", 4)
        b.add_struct("s", 16 if pahole else 8,
                     [("a", 1, 0), ("c" if pahole else "b", 1, 32)])  # [301] size, member
        b.add_ptr(1 if pahole else 301)  # [302] the pointer's target
        b.add_typedef("T" if pahole else "t", 302)  # [303] the name
        b.add_func_proto(1, [("x", 1), ("y", 1)] if pahole else [("x", 1)])  # [304] vlen
        if pahole:  # [305] the kind
            b.add_volatile(1)
        else:
            b.add_const(1)
        sides.append(b.raw())
    return sides[0], sides[1]


@pytest.mark.parametrize("on_demand", [False, True])
def test_each_kind_of_inconsistency_is_found_and_worded(on_demand):
    """Kind, name, size, vlen, member layout and a reference, each found in the pair
    that has it and spelled in words, with pahole's BTF parsed whole or on demand."""
    from dwarfdiag.btf.encoder import Encoded

    ours_raw, pahole_raw = _pair_with_every_kind_of_difference()
    ours = Encoded(parse_btf(ours_raw), {}, units=[])
    report = check(lambda lo, hi: None, ours, parse_btf(pahole_raw, on_demand=on_demand))
    assert report.alignment == "positional" and report.aligned == 305
    found = sorted((i.pahole_id, i.kind, i.slot, i.expected, i.actual)
                   for i in report.inconsistencies)
    assert found == [
        (301, "STRUCT", "member layout", "b@32", "c@32"),
        (301, "STRUCT", "size", "8", "16"),
        (302, "PTR", "type", "[301] STRUCT 's'", "[1] INT 'i0'"),
        (303, "TYPEDEF", "name", "t", "T"),
        (304, "FUNC_PROTO", "vlen", "1", "2"),
        (305, "CONST", "kind", "CONST", "VOLATILE"),
    ]
    assert report.bad_edges == {(302, 1)}
