"""One way in: every command that takes a binary takes a stripped one with its debug
file, found through ``.gnu_debuglink``, through its build-id under a debug root, or
given with ``--debug-file``, and says what it says of the unstripped binary.

Each command runs twice, on ``plain/statefn`` and on ``stripped/statefn`` (the same
file name, so that labels agree); the outputs are compared with both binaries' paths
(and the debug file's) written as BINARY, and times left out.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

pytestmark = pytest.mark.usefixtures("toolchain")  # every test here runs outside tools



# command -> (arguments after the binary's place, what to compare: stdout or the file OUT)
COMMANDS = {
    "btf encode": (["btf", "encode", "{B}", "-o", "{OUT}"], "file"),
    "btf final": (["btf", "final", "{B}", "-o", "{OUT}"], "file"),
    "btf final --for kernel": (["btf", "final", "{B}", "-o", "{OUT}", "--for", "kernel",
                                "--no-load"], "file"),
    "btf header": (["btf", "header", "{B}", "--type", "main.lexer", "-o", "{OUT}"], "file"),
    "btf capture": (["btf", "capture", "{B}", "-o", "{OUT}", "--toolchain", "sid"], "file"),
    "check": (["check", "{B}", "--toolchain", "sid", "--json"], "stdout"),
    "dedup explain": (["dedup", "explain", "{B}", "--libbpf", "1.5", "--json"], "stdout"),
    "dedup trace": (["dedup", "trace", "{B}", "--libbpf", "1.5", "-o", "{OUT}"], "file"),
    "diff": (["diff", "{B}", "{B}", "--json"], "stdout"),
    "probe": (["probe", "{B}", "main.lexText", "--json"], "stdout"),
    "bisect": (["bisect", "{B}", "--no-repro", "--json", "--out-dir", "{DIR}"], "stdout"),
    "investigate": (["investigate", "{B}", "--no-bisect", "--toolchains", "trixie,sid",
                     "--json", "--out-dir", "{DIR}"], "stdout"),
}
# times, and the facts of the file itself that stripping changes (its bytes and size)
UNCOMPARED = {"seconds", "replay_seconds", "wall_seconds", "generated", "command", "cached",
              "kit_dir", "build_ids", "size", "debug_file", "commands"}


@pytest.fixture(scope="module")
def layouts(corpus, tmp_path_factory, sid_toolchain, trixie_toolchain) -> dict:
    """The plain binary, and the stripped one in each way it may find its DWARF."""
    root = tmp_path_factory.mktemp("oneway")
    binary = corpus("statefn")
    plain = root / "plain" / "statefn"
    plain.parent.mkdir()
    shutil.copy(binary, plain)
    # .gnu_debuglink, the debug file beside the binary
    linked = root / "linked" / "statefn"
    linked.parent.mkdir()
    debug = linked.parent / "statefn.debug"
    subprocess.run(["objcopy", "--only-keep-debug", str(plain), str(debug)], check=True)
    subprocess.run(["objcopy", "--strip-debug", f"--add-gnu-debuglink={debug}", str(plain),
                    str(linked)], check=True)
    # the GNU build-id under a debug root, nothing beside the binary
    lonely = root / "lonely" / "statefn"
    lonely.parent.mkdir()
    subprocess.run(["objcopy", "--strip-debug", str(plain), str(lonely)], check=True)
    notes = subprocess.run(["readelf", "-n", str(plain)], capture_output=True, text=True).stdout
    build_id = re.search(r"Build ID: ([0-9a-f]+)", notes)[1]
    debug_root = root / "debugroot"
    (debug_root / ".build-id" / build_id[:2]).mkdir(parents=True)
    by_id = debug_root / ".build-id" / build_id[:2] / f"{build_id[2:]}.debug"
    shutil.copy(debug, by_id)
    return {"plain": (plain, [], [plain]),
            "debuglink": (linked, [], [linked, debug]),
            "build-id": (lonely, ["--debug-root", str(debug_root)], [lonely, by_id]),
            "debug-file": (lonely, ["--debug-file", str(debug)], [lonely, debug])}


def _run(command: str, layout: tuple, work: Path) -> str:
    binary, extra, paths = layout
    argv, what = COMMANDS[command]
    out, directory = work / "out", work / "dir"
    if command == "diff" and "--debug-file" in extra:
        extra = extra * 2  # one for each stripped side
    args = [a.format(B=binary, OUT=out, DIR=directory) for a in argv] + extra
    proc = subprocess.run([sys.executable, "-m", "dwarfdiag", *args], capture_output=True,
                          text=True, timeout=900, cwd=work)
    assert proc.returncode in (0, 1), f"{command}: {proc.stderr}"
    text = out.read_bytes().decode("latin-1") if what == "file" else proc.stdout
    for path in sorted(paths, key=lambda p: -len(str(p))):
        text = text.replace(str(path), "BINARY")
    text = text.replace(str(work), "WORK")
    if text.lstrip().startswith("{") and what == "stdout":
        return json.dumps(_without_times(json.loads(text)), sort_keys=True, indent=1)
    return text


def _without_times(value):
    if isinstance(value, dict):
        return {k: _without_times(v) for k, v in value.items() if k not in UNCOMPARED}
    if isinstance(value, list):
        return [_without_times(v) for v in value]
    return value


@pytest.mark.parametrize("layout", ["debuglink", "build-id", "debug-file"])
@pytest.mark.parametrize("command", list(COMMANDS))
def test_every_command_reads_a_stripped_binary_as_the_plain_one(layouts, command, layout,
                                                                tmp_path):
    (tmp_path / "plain").mkdir()
    (tmp_path / "stripped").mkdir()
    expected = _run(command, layouts["plain"], tmp_path / "plain")
    assert expected.strip(), f"{command}: no output to compare"
    got = _run(command, layouts[layout], tmp_path / "stripped")
    assert got == expected


def _lonely(argv):
    return subprocess.run([sys.executable, "-m", "dwarfdiag", *argv], capture_output=True,
                          text=True, env={**os.environ, "DWARFDIAG_DEBUG_ROOT": ""})


def test_without_its_debug_file_what_needs_dwarf_is_one_line(layouts, tmp_path):
    """pahole reads DWARF, and a plain function's signature is only there: each is
    refused in one line naming the binary and the ways to give the debug file."""
    lonely = layouts["build-id"][0]
    for argv, says in ((["check", str(lonely)], f"dwarfdiag: error: {lonely}: no DWARF"),
                       (["probe", str(lonely), "main.lexText"],
                        "dwarfdiag: error: main.lexText: ")):
        proc = _lonely(argv)
        assert proc.returncode == 2, (argv, proc.stdout)
        [line] = proc.stderr.strip().splitlines()
        assert line.startswith(says) and "--debug-file" in line, line
    assert "--signature" in line  # probe's way round a missing signature


def test_without_its_debug_file_the_types_come_from_the_runtime(layouts, tmp_path):
    """With no DWARF anywhere, BTF is made from the runtime's type descriptors, and
    says so; a provenance names each type's descriptor."""
    lonely = layouts["build-id"][0]
    out = tmp_path / "x.btf"
    proc = _lonely(["btf", "final", str(lonely), "-o", str(out), "--json"])
    assert proc.returncode == 0, proc.stderr
    doc = json.loads(proc.stdout)
    assert doc["types_from"] == "runtime" and doc["types"] > 100 and out.stat().st_size
    proc = _lonely(["btf", "final", str(lonely), "-o", str(tmp_path / "y.btf")])
    assert "runtime type descriptors" in proc.stdout and "--debug-file" in proc.stdout
    plain = _lonely(["btf", "final", str(layouts["plain"][0]), "-o", str(tmp_path / "p.btf"),
                     "--json"])
    assert json.loads(plain.stdout)["types_from"] == "dwarf"
    proc = _lonely(["btf", "encode", str(lonely), "-o", str(tmp_path / "e.btf"),
                    "--provenance", str(tmp_path / "p.json")])
    assert proc.returncode == 0, proc.stderr
    provenance = json.loads((tmp_path / "p.json").read_text())["provenance"]
    named = [p for p in provenance.values() if p.get("go_name") == "main.lexer"]
    assert named and all(p["descriptor"] > 0 for p in named)
