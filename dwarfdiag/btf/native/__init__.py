"""Small C programs that dwarfdiag builds on demand with the system compiler.

``capture_dedup.c`` is an LD_PRELOAD interposer of ``btf__dedup`` that saves
pahole's BTF just before dedup; ``dedup_helper.c`` runs ``btf__dedup`` of
whatever libbpf it is started against. Neither links libbpf: both look it up
at run time, so one build serves the system libbpf and the unpacked newer
ones. Builds are cached under ``<cache>/native/`` keyed by the source hash,
each with the SHA-256 of what was built, checked before every use: a damaged
helper is built again rather than blamed on the user's input.
"""

from __future__ import annotations

import hashlib
import os
import shutil
from importlib import resources
from pathlib import Path

from dwarfdiag.cache import cache_dir
from dwarfdiag.errors import ToolchainError
from dwarfdiag.toolchains.run import run_tool

CAPTURE = "capture_dedup"
DEDUP_HELPER = "dedup_helper"
_SHARED = {CAPTURE: True, DEDUP_HELPER: False}


def build(name: str) -> Path:
    """Path of the compiled ``name`` (a .so for the interposer), building it if needed."""
    source = resources.files(__package__).joinpath(f"{name}.c").read_bytes()
    digest = hashlib.sha256(source).hexdigest()[:16]
    shared = _SHARED[name]
    out = cache_dir("native") / (f"{name}-{digest}.so" if shared else f"{name}-{digest}")
    check = out.with_name(out.name + ".sha256")  # what we built, to verify before each use
    try:
        if out.exists() and check.read_text() == _sha256(out):
            return out
    except OSError:
        pass  # a missing or unreadable record: build again
    cc = shutil.which(os.environ.get("CC", "cc")) or shutil.which("gcc")
    if cc is None:
        raise ToolchainError(f"no C compiler to build dwarfdiag's {name} helper; install one "
                             f"with 'apt-get install gcc'")
    src = out.with_suffix(".c") if not shared else out.with_name(f"{name}-{digest}.c")
    src.write_bytes(source)
    tmp = out.with_name(out.name + f".{os.getpid()}.tmp")
    argv = [cc, "-O2", "-Wall", "-o", str(tmp), str(src)]
    if shared:
        argv[1:1] = ["-shared", "-fPIC"]
    argv.append("-ldl")
    proc = run_tool(argv, 300)
    if proc.returncode != 0:
        raise ToolchainError(f"building {name} with {cc} failed: {proc.stderr.strip()[:500]}")
    check.write_text(_sha256(tmp))
    tmp.replace(out)
    return out


def _sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()
