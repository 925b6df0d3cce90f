"""Real programs: a module built through the proxy, a stripped binary with its debug
file, targets that do not exist; and (``-m slow``) kubeadm and kubectl end to end.

Every verdict in an investigation comes from real pahole; the tests check the
diagnosis against it: a cell the replay explains fails in the same toolchains
it predicts, every bisect set's reproducer is verified by real pahole, and
every difference between dwarfdiag's BTF and sid's pahole is explained.
"""

from __future__ import annotations

import json
import re
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

pytestmark = pytest.mark.usefixtures("toolchain")  # every test here runs outside tools


# a small real program (quick to build) whose cobra/viper dependencies carry four
# typedef cycles like text/template's stateFn: fails with trixie, encodes with sid
SMALL = "github.com/spf13/cobra-cli@v1.3.0"


def dwarfdiag(*args: str, env: dict | None = None, timeout: float = 1800):
    return subprocess.run([sys.executable, "-m", "dwarfdiag", *args], capture_output=True,
                          text=True, timeout=timeout, env={**os.environ, **(env or {})})


@pytest.fixture(scope="module")
def small(tmp_path_factory, sid_toolchain, trixie_toolchain) -> Path:
    out = tmp_path_factory.mktemp("small")
    proc = dwarfdiag("investigate", SMALL, "--out-dir", str(out))
    assert proc.returncode == 0, proc.stderr
    return out


def _findings(out: Path) -> dict:
    return json.loads((out / "findings.json").read_text())


def test_a_module_target_is_built_and_investigated(small, sid_toolchain):
    doc = _findings(small)
    [build] = doc["matrix"]["builds"]
    assert build["module"] == SMALL and build["status"] == "built"
    assert build["compiler"].startswith("gc-1.") and build["flags"] == ["-gcflags=all=-N -l"]
    outcome = {c["toolchain"]: c["outcome"] for c in doc["matrix"]["cells"]}
    assert outcome == {"bookworm": "fails", "trixie": "fails", "sid": "encodes"}
    # the matrix is real pahole: run it again by hand on the same binary
    from dwarfdiag.toolchains.pahole import encode_detached

    run = encode_detached(sid_toolchain.pahole_argv(), Path(build["binary"]))
    assert run.encoded and [c for c in doc["matrix"]["cells"]
                            if c["toolchain"] == "sid"][0]["btf_types"] > 5000
    cell = doc["diagnosis"][0]["cells"]["trixie"]
    assert cell["predicted"] == "fails" and cell["agrees"]
    kinds = {link["kind"] for link in cell["failure"]["chain"]}
    assert kinds == {"TYPEDEF", "FUNC_PROTO"}
    anon = [link for link in cell["failure"]["chain"] if link["kind"] == "FUNC_PROTO"]
    named = [link for link in cell["failure"]["chain"] if link["kind"] == "TYPEDEF"]
    # the anonymous func type belongs to its typedef's package, not to gc's unit runtime
    assert anon[0]["provenance"]["package"] == named[0]["provenance"]["package"] != "runtime"


def test_every_bisect_set_is_verified_by_real_pahole(small):
    doc = _findings(small)
    [entry] = doc["bisects"]
    sets = entry["report"]["search"]["sets"]
    assert len(sets) >= 2 and all(s["verified"] for s in sets)
    names = {entry["report"]["types"][str(i)]["name"] for s in sets for i in s["cycle"]}
    assert "text/template/parse.stateFn" in names
    for repro in entry["report"]["reproducers"]:
        assert repro["build"] == "built" and repro["verdicts"] == {"trixie": "fails",
                                                                   "sid": "encodes"}


def test_final_btf_is_pahole_132s(small):
    """dwarfdiag's final BTF of a real program has exactly the named types pahole 1.32
    with libbpf 1.7 writes."""
    [parity] = _findings(small)["parity"]
    assert parity["error"] == "" and parity["ours"] == parity["theirs"] > 5000
    assert parity["differences"] == []


