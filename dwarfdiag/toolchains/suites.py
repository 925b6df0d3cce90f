"""pahole + libbpf toolchains, named after the Debian suite they come from.

A toolchain is data: its name, the Debian suite and packages it is made of,
and, once installed, the exact package versions and the argv that runs its
pahole. ``bookworm`` (pahole 1.24 + libbpf 1.1), ``trixie`` (1.30 + 1.5) and
``sid`` (whatever sid carries on the day of the install; 1.32 + 1.7 in
November 2026) are fetched with :mod:`dwarfdiag.toolchains.debian` and unpacked
into ``<cache>/toolchains/<name>-pahole<V>-libbpf<V>/``; they always run
through their own unpacked loader, so the machine's libc never matters.
``system`` is the pahole on ``$PATH``, used as it is.
"""

from __future__ import annotations

import re
import shutil
import tempfile
from dataclasses import dataclass
from pathlib import Path

from dwarfdiag.cache import atomic_write, cache_dir
from dwarfdiag.toolchains import debian
from dwarfdiag.errors import NotFoundError, ToolchainError
from dwarfdiag.findings.matrix import ToolchainRecord
from dwarfdiag.findings.schema import read_record, to_json
from dwarfdiag.toolchains.run import run_tool

@dataclass(frozen=True)
class ToolchainSpec:
    name: str
    suite: str
    packages: tuple[str, ...]  # roots; their dependency closure is fetched too
    summary: str  # what the suite carried when the spec was written


SPECS: dict[str, ToolchainSpec] = {
    s.name: s for s in (
        ToolchainSpec("bookworm", "bookworm", ("pahole",),
                      "Debian 12: pahole 1.24 + libbpf 1.1"),
        ToolchainSpec("trixie", "trixie", ("pahole",),
                      "Debian 13: pahole 1.30 + libbpf 1.5"),
        # and the newest bpftool, to check that what dwarfdiag writes dumps as C there too
        ToolchainSpec("sid", "sid", ("pahole", "bpftool"),
                      "Debian unstable: pahole 1.32 + libbpf 1.7, bpftool 7.8 (as of 2026-12)"),
    )
}
SYSTEM = "system"


@dataclass(frozen=True)
class Toolchain:
    """An installed pahole + libbpf pair and how to run it."""

    name: str
    pahole_version: str
    libbpf_version: str
    root: str | None  # unpacked root, None for the system toolchain
    pahole: str  # the pahole executable
    packages: dict[str, str]  # Debian package -> version ({} for system)
    bpftool: str | None = None  # the suite's own bpftool, where the toolchain has one

    def pahole_argv(self) -> list[str]:
        if self.root is None:
            return [self.pahole]
        return debian.loader_argv(Path(self.root), Path(self.pahole))

    def bpftool_argv(self) -> list[str] | None:
        """How to run this toolchain's bpftool (through its unpacked loader); None
        when it has none."""
        if self.bpftool is None or self.root is None:
            return None
        return debian.loader_argv(Path(self.root), Path(self.bpftool))

    def identity(self) -> str | None:
        """What makes two runs of this pahole give the same BTF: for an unpacked
        toolchain, the version of every package of its closure (pahole, libdw,
        libelf, libbpf, ...) and the pahole executable's bytes; for the system's
        pahole, whose libraries apt may change under it, the bytes of pahole and of
        every library the loader finds for it now (:func:`linked_identity`). None
        when that cannot be told: its runs are not cached."""
        if self.root is None:
            return linked_identity(self.pahole)
        if not self.packages:
            return None
        import hashlib

        digest = hashlib.sha256(Path(self.pahole).read_bytes()).hexdigest()
        return f"{self.name}:{sorted(self.packages.items())}:{digest}"

    @property
    def label(self) -> str:
        return f"{self.name} (pahole {self.pahole_version}, libbpf {self.libbpf_version})"

    def record(self) -> ToolchainRecord:
        return ToolchainRecord(self.name, self.pahole_version, self.libbpf_version, self.root,
                               self.pahole, dict(self.packages), self.pahole_argv())


def linked_identity(executable: str) -> str | None:
    """A digest of an executable's bytes and of every shared library the dynamic
    loader resolves for it (as ``ldd`` reports them, under this environment), so
    that an upgraded libbpf or libdw is a new identity. None for anything ``ldd``
    cannot resolve (a script, a missing library, no ldd)."""
    import hashlib

    executable = shutil.which(executable) or executable
    try:
        proc = run_tool(["ldd", executable], 30)
    except (OSError, ToolchainError):
        return None
    if proc.returncode != 0:
        return None
    files = [executable]
    for line in proc.stdout.splitlines():
        path = line.split("=>", 1)[-1].strip().split(" (", 1)[0].strip()
        if "not found" in line:
            return None
        if path.startswith("/"):
            files.append(path)
    digest = hashlib.sha256()
    try:
        for path in files:
            digest.update(path.encode() + b"\0" + hashlib.sha256(Path(path).read_bytes()).digest())
    except OSError:
        return None
    return f"linked:{digest.hexdigest()}"


