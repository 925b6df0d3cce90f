"""BTF that works, checked by the real consumers.

* ``btf final`` (pahole profile) against ``pahole --btf_encode_detached`` of
  pahole 1.32 + libbpf 1.7 (sid): byte for byte on gc builds, named type for
  named type everywhere (pahole's string table also keeps the parameter
  names of functions it later leaves out, which no type refers to);
* the kernel profile loaded into the running kernel (BPF_BTF_LOAD), while the
  pahole profile of a program with a pointer loop is refused by it;
* the kernel profile deduplicated by Debian 12's real libbpf 1.1, which rejects
  the pahole profile of a func type that returns itself;
* bookworm's bpftool 7.1 and sid's newest dump the kernel profile of every corpus
  program as C;
* every header compiles with gcc and with ``clang -target bpf``, on its own
  and after a ``vmlinux.h``; its static assertions check every member
  offset and size against the DWARF;
* the BTF editor round-trips any BTF.
"""

from __future__ import annotations

import errno
import hashlib
import json
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from hypothesis import given

from dwarfdiag.target import of_file
from dwarfdiag.btf.dump import dump_text
from dwarfdiag.btf.edit import EditableBtf
from dwarfdiag.btf.raw import parse_btf, write_btf
from dwarfdiag.usable.names import MAX_IDENTIFIER, Namer, c_identifier, unique_fields

from strategies import btf_objects

GO_PROGRAMS = [("seed-example", "gc"), ("seed-example", "gccgo"), ("statefn", "gc"),
               ("recursive-ptr-array", "gc"), ("recursive-ptr-array", "gccgo"),
               ("generics", "gc"), ("net-http", "gc"), ("cgo", "gc")]


def _dump(btf) -> str:
    return "".join(dump_text(btf, range(1, len(btf.types) + 1)))


# --- the editor and the names: no toolchain ---------------------------------------

@given(btf_objects())
def test_editing_nothing_round_trips(btf):
    again = EditableBtf.from_btf(btf).to_btf()
    assert _dump(again) == _dump(btf)
    assert parse_btf(write_btf(again)).types == again.types


def test_c_identifiers_are_c():
    import re

    hostile = ["main.T", "*net/http.Request", "map[string]int", "[]uint8", "func(int) error",
               "struct { a int }", "int", "", "9lives", "a\x1b[31mb", "é", "x" * 500,
               "go.shape.int_0", "main.T[go.shape.string]"]
    for name in hostile:
        ident = c_identifier(name)
        assert re.fullmatch(r"[A-Za-z_][A-Za-z0-9_]*", ident), (name, ident)
        assert len(ident) <= MAX_IDENTIFIER
    assert c_identifier("int") == "go_int" and c_identifier("main.T") == "main__T"
    # long names keep a digest, so two long names stay apart
    assert c_identifier("x" * 500 + "a") != c_identifier("x" * 500 + "b")
    namer = Namer()
    assert namer.name("main.T", 1) != namer.name("main.T", 2)  # two types, one Go name
    assert namer.name("main.T", 1) == namer.name("main.T", 1)
    fields = unique_fields(["_", "_", "~r0", ""])  # Go allows many _; gc names results ~r0
    assert len(set(fields[:3])) == 3 and fields[2] == "r0" and fields[3] == ""


# --- the final BTF against pahole ------------------------------------------------------

@pytest.mark.toolchain
@pytest.mark.parametrize("program,compiler", GO_PROGRAMS)
def test_final_btf_is_what_pahole_132_writes(corpus, program, compiler, sid_toolchain):
    from dwarfdiag.btf.compare import compare
    from dwarfdiag.toolchains.pahole import encode_detached
    from dwarfdiag.usable.make import make_btf

    binary = corpus(program, compiler)
    ours = make_btf(of_file(binary)).btf
    run = encode_detached(sid_toolchain.pahole_argv(), binary)
    assert run.btf, run.error_lines
    theirs = parse_btf(run.btf)
    assert _dump(ours) == _dump(theirs)
    result = compare(ours, theirs)
    assert result.equal and result.a_named > 100
    if compiler == "gc" and program != "cgo":
        assert write_btf(ours) == run.btf


