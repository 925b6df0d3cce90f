"""``dwarfdiag btf dump`` against the real bpftool (Debian 12's 7.1).

The oracle is the binary itself: every comparison runs bpftool on the same
file in the same test.
"""

from __future__ import annotations

import json
import subprocess
import tempfile
from pathlib import Path

import pytest
from hypothesis import given, settings

from dwarfdiag.btf.build import BtfBuilder
from dwarfdiag.btf.dump import dump_json, dump_text, reachable_ids, select_ids
from dwarfdiag.btf.files import load_btf
from dwarfdiag.btf.raw import parse_btf
from dwarfdiag.errors import NotFoundError

from strategies import btf_graphs

VMLINUX = Path("/sys/kernel/btf/vmlinux")


def bpftool_dump(bpftool: str, path: Path, base: Path | None = None, as_json: bool = False) -> str:
    argv = [bpftool]
    if as_json:
        argv.append("-j")
    if base is not None:
        argv += ["-B", str(base)]
    argv += ["btf", "dump", "file", str(path)]
    return subprocess.run(argv, check=True, capture_output=True, text=True).stdout


def ours(path: Path, base: Path | None = None, as_json: bool = False) -> str:
    btf = load_btf(path, base)
    ids = select_ids(btf)
    return "".join((dump_json if as_json else dump_text)(btf, ids))


def assert_same_dump(bpftool: str, path: Path, base: Path | None = None) -> None:
    expected = bpftool_dump(bpftool, path, base)
    got = ours(path, base)
    assert got.splitlines() == expected.splitlines()
    assert got == expected
    expected_json = json.loads(bpftool_dump(bpftool, path, base, as_json=True))
    assert json.loads(ours(path, base, as_json=True)) == expected_json


def test_c_program_btf_from_pahole(bpftool, c_btf):
    btf = load_btf(c_btf)
    kinds = {t.kind.name for t in btf.types}
    # the C program exercises these kinds; make sure the comparison covers them
    assert {"INT", "PTR", "ARRAY", "STRUCT", "UNION", "ENUM", "TYPEDEF", "CONST",
            "VOLATILE", "RESTRICT", "FUNC", "FUNC_PROTO"} <= kinds
    assert_same_dump(bpftool, c_btf)


def test_c_program_btf_section_inside_elf(bpftool, c_binary, pahole, work):
    # pahole -J writes a .BTF section into the ELF; both tools read it there
    elf = work / "example_c_with_btf"
    elf.write_bytes(c_binary.read_bytes())
    subprocess.run([pahole, "-J", str(elf)], check=True, capture_output=True)
    assert_same_dump(bpftool, elf)


def test_gccgo_program_btf_from_pahole(bpftool, gccgo_seed_btf):
    btf = load_btf(gccgo_seed_btf)
    assert btf.find_by_name("main.Example") or btf.find_by_name("Example")
    assert_same_dump(bpftool, gccgo_seed_btf)


@pytest.mark.skipif(not VMLINUX.exists(), reason="this kernel exposes no /sys/kernel/btf/vmlinux")
def test_vmlinux(bpftool):
    assert_same_dump(bpftool, VMLINUX)


@settings(max_examples=25)
@given(btf_graphs(min_types=1, max_types=30))
def test_random_graphs_dump_like_bpftool(bpftool, builder):
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "g.btf"
        path.write_bytes(builder.raw())
        assert_same_dump(bpftool, path)


def test_split_btf_dumps_like_bpftool_with_base(bpftool, c_btf, tmp_path):
    base = load_btf(c_btf)
    b = BtfBuilder(base)
    i = base.find_by_name("int")[0]
    p = b.add_ptr(b.start_id + 1)  # points forward at the struct
    b.add_struct("split_only", 16, [("x", i, 0), ("self", p, 64)])
    b.add_typedef("Example_t", base.find_by_name("Example")[0])
    path = tmp_path / "split.btf"
    path.write_bytes(b.raw())
    assert_same_dump(bpftool, path, c_btf)
    assert parse_btf(path.read_bytes(), base).start_id == base.type_cnt


def test_select_by_id_and_root(c_btf):
    btf = load_btf(c_btf)
    (example,) = btf.find_by_name("Example")
    assert select_ids(btf, type_id=example) == [example]
    closure = select_ids(btf, root="Example")
    # struct Example { int id; char name[32]; }: the struct, int, the array,
    # char and the array's index type
    names = {btf.name_of(btf.type_by_id(i)) for i in closure}
    assert {"Example", "int", "char"} <= names
    assert closure == sorted(reachable_ids(btf, [example]))
    for tid in closure:
        for ref in btf.type_by_id(tid).referenced_ids():
            assert ref == 0 or ref in closure
    with pytest.raises(NotFoundError, match="no type named 'nope'"):
        select_ids(btf, root="nope")
    with pytest.raises(NotFoundError, match="type id 999999 does not exist"):
        select_ids(btf, type_id=999999)
