"""Build corpus programs with gc and gccgo into the cache.

A build is keyed by the program's source hash, the compiler and its exact
version and the flags, so a rebuilt cache gives the same binaries and a
changed source never reuses a stale one. Builds use ``-N -l`` (no
optimisation, no inlining) as the seed talk did.
"""

from __future__ import annotations

import hashlib
import json
import shutil
import subprocess
import tempfile
from dataclasses import asdict, dataclass
from pathlib import Path

from dwarfdiag.cache import cache_dir
from dwarfdiag.corpus.catalogue import Program, select_programs
from dwarfdiag.corpus.toolchains import find_gccgo, find_go, go_env
from dwarfdiag.errors import ToolchainError

GC_FLAGS = ("-gcflags=all=-N -l",)
GCCGO_FLAGS = ("-g", "-O0")


@dataclass(frozen=True)
class Build:
    program: str
    compiler: str  # "gc" or "gccgo"
    compiler_version: str
    flags: tuple[str, ...]
    binary: str | None  # None when the build failed or is unsupported
    status: str  # "built", "unsupported", "failed"
    message: str = ""

    def as_dict(self) -> dict:
        return asdict(self)


def _version_tuple(v: str) -> tuple[int, ...]:
    return tuple(int(x) for x in v.split(".")[:2])


def build(program: Program, compiler: str) -> Build:
    """Build ``program`` with ``compiler`` ("gc" or "gccgo"), from cache if possible."""
    if compiler == "gc":
        tool, flags = find_go(), GC_FLAGS
    elif compiler == "gccgo":
        tool, flags = find_gccgo(), GCCGO_FLAGS
    else:
        raise ToolchainError(f"unknown compiler {compiler!r}; use gc or gccgo")
    tool.require()
    assert tool.version is not None
    # gccgo 12 implements the Go 1.18 language without generics
    if compiler == "gccgo" and _version_tuple(program.min_go) > (1, 18):
        return Build(program.name, compiler, tool.version, flags, None, "unsupported",
                     f"gccgo {tool.version} implements Go 1.18; the program needs {program.min_go}")
    key = hashlib.sha256(json.dumps([program.source_hash(), compiler, tool.version,
                                     flags]).encode()).hexdigest()[:16]
    out_dir = cache_dir("builds", f"{program.name}-{compiler}-{key}")
    binary = out_dir / program.name
    if binary.exists():
        return Build(program.name, compiler, tool.version, flags, str(binary), "built")
    with tempfile.TemporaryDirectory() as tmp:
        work = Path(tmp) / "src"
        shutil.copytree(program.directory, work)
        if compiler == "gc":
            if not (work / "go.mod").exists():
                (work / "go.mod").write_text(f"module {program.name}\n\ngo {program.min_go}\n")
            argv = [tool.path, "build", *flags, "-o", str(binary) + ".tmp", "."]
            env = go_env()
        else:
            argv = [tool.path, *flags, "-o", str(binary) + ".tmp",
                    *sorted(str(p) for p in work.glob("*.go"))]
            env = None
        proc = subprocess.run(argv, cwd=work, env=env, capture_output=True, text=True)
    if proc.returncode != 0:
        return Build(program.name, compiler, tool.version, flags, None, "failed",
                     (proc.stderr or proc.stdout).strip()[-2000:])
    Path(str(binary) + ".tmp").rename(binary)
    return Build(program.name, compiler, tool.version, flags, str(binary), "built")


def build_many(compilers: list[str], only: list[str] | None = None) -> list[Build]:
    """Build the catalogue (or the programs named in ``only``) with each compiler."""
    programs = select_programs(only)
    return [build(p, c) for p in programs for c in compilers]
