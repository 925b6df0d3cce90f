"""The fast DWARF reader and the TypeGraph, checked against pyelftools.

pyelftools is the oracle here: for real gc, gccgo and C binaries (DWARF 4
and 5, compressed or not) every DIE the reader keeps must be the DIE
pyelftools sees at that offset, with the same attribute values, and the
total DIE count must agree.
"""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from elftools.elf.elffile import ELFFile
from hypothesis import given, strategies as st

from dwarfdiag.dwarf.constants import At, Tag
from dwarfdiag.dwarf.gonames import normalise, package_of
from dwarfdiag.dwarf.loader import content_key, load_typegraph, read_typegraph
from dwarfdiag.dwarf.sections import read_sections
from dwarfdiag.errors import BadInputError

from conftest import C_PROGRAM, count_forks

COMPARED = {  # our attribute -> pyelftools attribute name
    At.name: "DW_AT_name", At.byte_size: "DW_AT_byte_size", At.type: "DW_AT_type",
    At.count: "DW_AT_count", At.upper_bound: "DW_AT_upper_bound",
    At.encoding: "DW_AT_encoding", At.decl_line: "DW_AT_decl_line",
    At.data_bit_offset: "DW_AT_data_bit_offset", At.bit_size: "DW_AT_bit_size",
    At.go_kind: 0x2900,
}


def _pyelftools_dies(path: Path) -> dict[int, object]:
    with open(path, "rb") as f:
        dwarf = ELFFile(f).get_dwarf_info()
        out = {}
        for cu in dwarf.iter_CUs():
            for die in cu.iter_DIEs():
                if not die.is_null():
                    out[die.offset] = (die.tag, _values(die, cu))
        return out


def _values(die, cu) -> dict:
    vals = {}
    for ours, theirs in COMPARED.items():
        attr = die.attributes.get(theirs)
        if attr is None:
            continue
        value = attr.value
        if ours == At.type:
            value = value + (0 if attr.form == "DW_FORM_ref_addr" else cu.cu_offset)
        elif isinstance(value, bytes):
            value = value.decode("utf-8", "replace")
        vals[ours] = value
    return vals


def _compare_with_pyelftools(path: Path) -> None:
    graph = read_typegraph(path)
    theirs = _pyelftools_dies(path)
    assert graph.die_count == len(theirs)
    assert graph.dies, "the reader kept nothing"
    for die in graph:
        assert die.offset in theirs, f"{die!r} is not a DIE for pyelftools"
        tag, values = theirs[die.offset]
        assert tag == f"DW_TAG_{Tag(die.tag).name}", die
        for at, value in values.items():
            assert die.attrs.get(at) == value, (die, at, die.attrs.get(at), value)


def _cc(work: Path, name: str, *flags: str) -> Path:
    cc = shutil.which("gcc") or shutil.which("cc")
    src = work / "reader_example.c"
    src.write_text(C_PROGRAM)
    out = work / name
    subprocess.run([cc, *flags, "-o", str(out), str(src)], check=True)
    return out


@pytest.mark.parametrize("flags", [("-gdwarf-4", "-O0"), ("-gdwarf-5", "-O2"),
                                   ("-gdwarf-5", "-O0", "-gz=zlib")])
def test_reader_matches_pyelftools_on_c(work, flags):
    binary = _cc(work, "c_" + "_".join(f.strip("-=") for f in flags), "-g", *flags)
    _compare_with_pyelftools(binary)


def test_reader_matches_pyelftools_on_gc(gc_seed_binary):
    sections = read_sections(gc_seed_binary)
    assert sections.compressed  # gc compresses its DWARF by default
    _compare_with_pyelftools(gc_seed_binary)


def test_reader_matches_pyelftools_on_gccgo(gccgo_seed_binary):
    _compare_with_pyelftools(gccgo_seed_binary)


