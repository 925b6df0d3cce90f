"""The real libbpf (Debian 12's 1.1.2, in-process) as the dedup oracle."""

from __future__ import annotations

import pytest

import errno

from dwarfdiag.btf.build import BtfBuilder
from dwarfdiag.btf.model import BtfKind
from dwarfdiag.btf.raw import parse_btf

pytestmark = pytest.mark.usefixtures("toolchain")  # every test here runs outside tools



def test_reports_its_version(libbpf11):
    oracle = libbpf11
    assert oracle.version.startswith("1.")
    assert oracle.path


def test_pointer_cycle_fails_with_eloop(libbpf11):
    # Go's `type P *P`: a PTR that points at itself, with no struct in between
    b = BtfBuilder()
    p = b.add_ptr(0)
    b.set_type(p, size_or_type=p)
    result = libbpf11.dedup(b.raw())
    assert not result.ok
    assert result.error == -errno.ELOOP
    assert result.error_name == "-ELOOP"
    assert result.stage == "dedup"
    assert any("btf_dedup_ref_types failed" in line for line in result.log)


def test_typedef_func_proto_cycle_fails_in_libbpf_1_1(libbpf11):
    # type stateFn func(*lexer) stateFn, as gc emits it
    b = BtfBuilder()
    lexer = b.add_struct("main.lexer", 8, [])
    plexer = b.add_ptr(lexer)
    statefn = b.add_typedef("main.stateFn", 0)
    proto = b.add_func_proto(statefn, [(None, plexer)])
    b.set_type(statefn, size_or_type=proto)
    result = libbpf11.dedup(b.raw())
    assert result.error == -errno.ELOOP


def test_clean_btf_dedups_and_merges_duplicates(libbpf11):
    b = BtfBuilder()
    i1 = b.add_int("int", 4)
    s1 = b.add_struct("foo", 8, [("a", i1, 0), ("next", 0, 64)])
    p1 = b.add_ptr(s1)
    b.set_type(s1, members=(b.types[1].members[0], b.types[1].members[1]._replace(type=p1)))
    i2 = b.add_int("int", 4)
    s2 = b.add_struct("foo", 8, [("a", i2, 0), ("next", 0, 64)])
    p2 = b.add_ptr(s2)
    b.set_type(s2, members=(b.types[4].members[0], b.types[4].members[1]._replace(type=p2)))
    result = libbpf11.dedup(b.raw())
    assert result.ok, result.log
    out = parse_btf(result.btf)
    assert [t.kind for t in out.types] == [BtfKind.INT, BtfKind.STRUCT, BtfKind.PTR]


def test_split_dedup_reuses_base_types(libbpf11):
    base_b = BtfBuilder()
    i = base_b.add_int("int", 4)
    base_b.add_struct("foo", 4, [("a", i, 0)])
    base_raw = base_b.raw()
    base = parse_btf(base_raw)
    split = BtfBuilder(base)
    split.add_struct("foo", 4, [("a", i, 0)])  # duplicate of a base type
    split.add_ptr(split.start_id)
    result = libbpf11.dedup(split.raw(), base_raw)
    assert result.ok, result.log
    out = parse_btf(result.btf, base)
    assert len(out.types) == 1 and out.types[0].kind == BtfKind.PTR
    assert out.types[0].type == 2  # now points at the base's struct foo


def test_invalid_input_is_refused_before_reaching_libbpf(libbpf11):
    b = BtfBuilder()
    b.add_ptr(42)  # dangling: libbpf 1.1 would read out of bounds
    result = libbpf11.dedup(b.raw())
    assert result.stage == "load"
    assert result.error == -errno.EINVAL
    assert "invalid referenced type id 42" in result.log[-1]


def test_pahole_output_is_already_deduplicated(libbpf11, gccgo_seed_btf):
    raw = gccgo_seed_btf.read_bytes()
    result = libbpf11.dedup(raw)
    assert result.ok
    assert len(parse_btf(result.btf).types) == len(parse_btf(raw).types)
