"""An investigation: the matrix, every failure explained, diffs and bisects (``findings.json``)."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, ClassVar

from dwarfdiag.findings.bisect import BisectReport
from dwarfdiag.findings.check import CheckSummary
from dwarfdiag.findings.diff import DiffSummary
from dwarfdiag.findings.explain import Explanation, Failure
from dwarfdiag.findings.matrix import MatrixRecord, ToolRecord
from dwarfdiag.findings.parity import ParityReport
from dwarfdiag.findings.schema import Document


@dataclass
class CellDiagnosis:
    """Why one build fails (or encodes) under one toolchain."""

    real: str  # pahole's own outcome (a matrix outcome)
    variant: str  # the libbpf variant the replay ran, the toolchain's libbpf
    predicted: str  # "fails" or "encodes": the replay on a faithful encoding
    agrees: bool
    failure: Failure | None = None  # the replay's first failure, when it reproduces pahole's
    hidden: list[Failure] = field(default_factory=list)  # further independent failures
    hidden_count: int = 0  # all of them, also those not kept in ``hidden``
    trace: list[Any] = field(default_factory=list)  # replay events before the failure
    check: CheckSummary | None = None  # pahole's own BTF checked, in every failing cell


@dataclass
class BuildDiagnosis:
    program: str
    compiler: str
    profile: str
    binary: str
    types: int  # BTF types of our faithful encoding
    cells: dict[str, CellDiagnosis] = field(default_factory=dict)  # toolchain -> diagnosis


@dataclass
class BisectEntry:
    program: str
    compiler: str
    toolchain: str  # the toolchain whose failure was bisected ("" when unknown)
    report: BisectReport


@dataclass
class Findings(Document):
    KIND: ClassVar[str] = "findings"

    title: str
    dwarfdiag: str  # the version that wrote it
    generated: str = ""  # ISO 8601, UTC
    command: str = ""  # the command line that produced it
    seconds: float = 0.0
    tools: list[ToolRecord] = field(default_factory=list)
    matrix: MatrixRecord | None = None
    diagnosis: list[BuildDiagnosis] = field(default_factory=list)
    diffs: list[DiffSummary] = field(default_factory=list)
    bisects: list[BisectEntry] = field(default_factory=list)
    explanations: list[Explanation] = field(default_factory=list)
    parity: list[ParityReport] = field(default_factory=list)  # our final BTF vs pahole's
    commands: list[str] = field(default_factory=list)  # what reproduces every number
