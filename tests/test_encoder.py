"""The encoder against the real pahole 1.32 and libbpf 1.7 (Debian sid).

Two levels of parity:

* pre-dedup: our BTF dumps exactly like the BTF pahole 1.32 hands to
  ``btf__dedup`` (captured with the interposer), type by type and id by id;
* post-dedup, as the issue asks: our BTF deduplicated by real libbpf 1.7 has
  the same named types (kind, name, size, vlen, members, offsets) as
  ``pahole --btf_encode_detached`` of pahole 1.32 + libbpf 1.7.

pahole's function rule (which subprograms become FUNCs:
:mod:`dwarfdiag.btf.functions`) is checked on cgo (gcc-built ``_cgo_panic``)
and on gcc ``-O2`` C with ``.constprop``/``.isra``/``.part`` clones and
double parameters, where the rule is the whole difference.
"""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import pytest

from dwarfdiag.btf.capture import capture
from dwarfdiag.btf.compare import compare
from dwarfdiag.btf.dump import dump_text
from dwarfdiag.btf.encoded_file import encode_file
from dwarfdiag.btf.encoder import encode
from dwarfdiag.btf.libbpf import HelperLibbpf
from dwarfdiag.btf.model import BtfKind
from dwarfdiag.toolchains.pahole import encode_detached
from dwarfdiag.btf.raw import parse_btf, write_btf
from dwarfdiag.dwarf.loader import load_typegraph

from conftest import C_PROGRAM


def _dump(raw: bytes) -> str:
    btf = parse_btf(raw)
    return "".join(dump_text(btf, range(1, len(btf.types) + 1)))


def _pre_dedup_parity(binary: Path, sid) -> None:
    ours = encode_file(binary, use_cache=False)
    theirs = capture(binary, sid.pahole_argv(), sid.label)
    assert _dump(ours.raw) == _dump(theirs.btf)


def _post_dedup_comparison(binary: Path, sid):
    ours = encode_file(binary)
    deduped = HelperLibbpf.for_toolchain(sid).dedup(ours.raw)
    assert deduped.ok, deduped.log
    run = encode_detached(sid.pahole_argv(), binary)
    assert run.encoded, run.error_lines
    return compare(parse_btf(deduped.btf), parse_btf(run.btf)), parse_btf(deduped.btf)


@pytest.mark.parametrize("program,compiler", [
    ("seed-example", "gc"), ("seed-example", "gccgo"), ("statefn", "gc"),
    ("recursive-ptr-array", "gc"), ("recursive-ptr-array", "gccgo"),
])
def test_parity_with_pahole_132(corpus, program, compiler, sid_toolchain):
    binary = corpus(program, compiler)
    _pre_dedup_parity(binary, sid_toolchain)
    result, deduped = _post_dedup_comparison(binary, sid_toolchain)
    assert result.equal, result.as_dict(10)
    assert result.a_named > 100


def test_parity_with_pahole_132_on_cmd_go(gotool_binary, sid_toolchain):
    result, deduped = _post_dedup_comparison(gotool_binary, sid_toolchain)
    assert result.equal, result.as_dict(10)
    assert len(deduped.types) > 10_000


def test_parity_on_c_with_bitfields_unions_enums_and_varargs(work, sid_toolchain):
    cc = shutil.which("gcc") or shutil.which("cc")
    src = work / "parity.c"
    src.write_text(C_PROGRAM)
    for flags in (("-gdwarf-4", "-O0"), ("-gdwarf-5", "-O2")):
        binary = work / ("parity" + "".join(flags).replace("-", "_"))
        subprocess.run([cc, "-g", *flags, "-o", str(binary), str(src)], check=True)
        _pre_dedup_parity(binary, sid_toolchain)


CLONES = r"""
#include <stdio.h>
#include <stdlib.h>
struct node { struct node *next; double weight; int key; };
/* gcc -O2 makes .constprop/.isra clones of these, and moves the double to xmm0 */
static __attribute__((noinline)) int walk(struct node *n, int depth, int unused) {
    return n ? walk(n->next, depth + 1, unused) : depth; }
static __attribute__((noinline)) double scale(struct node *n, int k, double by) {
    return n->weight * by + k; }
static __attribute__((noinline)) int sum(struct node *n, int flag) {
    int s = 0; for (; n; n = n->next) s += flag ? n->key : 1; return s; }
int main(int argc, char **argv) {
    struct node *a = calloc(1, sizeof *a), *b = calloc(1, sizeof *b);
    a->next = b; a->weight = argc; b->key = 3;
    printf("%d %f %d\n", walk(a, 0, 7), scale(a, argc, 2.5), sum(a, 1));
    return 0;
}
"""


