"""Diagnose an investigated matrix: why each failing cell fails, gc vs gccgo, bisect.

For every built binary the dedup replay predicts each toolchain's verdict on
our pahole-1.32-faithful encoding. Where the real pahole fails, ``explain``
gives the first failure (cycle, DIEs, root cause) for that toolchain's
libbpf; where the replay says the encoding dedups but the real pahole fails,
the fault is pahole's own BTF, and ``check`` (capture + consistency) says
what is wrong with it. Each program is diffed gc against gccgo, and the
stand-ins that still fail are bisected with reproducers. Everything is
plain data for ``findings.json`` and the report.
"""

from __future__ import annotations

from pathlib import Path
from typing import Callable

from dwarfdiag.analysis import BinaryAnalysis, PaholeChoice
from dwarfdiag.corpus.matrix import Matrix
from dwarfdiag.dedup.variants import variant_for
from dwarfdiag.findings.check import failed_check
from dwarfdiag.findings.explain import Failure
from dwarfdiag.findings.investigation import BisectEntry, BuildDiagnosis, CellDiagnosis

MAX_CHAIN = 12
MAX_HIDDEN = 10
TRACE_EVENTS = 60  # the stepper's events: the walk to the failure
MAX_CHECK_PATTERNS = 8


def _trimmed(f: Failure) -> Failure:
    """A failure with its chain cut to what the report can draw."""
    return Failure(f.errno, f.phase, f.first_id, f.at_id, f.chain[:MAX_CHAIN], f.root_cause)


def diagnose_builds(matrix: Matrix,
                    progress: Callable[[str], None] | None = None) -> list[BuildDiagnosis]:
    from dwarfdiag.dedup.explain import explain, focused_trace
    from dwarfdiag.dedup.variants import algorithm, variant

    toolchains = {t.name: t for t in matrix.toolchains}
    out = []
    for b in matrix.builds:
        if b.status != "built" or b.binary is None:
            continue
        if progress:
            progress(f"explain {b.program} ({b.compiler}, {b.profile})")
        analysis = BinaryAnalysis(Path(b.binary), function_bodies=False)  # explain, check
        inp = analysis.dedup_input()
        entry = BuildDiagnosis(b.program, b.compiler, b.profile, b.binary, len(inp.btf.types))
        explained: dict[str, object] = {}
        traces: dict[tuple, list] = {}  # libbpf 1.1 and 1.5 walk the same way: one trace
        for c in (c for c in matrix.cells if c.binary == b.binary):
            tc = toolchains[c.toolchain]
            v = variant_for(tc.libbpf_version)
            if v not in explained:
                explained[v] = explain(inp, variant(v), predict=False)  # one variant per cell
            e = explained[v]
            predicted = "fails" if e.first_failure is not None else "encodes"
            cell = CellDiagnosis(c.outcome, v, predicted,
                                 predicted == c.outcome or c.outcome not in ("fails", "encodes"))
            if c.outcome == "fails" and e.first_failure is not None:
                cell.failure = _trimmed(e.first_failure)
                cell.hidden = [_trimmed(h) for h in e.hidden_failures[:MAX_HIDDEN]]
                cell.hidden_count = len(e.hidden_failures)
                how = algorithm(variant(v))
                if how not in traces:
                    traces[how] = focused_trace(inp.btf, variant(v), e.first_failure,
                                                TRACE_EVENTS)
                cell.trace = traces[how]
            elif c.outcome == "fails":
                cell.check = _check_summary(analysis, tc)
            entry.cells[c.toolchain] = cell
        _link_sources(entry, b)
        out.append(entry)
    return out


def _link_sources(entry: BuildDiagnosis, build) -> None:
    """Give every type on a failure's chain a declaration that exists on this machine
    (:mod:`dwarfdiag.targets.sources`); a DWARF file that no longer exists (gccgo's
    temporary build directory) is dropped rather than shown."""
    from dwarfdiag.targets.sources import for_build

    sources = None
    for cell in entry.cells.values():
        for failure in filter(None, [cell.failure, *cell.hidden]):
            for link in failure.chain:
                prov = link.provenance
                if prov.file and Path(prov.file).is_file():
                    continue
                prov.file = prov.line = None
                sources = sources or for_build(build)
                found = sources.declaration(prov.package, prov.go_name or prov.owner)
                if found is None and prov.owner:
                    found = sources.declaration(prov.package, prov.owner)
                if found is not None:
                    prov.file, prov.line = found