def test_usable_btf_of_a_real_program(small, tmp_path, bpftool, sid_toolchain):
    """The kernel profile of a real program's final BTF loads into the running kernel,
    bookworm's bpftool 7.1 and sid's newest dump it as C, and its header compiles for
    BPF."""
    [build] = _findings(small)["matrix"]["builds"]
    out = tmp_path / "k.btf"
    proc = dwarfdiag("btf", "final", build["binary"], "-o", str(out), "--for", "kernel",
                     "--json")
    assert proc.returncode == 0, proc.stderr
    doc = json.loads(proc.stdout)
    assert doc["kind"] == "btf-final" and any(c.startswith("cycle ") for c in doc["changes"])
    verdict = doc["kernel"]
    if verdict.startswith("not checked"):
        pytest.skip(f"the kernel was not asked: {verdict}")
    assert verdict.startswith("accepts"), verdict
    for argv in ([bpftool], sid_toolchain.bpftool_argv()):
        subprocess.run([*argv, "btf", "dump", "file", str(out), "format", "c"], check=True,
                       capture_output=True, timeout=300)
    header = tmp_path / "types.h"
    proc = dwarfdiag("btf", "header", build["binary"], "-o", str(header))
    assert proc.returncode == 0, proc.stderr
    subprocess.run([shutil.which("clang"), "-target", "bpf", "-O2", "-c", "-x", "c",
                    str(header), "-o", str(tmp_path / "h.o")], check=True, timeout=600)


def test_report_of_a_target(small):
    html = (small / "index.html").read_text()
    assert "dwarfdiag investigation of " + SMALL in html
    # the bisect's sets as a table, a row per set with its cycle
    table = html.split('<table class="bisect-sets">', 1)[1].split("</table>", 1)[0]
    assert table.count("<tr>") >= 3 and "TYPEDEF text/template/parse.stateFn" in table
    assert "pahole 1.32 with libbpf 1.7.0 (sid) encodes" in html
    assert "No failures" not in html
    # the cycle's types link to declarations that exist: GOROOT's text/template/parse
    declared = re.findall(r"(go1\.\d+\.\d+/src/text/template/parse/\w+\.go):(\d+)", html)
    assert declared
    import go

    goroot_src = Path(go.__file__).parent / "src"
    for path, line in declared:
        text = (goroot_src / path.split("/src/", 1)[1]).read_text().splitlines()
        assert "stateFn" in text[int(line) - 1]


def test_a_second_run_builds_nothing_and_needs_no_network(small, tmp_path):
    proc = dwarfdiag("investigate", SMALL, "--out-dir", str(tmp_path / "again"), "--no-bisect",
                     env={"GOPROXY": "off", "GOFLAGS": "-mod=mod"})
    assert proc.returncode == 0, proc.stderr
    missing = dwarfdiag("investigate", "github.com/spf13/cobra-cli@v1.2.0", "--out-dir",
                        str(tmp_path / "missing"), env={"GOPROXY": "off"})
    assert missing.returncode == 2
    line = missing.stderr.strip().splitlines()
    assert len(line) == 1 and "github.com/spf13/cobra-cli@v1.2.0" in line[0]
    assert "GOPROXY=off" in line[0] or "disabled" in line[0], line[0]


@pytest.mark.parametrize("target, words", [
    ("github.com/spf13/cobra-cli/nosuch@v1.3.0", "does not contain package"),
    ("github.com/spf13/cobra-cli@v9.9.9", "go get failed: go: github.com/spf13/cobra-cli@v9.9.9"),
    ("nosuch-target", "unknown target 'nosuch-target'"),
    ("/no/such/binary", "no such file"),
])
def test_a_target_that_does_not_exist_is_one_line(tmp_path, target, words):
    proc = dwarfdiag("investigate", target, "--out-dir", str(tmp_path / "out"))
    assert proc.returncode == 2, proc.stderr
    lines = proc.stderr.strip().splitlines()
    assert len(lines) == 1 and words in lines[0] and "Traceback" not in proc.stderr