# --- the kernel profile, and the kernel ------------------------------------------------

def _load(raw: bytes):
    from dwarfdiag.btf.libbpf import system_oracle

    result = system_oracle().load_into_kernel(raw)
    if result.error in (-errno.EPERM, -errno.EACCES):
        pytest.skip(f"the kernel refuses bpf() here: {result.error_name}")
    return result


@pytest.mark.toolchain
@pytest.mark.parametrize("program,compiler", GO_PROGRAMS)
def test_the_kernel_accepts_the_kernel_profile(corpus, program, compiler):
    from dwarfdiag.usable.make import make_btf

    made = make_btf(of_file(corpus(program, compiler)), "kernel")
    result = _load(write_btf(made.btf))
    assert result.ok, result.log


@pytest.mark.toolchain
def test_the_kernel_refuses_what_the_profile_fixes(corpus):
    """The oracle can say no. As pahole writes it, BTF of Go is refused for its names
    ("Invalid name": dots and slashes); the kernel profile is accepted; and undoing
    only its rewrite of ``type A [2]*A`` brings the kernel's "Loop detected" back."""
    from dwarfdiag.btf.model import BtfKind
    from dwarfdiag.usable.make import make_btf

    binary = corpus("recursive-ptr-array", "gc")
    refused = _load(write_btf(make_btf(of_file(binary)).btf))
    assert refused.error == -errno.EINVAL and "Invalid name" in " ".join(refused.log)
    made = make_btf(of_file(binary), "kernel")
    assert _load(write_btf(made.btf)).ok
    assert any(c.startswith("cycle ") for c in made.changes), made.changes
    edit = EditableBtf.from_btf(made.btf)
    undone = 0
    for _, node in edit:
        target = edit.nodes[node.ref] if node.kind == BtfKind.TYPEDEF and node.ref else None
        if target is not None and target.kind == BtfKind.STRUCT and \
                target.name.endswith("_cycle"):
            node.ref = target.members[0][1]  # the typedef names what the struct wraps
            undone += 1
    assert undone
    looped = _load(write_btf(edit.to_btf()))
    assert not looped.ok and "Loop detected" in " ".join(looped.log)


# --- old libbpf ----------------------------------------------------------------------

@pytest.mark.toolchain
@pytest.mark.parametrize("program,compiler", [("statefn", "gc"), ("seed-example", "gc"),
                                              ("recursive-ptr-array", "gccgo"),
                                              ("net-http", "gc")])
def test_the_kernel_profile_dedups_with_real_libbpf_1_1(libbpf11, corpus, program, compiler):
    """libbpf before 1.7 dedups the kernel profile (every reference-only cycle goes
    through a struct), and says ELOOP to the pahole profile of a func type that
    returns itself."""
    from dwarfdiag.usable.make import make_btf

    oracle = libbpf11
    assert oracle.version.startswith("1.1")
    binary = corpus(program, compiler)
    made = make_btf(of_file(binary), "kernel", "1.1")
    result = oracle.dedup(write_btf(made.btf))
    assert result.ok, result.log
    assert oracle.dedup(write_btf(make_btf(of_file(binary), "kernel").btf)).ok
    if program == "statefn":  # as pahole 1.32 writes it, libbpf 1.1 says ELOOP
        plain = oracle.dedup(write_btf(make_btf(of_file(binary)).btf))
        assert plain.error == -errno.ELOOP


def _every_corpus_build() -> list[tuple[str, str]]:
    """Every corpus program by gc, and by gccgo 12 (the Go 1.17 language) where it builds."""
    from dwarfdiag.corpus.catalogue import load_catalogue

    out = []
    for program in load_catalogue():
        out.append((program.name, "gc"))
        if not program.is_standin and tuple(map(int, program.min_go.split("."))) <= (1, 17):
            out.append((program.name, "gccgo"))
    return out


