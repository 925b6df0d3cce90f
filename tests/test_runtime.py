"""Types and signatures read from a stripped gc binary's runtime type descriptors.

The oracle is the twin: the same program built without ``-ldflags=-s -w`` and
otherwise alike, whose DWARF gc's linker made from those very descriptors
(:mod:`twins`). Every corpus program with Go 1.20, 1.22, 1.24, 1.26 and 1.27,
and etcd v3.7.3: every DWARF type with a descriptor must be recovered and agree
exactly, every recovered method signature must give DWARF's parameters and
registers, and the final BTF's structs must be laid out as the DWARF twin's.

Then the CLI on stripped binaries: ``inspect``, ``--types-from runtime``, a
probe of stripped etcd's ``(*kvServer).Put`` attached while ``etcdctl put``
talks to it on 127.0.0.1, and the pieces that cannot be known, each one line
and exit 2.
"""

from __future__ import annotations

import json
import os
import re
import signal
import socket
import subprocess
import sys

import pytest

from dwarfdiag.corpus.catalogue import load_catalogue
from tracing import traced, vmlinux_h, wait_for_line
from twins import TwinReport, btf_differences, compare_twins, struct_layouts

GO_VERSIONS = ("1.20.14", "1.22.10", "1.24.11", "1.26.6", "1.27.3")
PROGRAMS = [p.name for p in load_catalogue()]
NEWEST = GO_VERSIONS[-1]


def _dwarfdiag(*args: str, timeout: float = 900) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "dwarfdiag", *args], capture_output=True,
                          text=True, timeout=timeout,
                          env={**os.environ, "DWARFDIAG_DEBUG_ROOT": ""})


def _assert_twins_agree(report: TwinReport, label: str) -> None:
    assert report.dwarf_types > 0, f"{label}: no DWARF type names a descriptor"
    missing = report.dwarf_types - report.recovered
    assert missing == 0, f"{label}: {missing} of {report.dwarf_types} types not recovered"
    assert report.mismatches == [], f"{label}: {report.mismatches[:5]}"
    assert report.exact == report.recovered
    assert report.methods > 0, f"{label}: no method signature recovered"
    assert report.method_mismatches == [], f"{label}: {report.method_mismatches[:5]}"
    assert report.methods_exact == report.methods and report.registers_checked > 0
    # the names agree but for function-local types, which DWARF numbers (main.T·1)
    # and the descriptor does not
    for dwarf_name, ours in report.names_differ:
        assert "·" in dwarf_name and ours == _without_local_numbers(dwarf_name), \
            (label, dwarf_name, ours)


def _without_local_numbers(name: str) -> str:
    """A DWARF type name as it reads without the numbers of function-local types:
    ``T·1`` is ``T``, and a field embedding it, which LinkString writes as renamed
    (``struct { T = pkg.T·1 }``, the field's name not being the type's), reads
    ``struct { pkg.T }``."""
    name = re.sub(r"\b(\w+) = ((?:[\w.-]+/)*[\w.-]+\.)\1·\d+", r"\2\1", name)
    return re.sub(r"·\d+", "", name)


@pytest.mark.parametrize("version", GO_VERSIONS)
@pytest.mark.parametrize("program", PROGRAMS)
def test_descriptors_agree_with_the_twins_dwarf(corpus, program, version):
    plain = corpus(program, f"gc-{version}", "opt")
    stripped = corpus(program, f"gc-{version}", "stripped")
    from dwarfdiag.elf import ElfFile, has_debug_info

    assert not has_debug_info(ElfFile(stripped)) and not ElfFile(stripped).symbols(".symtab")
    _assert_twins_agree(compare_twins(plain, stripped), f"{program} gc {version}")


@pytest.mark.parametrize("version", (GO_VERSIONS[0], NEWEST))
def test_pie_twins(toolchain, tmp_path, version):
    """A position-independent build (as distributions package Go programs): its
    descriptors in .data.rel.ro (Go 1.20's pclntab too), every pointer in
    them left for the dynamic loader to relocate."""
    from dwarfdiag.corpus.catalogue import corpus_dir
    from dwarfdiag.elf import ElfFile
    from dwarfdiag.toolchains.go import gc

    compiler = gc(version)
    (tmp_path / "main.go").write_text((corpus_dir() / "13-json-reflect" / "main.go").read_text())
    (tmp_path / "go.mod").write_text("module example.com/pie\n\ngo 1.20\n")
    env = {**{k: v for k, v in os.environ.items() if not k.startswith("GO")},
           "GOTOOLCHAIN": "local", "GOPROXY": "off", "GOFLAGS": "-mod=mod",
           "GOROOT": compiler.goroot, "CGO_ENABLED": "0", **compiler.env}
    binaries = {}
    for label, flags in (("plain", []), ("stripped", ["-ldflags=-s -w"])):
        binaries[label] = tmp_path / label
        subprocess.run([compiler.go_command, "build", "-buildmode=pie", *flags, "-o",
                        str(binaries[label]), "."], cwd=tmp_path, env=env, check=True)
    assert ElfFile(binaries["stripped"]).type == 3  # ET_DYN
    _assert_twins_agree(compare_twins(binaries["plain"], binaries["stripped"]),
                        f"json-reflect -buildmode=pie gc {version}")


