"""Build corpus programs with gc (several versions) and gccgo into the cache.

A build is keyed by the program's source hash, the compiler's label (family
and exact version) and the build profile, so a rebuilt cache gives the same
binaries and a changed source never reuses a stale one. Two profiles:

- ``debug``: ``-gcflags=all=-N -l`` (no optimisation, no inlining) as the seed
  talk did, and ``-g -O0`` for gccgo;
- ``opt``: the compilers' defaults (``-g -O2`` for gccgo).

Both compilers are driven through a ``go`` command (gc's own, or Debian's
``go-12`` for gccgo) so that modules, several packages and cgo build the same
way. Each build directory holds ``build.json``, the build's manifest entry:
source hash, compiler and version, flags, build ids and DWARF statistics;
:func:`write_manifest` gathers them into ``<cache>/builds/manifest.json``.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import tempfile
import time
from pathlib import Path
from typing import Callable

from dwarfdiag import __version__
from dwarfdiag.cache import atomic_write, cache_dir
from dwarfdiag.corpus.catalogue import Program
from dwarfdiag.findings.matrix import Build
from dwarfdiag.findings.schema import read_record, to_json
from dwarfdiag.toolchains.run import run_tool
from dwarfdiag.toolchains.go import Compiler
from dwarfdiag.errors import NotFoundError

# debug: -N -l, as the seed talk and Kubernetes' DBG=1; opt: the compilers' defaults;
# stripped: the defaults and -ldflags=-s -w, as release and vendor builds ship (gc only:
# no DWARF, no symbol table, the runtime's metadata alone)
PROFILES = ("debug", "opt", "stripped")
BUILD_TIMEOUT = 1800  # cmd/compile at -N -l on two cores takes a few minutes


def profile_flags(compiler: Compiler, profile: str) -> tuple[str, ...]:
    if profile not in PROFILES:
        raise NotFoundError(f"unknown build profile {profile!r}; use {', '.join(PROFILES)}")
    if compiler.family == "gc":
        return {"debug": ("-gcflags=all=-N -l",), "opt": (),
                "stripped": ("-ldflags=-s -w",)}[profile]
    return ("-gccgoflags=-g -O0",) if profile == "debug" else ("-gccgoflags=-g -O2",)


def unsupported_reason(program: Program, compiler: Compiler,
                       profile: str = "debug") -> str | None:
    """Why ``compiler`` cannot build ``program`` by design (not a failure), if it cannot."""
    if profile == "stripped" and compiler.family != "gc":
        return ("the stripped profile is gc's -ldflags=-s -w; gccgo keeps no runtime type "
                "descriptors to read instead of DWARF")
    if program.is_standin and compiler.family != "gc":
        return f"{program.goroot_package} is built from gc's own GOROOT sources"
    need = tuple(int(x) for x in program.min_go.split(".")[:2])
    if need > compiler.language:
        have = ".".join(map(str, compiler.language))
        return (f"{compiler.label} implements the Go {have} language; "
                f"{program.name} needs Go {program.min_go}")
    return None


def _build_env(program: Program, compiler: Compiler) -> dict[str, str]:
    """Offline, reproducible builds: no toolchain downloads, no module proxy."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("GO")}
    env.setdefault("HOME", "/root")
    env["GOTOOLCHAIN"] = "local"
    env["GOPROXY"] = "off"
    env["GOFLAGS"] = "" if program.is_standin else "-mod=mod"
    env["CGO_ENABLED"] = "1" if program.cgo else "0"
    if compiler.goroot:
        env["GOROOT"] = compiler.goroot
    env.update(compiler.env)
    return env


def build(program: Program, compiler: Compiler, profile: str = "debug") -> Build:
    """Build ``program`` with ``compiler`` in ``profile``, from the cache if possible."""
    flags = profile_flags(compiler, profile)
    source_hash = program.source_hash()
    common = dict(program=program.name, level=program.level, compiler=compiler.label,
                  family=compiler.family, compiler_version=compiler.version,
                  profile=profile, flags=flags, source_hash=source_hash)
    reason = unsupported_reason(program, compiler, profile)
    if reason:
        return Build(status="unsupported", message=reason, **common)
    key = hashlib.sha256(json.dumps([source_hash, compiler.label, flags, program.cgo,
                                     program.goroot_package]).encode()).hexdigest()[:16]
    out_dir = cache_dir("builds", f"{program.name}-{compiler.label}-{profile}-{key}")
    record = out_dir / "build.json"
    binary = out_dir / program.name
    if binary.exists():
        cached = _read_record(record)
        if cached is not None:
            return cached

    start = time.perf_counter()
    with tempfile.TemporaryDirectory() as tmp:
        work = Path(tmp) / "src"
        if program.is_standin:
            work.mkdir()
            target = program.goroot_package
        else:
            shutil.copytree(program.directory, work)
            if not (work / "go.mod").exists():
                (work / "go.mod").write_text(f"module {program.name}\n\ngo {program.min_go}\n")
            target = "."
        # a private output name: two dwarfdiag runs may build the same key at once
        partial = out_dir / f".{program.name}.{os.getpid()}.partial"
        argv = [compiler.go_command, "build", *flags, "-o", str(partial), target]
        proc = run_tool(argv, BUILD_TIMEOUT, cwd=work, env=_build_env(program, compiler))
        failure = (proc.stderr or proc.stdout).strip() if proc.returncode else ""
    if failure:
        return Build(status="failed", message=failure[-2000:], **common)
    os.replace(partial, binary)
    result = Build(status="built", binary=str(binary),
                   seconds=round(time.perf_counter() - start, 2), **common,
                   **describe_binary(binary))
    atomic_write(record, to_json(result).encode())
    return result


def _read_record(record: Path) -> Build | None:
    """A cached build's record; None (rebuild) if it is missing or unreadable."""
    return read_record(Build, record)


def describe_binary(binary: Path) -> dict:
    """A built binary's ids, DWARF statistics and size, for its Build record."""
    from dwarfdiag.target import of_file

    target = of_file(binary)
    return {"build_ids": target.build_ids, "dwarf": target.dwarf_stats,
            "size": binary.stat().st_size, "types_from": target.types_from}


def build_many(programs: list[Program], compilers: list[Compiler],
               profiles: tuple[str, ...] = ("debug",),
               on_build: Callable[[Build], None] | None = None) -> list[Build]:
    """Build every program with every compiler and profile, then refresh the manifest."""
    builds = []
    for program in programs:
        for compiler in compilers:
            for profile in profiles:
                b = build(program, compiler, profile)
                builds.append(b)
                if on_build:
                    on_build(b)
    write_manifest()
    return builds


def manifest_path() -> Path:
    return cache_dir("builds") / "manifest.json"


def write_manifest() -> Path:
    """Gather every cached build's ``build.json`` into one manifest file."""
    entries = []
    for record in sorted(cache_dir("builds").glob("*/build.json")):
        entry = _read_record(record)
        if entry is not None and entry.binary and Path(entry.binary).exists():
            entries.append(entry)
    entries.sort(key=lambda e: (e.level, e.program, e.compiler, e.profile))
    path = manifest_path()
    atomic_write(path, to_json({"dwarfdiag": __version__, "builds": entries}).encode())
    return path
