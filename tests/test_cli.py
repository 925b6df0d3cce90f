"""The command line: every command has help, errors are one clean line."""

from __future__ import annotations

import json
import os
import subprocess
import sys

import pytest
import typer.main
from typer.testing import CliRunner

from dwarfdiag.btf.model import BtfKind
from dwarfdiag.btf.raw import parse_btf
from dwarfdiag.cli import app

runner = CliRunner()


def _walk(command, path: tuple[str, ...] = ()):
    # typer ships its own click; walk by duck typing rather than isinstance
    yield path, command
    if hasattr(command, "commands"):
        for name, sub in command.commands.items():
            yield from _walk(sub, path + (name,))


def test_every_command_has_help():
    root = typer.main.get_command(app)
    seen = []
    for path, command in _walk(root):
        assert (command.help or "").strip(), f"'dwarfdiag {' '.join(path)}' has no help text"
        result = runner.invoke(app, [*path, "--help"])
        assert result.exit_code == 0, result.output
        assert "Usage" in result.output
        assert "<bool>" not in result.output, f"{path}: a flag shown as taking a value"
        for param in command.params:
            if param.param_type_name == "option" and param.name != "help":
                assert (param.help or "").strip(), f"option {param.opts} of {path} has no help"
                # one convention: --json is a flag, -o is --output (a file), directories
                # are --out-dir
                if "--json" in param.opts:
                    assert param.is_flag, f"{path}: --json must be a flag"
                if "-o" in param.opts:
                    assert "--output" in param.opts, f"{path}: -o must be --output"
                assert "--out" not in param.opts and "--jsonl" not in param.opts, path
        seen.append(" ".join(path))
    assert "" in seen
    assert {"btf dump", "btf info", "dedup libbpf", "toolchains list", "toolchains install",
            "toolchains which", "corpus list", "corpus build", "corpus matrix",
            "investigate", "btf encode", "btf compare", "btf capture", "check", "dedup trace", "dedup explain", "bisect", "diff", "probe", "report"} <= set(seen)


def _run(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "dwarfdiag", *args],
                          capture_output=True, text=True)


def test_python_dash_m_help():
    proc = _run("--help")
    assert proc.returncode == 0
    for group in ("btf", "dedup", "toolchains", "corpus"):
        assert group in proc.stdout


@pytest.mark.parametrize("args, message", [
    (["btf", "info"], "Missing argument"),
    (["btf", "info", "x", "--nope"], "No such option: --nope"),
    (["nosuch"], "No such command 'nosuch'"),
    (["bisect", "statefn", "--workers", "0"], "Invalid value for '--workers'"),
    (["btf", "dump", "x", "--id", "0"], "Invalid value for '--id'"),
])
def test_usage_errors_are_one_line(args, message):
    proc = _run(*args)
    assert proc.returncode == 2
    assert proc.stderr.startswith("dwarfdiag: error: ") and message in proc.stderr
    assert len(proc.stderr.strip().splitlines()) == 1 and proc.stdout == ""


def test_version():
    proc = _run("--version")
    assert proc.returncode == 0 and proc.stdout.startswith("dwarfdiag ")


def test_script_leaves_at_once_with_everything_done(corpus, tmp_path):
    """main() skips the interpreter's teardown (os._exit): the exit handlers ran (the
    background child filling the cache reaped: its entries are there when the
    command has returned), the output through a pipe is whole, and exit codes are
    those sys.exit gave."""
    cache, final = tmp_path / "cache", tmp_path / "final.btf"
    proc = subprocess.run([sys.executable, "-m", "dwarfdiag", "btf", "final",
                           str(corpus("statefn")), "-o", str(final)],
                          capture_output=True, text=True,
                          env={**os.environ, "DWARFDIAG_CACHE": str(cache)})
    assert proc.returncode == 0, proc.stderr
    areas = {p.parent.name for p in cache.rglob("*") if p.is_file()}
    assert {"typegraph", "provenance"} <= areas, areas
    whole = runner.invoke(app, ["btf", "dump", str(final)])
    assert whole.exit_code == 0 and len(whole.output) > 1 << 17  # more than a pipe holds
    proc = _run("btf", "dump", str(final))
    assert proc.returncode == 0 and proc.stdout == whole.output
    assert _run("btf", "info").returncode == 2  # usage error


