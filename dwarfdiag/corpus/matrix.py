"""The matrix: every corpus build run through every pahole/libbpf toolchain.

A cell is one binary (program x compiler x profile) encoded by one toolchain
with ``pahole --btf_encode_detached``, exactly as users run it. It records
pass or fail, pahole's own error lines and ``not handled`` warnings per DWARF
tag, the number of BTF types when pahole succeeds (read back with our reader)
and pahole's wall time. Builds a compiler cannot make are carried through as
``unsupported`` cells, not errors.
"""

from __future__ import annotations

import json
import time
from collections import Counter
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Callable

from dwarfdiag import __version__
from dwarfdiag.toolchains.pahole import encode_detached
from dwarfdiag.btf.raw import parse_btf
from dwarfdiag.toolchains.suites import Toolchain
from dwarfdiag.corpus.build import Build

OUTCOMES = ("encodes", "fails", "unsupported", "build-failed")


@dataclass
class Cell:
    program: str
    level: int
    compiler: str
    profile: str
    toolchain: str
    outcome: str  # one of OUTCOMES
    binary: str | None = None
    returncode: int | None = None
    error_lines: list[str] = field(default_factory=list)
    not_handled: dict[str, int] = field(default_factory=dict)
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
class Matrix:
    cells: list[Cell]
    toolchains: list[Toolchain]
    builds: list[Build]
    seconds: float

    def counts(self) -> dict[str, Counter]:
        """Outcome counts per toolchain."""
        out: dict[str, Counter] = {t.name: Counter() for t in self.toolchains}
        for c in self.cells:
            out[c.toolchain][c.outcome] += 1
        return out

    def as_dict(self) -> dict:
        return {
            "dwarfdiag": __version__,
            "seconds": round(self.seconds, 1),
            "toolchains": [t.as_dict() for t in self.toolchains],
            "builds": [b.as_dict() for b in self.builds],
            "cells": [asdict(c) for c in self.cells],
            "counts": {name: dict(c) for name, c in self.counts().items()},
        }

    def write(self, path: Path) -> Path:
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(json.dumps(self.as_dict(), indent=2) + "\n")
        return path


def run_cell(b: Build, tc: Toolchain) -> Cell:
    where = (b.program, b.level, b.compiler, b.profile, tc.name)
    if b.status != "built":
        return Cell(*where, outcome="unsupported" if b.status == "unsupported" else "build-failed",
                    note=b.message.splitlines()[0] if b.message else "")
    assert b.binary is not None
    run = encode_detached(tc.pahole_argv(), Path(b.binary))
    return Cell(*where, outcome="encodes" if run.encoded else "fails", binary=b.binary,
                returncode=run.returncode, error_lines=list(run.error_lines),
                not_handled=run.not_handled, wall_seconds=round(run.wall_seconds, 3),
                btf_types=len(parse_btf(run.btf).types) if run.btf is not None else None)


def run_matrix(builds: list[Build], toolchains: list[Toolchain],
               on_cell: Callable[[Cell], None] | None = None) -> Matrix:
    start = time.perf_counter()
    cells = []
    for b in builds:
        for tc in toolchains:
            cell = run_cell(b, tc)
            cells.append(cell)
            if on_cell:
                on_cell(cell)
    return Matrix(cells, toolchains, builds, time.perf_counter() - start)


def render_table(matrix: Matrix):
    """A rich Table: one row per binary, one column per toolchain."""
    from rich.table import Table

    table = Table(title="pahole --btf_encode_detached: program x compiler x toolchain")
    for col in ("lvl", "program", "compiler", "profile"):
        table.add_column(col, no_wrap=True)
    for tc in matrix.toolchains:
        table.add_column(f"{tc.name}\n{tc.pahole_version}/{tc.libbpf_version}", no_wrap=True)
    rows: dict[tuple, dict[str, Cell]] = {}
    for c in matrix.cells:
        rows.setdefault(c.row, {})[c.toolchain] = c
    style = {"encodes": "green", "fails": "bold red", "unsupported": "dim",
             "build-failed": "yellow"}
    for (level, program, compiler, profile), by_tc in rows.items():
        texts = []
        for tc in matrix.toolchains:
            c = by_tc[tc.name]
            text = {"encodes": f"ok {c.btf_types}", "fails": "FAILS"}.get(c.outcome, c.outcome)
            texts.append(f"[{style[c.outcome]}]{text}[/]")
        table.add_row(str(level), program, compiler, profile, *texts)
    return table