USER_PROGRAM = """package main

import "fmt"

type lexer struct {
	input string
	pos   int
}

type stateFn func(*lexer) stateFn

func lexText(l *lexer) stateFn {
	if l.pos >= len(l.input) {
		return nil
	}
	l.pos++
	return lexText
}

func main() {
	l := &lexer{input: "abc"}
	for s := stateFn(lexText); s != nil; s = s(l) {
	}
	fmt.Println(l.pos)
}
"""


def test_a_users_own_binary_gets_every_cause_and_its_own_declarations(tmp_path, sid_toolchain,
                                                                       trixie_toolchain):
    """A program built in place, as a user does: bookworm's cell fails for two reasons
    (the program's stateFn cycle, and pahole 1.24's own id drift), so changing the
    program is not offered as its fix; trixie's fails for the cycle alone. The cycle's
    types are declared where the DWARF says the sources are, and the verdict's command
    names this binary."""
    import go

    source = tmp_path / "src"
    source.mkdir()
    (source / "main.go").write_text(USER_PROGRAM)
    (source / "go.mod").write_text("module example.com/lexer\n\ngo 1.22\n")
    binary = source / "lexer"
    subprocess.run([str(Path(go.__file__).parent / "bin" / "go"), "build", "-o", str(binary),
                    "."], cwd=source, check=True, capture_output=True, timeout=600,
                   env={**os.environ, "GOFLAGS": "-mod=mod", "GOTOOLCHAIN": "local"})
    proc = dwarfdiag("investigate", str(binary), "--out-dir", str(tmp_path / "r"))
    assert proc.returncode == 0, proc.stderr
    lines = proc.stdout.splitlines()
    assert lines[0] == "culprits: main.stateFn, pahole 1.24's encoder (bookworm)"
    assert lines[1] == f"working BTF now: dwarfdiag btf final {binary} -o lexer.btf --for kernel"
    doc = _findings(tmp_path / "r")
    cells = doc["diagnosis"][0]["cells"]
    assert cells["bookworm"]["failure"] and cells["bookworm"]["check"]["inconsistency_count"]
    assert cells["trixie"]["failure"] and not cells["trixie"]["check"]["inconsistency_count"]
    declared = {(link["name"], link["provenance"]["file"], link["provenance"]["line"])
                for link in cells["trixie"]["failure"]["chain"] if link["name"]}
    line = USER_PROGRAM.splitlines().index("type stateFn func(*lexer) stateFn") + 1
    assert declared == {("main.stateFn", str(source / "main.go"), line)}
    html = (tmp_path / "r" / "index.html").read_text()
    assert f"{source / 'main.go'}:{line}" in html
    from dwarfdiag.findings import parse
    from dwarfdiag.report.verdict import verdict

    v = verdict(parse(doc, "findings.json"))
    cycle = next(c for c in v.causes if c.in_program)
    change = [a for a in cycle.actions if "change the program" in a]
    assert change and "not those under bookworm" in change[0]
    drift = next(c for c in v.causes if not c.in_program)
    assert [w[3] for w in drift.cells] == ["bookworm"]
    assert not any("change the program" in a for a in drift.actions)


def _strip_with_debug_file(binary: Path, where: Path) -> tuple[Path, Path]:
    where.mkdir(parents=True, exist_ok=True)
    debug = where / (binary.name + ".debug")
    stripped = where / binary.name
    subprocess.run(["objcopy", "--only-keep-debug", str(binary), str(debug)], check=True)
    subprocess.run(["objcopy", "--strip-debug", f"--add-gnu-debuglink={debug}", str(binary),
                    str(stripped)], check=True)
    return stripped, debug


