"""Fetch Debian packages from any suite without touching the system's apt.

Newer pahole, libbpf and gccgo live in Debian trixie and sid, whose libc is
newer than Debian 12's. Installing them would upgrade the machine's libc, so
instead we run ``apt-get download`` against a *private* sources list, state
directory and archive cache, and unpack the ``.deb`` files with ``dpkg -x``
into a directory of our own. Nothing under ``/etc/apt`` or ``/var/lib/dpkg``
is read for sources or written (docs/facts.md, "Toolchains and where they come from").

Programs unpacked this way run through the unpacked dynamic loader with an
explicit library path (see :func:`loader_argv`), which is how a sid pahole
runs on a bookworm machine.
"""

from __future__ import annotations

import re
import shutil
import subprocess
from dataclasses import dataclass
from pathlib import Path
from typing import Iterable, NamedTuple

from dwarfdiag.cache import cache_dir
from dwarfdiag.errors import ToolchainError
from dwarfdiag.toolchains.run import run_tool

MIRROR = "http://deb.debian.org/debian"
KEYRING = "/usr/share/keyrings/debian-archive-keyring.gpg"
MULTIARCH = "x86_64-linux-gnu"


@dataclass(frozen=True)
class PrivateApt:
    """An apt configuration that lives entirely under ``state`` for one suite."""

    suite: str
    state: Path

    def _options(self) -> list[str]:
        return [
            "-o", f"Dir::Etc::sourcelist={self.state / 'sources.list'}",
            "-o", "Dir::Etc::sourceparts=/dev/null",
            # resolve against the suite alone, not against what this machine has installed
            "-o", "Dir::State::status=/dev/null",
            "-o", f"Dir::State::Lists={self.state / 'lists'}",
            "-o", f"Dir::Cache={self.state / 'cache'}",
            "-o", "Debug::NoLocking=1",
            # apt drops privileges to _apt for downloads; our private dirs are root's
            "-o", "APT::Sandbox::User=root",
            "-o", "Acquire::Retries=2",
            "-q",
        ]

    def _run(self, argv: list[str], cwd: Path | None = None,
             tool: str = "apt-get") -> subprocess.CompletedProcess:
        if shutil.which(tool) is None:
            raise ToolchainError(f"{tool} not found; dwarfdiag fetches toolchains from "
                                 f"Debian's archive and needs a Debian system")
        return run_tool([tool, *self._options(), *argv], 900, cwd=cwd)

    def update(self) -> None:
        """Fetch the suite's package lists into the private state directory."""
        for sub in ("lists/partial", "cache/archives/partial"):
            (self.state / sub).mkdir(parents=True, exist_ok=True)
        (self.state / "sources.list").write_text(
            f"deb [signed-by={KEYRING}] {MIRROR} {self.suite} main\n")
        proc = self._run(["update"])
        failed = [ln for ln in (proc.stdout + proc.stderr).splitlines()
                  if ln.startswith(("Err:", "E:"))]
        if proc.returncode != 0 or failed:
            reason = failed[0] if failed else proc.stderr.strip().splitlines()[-1:]
            raise ToolchainError(f"cannot read Debian {self.suite} package lists from "
                                 f"{MIRROR} ({reason}); check the network")

    def closure(self, packages: list[str]) -> list[str]:
        """``packages`` and everything they depend on (Depends and Pre-Depends), by name."""
        proc = self._run(["depends", "--recurse", "--no-recommends", "--no-suggests",
                          "--no-conflicts", "--no-breaks", "--no-replaces", "--no-enhances",
                          *packages], tool="apt-cache")
        if proc.returncode != 0:
            missing = re.findall(r"No packages found|Unable to locate package (\S+)", proc.stderr)
            raise ToolchainError(f"Debian {self.suite} has no package "
                                 f"{', '.join(m for m in missing if m) or ', '.join(packages)}; "
                                 f"the toolchain's package list needs updating")
        # top-level lines are real packages; "<name>" lines are virtual ones
        names = {ln.strip() for ln in proc.stdout.splitlines()
                 if ln and not ln.startswith((" ", "<"))}
        return sorted(names)

    def download(self, packages: list[str], dest: Path) -> list[Path]:
        """Download ``packages`` (names, no dependency resolution) into ``dest``."""
        dest.mkdir(parents=True, exist_ok=True)
        proc = self._run(["download", *packages], cwd=dest)
        if proc.returncode != 0:
            text = proc.stdout + proc.stderr
            missing = re.findall(r"Unable to locate package (\S+)", text)
            if missing:
                raise ToolchainError(f"Debian {self.suite} has no package {', '.join(missing)}; "
                                     f"the toolchain's package list needs updating")
            last = text.strip().splitlines()[-1] if text.strip() else "no output"
            raise ToolchainError(f"cannot download {', '.join(packages)} from Debian "
                                 f"{self.suite}: {last}")
        return sorted(dest.glob("*.deb"))


