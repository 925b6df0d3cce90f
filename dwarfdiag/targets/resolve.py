"""What a TARGET on the command line means, and the binary (and DWARF) behind it.

In order:

* an existing file: any Go binary, gc or gccgo; when it is stripped, its
  DWARF is found in a separate debug file (``.gnu_debuglink``, the build-id
  path under ``/usr/lib/debug``) or given with ``--debug-file``;
* ``MODULE/PATH/cmd/x@vX.Y.Z``: built from the module proxy
  (:mod:`dwarfdiag.targets.modules`);
* a name from ``corpus/external.toml`` (kubeadm, kubectl, helm, ...): built
  the same way at its pinned version, unless ``--binary`` or a ``binary =``
  in the user's targets.toml names one built elsewhere;
* a corpus program or stand-in (``statefn``, ``gotool`` = GOROOT ``cmd/go``).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path
from typing import Callable

from dwarfdiag.elf import dwarf_source
from dwarfdiag.errors import NotFoundError
from dwarfdiag.findings.matrix import Build
from dwarfdiag.targets import modules
from dwarfdiag.targets.catalogue import load_named, user_config
from dwarfdiag.toolchains.go import Compiler


@dataclass(frozen=True)
class Target:
    name: str  # a file-name-safe label
    binary: Path  # the ELF the user named or dwarfdiag built
    dwarf: Path  # where its DWARF is: the binary, or its separate debug file
    origin: str  # "file", "module", "named", "corpus"
    family: str  # "gc" or "gccgo": which compiler a reproducer should use
    build: Build  # the binary as a build record (how it was made, ids, DWARF stats)


def label(name: str) -> str:
    return re.sub(r"[^A-Za-z0-9_.-]", "_", name) or "target"


def file_build(name: str, binary: Path, dwarf: Path) -> Build:
    """A build record for a binary dwarfdiag did not build: what its DWARF says."""
    from dwarfdiag.corpus.build import describe_binary

    facts = describe_binary(dwarf)
    producers = facts["dwarf"].producers
    family, version = "gc", "?"
    for p in producers:
        gc = re.search(r"^Go cmd/compile go(\d+\.\d+(?:\.\d+)?)", p)
        gnu = re.search(r"^GNU Go (\d+\.\d+(?:\.\d+)?)", p)
        if gc:
            family, version = "gc", gc[1]
            break
        if gnu:
            family, version = "gccgo", gnu[1]
            break
    return Build(program=name, level=0, compiler=f"{family}-{version}", family=family,
                 compiler_version=version, profile="as built", flags=(), status="built",
                 binary=str(dwarf), source=str(binary) if dwarf != binary else None, **facts)


def _from_file(name: str, binary: Path, debug_file: Path | None, origin: str) -> Target:
    dwarf = dwarf_source(binary, debug_file)
    record = file_build(name, binary, dwarf)
    return Target(label(name), binary, dwarf, origin, record.family, record)


def _from_build(build: Build, origin: str) -> Target:
    binary = Path(build.binary)
    return Target(label(build.program), binary, binary, origin, build.family, build)


def is_prebuilt(text: str) -> bool:
    """Is ``text`` a binary that exists already (a file, or a named target with a
    ``binary =``)? Then compilers and profiles do not apply to it."""
    if Path(text).is_file():
        return True
    entry = load_named().get(text)
    return entry is not None and bool(entry.binary)


def resolve(text: str, binary: Path | None = None, debug_file: Path | None = None,
            compiler: Compiler | None = None, profile: str = "debug",
            progress: Callable[[str], None] | None = None) -> Target:
    """The target ``text`` names (see the module docstring), built if need be."""
    if binary is not None:
        if not Path(binary).is_file():
            raise NotFoundError(f"--binary {binary}: no such file")
        return _from_file(Path(text).name, Path(binary), debug_file, "file")
    path = Path(text)
    if path.is_file():
        return _from_file(path.name, path, debug_file, "file")
    spec = modules.parse(text)
    if spec is not None:
        return _from_build(_build_module(spec, compiler, profile, progress), "module")
    named = load_named()
    if text in named:
        entry = named[text]
        if entry.binary:
            configured = Path(entry.binary).expanduser()
            if not configured.is_file():
                raise NotFoundError(f"{text}: binary = {entry.binary!r} (in {user_config()}) "
                                    f"is not a file")
            return _from_file(text, configured, debug_file, "named")
        spec = modules.ModuleTarget(entry.name, entry.package, entry.version, entry.tags,
                                    entry.replace_staging, entry.module)
        return _from_build(_build_module(spec, compiler, profile, progress), "named")
    from dwarfdiag.corpus.catalogue import load_catalogue

    programs = {p.name: p for p in load_catalogue()}
    if text in programs:
        from dwarfdiag.corpus.build import build
        from dwarfdiag.toolchains.go import gc

        built = build(programs[text], compiler or gc(), profile)
        if built.status != "built":
            raise NotFoundError(f"cannot build corpus program {text}: {built.message}")
        return _from_build(built, "corpus")
    known = sorted(set(programs) | set(named))
    if "/" in text or text.startswith("."):
        raise NotFoundError(f"{text}: no such file, and not MODULE/PATH@VERSION")
    raise NotFoundError(f"unknown target {text!r}: give a path to an ELF binary, "
                        f"MODULE/PATH@VERSION, or one of {', '.join(known)}")


def _build_module(spec: modules.ModuleTarget, compiler: Compiler | None, profile: str,
                  progress: Callable[[str], None] | None) -> Build:
    from dwarfdiag.toolchains.go import gc

    return modules.with_actual_compiler(modules.build(spec, compiler or gc(), profile,
                                                      progress))