def _verdicts(out: Path) -> tuple:
    doc = _findings(out)
    cells = sorted((c["toolchain"], c["outcome"], c["btf_types"]) for c in doc["matrix"]["cells"])
    failures = sorted((tc, cell["failure"]["root_cause"] if cell["failure"] else None)
                      for d in doc["diagnosis"] for tc, cell in d["cells"].items())
    return cells, failures


def test_a_stripped_binary_with_its_debug_file_investigates_the_same(corpus, tmp_path, trixie_toolchain,
                                                                     sid_toolchain):

    binary = corpus("statefn")
    plain = tmp_path / "statefn"
    shutil.copy(binary, plain)
    whole = dwarfdiag("investigate", str(plain), "--out-dir", str(tmp_path / "whole"),
                      "--no-bisect")
    assert whole.returncode == 0, whole.stderr
    expected = _verdicts(tmp_path / "whole")
    # .gnu_debuglink beside the binary
    stripped, debug = _strip_with_debug_file(plain, tmp_path / "linked")
    proc = dwarfdiag("investigate", str(stripped), "--out-dir", str(tmp_path / "r1"), "--no-bisect")
    assert proc.returncode == 0, proc.stderr
    assert _verdicts(tmp_path / "r1") == expected
    # the build-id path under the debug root, nothing beside the binary
    lonely = tmp_path / "lonely" / "statefn"
    lonely.parent.mkdir()
    subprocess.run(["objcopy", "--strip-debug", str(plain), str(lonely)], check=True)
    build_id = subprocess.run(["readelf", "-n", str(plain)], capture_output=True,
                              text=True).stdout.split("Build ID: ")[1].split()[0]
    root = tmp_path / "debugroot"
    (root / ".build-id" / build_id[:2]).mkdir(parents=True)
    shutil.copy(debug, root / ".build-id" / build_id[:2] / f"{build_id[2:]}.debug")
    proc = dwarfdiag("investigate", str(lonely), "--out-dir", str(tmp_path / "r2"), "--no-bisect",
                     env={"DWARFDIAG_DEBUG_ROOT": str(root)})
    assert proc.returncode == 0, proc.stderr
    assert _verdicts(tmp_path / "r2") == expected
    # --debug-file, and the clear error without any
    proc = dwarfdiag("investigate", str(lonely), "--debug-file", str(debug), "--out-dir",
                     str(tmp_path / "r3"), "--no-bisect")
    assert proc.returncode == 0 and _verdicts(tmp_path / "r3") == expected, proc.stderr
    proc = dwarfdiag("investigate", str(lonely), "--out-dir", str(tmp_path / "r4"))
    assert proc.returncode == 2 and "--debug-file" in proc.stderr
    assert len(proc.stderr.strip().splitlines()) == 1


@pytest.mark.slow
@pytest.mark.parametrize("name", ["kubeadm", "kubectl"])
def test_kubernetes_end_to_end(tmp_path, name, sid_toolchain, trixie_toolchain):
    """kubeadm and kubectl at DBG=1 from the proxy: real pahole 1.30 fails, 1.32 encodes,
    the replay says why, every bisect set reproduces with real pahole."""
    proc = dwarfdiag("investigate", name, "--out-dir", str(tmp_path), timeout=5400)
    assert proc.returncode == 0, proc.stderr
    doc = _findings(tmp_path)
    outcome = {c["toolchain"]: c["outcome"] for c in doc["matrix"]["cells"]}
    assert outcome["trixie"] == "fails" and outcome["sid"] == "encodes"
    cell = doc["diagnosis"][0]["cells"]["trixie"]
    assert cell["agrees"] and cell["failure"]["errno"] == -40
    for entry in doc["bisects"]:
        for repro in entry["report"]["reproducers"]:
            if repro is not None:
                assert repro["verdicts"].get("trixie") == "fails", repro
                assert repro["verdicts"].get("sid") == "encodes", repro
    assert all(p["differences"] == [] for p in doc["parity"])
