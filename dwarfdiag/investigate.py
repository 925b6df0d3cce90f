"""The one-command investigation over the built-in corpus.

Build the corpus (cached), install the pahole/libbpf toolchains that are
missing (into the cache, never system-wide), run the matrix of every build
through every toolchain, and write ``findings.json`` with the exact tool
versions. It ends with a three-line verdict.

Later stages (dedup replay, diff, bisect, the HTML report) plug their results
into the same findings.
"""

from __future__ import annotations

import json
import time
from dataclasses import dataclass
from pathlib import Path

from rich.console import Console
from rich.progress import Progress

from dwarfdiag import __version__
from dwarfdiag.corpus import btf_toolchains
from dwarfdiag.corpus.build import build_many
from dwarfdiag.corpus.catalogue import select_programs
from dwarfdiag.corpus.compilers import Compiler
from dwarfdiag.corpus.matrix import Matrix, render_table, run_matrix
from dwarfdiag.corpus.toolchains import detect_tools


@dataclass
class Investigation:
    matrix: Matrix
    tools: list[dict]
    out_dir: Path
    seconds: float

    def verdict_lines(self) -> list[str]:
        per_tc = []
        for tc in self.matrix.toolchains:
            counts = self.matrix.counts()[tc.name]
            per_tc.append(f"{tc.name} (pahole {tc.pahole_version}/libbpf {tc.libbpf_version}) "
                          f"{counts['fails']} fail, {counts['encodes']} encode")
        failing: dict[str, list[str]] = {}
        for c in self.matrix.cells:
            if c.outcome == "fails":
                failing.setdefault(f"{c.program}/{c.compiler}", []).append(c.toolchain)
        newest = self.matrix.toolchains[-1].name if self.matrix.toolchains else ""
        still = sorted(k for k, tcs in failing.items() if newest in tcs)
        return [
            "; ".join(per_tc),
            f"still failing with {newest}: " + (", ".join(still) if still else "none")
            if newest else "no toolchains",
            f"findings: {self.out_dir / 'findings.json'} ({self.seconds:.1f} s)",
        ]

    def as_dict(self) -> dict:
        return {"dwarfdiag": __version__, "tools": self.tools, "matrix": self.matrix.as_dict()}


def run_investigation(out_dir: Path, compilers: list[Compiler], toolchains: list[str],
                      only: list[str] | None = None,
                      levels: set[int] | None = None) -> Investigation:
    """Run the investigation; ``only``/``levels`` restrict it to some programs."""
    start = time.perf_counter()
    console = Console(stderr=True)
    programs = select_programs(only, levels)
    tcs = []
    for name in toolchains:
        if btf_toolchains.installed(name) is None:
            console.print(f"installing toolchain {name} into the cache ...")
        tcs.append(btf_toolchains.ensure(name))
    with Progress(console=console, transient=True) as progress:
        task = progress.add_task("building", total=len(programs) * len(compilers))
        builds = build_many(programs, compilers, on_build=lambda b: progress.update(
            task, advance=1, description=f"built {b.program} ({b.compiler})"))
        task = progress.add_task("pahole", total=len(builds) * len(tcs))
        matrix = run_matrix(builds, tcs, on_cell=lambda c: progress.update(
            task, advance=1, description=f"{c.program} ({c.compiler}) x {c.toolchain}"))
    inv = Investigation(matrix, [t.as_dict() for t in detect_tools()], out_dir,
                        time.perf_counter() - start)
    out_dir.mkdir(parents=True, exist_ok=True)
    (out_dir / "findings.json").write_text(json.dumps(inv.as_dict(), indent=2) + "\n")
    Console(stderr=True, width=max(console.width, 120)).print(render_table(matrix))
    return inv