def _bpftools(bpftool: str) -> dict[str, list[str]]:
    from dwarfdiag.toolchains.suites import ensure

    return {"bookworm 7.1": [bpftool], "sid": ensure("sid").bpftool_argv()}


@pytest.mark.toolchain
@pytest.mark.parametrize("program,compiler", _every_corpus_build())
def test_bpftool_formats_the_kernel_profile_as_c(corpus, program, compiler, bpftool, tmp_path):
    """Debian 12's bpftool 7.1 and sid's newest both dump the kernel profile of every
    corpus program (GOROOT's cmd/go and cmd/compile included) as C. 7.1's btf_dump
    followed a typedef -> pointer -> prototype loop until its stack overflowed (a
    SIGSEGV) before the profile rewrote such loops."""
    from dwarfdiag.usable.make import make_btf

    out = tmp_path / "k.btf"
    out.write_bytes(write_btf(make_btf(of_file(corpus(program, compiler)),
                                       "kernel").btf))
    for name, argv in _bpftools(bpftool).items():
        assert argv, f"{name}: no bpftool"
        proc = subprocess.run([*argv, "btf", "dump", "file", str(out), "format", "c"],
                              capture_output=True, text=True, timeout=300)
        assert proc.returncode == 0, f"{name}: exit {proc.returncode}: {proc.stderr[-500:]}"
        assert "struct " in proc.stdout


# --- headers -----------------------------------------------------------------------

@pytest.fixture(scope="module")
def vmlinux_h(tmp_path_factory, bpftool) -> Path:
    if not Path("/sys/kernel/btf/vmlinux").exists():
        pytest.skip("the kernel has no /sys/kernel/btf/vmlinux (CONFIG_DEBUG_INFO_BTF)")
    out = tmp_path_factory.mktemp("vmlinux") / "vmlinux.h"
    out.write_text(subprocess.run([bpftool, "btf", "dump", "file", "/sys/kernel/btf/vmlinux",
                                   "format", "c"], check=True, capture_output=True,
                                  text=True).stdout)
    return out


def _compile(cwd: Path, argv: list[str]) -> None:
    proc = subprocess.run(argv, cwd=cwd, capture_output=True, text=True, timeout=600)
    assert proc.returncode == 0, " ".join(argv) + "\n" + proc.stderr[-3000:]


@pytest.mark.toolchain
@pytest.mark.parametrize("program,compiler", GO_PROGRAMS)
def test_every_header_compiles_and_asserts_the_dwarf_layout(corpus, program, compiler, tmp_path,
                                                           vmlinux_h):
    from dwarfdiag.usable.make import make_header

    clang, gcc = shutil.which("clang"), shutil.which("gcc")
    if not clang or not gcc:
        pytest.fail("clang and gcc are required; apt-get install clang gcc")
    header = make_header(of_file(corpus(program, compiler)), None)
    assert header.types > 20 and header.asserts > 20
    (tmp_path / "types.h").write_text(header.text)
    shutil.copy(vmlinux_h, tmp_path / "vmlinux.h")
    (tmp_path / "alone.c").write_text('#include "types.h"\nint main(void) { return 0; }\n')
    (tmp_path / "bpf.c").write_text('#include "vmlinux.h"\n#include "types.h"\n')
    _compile(tmp_path, [gcc, "-std=gnu11", "-Wall", "-Werror", "-c", "alone.c"])
    _compile(tmp_path, [clang, "-target", "bpf", "-O2", "-Werror", "-c", "alone.c", "-o",
                        "alone.o"])
    _compile(tmp_path, [clang, "-target", "bpf", "-O2", "-c", "bpf.c"])