@pytest.mark.skipif(not os.path.exists("/dev/full"), reason="no /dev/full on this system")
def test_a_full_output_is_one_line_and_exit_2(c_btf):
    """Standard output on a full disk, or -o to one: one line naming which, exit 2."""
    with open("/dev/full", "w") as full:
        proc = subprocess.run([sys.executable, "-m", "dwarfdiag", "btf", "dump", str(c_btf),
                               "--json"], stdout=full, stderr=subprocess.PIPE, text=True)
    assert proc.returncode == 2
    assert proc.stderr.splitlines() == [
        "dwarfdiag: error: standard output: No space left on device; free some space or "
        "write elsewhere (-o PATH)"]
    proc = _run("btf", "dump", str(c_btf), "-o", "/dev/full")
    assert proc.returncode == 2
    assert proc.stderr.splitlines() == [
        "dwarfdiag: error: /dev/full: cannot write: No space left on device"]


@pytest.mark.skipif(not os.path.exists("/sys/kernel/btf/vmlinux"),
                    reason="the kernel exposes no BTF of its own")
def test_output_into_a_closed_pipe_is_quiet():
    """``dwarfdiag btf dump /sys/kernel/btf/vmlinux | head -1`` (12 MB of output, far
    more than a pipe holds): no traceback, and the status of a writer whose reader
    went away (1, as click has it)."""
    proc = subprocess.run(["bash", "-c", f"set -o pipefail; {sys.executable} -m dwarfdiag "
                           f"btf dump /sys/kernel/btf/vmlinux | head -1"],
                          capture_output=True, text=True)
    assert proc.stdout.startswith("[1] ") and proc.stdout.count("\n") == 1
    assert proc.stderr == "" and proc.returncode == 1


def test_bad_btf_is_one_line_and_exit_2(tmp_path):
    bad = tmp_path / "bad.btf"
    bad.write_bytes(b"\x9f\xeb\x01\x00" + b"\x18\x00\x00\x00" + b"\x00" * 8)
    proc = _run("btf", "dump", str(bad))
    assert proc.returncode == 2
    lines = proc.stderr.strip().splitlines()
    assert len(lines) == 1, proc.stderr
    assert lines[0].startswith(f"dwarfdiag: error: {bad}: invalid BTF at offset")
    assert "Traceback" not in proc.stderr


def test_debug_shows_the_traceback(tmp_path):
    bad = tmp_path / "bad.btf"
    bad.write_bytes(b"nope")
    proc = _run("--debug", "btf", "dump", str(bad))
    assert proc.returncode == 2
    assert "Traceback" in proc.stderr


def test_missing_file_and_elf_without_btf(tmp_path, c_binary):
    proc = _run("btf", "dump", str(tmp_path / "missing.btf"))
    assert proc.returncode == 2 and "missing.btf: no such file" in proc.stderr
    proc = _run("btf", "dump", str(c_binary))
    assert proc.returncode == 2
    assert "without a .BTF section" in proc.stderr and "pahole --btf_encode_detached" in proc.stderr


def test_truncated_elf_is_reported_not_crashed(tmp_path, c_binary):
    cut = tmp_path / "cut"
    cut.write_bytes(c_binary.read_bytes()[:300])
    proc = _run("btf", "dump", str(cut))
    assert proc.returncode == 2
    assert "Traceback" not in proc.stderr and len(proc.stderr.strip().splitlines()) == 1


def test_dump_options(c_btf, tmp_path):
    result = runner.invoke(app, ["btf", "dump", str(c_btf), "--root", "Example"])
    assert result.exit_code == 0
    assert "STRUCT 'Example' size=36 vlen=2" in result.output
    out = tmp_path / "d.json"
    result = runner.invoke(app, ["btf", "dump", str(c_btf), "-f", "json", "--id", "1", "-o", str(out)])
    assert result.exit_code == 0
    import json
    assert [t["id"] for t in json.loads(out.read_text())["types"]] == [1]


def test_dedup_libbpf_command(gccgo_seed_btf, tmp_path):
    out = tmp_path / "d.btf"
    result = runner.invoke(app, ["dedup", "libbpf", str(gccgo_seed_btf), "-o", str(out), "--json"])
    assert result.exit_code == 0, result.output
    import json
    report = json.loads(result.output)
    assert report["ok"] and report["types_in"] == report["types_out"]
    assert out.read_bytes()[:2] == b"\x9f\xeb"


def test_btf_info(c_btf):
    result = runner.invoke(app, ["btf", "info", str(c_btf), "--json"])
    assert result.exit_code == 0
    import json
    info = json.loads(result.output)
    assert info["byte_order"] == "little-endian" and info["kinds"]["STRUCT"] >= 3 and info["kinds"]["UNION"] >= 1


