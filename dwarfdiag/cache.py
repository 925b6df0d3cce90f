"""Where dwarfdiag keeps what it builds and downloads: never inside git.

``$DWARFDIAG_CACHE`` overrides the default ``$XDG_CACHE_HOME/dwarfdiag``
(``~/.cache/dwarfdiag``). Entries are keyed by content, never by path
alone: a corpus build by its source hash, compiler, compiler version and
flags (see :mod:`dwarfdiag.corpus.build`).
"""

from __future__ import annotations

import os
from pathlib import Path


def cache_root() -> Path:
    env = os.environ.get("DWARFDIAG_CACHE")
    if env:
        root = Path(env)
    else:
        xdg = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
        root = Path(xdg) / "dwarfdiag"
    root.mkdir(parents=True, exist_ok=True)
    return root


def cache_dir(*parts: str) -> Path:
    d = cache_root().joinpath(*parts)
    d.mkdir(parents=True, exist_ok=True)
    return d


def atomic_write(path: Path, data: bytes) -> None:
    """Write ``data`` to ``path`` through a private temporary name and a rename,
    so a reader never sees half a file, even when the writer is killed."""
    path = Path(path)
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    try:
        tmp.write_bytes(data)
        os.replace(tmp, path)
    finally:
        if tmp.exists():
            tmp.unlink()
