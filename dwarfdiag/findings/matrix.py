"""Builds, toolchains and the matrix of pahole runs: ``dwarfdiag corpus matrix --json``."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import ClassVar

from dwarfdiag.findings.schema import Document

OUTCOMES = ("encodes", "fails", "unsupported", "build-failed")


@dataclass
class ToolRecord:
    """An outside tool found on the machine, with the version it reports."""

    name: str
    path: str | None
    version: str | None
    install_hint: str = ""


@dataclass
class ToolchainRecord:
    """A pahole + libbpf toolchain as it ran: exact versions and the command."""

    name: str
    pahole_version: str
    libbpf_version: str
    root: str | None = None  # unpacked root; None for the system's pahole
    pahole: str = ""
    packages: dict[str, str] = field(default_factory=dict)  # Debian package -> version
    pahole_argv: list[str] = field(default_factory=list)


@dataclass
class DwarfStats:
    """What a binary's DWARF is made of (the fast reader counts it while loading)."""

    versions: list[int]  # distinct unit versions, ascending
    compressed: bool  # SHF_COMPRESSED or the old .zdebug_* sections
    cu_count: int
    die_count: int
    dies_by_tag: dict[str, int] = field(default_factory=dict)
    producers: list[str] = field(default_factory=list)


@dataclass(frozen=True)
class Build:
    """One program built by one compiler in one profile (or why it was not)."""

    program: str
    level: int
    compiler: str  # label, e.g. "gc-1.27.3"
    family: str  # "gc" or "gccgo"
    compiler_version: str
    profile: str  # "debug" or "opt"
    flags: tuple[str, ...]
    status: str  # "built", "unsupported", "failed"
    binary: str | None = None  # the program's binary; None unless built
    message: str = ""
    source_hash: str = ""
    build_ids: dict[str, str] = field(default_factory=dict)
    dwarf: DwarfStats | None = None
    size: int | None = None
    seconds: float | None = None
    module: str | None = None  # PACKAGE@VERSION of a real program built from the module proxy
    debug_file: str | None = None  # where its DWARF is, when not in the binary itself
    types_from: str = "dwarf"  # or "runtime": no DWARF, its runtime type descriptors
    # import path -> "DIRECTORY<TAB>how to show it", where go list found each package
    # of a module target (the report's source links)
    packages: dict[str, str] = field(default_factory=dict)

    @property
    def dwarf_file(self) -> str | None:
        """The file to read the DWARF from (what pahole reads)."""
        return self.debug_file or self.binary


@dataclass
class Cell:
    """One binary run through one toolchain's ``pahole --btf_encode_detached``."""

    program: str
    level: int
    compiler: str
    profile: str
    toolchain: str
    outcome: str  # one of OUTCOMES
    binary: str | None = None
    returncode: int | None = None
    error_lines: list[str] = field(default_factory=list)
    not_handled: dict[str, int] = field(default_factory=dict)  # pahole's warnings per DW_TAG
    btf_types: int | None = None
    wall_seconds: float | None = None
    note: str = ""  # why a build is unsupported or failed

    @property
    def row(self) -> tuple[int, str, str, str]:
        return (self.level, self.program, self.compiler, self.profile)

    @property
    def verdict_line(self) -> str:
        """pahole's own verdict, e.g. ``btf__dedup failed!``."""
        failed = [ln for ln in self.error_lines if "failed" in ln.lower()]
        line = failed[0] if failed else (self.error_lines[0] if self.error_lines else "")
        return line.split(": ", 1)[-1]


@dataclass
class MatrixRecord(Document):
    KIND: ClassVar[str] = "matrix"

    seconds: float
    toolchains: list[ToolchainRecord]
    builds: list[Build]
    cells: list[Cell]

    JSON_EXTRA: ClassVar[tuple[str, ...]] = ("counts",)

    @property
    def counts(self) -> dict[str, dict[str, int]]:
        """Outcome counts per toolchain, every outcome present."""
        out = {t.name: {o: 0 for o in OUTCOMES} for t in self.toolchains}
        for c in self.cells:
            out.setdefault(c.toolchain, {o: 0 for o in OUTCOMES})
            out[c.toolchain][c.outcome] = out[c.toolchain].get(c.outcome, 0) + 1
        return out
