"""Diagnose an investigated matrix: why each failing cell fails, gc vs gccgo, bisect.

For every built binary the dedup replay predicts each toolchain's verdict on
our pahole-1.32-faithful encoding. Where the real pahole fails, ``explain``
gives the replay's failures (cycle, DIEs, root cause) for that toolchain's
libbpf, and ``check`` (capture + consistency) says whether pahole's own BTF
is at fault too: every independent cause of the cell. Each program is diffed gc against gccgo, and the
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
from dwarfdiag.target import Target

MAX_CHAIN = 12
MAX_HIDDEN = 10
TRACE_EVENTS = 60  # the stepper's events: the walk to the failure
MAX_CHECK_PATTERNS = 8


def _trimmed(f: Failure) -> Failure:
    """A failure with its chain cut to what the report can draw."""
    return Failure(f.errno, f.phase, f.first_id, f.at_id, f.chain[:MAX_CHAIN], f.root_cause)


def diagnose_builds(matrix: Matrix, targets: dict[str, Target],
                    progress: Callable[[str], None] | None = None) -> list[BuildDiagnosis]:
    """Every built binary's cells explained (``targets``: each build's Target, by its
    binary)."""
    from dwarfdiag.dedup.explain import explain, focused_trace
    from dwarfdiag.dedup.variants import algorithm, variant

    toolchains = {t.name: t for t in matrix.toolchains}
    out = []
    for b in matrix.builds:
        if b.status != "built" or b.binary is None:
            continue
        if progress:
            progress(f"explain {b.program} ({b.compiler}, {b.profile})")
        analysis = BinaryAnalysis(targets[b.binary], function_bodies=False)  # explain, check
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
            if c.outcome == "fails":
                # pahole's own BTF too, even where the program's types fail already: a
                # cause of its own (pahole 1.24's id drift), which changing the program
                # would not remove
                cell.check = _check_summary(analysis, tc)
            entry.cells[c.toolchain] = cell
        _link_sources(entry, b, analysis)
        out.append(entry)
    return out


def _link_sources(entry: BuildDiagnosis, build, analysis: BinaryAnalysis) -> None:
    """Give every type on a failure's chain a declaration that exists on this machine
    (:mod:`dwarfdiag.targets.sources`): in the sources the build names, else in the
    files the DWARF itself names; a DWARF file that no longer exists (gccgo's
    temporary build directory) is dropped rather than shown."""
    from dwarfdiag.dwarf.loader import load_typegraph_between
    from dwarfdiag.targets.sources import for_build

    sources = None
    units_added = False
    for cell in entry.cells.values():
        for failure in filter(None, [cell.failure, *cell.hidden]):
            for link in failure.chain:
                prov = link.provenance
                if prov.file and Path(prov.file).is_file():
                    continue
                prov.file = prov.line = None
                sources = sources or for_build(build)
                found = _declared(sources, prov)
                if found is None and not units_added:
                    # the units alone (their file tables), from the cache or the graph
                    units = load_typegraph_between(analysis.path, None, 1)
                    sources.add_units((units or analysis.graph).cus)
                    units_added = True
                    found = _declared(sources, prov)
                if found is not None:
                    prov.file, prov.line = found


def _declared(sources, prov) -> tuple[str, int] | None:
    found = sources.declaration(prov.package, prov.go_name or prov.owner)
    if found is None and prov.owner:
        found = sources.declaration(prov.package, prov.owner)
    return found


def _check_summary(analysis: BinaryAnalysis, tc):
    """pahole's own BTF against the DWARF, for a cell our replay cannot explain."""
    from dwarfdiag.errors import DwarfdiagError

    try:
        report = analysis.check(PaholeChoice.of_toolchain(tc))
    except DwarfdiagError as e:
        return failed_check(str(analysis.path), tc.label, str(e))
    return report.summary(MAX_CHECK_PATTERNS)


def diff_programs(matrix: Matrix, targets: dict[str, Target],
                  progress: Callable[[str], None] | None = None) -> list:
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
        result = diff(load_side(targets[pair["gc"]]), load_side(targets[pair["gccgo"]]))
        out.append(result.summary(program))
    return out


def bisect_failures(matrix: Matrix, diagnosis: list[BuildDiagnosis],
                    targets: dict[str, Target], out_dir: Path,
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
            report = run_bisect(targets[d.binary], OracleSpec("replay", variant_name),
                                out_dir=out_dir / "bisect" / f"{d.program}-{variant_name}")
            out.append(BisectEntry(d.program, d.compiler, tc, report))
    return out


def parity_of_builds(matrix: Matrix, targets: dict[str, Target], toolchain,
                     progress: Callable[[str], None] | None = None) -> list:
    """dwarfdiag's final BTF against ``toolchain``'s pahole, for every build."""
    from dwarfdiag.parity import parity

    out = []
    for b in matrix.builds:
        if b.status != "built" or b.binary is None:
            continue
        if progress:
            progress(f"parity of {b.program} ({b.compiler}) with {toolchain.name}'s pahole")
        out.append(parity(BinaryAnalysis(targets[b.binary], function_bodies=False), b.program,
                          b.compiler, toolchain))
    return out