@pytest.mark.toolchain
def test_toolchains_which_prints_a_runnable_command():
    import shlex

    installed = _run("toolchains", "install", "trixie")
    assert installed.returncode == 0, installed.stderr
    assert "pahole 1.30" in installed.stdout
    which = _run("toolchains", "which", "trixie")
    assert which.returncode == 0
    version = subprocess.run([*shlex.split(which.stdout), "--version"], capture_output=True,
                             text=True)
    assert version.stdout.strip() == "v1.30"


@pytest.mark.toolchain
def test_unknown_toolchain_and_compiler_are_one_line_errors():
    for args, message in ((["toolchains", "which", "jessie"], "unknown toolchain jessie"),
                          (["corpus", "build", "--compilers", "tcc"], "unknown compiler 'tcc'"),
                          (["corpus", "build", "--levels", "99"], "no corpus program at level 99")):
        proc = _run(*args)
        assert proc.returncode == 2, proc.stderr
        assert proc.stderr.startswith("dwarfdiag: error: ") and message in proc.stderr
        assert len(proc.stderr.strip().splitlines()) == 1 and "Traceback" not in proc.stderr


@pytest.mark.toolchain
def test_corpus_matrix_json(tmp_path):
    out = tmp_path / "m.json"
    proc = _run("corpus", "matrix", "--toolchains", "sid", "--compilers", "gc",
                "--programs", "statefn", "--json")
    assert proc.returncode == 0, proc.stderr
    data = json.loads(proc.stdout)
    assert data["kind"] == "matrix" and data["schema"] == 2
    proc = _run("corpus", "matrix", "--toolchains", "sid", "--compilers", "gc",
                "--programs", "statefn", "-o", str(out))
    assert proc.returncode == 0 and proc.stdout == "", proc.stderr
    written = json.loads(out.read_text())
    assert written["cells"][0]["outcome"] == data["cells"][0]["outcome"]
    [cell] = data["cells"]
    assert (cell["program"], cell["toolchain"], cell["outcome"]) == ("statefn", "sid", "encodes")
    assert data["builds"][0]["dwarf"]["die_count"] > 0


def test_encode_compare_capture_check_commands(gc_seed_binary, tmp_path):
    ours, prov, pre = tmp_path / "ours.btf", tmp_path / "prov.json", tmp_path / "pre.btf"
    proc = _run("btf", "encode", str(gc_seed_binary), "-o", str(ours), "--provenance", str(prov))
    assert proc.returncode == 0, proc.stderr
    assert "types (pre-dedup)" in proc.stdout
    doc = json.loads(prov.read_text())
    assert doc["provenance"]["1"]["die_offset"] > 0
    proc = _run("btf", "capture", str(gc_seed_binary), "-o", str(pre), "--toolchain", "sid",
                "--json")
    assert proc.returncode == 0, proc.stderr
    assert json.loads(proc.stdout)["dedup_ret"] == 0
    proc = _run("btf", "compare", str(ours), str(pre))
    assert proc.returncode == 0 and "equal" in proc.stdout, proc.stdout
    with_funcs = len(parse_btf(ours.read_bytes()).types)
    proc = _run("btf", "encode", str(gc_seed_binary), "-o", str(ours), "--no-funcs", "--json")
    summary = json.loads(proc.stdout)
    no_funcs = parse_btf(ours.read_bytes())
    assert summary["types"] == len(no_funcs.types) < with_funcs
    assert not any(t.kind in (BtfKind.FUNC,) for t in no_funcs.types)
    proc = _run("btf", "compare", str(ours), str(pre), "--json")
    assert proc.returncode == 1
    assert json.loads(proc.stdout)["only_in_b"] > 0
    # pahole 1.24's BTF is inconsistent and its dedup fails: exit 1, as diff(1) for a
    # difference; a faithful capture exits 0
    proc = _run("check", str(gc_seed_binary))
    assert proc.returncode == 1, proc.stderr
    assert "id drift +1" in proc.stdout and "DW_TAG_unspecified_type" in proc.stdout
    report = tmp_path / "check.json"
    proc = _run("check", str(gc_seed_binary), "--json", "-o", str(report))
    assert proc.returncode == 1 and proc.stdout == "", proc.stderr
    doc = json.loads(report.read_text())
    assert doc["kind"] == "check" and doc["inconsistency_count"] > 0 and not doc["passes"]
    proc = _run("check", str(gc_seed_binary), "--toolchain", "sid")
    assert proc.returncode == 0 and "consistent" in proc.stdout, proc.stderr
    proc = _run("check", str(gc_seed_binary), "--btf", str(pre))
    assert proc.returncode == 0 and "consistent" in proc.stdout