def _index_path(name: str) -> Path:
    return cache_dir("toolchains") / f"{name}.json"


def installed(name: str) -> Toolchain | None:
    """The toolchain called ``name`` if it is installed (system: if pahole is on PATH)."""
    if name == SYSTEM:
        return _system_toolchain()
    if name not in SPECS:
        raise NotFoundError(f"no toolchain named {name!r}; known: "
                            f"{', '.join([*SPECS, SYSTEM])}")
    tc = read_record(Toolchain, _index_path(name))
    if tc is None or not Path(tc.pahole).exists():
        return None  # never installed, cleaned behind our back, or a damaged index
    if any(package not in tc.packages for package in SPECS[name].packages):
        return None  # installed before the spec named another package
    return tc


def require(name: str) -> Toolchain:
    """An installed toolchain, or an error saying how to install it."""
    tc = installed(name)
    if tc is None:
        if name == SYSTEM:
            system_pahole()  # says how to install it
        raise ToolchainError(f"toolchain {name} is not installed; run: "
                             f"dwarfdiag toolchains install {name}")
    return tc


def ensure(name: str) -> Toolchain:
    """The toolchain ``name``, installing it first if needed."""
    return installed(name) or install(name)


def install(name: str, force: bool = False) -> Toolchain:
    """Download and unpack toolchain ``name`` into the cache; idempotent."""
    if name == SYSTEM:
        return require(SYSTEM)
    spec = SPECS.get(name)
    if spec is None:
        raise NotFoundError(f"no toolchain named {name!r}; known: {', '.join(SPECS)}")
    if not force and (tc := installed(name)) is not None:
        return tc
    with tempfile.TemporaryDirectory(dir=cache_dir("toolchains")) as tmp:
        debs = debian.fetch(spec.suite, list(spec.packages), Path(tmp) / "debs")
        pahole_v = debian.upstream_version(debs["pahole"].version)
        libbpf_v = debian.upstream_version(debs["libbpf1"].version)
        root = cache_dir("toolchains") / f"{name}-pahole{pahole_v}-libbpf{libbpf_v}"
        if root.exists():
            shutil.rmtree(root)
        staging = Path(tmp) / "root"
        debian.unpack(debs.values(), staging)
        staging.rename(root)
    versions = {d.package: d.version for d in debs.values()}
    bpftool = root / "usr/sbin/bpftool"
    tc = Toolchain(name, pahole_v, libbpf_v, str(root), str(root / "usr/bin/pahole"), versions,
                   str(bpftool) if bpftool.exists() else None)
    _check_runs(tc)
    atomic_write(_index_path(name), to_json(tc).encode())
    return tc


def _check_runs(tc: Toolchain) -> None:
    """Run ``pahole --version`` through the loader: a missing library shows up here."""
    proc = run_tool([*tc.pahole_argv(), "--version"], 60)
    said = (proc.stdout + proc.stderr).strip()
    if proc.returncode != 0 or tc.pahole_version not in said:
        raise ToolchainError(f"the unpacked pahole of {tc.name} does not run ({said[-200:]}); "
                             f"a library may be missing from the package list")


def _system_toolchain() -> Toolchain | None:
    from dwarfdiag.toolchains.tools import find_libbpf, find_pahole

    pahole = find_pahole()
    if not pahole.path:
        return None
    libbpf = find_libbpf()
    return Toolchain(SYSTEM, pahole.version or "?", libbpf.version or "?", None,
                     pahole.path, {})


def all_names() -> list[str]:
    return [*SPECS, SYSTEM]


def parse_names(text: str) -> list[str]:
    """``"bookworm, sid"`` -> ``["bookworm", "sid"]``, rejecting unknown names."""
    names = [n.strip() for n in re.split(r"[,\s]+", text) if n.strip()]
    unknown = [n for n in names if n not in all_names()]
    if unknown:
        raise NotFoundError(f"unknown toolchain {', '.join(unknown)}; known: "
                            f"{', '.join(all_names())}")
    return names


def system_pahole() -> str:
    """The path of the pahole on PATH, or the error saying how to install it (without
    running it: :func:`require` asks its version too)."""
    path = shutil.which("pahole")
    if path is None:
        raise ToolchainError("no pahole on PATH; install it with: apt-get install dwarves")
    return path


def one_pahole(pahole: str | None, toolchain: str | None) -> None:
    """``--pahole PATH`` and ``--toolchain NAME`` each choose a pahole: not both."""
    if pahole and toolchain:
        raise ToolchainError("give either --pahole or --toolchain, not both")


def pahole_command(pahole: str | None, toolchain: str | None) -> tuple[list[str], str]:
    """The argv that runs the chosen pahole, and a label naming its versions."""
    one_pahole(pahole, toolchain)
    if pahole:
        return [pahole], pahole
    tc = require(toolchain or SYSTEM)
    return tc.pahole_argv(), tc.label