def test_typegraph_provenance_names_package_file_and_line(gc_seed_binary, gccgo_seed_binary):
    gc_graph = load_typegraph(gc_seed_binary)
    main = next(d for d in gc_graph if d.tag == Tag.subprogram and d.name == "main.main")
    where = gc_graph.provenance(main)
    assert where["package"] == "main" and where["cu"] == "main" and where["compiler"] == "gc"
    assert where["file"].endswith("main.go") and where["line"] > 0
    gccgo_graph = load_typegraph(gccgo_seed_binary)
    # gccgo names its own package's types unqualified, in a unit named after
    # the source file: the package comes from the unit's functions
    example = next(d for d in gccgo_graph if d.tag == Tag.typedef and d.name == "Example")
    where = gccgo_graph.provenance(example)
    assert where["package"] == "main" and where["compiler"] == "gccgo"
    assert where["cu"].endswith("main.go")
    qualified = next(d for d in gccgo_graph if d.name and d.name.startswith(".runtime."))
    assert gccgo_graph.provenance(qualified)["go_name"] == qualified.name[1:]


def test_warm_load_does_not_touch_pyelftools_or_dwarf(gc_seed_binary, monkeypatch):
    load_typegraph(gc_seed_binary)  # fill the cache
    code = ("import sys; from dwarfdiag.dwarf import loader\n"
            "def boom(*a, **k): raise SystemExit('DWARF parsed on a warm run')\n"
            "loader.read_typegraph = boom\n"
            f"g = loader.load_typegraph({str(gc_seed_binary)!r})\n"
            "assert g.dies and 'elftools' not in sys.modules, sorted(sys.modules)\n")
    subprocess.run([sys.executable, "-c", code], check=True)


def test_cache_key_follows_content_not_path(gc_seed_binary, tmp_path):
    copy = tmp_path / "renamed"
    shutil.copy(gc_seed_binary, copy)
    assert content_key(copy) == content_key(gc_seed_binary)
    other = tmp_path / "no_ids"
    subprocess.run(["objcopy", "--remove-section=.note.go.buildid", str(copy), str(other)],
                   check=True)
    assert content_key(other) != content_key(copy)


def test_stripped_binary_says_how_to_rebuild(work, c_binary):
    stripped = work / "stripped"
    subprocess.run(["strip", "-o", str(stripped), str(c_binary)], check=True)
    with pytest.raises(BadInputError, match="no DWARF.*rebuild"):
        read_typegraph(stripped)


