"""The probe kit read live: uprobes attached to running Go programs print the values
the programs print themselves.

A small program builds Account structs (integers, a nested struct, a string, a
slice, a map, a func value, a pointer) and passes a pointer to each to a
``//go:noinline`` function and to a ``//go:noinline`` method it calls through an
interface, printing the fields first. ``dwarfdiag probe --out-dir`` writes the kit
for the function (or the method); the test then runs, as printed in the kit's
README:

* the bpftrace script (``bpftrace probe.bt``, which ``#include``s types.h);
* the libbpf program, built with ``clang -target bpf`` against a ``vmlinux.h``
  from ``bpftool``, and its generated loader built with ``cc -lbpf``;

each attached before the program starts, on gc at -N -l, gc optimised, gccgo, and
a ``-ldflags=-s -w`` build with no DWARF and no symbols: there the method's
signature comes from the runtime's descriptors, and the function's from
``--signature``. Every field the program printed must be what the probe read.
A test skips only when the kernel refuses BPF or uprobes.
"""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path

import pytest

from tracing import traced, vmlinux_h as write_vmlinux_h

pytestmark = pytest.mark.usefixtures("toolchain")  # every test here runs outside tools

SOURCE = """package main

import (
	"fmt"
	"os"
	"strconv"
	"time"
)

type Inner struct {
	A int64
	B int32
}

type Account struct {
	ID      int64
	Inner   Inner
	Name    string
	Tags    []string
	Meta    map[string]int
	OnDone  func() int
	Next    *Account
	Balance int32
}

//go:noinline
func process(a *Account, n int) int {
	return int(a.ID) + n + len(a.Tags)
}

// Post is called through an interface, so the linker keeps its signature in
// book's method table: what a stripped build still says of it.
type Ledger interface{ Post(a *Account, n int) int }

type book struct{ posted int }

//go:noinline
func (b *book) Post(a *Account, n int) int {
	b.posted += n
	return int(a.ID) + n + len(a.Tags)
}

var ledger Ledger = &book{}

func main() {
	count, _ := strconv.Atoi(os.Args[1])
	next := &Account{ID: -1}
	for i := 0; i < count; i++ {
		a := &Account{ID: int64(1000 + i), Inner: Inner{A: int64(7 * i), B: int32(-3 * i)},
			Name: "acct-" + strconv.Itoa(i), Tags: make([]string, i%5, 8),
			Meta: map[string]int{"k": i}, OnDone: func() int { return i }, Next: next,
			Balance: int32(100 + i)}
		fmt.Printf("a.ID=%d a.Inner.A=%d a.Inner.B=%d a.Name=%s a.Tags.len=%d a.Tags.cap=%d a.Balance=%d n=%d\\n",
			a.ID, a.Inner.A, a.Inner.B, a.Name, len(a.Tags), cap(a.Tags), a.Balance, i)
		process(a, i)
		ledger.Post(a, i)
		time.Sleep(20 * time.Millisecond)
	}
}
"""
CALLS = 6
# what each test probes: (build, function, extra probe arguments, the probe's names of
# the parameters -> the program's); a stripped build's runtime descriptors name a
# method's parameters ~p0, ~p1, ... (its receiver first), and --signature names them
PROBES = {
    "gc-debug": ("gc-debug", "main.process", [], {}),
    "gc-opt": ("gc-opt", "main.process", [], {}),
    "gccgo": ("gccgo", "main.process", [], {}),
    "gc-stripped method": ("gc-stripped", "main.(*book).Post", [], {"~p1": "a", "~p2": "n"}),
    "gc-stripped --signature": ("gc-stripped", "main.process",
                                ["--signature", "func(a *main.Account, n int) int"], {}),
}


def _need(tool: str, hint: str) -> str:
    path = shutil.which(tool)
    if not path:
        pytest.fail(f"{tool} is required for the live tests; {hint}")
    return path


@pytest.fixture(scope="module")
def live_builds(tmp_path_factory, go_build) -> dict[str, Path]:
    from dwarfdiag.toolchains.go import gc, gccgo

    if os.geteuid() != 0:
        pytest.skip("uprobes need root (CAP_BPF and CAP_PERFMON)")
    return go_build(tmp_path_factory.mktemp("live"), "live", SOURCE, [
        ("gc-debug", gc(), "debug"), ("gc-opt", gc(), "opt"), ("gccgo", gccgo(), "debug"),
        ("gc-stripped", gc(), "stripped")])


@pytest.fixture(scope="module")
def vmlinux_h(tmp_path_factory, bpftool) -> Path:
    return write_vmlinux_h(tmp_path_factory.mktemp("vmlinux") / "vmlinux.h", bpftool)