class Deb(NamedTuple):
    package: str
    version: str  # Debian version, e.g. "1:1.5.0-3"
    path: Path


def _deb_field(deb: Path, field: str) -> str:
    proc = run_tool(["dpkg-deb", "-f", str(deb), field], 120)
    if proc.returncode != 0:
        raise ToolchainError(f"{deb} is not a valid Debian package: {proc.stderr.strip()}")
    return proc.stdout.strip()


def fetch(suite: str, roots: list[str], dest: Path) -> dict[str, Deb]:
    """Download ``roots`` and their dependency closure from ``suite`` into ``dest``.

    The suite's package lists live in ``<cache>/apt/<suite>``, shared by every
    toolchain fetched from it. Returns package name -> :class:`Deb`.
    """
    apt = PrivateApt(suite, cache_dir("apt", suite))
    apt.update()
    debs = apt.download(apt.closure(roots), dest)
    return {d.package: d for d in (Deb(_deb_field(p, "Package"), _deb_field(p, "Version"), p)
                                   for p in debs)}


def upstream_version(debian_version: str) -> str:
    """``1:1.5.0-3`` -> ``1.5.0``; ``14.2.0-19`` -> ``14.2.0``."""
    return debian_version.split(":", 1)[-1].rsplit("-", 1)[0]


def unpack(debs: Iterable[Deb], root: Path) -> None:
    """``dpkg -x`` each package into ``root``."""
    root.mkdir(parents=True, exist_ok=True)
    for deb in debs:
        proc = run_tool(["dpkg", "-x", str(deb.path), str(root)], 600)
        if proc.returncode != 0:
            raise ToolchainError(f"cannot unpack {deb.path.name}: {proc.stderr.strip()}")


def library_dirs(root: Path) -> list[Path]:
    """Library directories of an unpacked root (bookworm is not yet merged-/usr)."""
    return [d for d in (root / "usr/lib" / MULTIARCH, root / "lib" / MULTIARCH,
                        root / "usr/lib", root / "lib") if d.is_dir()]


def find_loader(root: Path) -> Path:
    for d in library_dirs(root) + [root / "lib64", root / "usr/lib64"]:
        loader = d / "ld-linux-x86-64.so.2"
        if loader.exists():
            return loader
    raise ToolchainError(f"no ld-linux-x86-64.so.2 under {root}; the libc6 package is missing "
                         f"from the unpacked toolchain (reinstall it)")


def loader_prefix(root: Path) -> list[str]:
    """The unpacked loader and its ``--library-path``: put a program of ``root`` after it."""
    libs = ":".join(str(d) for d in library_dirs(root))
    return [str(find_loader(root)), "--library-path", libs]


def loader_argv(root: Path, program: Path) -> list[str]:
    """The argv that runs ``program`` against the libraries unpacked in ``root``."""
    return [*loader_prefix(root), str(program)]