def _check_summary(analysis: BinaryAnalysis, tc):
    """pahole's own BTF against the DWARF, for a cell our replay cannot explain."""
    from dwarfdiag.errors import DwarfdiagError

    try:
        report = analysis.check(PaholeChoice.of_toolchain(tc))
    except DwarfdiagError as e:
        return failed_check(str(analysis.path), tc.label, str(e))
    return report.summary(MAX_CHECK_PATTERNS)


def diff_programs(matrix: Matrix, progress: Callable[[str], None] | None = None) -> list:
    """gc against gccgo, per program, for the first gc and gccgo debug builds."""
    from dwarfdiag.diff.differ import diff, load_side

    by_program: dict[str, dict[str, str]] = {}
    for b in matrix.builds:
        if b.status == "built" and b.profile == "debug" and b.binary:
            by_program.setdefault(b.program, {}).setdefault(b.family, b.binary)
    out = []
    for program, pair in sorted(by_program.items()):
        if "gc" not in pair or "gccgo" not in pair:
            continue
        if progress:
            progress(f"diff {program}: gc vs gccgo")
        result = diff(load_side(Path(pair["gc"])), load_side(Path(pair["gccgo"])))
        out.append(result.summary(program))
    return out


def bisect_failures(matrix: Matrix, diagnosis: list[BuildDiagnosis], out_dir: Path,
                    programs: set[str] | None = None,
                    progress: Callable[[str], None] | None = None) -> list[BisectEntry]:
    """Bisect every debug build (of ``programs``, default all) whose failure the replay
    reproduces: once per distinct dedup algorithm among its failing toolchains (libbpf
    1.1 and 1.5 share theirs), at the newest toolchain with that algorithm. A failure
    only pahole's own BTF has (pahole 1.24's id drift) is not bisected: shrinking our
    faithful encoding cannot shrink it, and ``check`` explains it instead."""
    from dwarfdiag.bisect.oracles import OracleSpec
    from dwarfdiag.bisect.run import run_bisect
    from dwarfdiag.dedup.variants import algorithm, variant
    from dwarfdiag.targets.resolve import Target

    builds = {b.binary: b for b in matrix.builds}
    out = []
    for d in diagnosis:
        if d.profile not in ("debug", "as built") or (programs and d.program not in programs):
            continue
        by_algorithm: dict[tuple, str] = {}
        for tc in (t.name for t in matrix.toolchains):
            cell = d.cells.get(tc)
            if cell is not None and cell.failure is not None:
                by_algorithm[algorithm(variant(cell.variant))] = tc  # the newest wins
        for tc in by_algorithm.values():
            variant_name = d.cells[tc].variant
            if progress:
                progress(f"bisect {d.program} ({d.compiler}) at libbpf {variant_name}")
            build = builds[d.binary]
            target = Target(d.program, Path(build.source or d.binary), Path(d.binary),
                            "corpus", build.family, build)
            report = run_bisect(target, OracleSpec("replay", variant_name),
                                out_dir=out_dir / "bisect" / f"{d.program}-{variant_name}")
            out.append(BisectEntry(d.program, d.compiler, tc, report))
    return out


def parity_of_builds(matrix: Matrix, toolchain,
                     progress: Callable[[str], None] | None = None) -> list:
    """dwarfdiag's final BTF against ``toolchain``'s pahole, for every build."""
    from dwarfdiag.parity import parity

    out = []
    for b in matrix.builds:
        if b.status != "built" or b.binary is None:
            continue
        if progress:
            progress(f"parity of {b.program} ({b.compiler}) with {toolchain.name}'s pahole")
        out.append(parity(BinaryAnalysis(Path(b.binary), function_bodies=False), b.program,
                          b.compiler, toolchain))
    return out
