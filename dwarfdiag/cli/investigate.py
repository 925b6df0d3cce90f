"""``dwarfdiag investigate`` (the main job) and ``dwarfdiag report`` (render saved results)."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Optional

import typer

from dwarfdiag.cli.apps import app
from dwarfdiag.cli.corpus import LevelsOpt, ProfilesOpt, ProgramsOpt, split
from dwarfdiag.cli.output import check_out_dir, echo


@app.command("investigate")
def investigate(
    targets: Annotated[Optional[list[str]], typer.Argument(
        help="What to investigate: ELF binaries (stripped ones with their debug file), "
             "MODULE/PATH/cmd/x@vX.Y.Z, or names from corpus/external.toml (kubeadm, "
             "kubectl, helm, ...). None: the built-in corpus.")] = None,
    out_dir: Annotated[Optional[Path], typer.Option(
        "--out-dir", help="Report directory (default: reports/corpus, or reports/TARGET).")] = None,
    toolchains: Annotated[str, typer.Option(
        help="Comma-separated toolchains (installed into the cache when missing).")] =
        "bookworm,trixie,sid",
    compilers: Annotated[Optional[str], typer.Option(
        help="Comma-separated compilers: gc, gc-VERSION, gc-all, gccgo, gccgo-trixie, "
             "gccgo-sid (default: gc,gccgo for the corpus, gc for targets).")] = None,
    profiles: ProfilesOpt = "debug",
    programs: ProgramsOpt = None,
    levels: LevelsOpt = None,
    debug_file: Annotated[Optional[Path], typer.Option(
        "--debug-file", help="The separate debug file of a stripped binary target.")] = None,
    no_bisect: Annotated[bool, typer.Option("--no-bisect", help="Skip bisecting.")] = False,
) -> None:
    """Build (or find) the targets, run every toolchain's pahole on them, explain every
    failure, bisect it, compare dwarfdiag's BTF with pahole's, diff gc against gccgo and
    write the HTML report. With no target: the built-in corpus."""
    from dwarfdiag.corpus.catalogue import parse_levels
    from dwarfdiag.errors import BadInputError
    from dwarfdiag.investigate import run_investigation
    from dwarfdiag.targets.resolve import label
    from dwarfdiag.toolchains import suites
    from dwarfdiag.toolchains.go import parse_compilers

    if targets and (programs or levels):
        raise BadInputError("--programs and --levels select corpus programs; they do not "
                            "apply to targets")
    if debug_file is not None and len(targets or []) != 1:
        raise BadInputError("--debug-file goes with exactly one binary target")
    out = out_dir or (Path("reports") / (label("-".join(targets)) if targets else "corpus"))
    check_out_dir(out, [Path(t) for t in targets or []])
    summary = run_investigation(
        out, parse_compilers(compilers or ("gc" if targets else "gc,gccgo")),
        suites.parse_names(toolchains),
        split(programs) if programs else None, parse_levels(levels) if levels else None,
        bisect=not no_bisect, targets=targets or None, profiles=tuple(split(profiles)),
        debug_file=debug_file)
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
