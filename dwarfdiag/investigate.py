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
from dwarfdiag.target import GIVEN, Target
from dwarfdiag.toolchains import suites
from dwarfdiag.toolchains.go import Compiler
from dwarfdiag.toolchains.tools import detect_tools


@dataclass
class Investigation:
    matrix: Matrix
    findings: Findings
    out_dir: Path

    @property
    def failing(self) -> int:
        """Cells where pahole fails."""
        return sum(1 for c in self.matrix.cells if c.outcome == "fails")

    def verdict_lines(self) -> list[str]:
        from dwarfdiag.report.verdict import verdict

        v = verdict(self.findings)
        return [*v.lines(),
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


def target_builds(targets: list[str | Target], compilers: list[Compiler],
                  profiles: tuple[str, ...], say) -> list[Target | Build]:
    """One target per TARGET, compiler and profile; a binary (a resolved Target) is one
    target as it is. A module gccgo cannot build is a finding (a failed build), not an
    error."""
    from dwarfdiag.errors import ToolchainError
    from dwarfdiag.targets.resolve import resolve

    out: list[Target | Build] = []
    for given in targets:
        if isinstance(given, Target):
            out.append(given)
            continue
        for compiler in compilers:
            for profile in profiles:
                say(f"{given}: {compiler.label}, {profile}")
                try:
                    out.append(resolve(given, compiler=compiler, profile=profile,
                                       progress=say))
                except ToolchainError as e:
                    if compiler.family != "gccgo":
                        raise
                    out.append(Build(given, 0, compiler.label, compiler.family,
                                     compiler.version, profile, (), "failed", message=str(e)))
    return out


def _command_line(out_dir, compilers, toolchains, only, levels, bisect, targets, profiles
                  ) -> str:
    """The ``dwarfdiag investigate`` command that runs this investigation (the report's
    footer), whether the CLI or a library caller started it."""
    import shlex

    argv = ["dwarfdiag", "investigate", *(_shown(t) for t in targets or [])]
    if only:
        argv += ["--programs", ",".join(only)]
    if levels:
        argv += ["--levels", ",".join(str(n) for n in sorted(levels))]
    argv += ["--compilers", ",".join(c.label for c in compilers),
             "--toolchains", ",".join(toolchains), "--profiles", ",".join(profiles)]
    for t in targets or []:
        if isinstance(t, Target) and t.dwarf_from == GIVEN:
            argv += ["--debug-file", str(t.dwarf)]
    if not bisect:
        argv.append("--no-bisect")
    argv += ["--out-dir", str(out_dir)]
    return shlex.join(argv)


def _shown(target: str | Target) -> str:
    return str(target.binary) if isinstance(target, Target) else target


def run_investigation(out_dir: Path, compilers: list[Compiler], toolchains: list[str],
                      only: list[str] | None = None, levels: set[int] | None = None,
                      diagnose: bool = True, bisect: bool = True,
                      targets: list[str | Target] | None = None,
                      profiles: tuple[str, ...] = ("debug",)) -> Investigation:
    """Investigate ``targets`` (TARGET texts, or Targets resolved already) or the
    corpus, restricted by ``only``/``levels``."""
    from dwarfdiag import diagnose as diag
    from dwarfdiag.progress import progress
    from dwarfdiag.report.render import write_report
    from dwarfdiag.targets.resolve import of_build

    start = time.perf_counter()
    title = ("dwarfdiag investigation of " + ", ".join(map(_shown, targets))) if targets \
        else "dwarfdiag investigation of the corpus"
    findings = Findings(title, __version__,
                        datetime.now(timezone.utc).isoformat(timespec="seconds"),
                        _command_line(out_dir, compilers, toolchains, only, levels, bisect,
                                      targets, profiles))
    findings.tools = [t.record() for t in detect_tools()]
    with progress("investigating", transient=True) as bar:
        tcs = []
        for name in toolchains:
            if suites.installed(name) is None:
                bar.stage(f"installing toolchain {name} into the cache")
            tcs.append(suites.ensure(name))
        found = (target_builds(targets, compilers, profiles, bar.stage) if targets
                 else corpus_builds(compilers, profiles, only, levels, bar.stage))
        # every build that made a binary, as the Target each later stage takes
        by_binary = {t.record().binary: t for t in
                     (f if isinstance(f, Target) else of_build(f) for f in found
                      if isinstance(f, Target) or f.status == "built")}
        builds = [f.record() if isinstance(f, Target) else f for f in found]
        total, done = len(builds) * len(tcs), [0]

        def ran(c) -> None:
            done[0] += 1
            bar.stage(f"pahole: {c.program} ({c.compiler}) x {c.toolchain} [{done[0]}/{total}]")

        matrix = run_matrix(builds, tcs, on_cell=ran)
        findings.matrix = matrix.record()
        if diagnose:
            findings.diagnosis = diag.diagnose_builds(matrix, by_binary, bar.stage)
            findings.diffs = diag.diff_programs(matrix, by_binary, bar.stage)
            if bisect:
                from dwarfdiag.corpus.catalogue import select_programs

                which = None if targets else {p.name for p in select_programs() if p.is_standin}
                findings.bisects = diag.bisect_failures(matrix, findings.diagnosis, by_binary,
                                                        out_dir, which, bar.stage)
            if targets and "sid" in toolchains:
                findings.parity = diag.parity_of_builds(matrix, by_binary, suites.ensure("sid"),
                                                        bar.stage)
    findings.commands = _commands(compilers, toolchains, only, levels, out_dir, targets,
                                  profiles, matrix)
    findings.seconds = round(time.perf_counter() - start, 1)
    write_report(findings, out_dir)
    console = Console(stderr=True)
    Console(stderr=True, width=max(console.width, 120)).print(render_table(matrix))
    return Investigation(matrix, findings, out_dir)


def _commands(compilers, toolchains, only, levels, out_dir, targets, profiles,
              matrix: Matrix) -> list[str]:
    """The commands that reproduce every number in the report, each command about one
    binary spelled with a real binary of this run (a failing one where there is one)."""
    import shlex

    args = [*(shlex.quote(_shown(t)) for t in targets or []),
            f"--compilers {','.join(c.label for c in compilers)}",
            f"--toolchains {','.join(toolchains)}", f"--out-dir {shlex.quote(str(out_dir))}"]
    if tuple(profiles) != ("debug",):
        args.append(f"--profiles {','.join(profiles)}")
    if only:
        args.append(f"--programs {','.join(only)}")
    if levels:
        args.append(f"--levels {','.join(map(str, sorted(levels)))}")
    out = ["bash scripts/setup.sh", "dwarfdiag investigate " + " ".join(args)]
    built = [b for b in matrix.builds if b.status == "built" and b.binary]
    failing = {c.binary for c in matrix.cells if c.outcome == "fails"}
    example = next((b for b in built if b.binary in failing), built[0] if built else None)
    if example is not None:
        one = shlex.quote(example.binary) + (
            f" --debug-file {shlex.quote(example.debug_file)}" if example.debug_file else "")
        out += [f"dwarfdiag dedup explain {one} --libbpf 1.5",
                f"dwarfdiag check {one} --toolchain bookworm",
                f"dwarfdiag bisect {one}"]
    pairs: dict[str, dict[str, str]] = {}
    for b in built:
        pairs.setdefault(b.program, {}).setdefault(b.family, b.binary)
    pair = next((p for p in pairs.values() if "gc" in p and "gccgo" in p), None)
    if pair is not None:
        out.append(f"dwarfdiag diff {shlex.quote(pair['gc'])} {shlex.quote(pair['gccgo'])}")
    return out
