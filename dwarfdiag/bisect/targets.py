"""What ``dwarfdiag bisect TARGET`` means: a path, a corpus program, or a named external program.

* an existing file is used as is;
* a corpus program or stand-in (``statefn``, ``gotool`` = GOROOT ``cmd/go``)
  is built with gc (``-N -l``) through the corpus builder;
* a name in ``corpus/external.toml`` (``kubeadm``, ``kubectl``, ``podman``)
  needs the user's build: ``--binary`` or ``[NAME] binary = ...`` in
  ``$XDG_CONFIG_HOME/dwarfdiag/targets.toml`` (or in external.toml itself).
"""

from __future__ import annotations

import os
import tomllib
from dataclasses import dataclass
from pathlib import Path

from dwarfdiag.corpus.catalogue import CORPUS_DIR
from dwarfdiag.errors import DwarfdiagError, NotFoundError

EXTERNAL = CORPUS_DIR / "external.toml"


@dataclass(frozen=True)
class Target:
    name: str  # what the user typed, reduced to a file-name-safe label
    binary: Path
    origin: str  # "file", "corpus", "external"
    family: str  # "gc" or "gccgo": which compiler a reproducer should use


def user_config() -> Path:
    base = os.environ.get("XDG_CONFIG_HOME") or str(Path.home() / ".config")
    return Path(base) / "dwarfdiag" / "targets.toml"


def _load(path: Path) -> dict:
    try:
        return tomllib.loads(path.read_text()) if path.exists() else {}
    except (OSError, tomllib.TOMLDecodeError):
        return {}


def resolve(target: str, binary: Path | None = None) -> Target:
    if binary is not None:
        if not Path(binary).is_file():
            raise NotFoundError(f"--binary {binary}: no such file")
        return Target(_label(target), Path(binary), "file", _family(Path(binary)))
    path = Path(target)
    if path.is_file():
        return Target(_label(path.name), path, "file", _family(path))
    external = _load(EXTERNAL)
    if target in external:
        entry = {**external[target], **_load(user_config()).get(target, {})}
        configured = entry.get("binary")
        if configured and Path(configured).is_file():
            return Target(target, Path(configured), "external", _family(Path(configured)))
        raise NotFoundError(
            f"{target} is not available here: build it ({entry.get('build', 'see upstream')} in "
            f"a checkout of {entry.get('repository', 'its repository')}, giving "
            f"{entry.get('output', 'the binary')}), then pass --binary PATH or set "
            f"[{target}] binary = \"PATH\" in {user_config()}")
    from dwarfdiag.corpus.catalogue import load_catalogue

    programs = {p.name: p for p in load_catalogue()}
    if target in programs:
        from dwarfdiag.corpus.build import build
        from dwarfdiag.toolchains.go import gc

        built = build(programs[target], gc())
        if built.status != "built":
            raise NotFoundError(f"cannot build corpus program {target}: {built.message}")
        return Target(target, Path(built.binary), "corpus", "gc")
    known = sorted(set(programs) | set(external))
    raise NotFoundError(f"unknown target {target!r}: give a path to an ELF binary, or one of "
                        f"{', '.join(known)}")


def _label(name: str) -> str:
    return "".join(c if c.isalnum() or c in "-_." else "_" for c in name) or "target"


def _family(binary: Path) -> str:
    """gccgo if the binary's DWARF says GNU Go, else gc."""
    from dwarfdiag.dwarf.loader import load_typegraph

    try:
        graph = load_typegraph(binary)
    except DwarfdiagError:  # a bad binary fails later with its own clear error
        return "gc"
    return "gccgo" if any(cu.compiler == "gccgo" for cu in graph.cus) else "gc"
