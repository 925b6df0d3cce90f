"""The one-command investigation: of the built-in corpus, or of real programs.

With no target it builds the corpus; with targets (a binary, a module at a
version, a name from ``corpus/external.toml``) it builds or finds each of
them (:mod:`dwarfdiag.targets`). Then, for every build:

* real pahole of every toolchain (bookworm, trixie, sid by default; missing
  ones are installed into the cache, never system-wide): the matrix;
* every failing cell explained (:mod:`dwarfdiag.diagnose`): the replay's
  failures with their cycles, DIEs, Go types and packages, or ``check`` where
  pahole's own BTF is at fault;
* a bisect of each failing build to all its independent minimal type sets,
  with Go reproducers checked by real pahole (for the corpus: the stand-ins);
* for real targets, dwarfdiag's final BTF against sid's pahole
  (:mod:`dwarfdiag.parity`);
* gc against gccgo where a program has both builds;

and writes ``findings.json`` with the HTML report beside it, ending with a
short verdict on the terminal.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path

from rich.console import Console

from dwarfdiag import __version__
from dwarfdiag.corpus.matrix import Matrix, render_table, run_matrix
from dwarfdiag.findings.investigation import Findings
from dwarfdiag.findings.matrix import Build
from dwarfdiag.toolchains import suites
from dwarfdiag.toolchains.go import Compiler
from dwarfdiag.toolchains.tools import detect_tools


@dataclass
class Investigation:
    matrix: Matrix
    findings: Findings
    out_dir: Path

    def verdict_lines(self) -> list[str]:
        from dwarfdiag.report.verdict import verdict

        v = verdict(self.findings)
        return [*v.headline, *(f"  {fix}" for fix in v.fixes),
                f"report: {self.out_dir / 'index.html'} (data in findings.json beside it; "
                f"{self.findings.seconds:.1f} s)"]


def corpus_builds(compilers: list[Compiler], profiles: tuple[str, ...], only, levels,
                  say) -> list[Build]:
    from dwarfdiag.corpus.build import build_many
    from dwarfdiag.corpus.catalogue import select_programs

    programs = select_programs(only, levels)
    total, done = len(programs) * len(compilers) * len(profiles), [0]

    def built(b: Build) -> None:
        done[0] += 1
        say(f"built {b.program} ({b.compiler}, {b.profile}) [{done[0]}/{total}]")

    return build_many(programs, compilers, profiles, on_build=built)


def target_builds(targets: list[str], compilers: list[Compiler], profiles: tuple[str, ...],
                  debug_file: Path | None, say) -> list[Build]:
    """One build per target, compiler and profile; a binary built elsewhere is one build
    as it is. A module gccgo cannot build is a finding (a failed build), not an error."""
    from dwarfdiag.errors import ToolchainError
    from dwarfdiag.targets.resolve import is_prebuilt, resolve

    out: list[Build] = []
    for text in targets:
        if is_prebuilt(text):
            say(f"reading {text}")
            out.append(resolve(text, debug_file=debug_file).build)
            continue
        for compiler in compilers:
            for profile in profiles:
                say(f"{text}: {compiler.label}, {profile}")
                try:
                    out.append(resolve(text, compiler=compiler, profile=profile,
                                       progress=say).build)
                except ToolchainError as e:
                    if compiler.family != "gccgo":
                        raise
                    out.append(Build(text, 0, compiler.label, compiler.family,
                                     compiler.version, profile, (), "failed", message=str(e)))
    return out


def _command_line(out_dir, compilers, toolchains, only, levels, bisect, targets, profiles,
                  debug_file) -> str:
    """The ``dwarfdiag investigate`` command that runs this investigation (the report's
    footer), whether the CLI or a library caller started it."""
    import shlex

    argv = ["dwarfdiag", "investigate", *(targets or [])]
    if only:
        argv += ["--programs", ",".join(only)]
    if levels:
        argv += ["--levels", ",".join(str(n) for n in sorted(levels))]
    argv += ["--compilers", ",".join(c.label for c in compilers),
             "--toolchains", ",".join(toolchains), "--profiles", ",".join(profiles)]
    if debug_file:
        argv += ["--debug-file", str(debug_file)]
    if not bisect:
        argv.append("--no-bisect")
    argv += ["--out-dir", str(out_dir)]
    return shlex.join(argv)


def run_investigation(out_dir: Path, compilers: list[Compiler], toolchains: list[str],
                      only: list[str] | None = None, levels: set[int] | None = None,
                      diagnose: bool = True, bisect: bool = True,
                      targets: list[str] | None = None, profiles: tuple[str, ...] = ("debug",),
                      debug_file: Path | None = None) -> Investigation:
    """Investigate ``targets`` (or the corpus, restricted by ``only``/``levels``)."""
    from dwarfdiag import diagnose as diag
    from dwarfdiag.progress import progress
    from dwarfdiag.report.render import write_report

    start = time.perf_counter()
    title = ("dwarfdiag investigation of " + ", ".join(targets)) if targets \
        else "dwarfdiag investigation of the corpus"
    findings = Findings(title, __version__,
                        datetime.now(timezone.utc).isoformat(timespec="seconds"),
                        _command_line(out_dir, compilers, toolchains, only, levels, bisect,
                                      targets, profiles, debug_file))
    findings.tools = [t.record() for t in detect_tools()]
    with progress("investigating", transient=True) as bar:
        tcs = []
        for name in toolchains:
            if suites.installed(name) is None:
                bar.stage(f"installing toolchain {name} into the cache")
            tcs.append(suites.ensure(name))
        builds = (target_builds(targets, compilers, profiles, debug_file, bar.stage)
                  if targets else corpus_builds(compilers, profiles, only, levels, bar.stage))
        total, done = len(builds) * len(tcs), [0]

        def ran(c) -> None:
            done[0] += 1
            bar.stage(f"pahole: {c.program} ({c.compiler}) x {c.toolchain} [{done[0]}/{total}]")

        matrix = run_matrix(builds, tcs, on_cell=ran)
        findings.matrix = matrix.record()
        if diagnose:
            findings.diagnosis = diag.diagnose_builds(matrix, bar.stage)
            findings.diffs = diag.diff_programs(matrix, bar.stage)
            if bisect:
                from dwarfdiag.corpus.catalogue import select_programs

                which = None if targets else {p.name for p in select_programs() if p.is_standin}
                findings.bisects = diag.bisect_failures(matrix, findings.diagnosis, out_dir,
                                                        which, bar.stage)
            if targets and "sid" in toolchains:
                findings.parity = diag.parity_of_builds(matrix, suites.ensure("sid"),
                                                        bar.stage)
    findings.commands = _commands(compilers, toolchains, only, levels, out_dir, targets,
                                  profiles)
    findings.seconds = round(time.perf_counter() - start, 1)
    write_report(findings, out_dir)
    console = Console(stderr=True)
    Console(stderr=True, width=max(console.width, 120)).print(render_table(matrix))
    return Investigation(matrix, findings, out_dir)


def _commands(compilers, toolchains, only, levels, out_dir, targets, profiles) -> list[str]:
    """The commands that reproduce every number in the report."""
    args = [*(targets or []), f"--compilers {','.join(c.label for c in compilers)}",
            f"--toolchains {','.join(toolchains)}", f"--out-dir {out_dir}"]
    if tuple(profiles) != ("debug",):
        args.append(f"--profiles {','.join(profiles)}")
    if only:
        args.append(f"--programs {','.join(only)}")
    if levels:
        args.append(f"--levels {','.join(map(str, sorted(levels)))}")
    return ["bash scripts/setup.sh", "dwarfdiag investigate " + " ".join(args),
            "dwarfdiag dedup explain BINARY --libbpf 1.5   # any failing cell",
            "dwarfdiag check BINARY --toolchain bookworm   # cells the replay cannot explain",
            "dwarfdiag diff GC_BINARY GCCGO_BINARY",
            "dwarfdiag bisect " + (targets[0] if targets else "gotool")]
