"""The one-command investigation over the built-in corpus.

Build the corpus (cached), install the pahole/libbpf toolchains that are
missing (into the cache, never system-wide), run the matrix of every build
through every toolchain, then diagnose it (:mod:`dwarfdiag.diagnose`:
explain or check every failing cell, diff gc against gccgo per program,
bisect the stand-ins that still fail before the newest toolchain), and write
``findings.json`` plus the HTML report beside it. It ends with a three-line
verdict.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from pathlib import Path

from rich.console import Console
from rich.progress import Progress

from dwarfdiag import __version__
from dwarfdiag.toolchains import suites
from dwarfdiag.corpus.build import build_many
from dwarfdiag.corpus.catalogue import select_programs
from dwarfdiag.toolchains.go import Compiler
from dwarfdiag.corpus.matrix import Matrix, render_table, run_matrix
from dwarfdiag.toolchains.tools import detect_tools


@dataclass
class Investigation:
    matrix: Matrix
    tools: list[dict]
    out_dir: Path
    seconds: float
    diagnosis: list[dict] = field(default_factory=list)
    diffs: list[dict] = field(default_factory=list)
    bisects: list[dict] = field(default_factory=list)
    commands: list[str] = field(default_factory=list)

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
            f"report: {self.out_dir / 'index.html'} (data in findings.json beside it; "
            f"{self.seconds:.1f} s)",
        ]

    def as_dict(self) -> dict:
        return {"dwarfdiag": __version__, "title": "dwarfdiag investigation of the corpus",
                "tools": self.tools, "matrix": self.matrix.as_dict(),
                "diagnosis": self.diagnosis, "diffs": self.diffs, "bisects": self.bisects,
                "commands": self.commands}


def run_investigation(out_dir: Path, compilers: list[Compiler], toolchains: list[str],
                      only: list[str] | None = None, levels: set[int] | None = None,
                      diagnose: bool = True, bisect: bool = True) -> Investigation:
    """Run the investigation; ``only``/``levels`` restrict it to some programs."""
    from dwarfdiag import diagnose as diag
    from dwarfdiag.report.render import write_report

    start = time.perf_counter()
    console = Console(stderr=True)
    programs = select_programs(only, levels)
    tcs = []
    for name in toolchains:
        if suites.installed(name) is None:
            console.print(f"installing toolchain {name} into the cache ...")
        tcs.append(suites.ensure(name))
    with Progress(console=console, transient=True) as progress:
        task = progress.add_task("building", total=len(programs) * len(compilers))
        builds = build_many(programs, compilers, on_build=lambda b: progress.update(
            task, advance=1, description=f"built {b.program} ({b.compiler})"))
        task = progress.add_task("pahole", total=len(builds) * len(tcs))
        matrix = run_matrix(builds, tcs, on_cell=lambda c: progress.update(
            task, advance=1, description=f"{c.program} ({c.compiler}) x {c.toolchain}"))
        inv = Investigation(matrix, [t.as_dict() for t in detect_tools()], out_dir, 0.0)
        if diagnose:
            task = progress.add_task("diagnosing", total=None)
            say = lambda text: progress.update(task, description=text)  # noqa: E731
            inv.diagnosis = diag.diagnose_builds(matrix, say)
            inv.diffs = diag.diff_programs(matrix, say)
            if bisect:
                inv.bisects = diag.bisect_standins(matrix, inv.diagnosis, out_dir, say)
    inv.commands = _commands(compilers, toolchains, only, levels, out_dir)
    inv.seconds = time.perf_counter() - start
    write_report(inv.as_dict(), out_dir)
    Console(stderr=True, width=max(console.width, 120)).print(render_table(matrix))
    return inv


def _commands(compilers, toolchains, only, levels, out_dir) -> list[str]:
    """The commands that reproduce every number in the report."""
    args = [f"--compilers {','.join(c.label for c in compilers)}",
            f"--toolchains {','.join(toolchains)}", f"--out {out_dir}"]
    if only:
        args.append(f"--programs {','.join(only)}")
    if levels:
        args.append(f"--levels {','.join(map(str, sorted(levels)))}")
    return ["bash scripts/setup.sh", "dwarfdiag investigate " + " ".join(args),
            "dwarfdiag dedup explain BINARY --libbpf 1.5   # any failing cell",
            "dwarfdiag check BINARY --toolchain bookworm   # cells the replay cannot explain",
            "dwarfdiag diff GC_BINARY GCCGO_BINARY", "dwarfdiag bisect gotool"]