def test_encode_bad_inputs_are_one_line_errors(tmp_path, c_binary):
    stripped = tmp_path / "stripped"
    subprocess.run(["strip", "-o", str(stripped), str(c_binary)], check=True)
    garbage = tmp_path / "garbage"
    garbage.write_bytes(b"\x7fELF" + bytes(range(200)))
    for binary, message in ((stripped, "no DWARF"), (garbage, "corrupt"),
                            (tmp_path / "missing", "no such file")):
        # check runs pahole beside the read: the reader's message still wins
        for args in (["btf", "encode", str(binary), "-o", str(tmp_path / "o.btf")],
                     ["check", str(binary)]):
            proc = _run(*args)
            assert proc.returncode == 2, proc.stderr
            assert message in proc.stderr and len(proc.stderr.strip().splitlines()) == 1
            assert "Traceback" not in proc.stderr
    assert not (tmp_path / "o.btf").exists()
    proc = _run("check", str(c_binary), "--pahole", "/nonexistent/pahole")
    assert proc.returncode == 2 and "cannot run" in proc.stderr


@pytest.mark.toolchain
def test_dedup_libbpf_with_a_newer_toolchain(corpus, tmp_path, sid_toolchain):

    pre = tmp_path / "statefn.btf"
    assert _run("btf", "encode", str(corpus("statefn")), "-o", str(pre)).returncode == 0
    old = _run("dedup", "libbpf", str(pre), "--json")
    new = _run("dedup", "libbpf", str(pre), "--toolchain", "sid", "--json")
    assert old.returncode == 1 and json.loads(old.stdout)["error_name"] == "-ELOOP"
    assert new.returncode == 0, new.stderr
    report = json.loads(new.stdout)
    assert report["libbpf"] == "1.7.0" and report["types_out"] < report["types_in"]


@pytest.mark.toolchain
def test_dedup_explain_and_trace_commands(corpus, tmp_path):

    binary = corpus("statefn")
    proc = _run("dedup", "explain", str(binary), "--libbpf", "1.5")
    assert proc.returncode == 1, proc.stderr
    assert "first failure: -ELOOP in ref_types" in proc.stdout
    assert "main.stateFn" in proc.stdout and "libbpf 1.7    encodes" in proc.stdout
    proc = _run("dedup", "explain", str(binary), "--libbpf", "1.5", "--json")
    doc = json.loads(proc.stdout)
    assert doc["kind"] == "explain" and doc["first_failure"]["errno_name"] == "-ELOOP"
    assert not doc["ok"]
    jsonl, out = tmp_path / "t.jsonl", tmp_path / "out.btf"
    proc = _run("dedup", "trace", str(binary), "--libbpf", "1.7", "-o", str(jsonl),
                "--dedup-output", str(out), "--focus", "main.stateFn")
    assert proc.returncode == 0, proc.stderr
    assert "dedup ok" in proc.stderr
    events = [json.loads(line) for line in jsonl.read_text().splitlines()]
    assert any(e["ev"] == "type" and e.get("name") == "main.stateFn" for e in events)
    assert out.read_bytes()[:2] == b"\x9f\xeb"
    proc = _run("dedup", "trace", str(binary), "--libbpf", "2.0")
    assert proc.returncode == 2 and "unknown libbpf variant '2.0'" in proc.stderr
    proc = _run("dedup", "trace", str(binary), "--focus", "no.such.Type")
    assert proc.returncode == 2 and "no type named" in proc.stderr


# --- the conventions every command shares -----------------------------------------

def test_h_and_debug_anywhere(tmp_path):
    """``-h`` is help; ``--debug`` works after the subcommand too (a traceback with the
    one line), and the one line alone without it."""
    assert "Usage" in _run("btf", "info", "-h").stdout
    missing = str(tmp_path / "nope.btf")
    plain = _run("btf", "info", missing)
    assert plain.returncode == 2 and len(plain.stderr.strip().splitlines()) == 1
    for argv in (("--debug", "btf", "info", missing), ("btf", "info", missing, "--debug")):
        proc = _run(*argv)
        assert proc.returncode == 2 and "Traceback" in proc.stderr, argv
        assert proc.stderr.strip().splitlines()[-1] == plain.stderr.strip()


