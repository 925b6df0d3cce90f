"""``dwarfdiag corpus ...``: the built-in programs, their builds and the pahole matrix."""

from __future__ import annotations

from typing import Annotated, Optional

import typer

from dwarfdiag.cli.apps import corpus_app
from dwarfdiag.cli.options import (CompilersOpt, JsonOpt, LevelsOpt, OutputOpt, ProfilesOpt,
                                   ProgramsOpt, split)
from dwarfdiag.cli.output import check_output, echo, emit, progress


@corpus_app.command("list")
def corpus_list(as_json: JsonOpt = False) -> None:
    """List the built-in corpus programs, simplest first."""
    from dwarfdiag.corpus.catalogue import load_catalogue

    programs = load_catalogue()
    emit([p.as_dict() for p in programs], as_json, text=lambda: (
        f"{p.level:>3}  {p.name:<24} go>={p.min_go:<5} {', '.join(p.features)}"
        for p in programs), kind="corpus-list")


def selected_builds(compilers: str, programs: Optional[str], levels: Optional[str],
                    profiles: str):
    """Build the selection with a progress bar; returns the builds."""
    from dwarfdiag.corpus.build import PROFILES, build_many
    from dwarfdiag.corpus.catalogue import parse_levels, select_programs
    from dwarfdiag.errors import BadInputError
    from dwarfdiag.toolchains.go import parse_compilers

    chosen = select_programs(split(programs) if programs else None,
                             parse_levels(levels) if levels else None)
    comps = parse_compilers(compilers)
    profs = tuple(split(profiles))
    unknown = [p for p in profs if p not in PROFILES]
    if unknown or not profs:
        raise BadInputError(f"--profiles: unknown profile {unknown[0] if unknown else '(none)'};"
                            f" use {', '.join(PROFILES)}")
    total = len(chosen) * len(comps) * len(profs)
    with progress("building") as bar:
        done = [0]

        def built(b) -> None:
            done[0] += 1
            bar.stage(f"built {b.program} ({b.compiler}, {b.profile})")
            bar.advance(done[0], total)

        return build_many(chosen, comps, profs, on_build=built)


@corpus_app.command("build")
def corpus_build(
    compilers: CompilersOpt = "gc,gccgo",
    programs: ProgramsOpt = None,
    levels: LevelsOpt = None,
    profiles: ProfilesOpt = "debug",
    as_json: JsonOpt = False,
) -> None:
    """Build corpus programs into the cache and refresh its manifest.json.

    Builds whose sources, compiler version and flags did not change are reused.
    A program a compiler cannot build (generics on gccgo 12) is 'unsupported'.
    """
    from dwarfdiag.corpus.build import manifest_path

    builds = selected_builds(compilers, programs, levels, profiles)

    def text():
        for b in builds:
            if b.status == "built" and b.dwarf is not None:
                detail = (f"DWARF {'/'.join(map(str, b.dwarf.versions))}, "
                          f"{b.dwarf.die_count} DIEs  {b.binary}")
            else:
                detail = b.message.splitlines()[0] if b.message else ""
            yield (f"{b.level:>3} {b.program:<22} {b.compiler:<13} {b.profile:<5} "
                   f"{b.status:<11} {detail}")

    emit(builds, as_json, text=text, kind="builds")
    if not as_json:
        echo(f"manifest: {manifest_path()}", err=True)
    if any(b.status == "failed" for b in builds):
        raise typer.Exit(1)


@corpus_app.command("matrix")
def corpus_matrix(
    toolchains: Annotated[str, typer.Option(
        help="Comma-separated toolchains: bookworm, trixie, sid, system. "
             "Missing ones are installed into the cache.")] = "bookworm,trixie,sid",
    compilers: CompilersOpt = "gc,gccgo",
    programs: ProgramsOpt = None,
    levels: LevelsOpt = None,
    profiles: ProfilesOpt = "debug",
    as_json: JsonOpt = False,
    output: OutputOpt = None,
) -> None:
    """Run pahole from each toolchain on every corpus build and tabulate pass/fail."""
    from rich.console import Console

    from dwarfdiag.corpus.matrix import render_table, run_matrix
    from dwarfdiag.toolchains import suites

    if output:
        check_output(output)
    tcs = [suites.ensure(n) for n in suites.parse_names(toolchains)]
    builds = selected_builds(compilers, programs, levels, profiles)
    total = len(builds) * len(tcs)
    with progress("pahole") as bar:
        done = [0]

        def ran(c) -> None:
            done[0] += 1
            bar.stage(f"{c.program} ({c.compiler}) x {c.toolchain}")
            bar.advance(done[0], total)

        matrix = run_matrix(builds, tcs, on_cell=ran)
    if as_json or output:
        emit(matrix.record(), True, output)
        return
    Console(width=max(Console().width, 120)).print(render_table(matrix))
    for name, counts in matrix.counts().items():
        echo(f"{name}: " + ", ".join(f"{n} {o}" for o, n in sorted(counts.items()) if n))
