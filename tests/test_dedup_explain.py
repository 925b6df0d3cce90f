"""Diagnosis and trace: what `dedup explain` and `dedup trace` say, from real inputs."""

from __future__ import annotations

import pytest

import errno
import io
import json

from dwarfdiag.btf.raw import parse_btf
from dwarfdiag.dedup.driver import replay
from dwarfdiag.dedup.explain import explain
from dwarfdiag.analysis import load_dedup_input
from dwarfdiag.elf import is_elf
from dwarfdiag.target import of_file
from dwarfdiag.dedup.trace import JsonlTracer
from dwarfdiag.dedup.variants import variant

from conftest import count_forks



def load_input(path, *args, **kwargs):
    """A binary as its Target (as the CLI resolves it), or a BTF file as it is."""
    return load_dedup_input(of_file(path) if is_elf(path) else path, *args, **kwargs)


def test_explain_statefn_names_the_cycle_and_its_dies(corpus):
    binary = corpus("statefn")
    result = explain(load_input(binary), variant("1.5"))
    first = result.first_failure
    assert first.errno == -errno.ELOOP and first.phase == "ref_types"
    kinds = [link.kind for link in first.chain]
    assert kinds[0] == kinds[-1] and {"TYPEDEF", "FUNC_PROTO"} <= set(kinds)
    typedef = next(link for link in first.chain if link.kind == "TYPEDEF")
    assert typedef.name == "main.stateFn"
    assert typedef.provenance.die_offset > 0 and typedef.provenance.package == "main"
    assert "typedef" in first.root_cause and "func_proto" in first.root_cause
    verdicts = {p.variant: p.encodes for p in result.predictions}
    assert verdicts == {"1.1": False, "1.5": False, "1.6": False, "1.7": True, "master": True}


def test_explain_lists_failures_the_first_one_hides(corpus):
    binary = corpus("recursive-ptr-array")
    result = explain(load_input(binary), variant("1.5"))
    assert result.first_failure is not None
    cycles = [result.first_failure] + result.hidden_failures
    names = {link.name for f in cycles for link in f.chain}
    assert {"main.P", "main.A"} <= names  # type P *P and type A [2]*A are separate failures
    assert any("array" in f.root_cause for f in cycles)


def test_explain_says_why_17_still_fails_on_pahole_124_btf(gc_seed_binary):
    inp = load_input(gc_seed_binary, toolchain="system")
    assert inp.check is not None and inp.check.inconsistencies
    result = explain(inp, variant("1.7"))
    assert result.first_failure.errno == -errno.ELOOP
    assert "encoder inconsistency" in result.first_failure.root_cause
    seventeen = next(p for p in result.predictions if p.variant == "1.7")
    assert not seventeen.encodes
    assert "breaks cycles only at typedefs and this one has none" in seventeen.why
    assert all(link.kind != "TYPEDEF" for link in result.first_failure.chain)


def test_explain_success_summarises_merges(gccgo_seed_binary):
    result = explain(load_input(gccgo_seed_binary), variant("1.1"))
    assert result.ok and result.types_out < result.types_in
    assert sum(result.merges_per_kind.values()) == result.types_in - result.types_out
    assert result.largest_classes and result.largest_classes[0].size >= 2


def test_trace_streams_decisions_and_focus_filters(gc_seed_binary):
    inp = load_input(gc_seed_binary)
    out = io.StringIO()
    tracer = JsonlTracer(out)
    result = replay(inp.btf, variant("1.7"), trace=tracer)
    events = [json.loads(line) for line in out.getvalue().splitlines()]
    assert len(events) == tracer.count and result.ok
    assert [e["phase"] for e in events if e["ev"] == "phase" and e["status"] == "start"] == [
        "prep", "strings", "prim_types", "struct_types", "resolve_fwds", "ref_types",
        "compact_types", "remap_types"]
    merged = [e for e in events if e["ev"] == "type" and e["canonical"] != e["id"]]
    assert merged and all(e["canonical"] in e["candidates"] for e in merged)
    checks = [c for e in events if e.get("equiv") for c in e["equiv"]]
    assert checks and all(isinstance(c["hypot"], list) for c in checks)
    target = inp.btf.find_by_name("main.Example")
    focused = io.StringIO()
    replay(inp.btf, variant("1.7"), trace=JsonlTracer(focused, target))
    lines = [json.loads(line) for line in focused.getvalue().splitlines()]
    assert 0 < len(lines) < len(events)
    assert any(e.get("id") in target for e in lines)


def test_trace_of_a_failure_ends_with_the_error(corpus, tmp_path):
    inp = load_input(corpus("statefn"))
    out = io.StringIO()
    result = replay(inp.btf, variant("1.1"), trace=JsonlTracer(out))
    last = json.loads(out.getvalue().splitlines()[-1])
    assert last["ev"] == "failed" and last["errno"] == result.error == -errno.ELOOP
    assert last["detail"]["cycle"][0] == last["detail"]["cycle"][-1]


def test_raw_and_split_inputs(tmp_path):
    from dwarfdiag.btf.build import BtfBuilder

    base = BtfBuilder()
    base.add_int("int", 4)
    (tmp_path / "base.btf").write_bytes(base.raw())
    split = BtfBuilder(base.btf())
    split.add_ptr(1)
    (tmp_path / "split.btf").write_bytes(split.raw())
    inp = load_input(tmp_path / "split.btf", tmp_path / "base.btf")
    assert inp.btf.start_id == 2 and inp.producer == "raw file"
    assert replay(inp.btf, variant("1.7")).ok
    assert parse_btf((tmp_path / "split.btf").read_bytes(), inp.base).types


@pytest.mark.parametrize("program,version", [("statefn", "1.5"), ("seed-example", "1.7")])
def test_predictions_from_the_second_core_are_the_ones_made_here(corpus, monkeypatch, program,
                                                                 version):
    """explain replays the other algorithms in a forked child: same verdicts, the
    same failing ids and reasons as replaying every variant in this process."""
    from dataclasses import asdict

    from dwarfdiag.dedup import explain as explain_mod

    inp = load_input(corpus(program))
    monkeypatch.setattr(explain_mod, "second_core", lambda: False)
    alone = asdict(explain(inp, variant(version)))
    forks = count_forks(monkeypatch)
    monkeypatch.setattr(explain_mod, "second_core", lambda: True)
    paired = asdict(explain(inp, variant(version)))
    assert len(forks) == 1
    for result in (alone, paired):
        result.pop("replay_seconds")
    assert paired == alone
    assert {p["variant"] for p in paired["predictions"]} == {"1.1", "1.5", "1.6", "1.7", "master"}


def test_the_explore_replay_predicts_what_a_plain_replay_does(corpus):
    """With hidden failures, explain's own algorithm is predicted from its explore
    replay; a plain replay (stopping at the first failure) says the same."""
    from dwarfdiag.dedup.explain import _outcome

    inp = load_input(corpus("recursive-ptr-array"))
    result = explain(inp, variant("1.5"))
    assert result.hidden_failures
    for name in ("1.1", "1.5"):
        predicted = next(p for p in result.predictions if p.variant == name)
        plain = _outcome(replay(inp.btf, variant(name)), inp.btf, inp)
        assert (predicted.encodes, predicted.errno_name, predicted.first_id,
                predicted.why) == plain
        assert not predicted.encodes
