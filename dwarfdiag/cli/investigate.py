"""``dwarfdiag investigate`` (the main job) and ``dwarfdiag report`` (render saved results)."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from dwarfdiag.cli.apps import app
from dwarfdiag.cli.corpus import CompilersOpt, LevelsOpt, ProgramsOpt, split
from dwarfdiag.cli.output import check_out_dir, echo


@app.command("investigate")
def investigate(
    out_dir: Annotated[Path, typer.Option("--out-dir", help="Report directory.")] =
        Path("reports/corpus"),
    toolchains: Annotated[str, typer.Option(
        help="Comma-separated toolchains (installed into the cache when missing).")] =
        "bookworm,trixie,sid",
    compilers: CompilersOpt = "gc,gccgo",
    programs: ProgramsOpt = None,
    levels: LevelsOpt = None,
    no_bisect: Annotated[bool, typer.Option("--no-bisect", help="Skip bisecting the stand-ins.")] = False,
) -> None:
    """Build the built-in corpus, run every toolchain's pahole on it, explain every failure,
    diff gc against gccgo, bisect the failing stand-ins and write the HTML report."""
    from dwarfdiag.corpus.catalogue import parse_levels
    from dwarfdiag.investigate import run_investigation
    from dwarfdiag.toolchains import suites
    from dwarfdiag.toolchains.go import parse_compilers

    check_out_dir(out_dir)
    summary = run_investigation(
        out_dir, parse_compilers(compilers), suites.parse_names(toolchains),
        split(programs) if programs else None, parse_levels(levels) if levels else None,
        bisect=not no_bisect)
    for line in summary.verdict_lines():
        echo(line)


@app.command("report")
def report_cmd(
    inputs: Annotated[list[Path], typer.Argument(
        help="Saved results: findings.json (dwarfdiag investigate), bisect.json "
             "(dwarfdiag bisect), 'dwarfdiag diff --json' and 'dwarfdiag dedup explain "
             "--json' output.")],
    out_dir: Annotated[Path, typer.Option("--out-dir", help="Directory for index.html and findings.json.")],
) -> None:
    """Render the HTML report from saved results, without recomputing anything."""
    from dwarfdiag import findings
    from dwarfdiag.cli.output import check_output
    from dwarfdiag.inputfile import read_input
    from dwarfdiag.report.render import merge_inputs, write_report

    documents = [(str(path), findings.load(path, bytes(read_input(path)))) for path in inputs]
    check_out_dir(out_dir, inputs)
    if out_dir.is_dir():
        for name in ("findings.json", "index.html"):
            check_output(out_dir / name, inputs)  # never over an input
    echo(str(write_report(merge_inputs(documents), out_dir)))