def test_truncated_binary_names_the_section(work, c_binary):
    data = c_binary.read_bytes()
    cut = work / "truncated"
    cut.write_bytes(data[: len(data) // 2])
    with pytest.raises(BadInputError, match="truncated|past the end"):
        read_typegraph(cut)


def test_corrupt_debug_info_names_offset(work):
    binary = _cc(work, "c_plain", "-g", "-gdwarf-5", "-O0")
    sections = read_sections(binary)
    info_len = len(sections.get(".debug_info"))
    data = bytearray(binary.read_bytes())
    # find .debug_info's file offset through objdump-free means: our own reader
    offset = _section_offset(binary, ".debug_info")
    for i in range(offset + 12, offset + min(info_len, 200)):
        data[i] = 0xFF  # undefined abbreviation codes
    bad = work / "corrupt_info"
    bad.write_bytes(bytes(data))
    with pytest.raises(BadInputError, match=r"\.debug_info.*0x"):
        read_typegraph(bad)


def _section_offset(path: Path, name: str) -> int:
    with open(path, "rb") as f:
        return ELFFile(f).get_section_by_name(name)["sh_offset"]


@given(st.binary(max_size=512))
def test_random_bytes_never_crash_the_section_reader(tmp_path_factory, data):
    path = tmp_path_factory.mktemp("fuzz") / "x"
    path.write_bytes(data)
    try:
        read_sections(path)
    except BadInputError:
        pass


@given(st.lists(st.tuples(st.integers(0, 10_000), st.integers(0, 255)), max_size=20))
def test_mutated_dwarf_raises_our_error_or_parses(c_binary, tmp_path_factory, edits):
    data = bytearray(c_binary.read_bytes())
    start = _section_offset(c_binary, ".debug_info")
    for pos, value in edits:
        data[(start + pos) % len(data)] = value
    path = tmp_path_factory.mktemp("mut") / "m"
    path.write_bytes(bytes(data))
    for function_bodies in (True, False):  # the reader's two walks
        try:
            read_typegraph(path, function_bodies=function_bodies)
        except BadInputError:
            pass


@pytest.mark.parametrize("raw,name,package", [
    (".main.T", "main.T", "main"), (".net/http.Request", "net/http.Request", "net/http"),
    ("main.T", "main.T", "main"), ("*main.T", "*main.T", "main"),
    ("map[string]int", "map[string]int", None), ("int", "int", None),
    ("net/http.(*Server).Serve", "net/http.(*Server).Serve", "net/http"),
    (".net..z2fhttp.Request", "net/http.Request", "net/http"),
])
def test_gccgo_names_normalise_to_gc_spelling(raw, name, package):
    assert normalise(raw, "gccgo") == name
    assert package_of(name) == package


def test_gc_keeps_its_own_leading_dots():
    assert normalise(".param0", "gc") == ".param0"


@given(st.binary(max_size=300), st.integers(0, 64))
def test_random_line_headers_and_abbrevs_raise_our_error(data, offset):
    from dwarfdiag.dwarf.lines import file_table
    from dwarfdiag.dwarf.reader import Context, parse_abbrevs
    from dwarfdiag.dwarf.sections import ElfSections

    ctx = Context(ElfSections("x", True, 64, 62, {".debug_str": data, ".debug_line_str": data}))
    for parse in (lambda: file_table(data, offset, ctx), lambda: parse_abbrevs(data, offset)):
        try:
            parse()
        except BadInputError:
            pass


def test_form_indirect_is_decoded():
    """DW_FORM_indirect puts the form in the DIE; a hand-made unit checks it."""
    import struct as st_

    from dwarfdiag.dwarf.reader import Context, read_unit, unit_headers
    from dwarfdiag.dwarf.sections import ElfSections

    abbrev = bytes([1, 0x11, 1, 0x03, 0x08, 0, 0,            # 1: compile_unit, name string
                    2, 0x24, 0, 0x03, 0x16, 0x0B, 0x16, 0x3E, 0x0B, 0, 0,  # 2: base_type
                    0])
    dies = (bytes([1]) + b"cu\0" + bytes([2, 0x08]) + b"int\0" + bytes([0x0B, 4, 5]) + b"\0")
    body = st_.pack("<HIB", 4, 0, 8) + dies
    info = st_.pack("<I", len(body)) + body
    sections = ElfSections("mem", True, 64, 62, {".debug_info": info, ".debug_abbrev": abbrev})
    unit = next(unit_headers(info, "<"))
    raw = read_unit(sections, unit, Context(sections), {}, [0])
    _, tag, parent, attrs = raw[1]
    assert tag == Tag.base_type and parent == raw[0][0]
    assert attrs == {At.name: "int", At.byte_size: 4, At.encoding: 5}


def test_usage_statistics_match_pyelftools(gc_seed_binary, gccgo_seed_binary):
    from dwarfdiag.dwarf.stats import dwarf_stats

    for binary in (gc_seed_binary, gccgo_seed_binary):
        graph = read_typegraph(binary)
        theirs = dwarf_stats(binary)
        assert graph.stats["dies_by_tag"] == theirs.dies_by_tag
        assert graph.stats["dwarf_versions"] == theirs.versions
        assert sum(graph.stats["dies_by_tag"].values()) == graph.die_count
        assert graph.stats["forms"] and graph.stats["attributes"]


def test_reader_matches_pyelftools_on_gc_dwarf4(corpus):
    """gc before Go 1.25 writes DWARF 4 (and .debug_loc, not .debug_loclists)."""

    binary = corpus("hello", "gc-1.22.10")
    assert read_typegraph(binary).stats["dwarf_versions"] == [4]
    _compare_with_pyelftools(binary)


# --- the read on two cores (dwarfdiag.dwarf.loader.read_units_on_two_cores) ---------------
def _forks(monkeypatch) -> list[int]:
    """Read every binary on two cores, however small, and count the forks."""
    from dwarfdiag.dwarf import loader

    monkeypatch.setattr(loader, "PARALLEL_MIN_BYTES", 0)
    monkeypatch.setattr(loader, "second_core", lambda: True)
    return count_forks(monkeypatch)


def test_two_cores_read_what_one_reads(gc_seed_binary, gccgo_seed_binary, monkeypatch):
    one = {b: read_typegraph(b).to_data() for b in (gc_seed_binary, gccgo_seed_binary)}
    forks = _forks(monkeypatch)
    for binary in (gc_seed_binary, gccgo_seed_binary):
        assert read_typegraph(binary).to_data() == one[binary]
    assert len(forks) == 2
    _compare_with_pyelftools(gc_seed_binary)  # DIE order and parents survive the merge


def test_a_lost_reading_child_has_its_part_read_here(gc_seed_binary, monkeypatch):
    """The parent lets the inflated sections go before the child's part arrives; a
    child lost on the way has its part read here from the sections inflated again."""
    from dwarfdiag import fork

    one = read_typegraph(gc_seed_binary).to_data()
    forks = _forks(monkeypatch)
    monkeypatch.setattr(fork.Forked, "result", lambda self: fork.LOST)
    assert read_typegraph(gc_seed_binary).to_data() == one
    assert len(forks) == 1


def test_a_read_without_function_bodies_is_the_whole_read_less_them(
        work, gc_seed_binary, gccgo_seed_binary, gotool_binary):
    """Leaving the function bodies out while reading (never decoded) keeps the very
    DIEs, parents and statistics that drop_function_bodies keeps of a whole read:
    gc, gccgo, and gcc -O2 with inlined calls and types declared in functions."""
    c_o2 = _cc(work, "c_bodies_O2", "-g", "-O2")
    for binary in (gc_seed_binary, gccgo_seed_binary, c_o2, gotool_binary):
        whole = read_typegraph(binary)
        gone = whole.drop_function_bodies()
        without = read_typegraph(binary, function_bodies=False)
        assert gone and not without.function_bodies, binary
        assert without.to_data() == whole.to_data(), binary


CLONES = r"""
#include <stdio.h>
#include <stdlib.h>
struct point { int x, y; struct point *next; };
typedef struct { long a; char b[16]; } pair_t;
static int __attribute__((noinline)) sum(struct point *p, int scale)
{ int s = 0; while (p) { s += p->x * scale + p->y; p = p->next; } return s; }
static inline int twice(int v) { return v * 2; }
int pub(pair_t *q, long k) { struct local { int z; } l = { (int)k }; return (int)(q->a + k + l.z + twice(q->b[0])); }
static int __attribute__((noinline)) clone_me(int a, int b, int c) { return a * b + c; }
int use_clone(int x) { return clone_me(x, 3, 4) + clone_me(x, 3, 5); }
int main(int argc, char **argv)
{ struct point p = {argc, 2, NULL}; pair_t q = {argc, "x"};
  printf("%d %d %d\n", sum(&p, atoi(argv[0])), pub(&q, argc), use_clone(argc)); return 0; }
"""


def test_the_encoders_read_encodes_as_the_whole_read(
        work, gc_seed_binary, gccgo_seed_binary, gotool_binary):
    """The encoder's read leaves out the bodies of the functions pahole cannot encode
    (named with a dot: nearly all of a Go binary's): the encoding (bytes, every type's
    provenance, warnings, the functions left out and why) is the whole read's, on gc,
    gccgo and gcc (-O0 and -O2: inlined calls, constprop clones, types in functions)."""
    from dwarfdiag.btf.encoder import encode
    from dwarfdiag.btf.raw import write_btf
    from dwarfdiag.dwarf.reader import pahole_may_encode

    src = work / "clones.c"
    src.write_text(CLONES)
    c_programs = []
    for flags in (("-O0", "-gdwarf-4"), ("-O2", "-gdwarf-5")):
        out = work / ("clones" + "".join(flags))
        subprocess.run([shutil.which("gcc") or "cc", "-g", *flags, "-o", str(out), str(src)],
                       check=True)
        c_programs.append(out)
    for binary in (gc_seed_binary, gccgo_seed_binary, gotool_binary, *c_programs):
        whole = read_typegraph(binary)
        read = read_typegraph(binary, function_bodies=False, encoder_bodies=True)
        bodiless = read_typegraph(binary, function_bodies=False)
        assert read.encoder_bodies and not read.function_bodies
        assert set(bodiless.dies) <= set(read.dies) <= set(whole.dies), binary
        assert all(whole.dies[o].attrs == d.attrs and whole.dies[o].parent == d.parent
                   for o, d in read.dies.items()), binary
        for d in whole:  # every body pahole may want: whole
            if d.tag == Tag.subprogram and pahole_may_encode(d.attrs):
                assert set(d.children) <= set(read.dies), (binary, d)
        for funcs in (True, False):
            a, b = encode(whole, funcs=funcs), encode(read, funcs=funcs)
            assert write_btf(a.btf) == write_btf(b.btf), binary
            assert dict(a.provenance) == dict(b.provenance), binary
            assert (a.warnings, a.skipped, a.units) == (b.warnings, b.skipped, b.units), binary
    # a Go binary's functions are package-qualified: their bodies are left out
    go = read_typegraph(gotool_binary, function_bodies=False, encoder_bodies=True)
    assert len(go.dies) < 0.7 * len(read_typegraph(gotool_binary).dies)


@pytest.mark.parametrize("which", ["first", "last"])
def test_a_bad_unit_fails_the_read_alike_in_either_half(gc_seed_binary, monkeypatch, which):
    """The child's BadInputError reaches the user as it would from one process."""
    from dwarfdiag.dwarf import loader
    from dwarfdiag.dwarf.reader import unit_headers

    sections = read_sections(gc_seed_binary)
    units = list(unit_headers(sections.get(".debug_info"), sections.endian))
    bad = (units[0] if which == "first" else units[-1]).offset
    real = loader.read_unit

    def read_unit(sections, unit, *args):
        if unit.offset == bad:
            raise BadInputError(f".debug_info: unit at {bad:#x} is corrupt (test)")
        return real(sections, unit, *args)

    monkeypatch.setattr(loader, "read_unit", read_unit)
    with pytest.raises(BadInputError) as alone:
        read_typegraph(gc_seed_binary)
    forks = _forks(monkeypatch)
    with pytest.raises(BadInputError) as paired:
        read_typegraph(gc_seed_binary)
    assert forks and str(paired.value) == str(alone.value)
    assert str(paired.value).startswith(f"{gc_seed_binary}: .debug_info: unit at {bad:#x}")


def test_a_child_that_dies_has_its_half_read_here(gc_seed_binary, monkeypatch):
    import os

    from dwarfdiag.dwarf import loader

    expected = read_typegraph(gc_seed_binary).to_data()
    parent, real = os.getpid(), loader.read_units

    def read_units(*args, **kwargs):
        if os.getpid() != parent:
            os._exit(9)  # as if killed for memory
        return real(*args, **kwargs)

    forks = _forks(monkeypatch)
    monkeypatch.setattr(loader, "read_units", read_units)
    assert read_typegraph(gc_seed_binary).to_data() == expected
    assert len(forks) == 1
