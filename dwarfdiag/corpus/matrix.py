"""The matrix: every corpus build run through every pahole/libbpf toolchain.

A cell is one binary (program x compiler x profile) encoded by one toolchain
with ``pahole --btf_encode_detached``, exactly as users run it. It records
pass or fail, pahole's own error lines and ``not handled`` warnings per DWARF
tag, the number of BTF types when pahole succeeds (read back with our reader)
and pahole's wall time. Builds a compiler cannot make are carried through as
``unsupported`` cells, not errors.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from pathlib import Path
from typing import Callable

from dwarfdiag.btf.raw import parse_btf
from dwarfdiag.findings.matrix import Build, Cell, MatrixRecord
from dwarfdiag.findings.schema import to_json
from dwarfdiag.toolchains.pahole import encode_detached
from dwarfdiag.toolchains.suites import Toolchain

@dataclass
class Matrix:
    """The matrix as it ran, with the live toolchains (their argv is needed to
    capture pahole's BTF again); :meth:`record` is what gets saved."""

    cells: list[Cell]
    toolchains: list[Toolchain]
    builds: list[Build]
    seconds: float

    def record(self) -> MatrixRecord:
        return MatrixRecord(round(self.seconds, 1), [t.record() for t in self.toolchains],
                            list(self.builds), list(self.cells))

    def counts(self) -> dict[str, dict[str, int]]:
        """Outcome counts per toolchain."""
        return self.record().counts

    def write(self, path: Path) -> Path:
        from dwarfdiag.cache import atomic_write

        atomic_write(path, to_json(self.record()).encode())
        return path


def run_cell(b: Build, tc: Toolchain) -> Cell:
    where = (b.program, b.level, b.compiler, b.profile, tc.name)
    if b.status != "built":
        return Cell(*where, outcome="unsupported" if b.status == "unsupported" else "build-failed",
                    note=b.message.splitlines()[0] if b.message else "")
    assert b.dwarf_file is not None
    run = encode_detached(tc.pahole_argv(), Path(b.dwarf_file))  # pahole reads the DWARF
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
