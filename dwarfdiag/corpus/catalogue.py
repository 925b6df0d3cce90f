"""The built-in corpus: one directory per Go program under ``corpus/``.

Each directory is named ``NN-name`` and holds ``main.go`` (plus any other
sources and a ``go.mod`` where needed) and ``meta.toml`` with the program's
``level``, the Go ``features`` it exercises and ``min_go``, the oldest Go
language version that builds it; ``cgo = true`` marks programs that need a C
compiler. A *stand-in* directory holds only ``meta.toml`` with
``goroot_package`` (``cmd/go``, ...): a kubeadm-scale program built offline
from the compiler's own GOROOT.
"""

from __future__ import annotations

import hashlib
import os
import tomllib
from dataclasses import dataclass
from pathlib import Path

from dwarfdiag.errors import BadInputError, NotFoundError

CORPUS_ENV = "DWARFDIAG_CORPUS"
# a checkout's own corpus/; a wheel carries a copy as the package dwarfdiag.corpus_files
_CHECKOUT = Path(__file__).resolve().parents[2] / "corpus"


def corpus_dir() -> Path:
    """Where the corpus (and ``external.toml``) is: ``$DWARFDIAG_CORPUS``, else the
    checkout's ``corpus/``, else the copy installed with the package."""
    if os.environ.get(CORPUS_ENV):
        return Path(os.environ[CORPUS_ENV])
    if (_CHECKOUT / "external.toml").is_file():
        return _CHECKOUT
    from importlib.util import find_spec

    spec = find_spec("dwarfdiag.corpus_files")
    locations = list(spec.submodule_search_locations or []) if spec else []
    return Path(locations[0]) if locations else _CHECKOUT


@dataclass(frozen=True)
class Program:
    name: str
    level: int
    features: tuple[str, ...]
    min_go: str
    description: str
    directory: Path
    cgo: bool = False  # needs CGO_ENABLED=1 and a C compiler
    goroot_package: str | None = None  # a stand-in built from GOROOT, e.g. "cmd/go"

    @property
    def is_standin(self) -> bool:
        return self.goroot_package is not None

    def sources(self) -> list[Path]:
        return sorted(p for p in self.directory.rglob("*")
                      if p.is_file() and p.suffix in (".go", ".mod", ".c", ".h", ".toml"))

    def source_hash(self) -> str:
        """Hash of every source file's relative path and content.

        A stand-in's sources are GOROOT's, fixed by the compiler version that
        is part of every build key; its own directory holds only metadata.
        """
        h = hashlib.sha256()
        for p in self.sources():
            h.update(str(p.relative_to(self.directory)).encode() + b"\0")
            h.update(p.read_bytes())
        return h.hexdigest()[:16]

    def as_dict(self) -> dict:
        return {"name": self.name, "level": self.level, "features": list(self.features),
                "min_go": self.min_go, "description": self.description,
                "directory": str(self.directory), "cgo": self.cgo,
                "goroot_package": self.goroot_package}


def load_program(directory: Path) -> Program:
    meta_path = directory / "meta.toml"
    try:
        meta = tomllib.loads(meta_path.read_text())
        return Program(
            name=directory.name.split("-", 1)[-1],
            level=int(meta["level"]),
            features=tuple(meta.get("features", ())),
            min_go=str(meta.get("min_go", "1.18")),
            description=meta.get("description", ""),
            directory=directory,
            cgo=bool(meta.get("cgo", False)),
            goroot_package=meta.get("goroot_package"),
        )
    except (OSError, tomllib.TOMLDecodeError, KeyError, ValueError) as e:
        raise BadInputError(f"{meta_path}: bad corpus metadata: {e}") from e


def load_catalogue(directory: Path | None = None) -> list[Program]:
    """All programs, simplest first."""
    directory = directory or corpus_dir()
    if not directory.is_dir():
        raise NotFoundError(f"corpus directory {directory} not found; set {CORPUS_ENV} to "
                            f"a checkout's corpus/ or reinstall dwarfdiag")
    programs = [load_program(d) for d in directory.iterdir() if (d / "meta.toml").exists()]
    return sorted(programs, key=lambda p: (p.level, p.name))


def parse_levels(text: str) -> set[int]:
    """``"1-5,9"`` -> ``{1, 2, 3, 4, 5, 9}``."""
    levels: set[int] = set()
    for part in (p.strip() for p in text.split(",") if p.strip()):
        lo, _, hi = part.partition("-")
        try:
            levels.update(range(int(lo), int(hi or lo) + 1))
        except ValueError:
            raise BadInputError(f"bad level range {part!r}; write levels like 1-5,9") from None
    return levels


def select_programs(only: list[str] | None = None,
                    levels: set[int] | None = None) -> list[Program]:
    """The catalogue, or just the programs named in ``only`` / at ``levels``."""
    programs = load_catalogue()
    if only:
        unknown = set(only) - {p.name for p in programs}
        if unknown:
            raise NotFoundError(f"no corpus program named {', '.join(sorted(unknown))}; "
                                f"'dwarfdiag corpus list' shows them")
        programs = [p for p in programs if p.name in only]
    if levels:
        programs = [p for p in programs if p.level in levels]
        if not programs:
            wanted = ",".join(str(n) for n in sorted(levels))
            raise NotFoundError(f"no corpus program at level {wanted}; "
                                f"'dwarfdiag corpus list' shows them")
    return programs

