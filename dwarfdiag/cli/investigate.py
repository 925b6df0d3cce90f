"""``dwarfdiag investigate`` (the main job) and ``dwarfdiag report`` (render saved results)."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Optional

import typer

from dwarfdiag.cli.apps import app
from dwarfdiag.cli.options import (TARGET_HELP, DebugFileOpt, DebugRootOpt, JsonOpt, LevelsOpt,
                                   ProfilesOpt, ProgramsOpt, split, targets_of)
from dwarfdiag.cli.output import check_out_dir, echo, emit


@app.command("investigate")
def investigate(
    targets: Annotated[Optional[list[str]], typer.Argument(
        help="What to investigate, each a TARGET: " + TARGET_HELP + " None: the built-in "
             "corpus.", metavar="[TARGET]...", show_default=False)] = None,
    out_dir: Annotated[Optional[Path], typer.Option(
        "--out-dir", help="Report directory (default: ./reports/corpus, or "
                          "./reports/NAME, created).")] = None,
    toolchains: Annotated[str, typer.Option(
        help="Comma-separated toolchains (installed into the cache when missing).")] =
        "bookworm,trixie,sid",
    compilers: Annotated[Optional[str], typer.Option(
        help="Comma-separated compilers: gc, gc-VERSION, gc-all, gccgo, gccgo-trixie, "
             "gccgo-sid (default: gc,gccgo for the corpus, gc for targets).")] = None,
    profiles: ProfilesOpt = "debug",
    programs: ProgramsOpt = None,
    levels: LevelsOpt = None,
    debug_file: DebugFileOpt = None,
    debug_root: DebugRootOpt = None,
    no_bisect: Annotated[bool, typer.Option("--no-bisect", help="Skip bisecting.")] = False,
    exit_code: Annotated[bool, typer.Option(
        "--exit-code", help="Exit 1 when any build fails under any toolchain (for a CI "
                            "job); without it the exit code is 0 once the report is "
                            "written.")] = False,
    as_json: JsonOpt = False,
) -> None:
    """Build (or find) the targets, run every toolchain's pahole on them, explain every
    failure, bisect it, compare dwarfdiag's BTF with pahole's, diff gc against gccgo and
    write the HTML report. With no target: the built-in corpus."""
    from dwarfdiag.corpus.catalogue import parse_levels
    from dwarfdiag.errors import BadInputError
    from dwarfdiag.investigate import run_investigation
    from dwarfdiag.targets.resolve import is_prebuilt, label, resolve_later
    from dwarfdiag.toolchains import suites
    from dwarfdiag.toolchains.go import parse_compilers

    if targets and (programs or levels):
        raise BadInputError("--programs and --levels select corpus programs; they do not "
                            "apply to targets")
    chosen_compilers = parse_compilers(compilers or ("gc" if targets else "gc,gccgo"))
    chosen_toolchains = suites.parse_names(toolchains)
    chosen_levels = parse_levels(levels) if levels else None
    # inputs first: a binary is found (its DWARF too) and anything else named is known,
    # before the output directory is looked at or anything is built
    given = [t for t in targets or [] if is_prebuilt(t)]
    resolved = dict(zip(given, targets_of(given, debug_file, debug_root)))
    for target in resolved.values():
        target.require_dwarf("investigate runs pahole, which reads DWARF")
    for text in targets or []:
        if text not in resolved:
            resolve_later(text)
    if debug_file and not given:
        raise BadInputError("--debug-file goes with a stripped binary target")
    default = Path("reports") / (label("-".join(Path(t).name for t in targets))
                                 if targets else "corpus")
    out = out_dir or default
    if out_dir is None:
        out.parent.mkdir(parents=True, exist_ok=True)
    check_out_dir(out, [p for t in resolved.values() for p in t.files])
    summary = run_investigation(
        out, chosen_compilers, chosen_toolchains,
        split(programs) if programs else None, chosen_levels,
        bisect=not no_bisect, targets=[resolved.get(t, t) for t in targets] if targets else None,
        profiles=tuple(split(profiles)))
    if as_json:
        emit(summary.findings, True)
    else:
        for line in summary.verdict_lines():
            echo(line)
        if not exit_code and summary.failing:
            echo("(exit code 0: the report is written; --exit-code makes a failing build "
                 "exit 1, for a CI job)")
    if exit_code and summary.failing:
        raise typer.Exit(1)


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
