"""probe: uprobe offsets and entry argument locations, checked in gdb on real builds.

Each function of a small program (ints, a string, a slice, a struct and a
pointer, floats, and more integer arguments than registers) is probed; the
test then stops the program under gdb at the reported address and reads the
reported registers or stack slots: they must hold the values main passed.
"""

from __future__ import annotations

import re
import shutil
import struct
import subprocess
import sys
from pathlib import Path

import pytest

from dwarfdiag.target import of_file
from dwarfdiag.errors import NotFoundError, UnsupportedError
from dwarfdiag.probe.probe import probe, probe_kit


pytestmark = pytest.mark.usefixtures("toolchain")  # every test here runs outside tools

SOURCE = """package main

import "fmt"

type Point struct{ X, Y int64 }

//go:noinline
func ints(a, b, c int64) int64 { return a + b + c }

//go:noinline
func str(s string, n int) int { return len(s) + n }

//go:noinline
func slice(xs []int32) int { return len(xs) + cap(xs) }

//go:noinline
func point(p Point, q *Point) int64 { return p.X + p.Y + q.X }

//go:noinline
func floats(x float64, y float32) float64 { return x + float64(y) }

//go:noinline
func many(a1, a2, a3, a4, a5, a6, a7, a8, a9, a10, a11, a12 int64) int64 {
	return a1 + a2 + a3 + a4 + a5 + a6 + a7 + a8 + a9 + a10 + a11 + a12
}

func main() {
	fmt.Println(ints(11, 22, 33), str("hello", 5), slice(make([]int32, 3, 7)),
		point(Point{101, 202}, &Point{303, 404}), floats(1.5, 2.5),
		many(1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12))
}
"""
# parameter -> the integer (or float) values of its parts, None where the
# value is an address that the test cannot know
EXPECTED = {
    "main.ints": {"a": [11], "b": [22], "c": [33]},
    "main.str": {"s": [None, 5], "n": [5]},
    "main.slice": {"xs": [None, 3, 7]},
    "main.point": {"p": [101, 202], "q": [None]},
    "main.floats": {"x": [1.5], "y": [2.5]},
    "main.many": {f"a{i}": [i] for i in range(1, 13)},
}


@pytest.fixture(scope="session")
def builds(tmp_path_factory, go_build) -> dict[str, Path]:
    from dwarfdiag.toolchains.go import gc, gccgo, parse_compilers

    return go_build(tmp_path_factory.mktemp("probe"), "probeargs", SOURCE, [
        ("gc-debug", gc(), "debug"), ("gc-opt", gc(), "opt"),
        # Go 1.22 writes DWARF 4: location lists in .debug_loc
        ("gc122-debug", parse_compilers("gc-1.22.10")[0], "debug"),
        ("gccgo", gccgo(), "debug")])


def gdb_read(binary: Path, symbol: str, reads: list[str]) -> list[str]:
    """Run ``binary`` under gdb, stop at the first instruction of ``symbol`` (the
    uprobe address; gdb relocates it for PIE builds) and evaluate ``reads``."""
    gdb = shutil.which("gdb")
    if not gdb:
        pytest.fail("gdb is required (apt-get install gdb)")
    argv = [gdb, "-nx", "-batch", "-ex", "set pagination off", "-ex",
            "handle SIGURG nostop noprint pass", "-ex", f"break *'{symbol}'", "-ex", "run"]
    for r in reads:
        argv += ["-ex", "echo @@\\n", "-ex", r]
    proc = subprocess.run([*argv, str(binary)], capture_output=True, text=True, timeout=120)
    chunks = proc.stdout.split("@@\n")[1:]
    assert len(chunks) == len(reads), proc.stdout + proc.stderr
    return [c.strip().splitlines()[0] if c.strip() else "" for c in chunks]


def _value(text: str) -> float:
    # "$1 = 11", or "0x7ffc...:\t11" from x/
    return float(re.split(r"[=:]\s*", text)[-1].split()[0])


@pytest.mark.parametrize("build", ["gc-debug", "gc-opt", "gc122-debug", "gccgo"])
def test_reported_locations_hold_the_passed_values(builds, build):
    binary = builds[build]
    for function, expected in EXPECTED.items():
        report = probe(of_file(binary), function)
        assert report.file_offset == report.file_offset_by_section
        assert report.nm_address == report.address
        reads, wants = [], []
        for param in report.params:
            values = expected[param.name]
            if param.registers:
                assert len(param.registers) == len(values), (build, function, param)
                for reg, want in zip(param.registers, values):
                    if want is None:
                        continue
                    if reg.startswith("xmm"):
                        lane = "v2_double[0]" if param.size == 8 else "v4_float[0]"
                        reads.append(f"p ${reg}.{lane}")
                    else:
                        reads.append(f"p/d ${reg}")
                    wants.append(want)
            elif param.stack_offset is not None and len(values) == 1 and values[0] is not None:
                reads.append(f"x/1gd $rsp+{param.stack_offset}")
                wants.append(values[0])
            if build != "gccgo":
                assert param.agrees is True, (build, function, param)  # gc: DWARF agrees
        got = [_value(t) for t in gdb_read(binary, report.symbol, reads)]
        assert got == [float(w) for w in wants], (build, function)


