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

import sys
import time
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path

from rich.console import Console
from rich.progress import Progress

from dwarfdiag import __version__
from dwarfdiag.corpus.build import build_many
from dwarfdiag.corpus.catalogue import select_programs
from dwarfdiag.corpus.matrix import Matrix, render_table, run_matrix
from dwarfdiag.findings.investigation import Findings
from dwarfdiag.toolchains import suites
from dwarfdiag.toolchains.go import Compiler
from dwarfdiag.toolchains.tools import detect_tools


@dataclass
class Investigation:
    matrix: Matrix
    findings: Findings
    out_dir: Path

    def verdict_lines(self) -> list[str]:
        per_tc = []
        counts = self.matrix.counts()
        for tc in self.matrix.toolchains:
            per_tc.append(f"{tc.name} (pahole {tc.pahole_version}/libbpf {tc.libbpf_version}) "
                          f"{counts[tc.name]['fails']} fail, {counts[tc.name]['encodes']} encode")
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
            f"{self.findings.seconds:.1f} s)",
        ]


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
    findings = Findings("dwarfdiag investigation of the corpus", __version__,
                        datetime.now(timezone.utc).isoformat(timespec="seconds"),
                        " ".join(["dwarfdiag", *sys.argv[1:]]))
    findings.tools = [t.record() for t in detect_tools()]
    with Progress(console=console, transient=True) as progress:
        task = progress.add_task("building", total=len(programs) * len(compilers))
        builds = build_many(programs, compilers, on_build=lambda b: progress.update(
            task, advance=1, description=f"built {b.program} ({b.compiler})"))
        task = progress.add_task("pahole", total=len(builds) * len(tcs))
        matrix = run_matrix(builds, tcs, on_cell=lambda c: progress.update(
            task, advance=1, description=f"{c.program} ({c.compiler}) x {c.toolchain}"))
        findings.matrix = matrix.record()
        if diagnose:
            task = progress.add_task("diagnosing", total=None)
            say = lambda text: progress.update(task, description=text)  # noqa: E731
            findings.diagnosis = diag.diagnose_builds(matrix, say)
            findings.diffs = diag.diff_programs(matrix, say)
            if bisect:
                findings.bisects = diag.bisect_standins(matrix, findings.diagnosis, out_dir, say)
    findings.commands = _commands(compilers, toolchains, only, levels, out_dir)
    findings.seconds = round(time.perf_counter() - start, 1)
    write_report(findings, out_dir)
    Console(stderr=True, width=max(console.width, 120)).print(render_table(matrix))
    return Investigation(matrix, findings, out_dir)


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
