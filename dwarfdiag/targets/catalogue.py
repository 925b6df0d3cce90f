"""Named real programs (``corpus/external.toml``) and the user's own settings for them.

Each entry names a Go main package at a pinned version (the newest release the
module proxy served when it was pinned), how upstream makes its debug build,
and what dwarfdiag needs to build it from the proxy: build tags, and for
Kubernetes the staging modules to replace with their releases. A user's
``$XDG_CONFIG_HOME/dwarfdiag/targets.toml`` may add entries or override
fields, above all ``binary = "PATH"`` to use a binary built elsewhere.
"""

from __future__ import annotations

import os
import tomllib
from dataclasses import dataclass, fields
from pathlib import Path

from dwarfdiag.corpus.catalogue import corpus_dir
from dwarfdiag.errors import BadInputError


@dataclass(frozen=True)
class NamedTarget:
    name: str
    description: str
    package: str  # the main package's import path, e.g. k8s.io/kubernetes/cmd/kubeadm
    version: str  # the module version, e.g. v1.37.2
    module: str = ""  # the module path, when the package path does not say it
    repository: str = ""
    upstream_debug: str = ""  # how upstream makes its debug build ("make kubeadm DBG=1")
    tags: tuple[str, ...] = ()  # build tags (go build -tags)
    # Kubernetes: the module's go.mod points its staging modules at ./staging/...,
    # which a module download lacks; replace each with its v0.Y.Z release
    replace_staging: bool = False
    binary: str = ""  # a binary built elsewhere: use it instead of building
    notes: str = ""

    @property
    def spec(self) -> str:
        return f"{self.package}@{self.version}"


def user_config() -> Path:
    base = os.environ.get("XDG_CONFIG_HOME") or str(Path.home() / ".config")
    return Path(base) / "dwarfdiag" / "targets.toml"


def _read(path: Path) -> dict:
    if not path.exists():
        return {}
    try:
        data = tomllib.loads(path.read_text())
    except (OSError, UnicodeDecodeError, tomllib.TOMLDecodeError) as e:
        raise BadInputError(f"{path}: not readable TOML ({e})") from None
    if not all(isinstance(v, dict) for v in data.values()):
        raise BadInputError(f"{path}: every entry must be a [name] table")
    return data


def load_named() -> dict[str, NamedTarget]:
    """corpus/external.toml, with the user's targets.toml on top."""
    merged: dict[str, dict] = {}
    for source in (corpus_dir() / "external.toml", user_config()):
        for name, entry in _read(source).items():
            merged.setdefault(name, {}).update(entry)
    known = {f.name for f in fields(NamedTarget)}
    out = {}
    for name, entry in merged.items():
        unknown = sorted(set(entry) - known)
        if unknown:
            raise BadInputError(f"targets: [{name}] has unknown keys {', '.join(unknown)}; "
                                f"known: {', '.join(sorted(known - {'name'}))}")
        if "binary" not in entry and ("package" not in entry or "version" not in entry):
            raise BadInputError(f"targets: [{name}] needs package and version (or a binary)")
        values = {k: tuple(v) if k == "tags" else v for k, v in entry.items()}
        values.setdefault("description", name)
        values.setdefault("package", "")
        values.setdefault("version", "")
        out[name] = NamedTarget(name=name, **values)
    return out

