"""The one-command investigation over the built-in corpus.

For every corpus program and compiler: build it (cached), run the system's
pahole BTF encoder on it, and record the verdict, pahole's own messages and,
when pahole succeeds, what the resulting BTF holds (read back with our
reader). Results go to ``findings.json`` in the report directory, with the
exact tool versions, and a short verdict is printed.

Later stages (dedup replay, diff, bisect, the HTML report) plug their results
into the same findings.
"""

from __future__ import annotations

import json
import time
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

from rich.console import Console
from rich.progress import Progress

from dwarfdiag import __version__
from dwarfdiag.btf.pahole import encode_detached
from dwarfdiag.btf.raw import parse_btf
from dwarfdiag.corpus.build import build
from dwarfdiag.corpus.catalogue import select_programs
from dwarfdiag.corpus.toolchains import detect_tools, find_pahole


@dataclass
class Cell:
    """One program built by one compiler and run through pahole."""

    program: str
    level: int
    compiler: str
    build: dict
    pahole: dict | None = None
    btf_types: int | None = None
    btf_kinds: dict[str, int] = field(default_factory=dict)

    @property
    def outcome(self) -> str:
        if self.build["status"] != "built":
            return self.build["status"]
        assert self.pahole is not None
        return "encodes" if self.pahole["encoded"] else "fails"


@dataclass
class Investigation:
    cells: list[Cell]
    tools: list[dict]
    out_dir: Path
    seconds: float

    def verdict_lines(self) -> list[str]:
        pahole = next((t for t in self.tools if t["name"] == "pahole"), {})
        libbpf = next((t for t in self.tools if t["name"] == "libbpf"), {})
        counts = Counter((c.compiler, c.outcome) for c in self.cells)
        failing = sorted({f"{c.program}/{c.compiler}" for c in self.cells if c.outcome == "fails"})
        per_compiler = "; ".join(
            f"{comp}: " + ", ".join(f"{n} {outcome}" for (cc, outcome), n in sorted(counts.items())
                                    if cc == comp)
            for comp in sorted({c.compiler for c in self.cells}))
        return [
            f"pahole {pahole.get('version')} + libbpf {libbpf.get('version')}: {per_compiler}",
            "fails: " + (", ".join(failing) if failing else "none"),
            f"findings: {self.out_dir / 'findings.json'} ({self.seconds:.1f} s)",
        ]

    def as_dict(self) -> dict:
        return {"dwarfdiag": __version__, "tools": self.tools,
                "cells": [{**c.__dict__, "outcome": c.outcome} for c in self.cells]}


def run_investigation(out_dir: Path, compilers: list[str],
                      only: list[str] | None = None) -> Investigation:
    """Run the investigation; ``only`` restricts it to programs with those names."""
    start = time.perf_counter()
    programs = select_programs(only)
    pahole = find_pahole().require()
    tools = [t.as_dict() for t in detect_tools()]
    cells: list[Cell] = []
    console = Console(stderr=True)
    with Progress(console=console, transient=True) as progress:
        task = progress.add_task("investigating", total=len(programs) * len(compilers))
        for program in programs:
            for compiler in compilers:
                progress.update(task, description=f"{program.name} ({compiler})")
                b = build(program, compiler)
                cell = Cell(program.name, program.level, compiler, b.as_dict())
                if b.binary:
                    run = encode_detached(pahole, Path(b.binary))
                    cell.pahole = run.as_dict()
                    if run.btf is not None:
                        btf = parse_btf(run.btf)
                        cell.btf_types = len(btf.types)
                        cell.btf_kinds = dict(Counter(t.kind.name for t in btf.types))
                cells.append(cell)
                progress.advance(task)
    inv = Investigation(cells, tools, out_dir, time.perf_counter() - start)
    out_dir.mkdir(parents=True, exist_ok=True)
    (out_dir / "findings.json").write_text(json.dumps(inv.as_dict(), indent=2) + "\n")
    _print_table(console, inv)
    return inv


def _print_table(console: Console, inv: Investigation) -> None:
    from rich.table import Table

    table = Table(title="pahole --btf_encode_detached on the corpus")
    for col in ("level", "program", "compiler", "outcome", "BTF types", "pahole says"):
        table.add_column(col)
    for c in inv.cells:
        said = ""
        if c.pahole:
            # pahole's verdict line, e.g. "btf_encoder__encode: btf__dedup failed!"
            said = next((ln.split(": ", 1)[-1] for ln in c.pahole["error_lines"]
                         if "failed" in ln), "")
        elif c.build.get("message"):
            said = c.build["message"].splitlines()[0]
        table.add_row(str(c.level), c.program, c.compiler, c.outcome,
                      "" if c.btf_types is None else str(c.btf_types), said)
    console.print(table)