def _kit(binary: Path, symbol: str, extra: list[str], out: Path) -> Path:
    from typer.main import get_command

    from dwarfdiag.cli import app

    result = get_command(app).main(["probe", str(binary), symbol, "--out-dir", str(out),
                                    *extra], standalone_mode=False)
    assert result in (None, 0)
    for name in ("types.h", "probe.bt", "probe.bpf.c", "loader.c", "README"):
        assert (out / name).is_file(), name
    return out


def _trace(tracer: list[str], marker: str, marker_on_stderr: bool, binary: Path,
           cwd: Path) -> tuple[str, str]:
    """Attach ``tracer``, run the program, stop the tracer: (its output, the program's)."""
    with traced(tracer, marker, marker_on_stderr, cwd) as trace:
        program = subprocess.run([str(binary), str(CALLS)], capture_output=True, text=True,
                                 timeout=60, check=True).stdout
    return trace.output, program


def _records(text: str, names: dict[str, str]) -> dict[str, dict[str, str]]:
    """The probe's lines grouped per call (each call starts with ``a=``), by a.ID;
    parameter names the probe spells otherwise renamed as ``names`` says."""
    calls, current = {}, None
    for line in text.splitlines():
        key, eq, value = line.strip().partition("=")
        if not eq:
            continue
        head, dot, rest = key.partition(".")
        key = names.get(head, head) + dot + rest
        if key == "a":
            current = {}
        if current is not None:
            current[key] = value
            if key == "a.ID":
                calls[value] = current
    return calls


def _program_lines(text: str) -> list[dict[str, str]]:
    return [dict(part.split("=", 1) for part in line.split()) for line in text.splitlines()
            if line.startswith("a.ID=")]


def _assert_read_as_printed(probe_text: str, program_text: str, label: str,
                            names: dict[str, str]) -> None:
    calls = _records(probe_text, names)
    printed = _program_lines(program_text)
    assert len(printed) == CALLS
    for values in printed:
        read = calls.get(values["a.ID"])
        assert read is not None, f"{label}: no probe record for a.ID={values['a.ID']}:\n" \
                                 f"{probe_text}"
        for key, value in values.items():
            assert read.get(key) == value, (label, key, read, values)
        assert int(read["a"]) != 0  # the pointer itself
        assert int(read["a.Next"]) != 0 and int(read["a.Meta"]) != 0


@pytest.mark.parametrize("case", list(PROBES))
def test_bpftrace_script_reads_the_printed_values(live_builds, case, tmp_path):
    bpftrace = _need("bpftrace", "apt-get install bpftrace")
    build, symbol, extra, names = PROBES[case]
    kit = _kit(live_builds[build], symbol, extra, tmp_path / "kit")
    # the command exactly as the kit's README prints it (--unsafe where the binary has
    # no symbols, and the script attaches at the file offset)
    run_line = next(line.strip() for line in (kit / "README").read_text().splitlines()
                    if line.strip().startswith("bpftrace ") and "probe.bt" in line)
    argv = [bpftrace, *run_line.split()[1:]]
    assert ("--unsafe" in argv) == (build == "gc-stripped"), run_line
    out, program = _trace(argv, "Attaching", False, live_builds[build], kit)
    _assert_read_as_printed(out, program, f"bpftrace on {case}", names)


@pytest.mark.parametrize("case", list(PROBES))
def test_libbpf_program_reads_the_printed_values(live_builds, case, tmp_path, vmlinux_h):
    clang = _need("clang", "apt-get install clang")
    cc = _need("cc", "apt-get install gcc")
    if not Path("/usr/include/bpf/libbpf.h").exists():
        pytest.fail("libbpf's headers are required; apt-get install libbpf-dev")
    build, symbol, extra, names = PROBES[case]
    kit = _kit(live_builds[build], symbol, extra, tmp_path / "kit")
    shutil.copy(vmlinux_h, kit / "vmlinux.h")
    # the build commands exactly as the kit's README prints them
    readme = (kit / "README").read_text()
    assert "clang -target bpf -O2 -g -I. -c probe.bpf.c -o probe.bpf.o" in readme
    assert "cc -o loader loader.c -lbpf" in readme
    subprocess.run([clang, "-target", "bpf", "-O2", "-g", "-I.", "-c", "probe.bpf.c", "-o",
                    "probe.bpf.o"], cwd=kit, check=True)
    subprocess.run([cc, "-o", "loader", "loader.c", "-lbpf"], cwd=kit, check=True)
    run_line = next(line.strip() for line in readme.splitlines()
                    if line.strip().startswith("./loader "))
    argv = [a for a in run_line.split() if not a.startswith("[")]
    out, program = _trace(argv, "attached", True, live_builds[build], kit)
    _assert_read_as_printed(out, program, f"libbpf on {case}", names)