def test_abis_differ_where_they_should(builds):
    gc_str = probe(of_file(builds["gc-debug"]), "main.str").params[0]
    gccgo_str = probe(of_file(builds["gccgo"]), "main.str").params[0]
    assert gc_str.registers == ["rax", "rbx"] and gccgo_str.registers == ["rdi", "rsi"]
    gccgo_slice = probe(of_file(builds["gccgo"]), "main.slice").params[0]
    assert gccgo_slice.stack_offset == 8  # 24 bytes: MEMORY class in the System V ABI
    many = probe(of_file(builds["gc-debug"]), "main.many").params
    assert [p.stack_offset for p in many[9:]] == [8, 16, 24]  # past the nine int registers


def test_prologue_btf_warnings_and_snippets(builds):
    marks = [i["mark"] for i in probe(of_file(builds["gc-debug"]), "main.main").prologue]
    assert any("stack-growth check" in m for m in marks)  # main calls out: it checks
    assert "first instruction after the frame is set up" in marks
    leaf = [i["mark"] for i in probe(of_file(builds["gc-debug"]), "main.point").prologue]
    assert not any("stack-growth" in m for m in leaf)  # a small leaf needs no check
    report = probe(of_file(builds["gc-debug"]), "main.point")
    assert any(line.startswith("[") and "FUNC 'main.point'" in line for line in report.btf)
    assert "package-qualified" in report.btf_note
    assert any("uretprobe" in w for w in report.warnings)
    assert 'reg("ax")' in report.bpftrace()
    kit = probe_kit(of_file(builds["gc-debug"]), report)
    assert "ctx->ax" in kit.files["probe.bpf.c"] and "main__Point" in kit.files["types.h"]
    assert "$q->X" in kit.files["probe.bt"]  # q *Point: its fields are read through it
    assert kit.return_sites == report.return_sites
    gccgo = probe(of_file(builds["gccgo"]), "main.point")
    assert not any("uretprobe" in w for w in gccgo.warnings)
    assert any("split-stack" in i["mark"] for i in gccgo.prologue)


def test_inlined_sites_are_listed(builds):
    """An optimised gc build inlines small functions and keeps an out-of-line
    copy whose name, type and parameters sit on the abstract DIE."""
    from dwarfdiag.dwarf.constants import At, Tag
    from dwarfdiag.dwarf.loader import load_typegraph

    g = load_typegraph(builds["gc-opt"])
    inlined = [d.attrs[At.abstract_origin] for d in g if d.tag == Tag.inlined_subroutine]
    out_of_line = {d.attrs[At.abstract_origin] for d in g if d.tag == Tag.subprogram
                   and At.abstract_origin in d.attrs and At.low_pc in d.attrs}
    target = next(o for o in inlined if o in out_of_line)
    name = g.die(target).name
    report = probe(of_file(builds["gc-opt"]), name)
    assert len(report.inlined_sites) == inlined.count(target)
    assert all(site["caller"] != "?" for site in report.inlined_sites)
    assert any("inlined at" in w for w in report.warnings)
    assert report.params and all(p.type != "void" for p in report.params)


def test_bad_input(builds, tmp_path, c_binary):
    with pytest.raises(NotFoundError, match="did you mean main.ints"):
        probe(of_file(builds["gc-debug"]), "main.intz")
    stripped = tmp_path / "stripped"
    subprocess.run(["strip", "-o", str(stripped), str(builds["gc-debug"])], check=True)
    # no DWARF: the runtime's metadata names the function, but only DWARF kept the
    # signature of a plain function
    with pytest.raises(NotFoundError, match="no DWARF and kept no signature.*--signature"):
        probe(of_file(stripped), "main.ints")
    foreign = tmp_path / "arm64"
    data = bytearray(builds["gc-debug"].read_bytes())
    data[18:20] = struct.pack("<H", 183)
    foreign.write_bytes(bytes(data))
    with pytest.raises(UnsupportedError, match="arm64.*x86-64"):
        probe(of_file(foreign), "main.ints")


def test_cli(builds):
    run = lambda *a: subprocess.run([sys.executable, "-m", "dwarfdiag", *a],  # noqa: E731
                                    capture_output=True, text=True)
    proc = run("probe", str(builds["gc-debug"]), "main.str")
    assert proc.returncode == 0 and "rax + rbx" in proc.stdout, proc.stderr
    proc = run("probe", "--compare", str(builds["gc-debug"]), str(builds["gccgo"]), "main.str")
    assert proc.returncode == 0 and "rax + rbx" in proc.stdout and "rdi + rsi" in proc.stdout
    proc = run("probe", str(builds["gc-debug"]), "main.nope")
    assert proc.returncode == 2 and "no function 'main.nope'" in proc.stderr