@pytest.mark.parametrize("version", GO_VERSIONS)
@pytest.mark.parametrize("program", PROGRAMS)
def test_runtime_btf_is_the_dwarf_twins(corpus, program, version):
    """The final BTF from the descriptors against the final BTF from the twin's DWARF:
    every struct both name has the same size and members, each at the same bits and
    of the same type (the kinds down to its first named type, by name), the linker's
    synthesised ones (hchan<T>, map<K,V>, bucket<K,V>, runtime.iface ...) included."""
    from dwarfdiag.target import of_file
    from dwarfdiag.usable.make import make_btf

    plain = corpus(program, f"gc-{version}", "opt")
    stripped = of_file(corpus(program, f"gc-{version}", "stripped"))
    runtime, dwarf = make_btf(stripped), make_btf(of_file(plain))
    assert runtime.types_from == "runtime" and dwarf.types_from == "dwarf"
    ours, theirs = struct_layouts(runtime.btf), struct_layouts(dwarf.btf)
    # (each side has structs the other lacks: DWARF those of types with no descriptor,
    # the descriptors those of types no variable or function of DWARF uses)
    assert len(set(ours) & set(theirs)) > 100, (len(ours), len(theirs))
    kept = {stripped.runtime.type_name(a) for a in stripped.runtime.descriptors}
    assert btf_differences(ours, theirs, kept) == []


# --- etcd -----------------------------------------------------------------------------
@pytest.fixture(scope="module")
def etcd(toolchain) -> dict:
    """etcd v3.7.3 from the module proxy, plain and -s -w (about five minutes each the
    first time, cached), and etcdctl, its client."""
    from dwarfdiag.targets.resolve import resolve

    return {"opt": resolve("etcd", profile="opt").binary,
            "stripped": resolve("etcd", profile="stripped").binary,
            "etcdctl": resolve("go.etcd.io/etcd/etcdctl/v3@v3.7.3", profile="opt").binary}


def test_etcd_twins(etcd):
    report = compare_twins(etcd["opt"], etcd["stripped"])
    _assert_twins_agree(report, "etcd")
    assert report.dwarf_types > 5000 and report.methods > 10000


def test_inspect_says_what_a_stripped_binary_offers(etcd):
    proc = _dwarfdiag("inspect", str(etcd["stripped"]), "--json")
    assert proc.returncode == 0, proc.stderr
    doc = json.loads(proc.stdout)
    assert doc["kind"] == "inspect" and doc["types_from"] == "runtime"
    assert doc["go_version"] == "go1.27.3" and doc["dwarf"] is None
    assert doc["main_module"] == "go.etcd.io/etcd/server/v3@v3.7.3"
    assert any(m["path"] == "go.etcd.io/etcd/api/v3" for m in doc["dependencies"])
    assert doc["settings"]["-ldflags"] == '"-s -w"'
    assert doc["pclntab_functions"] > 30000 and doc["method_signatures"] > 10000
    assert doc["descriptors"] > 10000 and doc["dwarf_types"] is None
    plain = json.loads(_dwarfdiag("inspect", str(etcd["opt"]), "--json").stdout)
    assert plain["types_from"] == "dwarf" and plain["dwarf"] == str(etcd["opt"])
    assert plain["dwarf_types"] > plain["named_descriptors"]


def test_types_from_runtime_on_a_binary_with_dwarf(etcd, tmp_path):
    """--types-from runtime reads the descriptors even where DWARF exists: the same
    BTF as the stripped twin's."""
    a, b = tmp_path / "a.btf", tmp_path / "b.btf"
    proc = _dwarfdiag("btf", "final", str(etcd["opt"]), "--types-from", "runtime", "-o", str(a))
    assert proc.returncode == 0, proc.stderr
    assert "runtime type descriptors" in proc.stdout
    assert _dwarfdiag("btf", "final", str(etcd["stripped"]), "-o", str(b)).returncode == 0
    assert _dwarfdiag("btf", "compare", str(a), str(b)).returncode == 0