@pytest.mark.parametrize("program", ["cgo", "c-clones"])
def test_pahole_function_rule_is_exact(corpus, work, sid_toolchain, program):
    """Pre-dedup and post-dedup parity where pahole's function rule decides: the
    FUNCs we emit are exactly pahole 1.32's."""
    if program == "cgo":
        binary = corpus("cgo", "gc")
    else:
        src = work / "clones.c"
        src.write_text(CLONES)
        binary = work / "clones"
        subprocess.run([shutil.which("gcc"), "-g", "-O2", "-o", str(binary), str(src)],
                       check=True)
    _pre_dedup_parity(binary, sid_toolchain)
    result, _ = _post_dedup_comparison(binary, sid_toolchain)
    assert result.equal, (result.only_a, result.only_b)
    skipped = encode(load_typegraph(binary)).skipped
    assert skipped, "the program has functions pahole leaves out; the rule must see them"


def test_bpftool_dumps_our_output(gc_seed_binary, bpftool, tmp_path):
    out = tmp_path / "ours.btf"
    out.write_bytes(encode_file(gc_seed_binary).raw)
    proc = subprocess.run([bpftool, "btf", "dump", "file", str(out)], capture_output=True,
                          text=True, check=True)
    assert proc.stdout == _dump(out.read_bytes())


def test_every_type_leads_back_to_its_die(gc_seed_binary):
    graph = load_typegraph(gc_seed_binary)
    enc = encode(graph)
    btf = enc.btf
    for type_id, t in btf.iter_types():
        where = enc.provenance[type_id]
        if "die_offset" not in where:
            assert "array index" in where["role"]
            continue
        die = graph.die(where["die_offset"])
        if t.kind in (BtfKind.STRUCT, BtfKind.TYPEDEF, BtfKind.INT, BtfKind.FUNC):
            assert btf.name_of(t) == die.name
        assert where["cu"] == graph.unit(die).name


def test_no_funcs_drops_functions_only(gc_seed_binary):
    graph = load_typegraph(gc_seed_binary)
    with_funcs, without = encode(graph), encode(graph, funcs=False)
    kinds = {t.kind for t in without.btf.types}
    assert BtfKind.FUNC not in kinds
    funcs = sum(1 for t in with_funcs.btf.types if t.kind == BtfKind.FUNC)
    assert funcs > 0
    assert len(with_funcs.btf.types) == len(without.btf.types) + 2 * funcs


def test_unsupported_tags_warn_once_per_tag(work, sid_toolchain):
    cxx = shutil.which("g++")
    if not cxx:
        pytest.skip("g++ not installed")
    src = work / "ptrmem.cc"
    src.write_text("struct S { int a; int b; };\nint S::*pa = &S::a; int S::*pb = &S::b;\n"
                   "int main() { S s{1, 2}; return s.*pa + s.*pb; }\n")
    binary = work / "ptrmem"
    subprocess.run([cxx, "-g", "-O0", "-o", str(binary), str(src)], check=True)
    enc = encode(load_typegraph(binary, use_cache=False))
    assert enc.warnings == {"DW_TAG_ptr_to_member_type": 1}
    raw = write_btf(enc.btf)
    assert len(parse_btf(raw).types) == len(enc.btf.types)
    # what is left is valid BTF for real libbpf 1.7: the unsupported DIEs became void
    result = HelperLibbpf.for_toolchain(sid_toolchain).dedup(raw)
    assert result.ok, result.log


@pytest.mark.parametrize("how", ["child", "lost child", "one process"])
def test_the_functions_chosen_on_the_second_core_encode_alike(corpus, how, monkeypatch):
    """The encoder asks the second core which functions pahole encodes while it emits
    the types; the same bytes and reasons come out of a child, of a lost child (asked
    again here) and of one process (cgo: C functions pahole keeps and leaves out)."""

    import os

    from dwarfdiag import fork
    from dwarfdiag.btf.encoder import encode
    from dwarfdiag.btf.raw import write_btf
    from dwarfdiag.dwarf.loader import load_typegraph

    graph = load_typegraph(corpus("cgo"))
    monkeypatch.setenv("DWARFDIAG_JOBS", "1")
    alone = encode(graph)
    monkeypatch.delenv("DWARFDIAG_JOBS")
    monkeypatch.setattr(os, "sched_getaffinity", lambda pid: {0, 1})
    if how == "lost child":
        monkeypatch.setattr(fork.Forked, "result", lambda self: fork.LOST)
    elif how == "one process":
        monkeypatch.setattr(os, "sched_getaffinity", lambda pid: {0})
    again = encode(graph)
    assert any(t.kind == BtfKind.FUNC for t in alone.btf.types)
    assert write_btf(again.btf) == write_btf(alone.btf)
    assert again.skipped == alone.skipped and dict(again.provenance) == dict(alone.provenance)