def test_completion_is_offered():
    # Typer guesses the shell from the parent process unless told not to; under a
    # test runner the parent is not a shell, so name the shell explicitly.
    env = dict(os.environ, _TYPER_COMPLETE_TEST_DISABLE_SHELL_DETECTION="1")
    proc = subprocess.run([sys.executable, "-m", "dwarfdiag", "--show-completion", "bash"],
                          capture_output=True, text=True, env=env)
    assert proc.returncode == 0 and "_DWARFDIAG_COMPLETE" in proc.stdout


def _small_btf(path):
    from dwarfdiag.btf.build import BtfBuilder

    b = BtfBuilder()
    i = b.add_int("int", 4)
    b.add_struct("main.T", 8, [("a", i, 0), ("b", i, 32)])
    path.write_bytes(b.raw())
    return path


def _document(argv, tmp_path, codes=(0,)):
    proc = _run(*argv)
    assert proc.returncode in codes, (argv, proc.stderr)
    doc = json.loads(proc.stdout)
    assert isinstance(doc, dict) and list(doc)[:2] == ["kind", "schema"], argv
    assert doc["schema"] == 2
    return doc


def test_every_json_output_is_a_document(tmp_path):
    """kind and schema first, wherever --json is (the commands that need no toolchain
    here; the others in test_json_of_commands_over_a_binary)."""
    btf = _small_btf(tmp_path / "t.btf")
    kinds = {
        "btf-info": ["btf", "info", str(btf), "--json"],
        "btf-compare": ["btf", "compare", str(btf), str(btf), "--json"],
        "explain": ["dedup", "explain", str(btf), "--json"],
        "corpus-list": ["corpus", "list", "--json"],
        "cache-info": ["cache", "info", "--json"],
        "cache-clean": ["cache", "clean", "--json"],
        "toolchains": ["toolchains", "list", "--json"],
    }
    for kind, argv in kinds.items():
        assert _document(argv, tmp_path)["kind"] == kind
    assert _document(kinds["corpus-list"], tmp_path)["items"][0]["name"] == "hello"


@pytest.mark.toolchain
def test_json_of_commands_over_a_binary(gc_seed_binary, tmp_path, sid_toolchain):
    b = str(gc_seed_binary)
    kinds = {
        "btf-encode": (["btf", "encode", b, "-o", str(tmp_path / "e.btf"), "--json"], (0,)),
        "btf-final": (["btf", "final", b, "-o", str(tmp_path / "f.btf"), "--json"], (0,)),
        "btf-capture": (["btf", "capture", b, "-o", str(tmp_path / "c.btf"), "--toolchain",
                         "sid", "--json"], (0,)),
        "check": (["check", b, "--toolchain", "sid", "--json"], (0,)),
        "diff": (["diff", b, b, "--json"], (0,)),
        "probe": (["probe", b, "main.main", "--json"], (0,)),
        "probe-compare": (["probe", "--compare", b, b, "main.main", "--json"], (0,)),
        "bisect": (["bisect", b, "--libbpf", "1.7", "--out-dir", str(tmp_path / "b"),
                    "--json"], (0,)),
        "findings": (["investigate", b, "--toolchains", "sid", "--no-bisect", "--out-dir",
                      str(tmp_path / "i"), "--json"], (0,)),
    }
    for kind, (argv, codes) in kinds.items():
        assert _document(argv, tmp_path, codes)["kind"] == kind, argv


@pytest.mark.toolchain
def test_progress_off_a_terminal_is_plain_lines(gc_seed_binary, tmp_path, pahole):
    """A step that runs for seconds says so on stderr, on a pipe too: here pahole
    (slowed down by a wrapper) keeps a check busy."""
    slow = tmp_path / "slow-pahole"
    slow.write_text(f"#!/bin/sh\nsleep 4\nexec {pahole} \"$@\"\n")
    slow.chmod(0o755)
    proc = _run("check", str(gc_seed_binary), "--pahole", str(slow))
    assert proc.returncode == 1, proc.stderr  # pahole 1.24: inconsistent
    lines = [line for line in proc.stderr.splitlines() if line.startswith("dwarfdiag: ")]
    assert lines and lines[0].startswith(f"dwarfdiag: reading {gc_seed_binary}")
    assert lines[0].endswith(" s]")
    quick = _run("btf", "info", str(_small_btf(tmp_path / "t.btf")))
    assert quick.stderr == ""  # a short command prints nothing