@pytest.mark.toolchain
def test_a_header_from_paholes_btf(corpus, tmp_path, sid_toolchain):
    """From a BTF file alone (pahole 1.32's): Go names are recognised, so Go's int is
    go_int (8 bytes), and the header compiles; it says its assertions come from the BTF."""
    from dwarfdiag.toolchains.pahole import encode_detached
    from dwarfdiag.usable.make import make_header

    run = encode_detached(sid_toolchain.pahole_argv(), corpus("seed-example", "gc"))
    btf = tmp_path / "seed.btf"
    btf.write_bytes(run.btf)
    header = make_header(btf, ["main.Example"])
    assert "typedef signed long long go_int;" in header.text
    assert "no DWARF was given" in header.text and header.asserts
    (tmp_path / "t.c").write_text(header.text + "\nint main(void) { return 0; }\n")
    _compile(tmp_path, [shutil.which("gcc"), "-Wall", "-Werror", "-c", "t.c"])


@pytest.mark.toolchain
def test_a_wrong_layout_fails_to_compile(corpus, tmp_path):
    """The assertions are real: shift a member's offset in the BTF and the header built
    from it no longer compiles against the DWARF."""
    from dwarfdiag.btf.edit import EditableBtf
    from dwarfdiag.btf.model import BtfKind
    from dwarfdiag.usable.header import c_header
    from dwarfdiag.usable.make import make_btf

    made = make_btf(of_file(corpus("seed-example", "gc")), "kernel")
    edit = EditableBtf.from_btf(made.btf)
    name = next(c for c, go in made.names.items() if go == "main.Example")
    for _, node in edit:
        if node.kind == BtfKind.STRUCT and node.name == name:
            node.members[-1][2] += 8 * 8  # the last member 8 bytes further
            node.size += 8
    broken = c_header(edit.to_btf(), made.names, made.provenance, made.graph,
                      ["main.Example"], "broken", "test")
    (tmp_path / "t.c").write_text(broken.text + "\nint main(void) { return 0; }\n")
    proc = subprocess.run([shutil.which("gcc"), "-c", "t.c"], cwd=tmp_path,
                          capture_output=True, text=True)
    assert proc.returncode != 0 and "static assertion failed" in proc.stderr


# --- the command ---------------------------------------------------------------------

@pytest.mark.toolchain
def test_btf_final_command(corpus, tmp_path, bpftool):
    from typer.testing import CliRunner

    from dwarfdiag.cli import app
    from dwarfdiag.elf import ElfFile

    binary = corpus("statefn", "gc")
    before = hashlib.sha256(binary.read_bytes()).hexdigest()
    out, names, copy = tmp_path / "k.btf", tmp_path / "names.json", tmp_path / "with-btf"
    result = CliRunner().invoke(app, ["btf", "final", str(binary), "-o", str(out), "--for",
                                      "kernel", "--compat", "1.1", "--names", str(names),
                                      "--elf", str(copy), "--json"])
    assert result.exit_code == 0, result.output
    summary = json.loads(result.stdout)
    assert summary["profile"] == "kernel" and summary["kernel"].startswith(("accepts",
                                                                           "not checked"))
    assert summary["changes"]  # the stateFn cycle, at least
    doc = json.loads(names.read_text())
    assert doc["kind"] == "btf-names" and doc["names"]["main__stateFn"] == "main.stateFn"
    assert ElfFile(copy).contents(".BTF") == out.read_bytes()
    subprocess.run([bpftool, "btf", "dump", "file", str(copy)], check=True,
                   capture_output=True)
    assert hashlib.sha256(binary.read_bytes()).hexdigest() == before
    # never over the input
    refused = subprocess.run([sys.executable, "-m", "dwarfdiag", "btf", "final", str(binary),
                              "-o", str(binary)], capture_output=True, text=True)
    assert refused.returncode == 2 and "never writes over its input" in refused.stderr
    assert len(refused.stderr.strip().splitlines()) == 1
    assert hashlib.sha256(binary.read_bytes()).hexdigest() == before