def test_the_missing_pieces_are_one_line(etcd, tmp_path):
    stripped = str(etcd["stripped"])
    for argv, says in (
            (["btf", "header", stripped, "--type", "main.NoSuchType"],
             "--type main.NoSuchType: no type of that Go or C name among those the linker "
             "kept a runtime descriptor for"),
            (["probe", stripped, "go.etcd.io/etcd/server/v3/etcdmain.startEtcdOrProxyV2"],
             "has no DWARF and kept no signature of it"),
            (["probe", stripped, "v3rpc.(*kvServer).Put", "--signature", "func(x int)"],
             "the signature is not this function's"),
            (["btf", "header", stripped, "--type", "etcdserverpb.PutRequest",
              "--types-from", "dwarf"], "no DWARF")):
        proc = _dwarfdiag(*argv)
        assert proc.returncode == 2, (argv, proc.stdout[-500:])
        # progress lines (stderr is no terminal here), then the one error line
        [line] = [x for x in proc.stderr.splitlines() if not re.search(r"\[\d+ s\]$", x)]
        assert line.startswith("dwarfdiag: error: ") and says in line, line


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture
def etcd_server(etcd, tmp_path):
    """The stripped etcd serving on 127.0.0.1, and its client URL."""
    if os.geteuid() != 0:
        pytest.skip("uprobes need root (CAP_BPF and CAP_PERFMON)")
    client, peer = f"http://127.0.0.1:{_free_port()}", f"http://127.0.0.1:{_free_port()}"
    proc = subprocess.Popen(
        [str(etcd["stripped"]), "--name", "probe", "--data-dir", str(tmp_path / "data"),
         "--listen-client-urls", client, "--advertise-client-urls", client,
         "--listen-peer-urls", peer, "--initial-advertise-peer-urls", peer,
         "--initial-cluster", f"probe={peer}", "--listen-metrics-urls", ""],
        stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True, start_new_session=True)
    try:
        wait_for_line(proc.stderr, "serving client traffic", proc, 60)
        yield client
    finally:
        os.killpg(proc.pid, signal.SIGTERM)
        proc.communicate(timeout=30)


def test_probe_of_stripped_etcd_reads_what_etcdctl_put(etcd, etcd_server, tmp_path):
    """The kit for stripped etcd's (*kvServer).Put, its signature from the method
    table: the bpftrace script and the libbpf program each read the PutRequest
    etcdctl sent (its key's and value's lengths, and --prev-kv)."""
    kit = tmp_path / "kit"
    proc = _dwarfdiag("probe", str(etcd["stripped"]), "v3rpc.(*kvServer).Put",
                      "--out-dir", str(kit))
    assert proc.returncode == 0, proc.stderr
    readme = (kit / "README").read_text()
    bt_line = next(line.strip() for line in readme.splitlines()
                   if line.strip().startswith("bpftrace ") and "probe.bt" in line)
    loader_line = next(line.strip() for line in readme.splitlines()
                       if line.strip().startswith("./loader "))
    vmlinux_h(kit / "vmlinux.h")
    subprocess.run(["clang", "-target", "bpf", "-O2", "-g", "-I.", "-c", "probe.bpf.c", "-o",
                    "probe.bpf.o"], cwd=kit, check=True)
    subprocess.run(["cc", "-o", "loader", "loader.c", "-lbpf"], cwd=kit, check=True)
    tracers = {"bpftrace": (bt_line.split(), "Attaching", False),
               "libbpf": ([a for a in loader_line.split() if not a.startswith("[")],
                          "attached", True)}
    for label, (argv, marker, on_stderr) in tracers.items():
        key, value = f"key-{label}", f"value sent by etcdctl to {label}"
        with traced(argv, marker, on_stderr, kit) as trace:
            put = subprocess.run([str(etcd["etcdctl"]), "--endpoints", etcd_server, "put",
                                  "--prev-kv", key, value], capture_output=True, text=True,
                                 timeout=60)
            assert put.returncode == 0 and "OK" in put.stdout, put.stderr
        read = dict(line.strip().split("=", 1) for line in trace.output.splitlines()
                    if "=" in line)
        assert read.get("~p2.Key.len") == str(len(key)), (label, trace.output)
        assert read.get("~p2.Value.len") == str(len(value)), (label, trace.output)
        assert read.get("~p2.PrevKv") == "1" and read.get("~p2.Lease") == "0", label
        assert int(read["~p2"]) != 0 and int(read["~p0"]) != 0
