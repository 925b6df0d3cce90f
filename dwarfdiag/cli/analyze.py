"""Commands over one or two targets: ``check``, ``diff``, ``probe`` and ``bisect``."""

from __future__ import annotations

import math
from pathlib import Path
from typing import Annotated, Optional

import typer

from dwarfdiag.cli.apps import app, cache_writes_at_exit, keep_until_exit
from dwarfdiag.cli.options import (DebugFileOpt, DebugRootOpt, JsonOpt, OutputOpt, PaholeOpt,
                                   TargetArg, ToolchainOpt, TypesFromOpt, target_of,
                                   targets_of)
from dwarfdiag.cli.output import check_out_dir, check_output, echo, emit, progress
from dwarfdiag.errors import BadInputError


@app.command("inspect")
def inspect_cmd(
    target: TargetArg,
    debug_file: DebugFileOpt = None,
    debug_root: DebugRootOpt = None,
    types_from: TypesFromOpt = None,
    as_json: JsonOpt = False,
    output: OutputOpt = None,
) -> None:
    """What a binary offers: its compiler and Go version, modules and build settings,
    whether it has DWARF (and where), and the functions, signatures and types each
    source gives (DWARF, the Go runtime's own metadata)."""
    from dwarfdiag.inspect import inspect

    resolved = target_of(target, debug_file, debug_root, types_from=types_from)
    if output:
        check_output(output, resolved.files)
    with progress(f"inspecting {resolved.binary}"):
        report = inspect(resolved)
    emit(report, as_json, output, inputs=resolved.files, kind="inspect")


@app.command("check")
def check_cmd(
    target: TargetArg,
    pahole: PaholeOpt = None,
    toolchain: ToolchainOpt = None,
    btf: Annotated[Optional[Path], typer.Option(
        help="Use this already captured pre-dedup BTF instead of running pahole.")] = None,
    debug_file: DebugFileOpt = None,
    debug_root: DebugRootOpt = None,
    as_json: JsonOpt = False,
    output: OutputOpt = None,
) -> None:
    """Check pahole's pre-dedup BTF against the DWARF, type by type and reference by
    reference. Exit 1 when pahole's BTF is inconsistent with the DWARF or its dedup
    failed, 0 when it is faithful and dedups."""
    cache_writes_at_exit()
    from dwarfdiag.analysis import BinaryAnalysis, PaholeChoice
    from dwarfdiag.btf.files import read_btf_bytes

    resolved = target_of(target, debug_file, debug_root)
    inputs = resolved.files + ([btf] if btf else [])
    if output:
        check_output(output, inputs)
    with progress(f"reading {resolved.binary}") as bar:
        analysis = BinaryAnalysis(resolved, progress=bar.advance, function_bodies=False)
        if btf is not None:
            analysis.graph  # first: a binary without DWARF fails here, clearly
            report = analysis.check_btf(read_btf_bytes(btf), str(btf))
        else:
            # pahole runs beside the read; a binary without DWARF still fails with
            # the reader's message, not pahole's
            report = analysis.check(PaholeChoice.of(pahole, toolchain))
    summary = report.summary()
    emit(summary, as_json, output, inputs=inputs)
    keep_until_exit(analysis, report)
    if not summary.passes:
        raise typer.Exit(1)


@app.command("diff")
def diff_cmd(
    a: Annotated[str, typer.Argument(help="First TARGET (e.g. the gc build).", metavar="A")],
    b: Annotated[str, typer.Argument(help="Second TARGET (e.g. the gccgo build).", metavar="B")],
    type_name: Annotated[Optional[str], typer.Option("--type", help="Only this type (Go name).")] = None,
    package: Annotated[Optional[str], typer.Option(help="Only types and functions of this package.")] = None,
    limit: Annotated[int, typer.Option(min=0, help="Patterns to show as text.")] = 25,
    debug_file: DebugFileOpt = None,
    debug_root: DebugRootOpt = None,
    types_from: TypesFromOpt = None,
    as_json: JsonOpt = False,
    output: OutputOpt = None,
) -> None:
    """Compare two builds' DWARF: matched Go types, representation classes, patterns, and
    the reference-only cycles each side's BTF would have."""
    cache_writes_at_exit()
    from dwarfdiag.diff.differ import diff, load_side, side_cycles

    ta, tb = targets_of([a, b], debug_file, debug_root, types_from=types_from)
    inputs = ta.files + tb.files
    if output:
        check_output(output, inputs)
    with progress(f"reading {ta.binary}") as bar:
        ga = load_side(ta, progress=bar.advance)
        with side_cycles(ga) as cycles_a:  # beside the reading of B
            bar.stage(f"reading {tb.binary}")
            gb = load_side(tb, progress=bar.advance, other=ga)
            bar.stage("comparing")
            result = diff(ga, gb, type_name, package, cycles_a)
    emit(result, as_json, output, lambda: result.lines(limit), inputs=inputs)
    keep_until_exit(ga, gb, result)


@app.command("probe")
def probe_cmd(
    args: Annotated[list[str], typer.Argument(
        help="TARGET SYMBOL; with --compare: GC_TARGET GCCGO_TARGET SYMBOL. SYMBOL is a Go "
             "function name (main.f, main.(*T).M) in gc's or gccgo's spelling.",
        metavar="TARGET SYMBOL")],
    compare: Annotated[bool, typer.Option("--compare", help="Show a gc and a gccgo build side by side.")] = False,
    out_dir: Annotated[Optional[Path], typer.Option(
        "--out-dir", help="Also write a bpftrace script, a libbpf program, its loader and a "
                          "C header of the argument types here.")] = None,
    signature: Annotated[Optional[str], typer.Option(
        "--signature", help="The function's signature in Go syntax, where the binary kept "
                            "none (no DWARF, not a method reached through an interface): "
                            "'func(s *v3rpc.kvServer, r *etcdserverpb.PutRequest) error'; a "
                            "method's receiver first. Checked against the pclntab's "
                            "argument area.")] = None,
    debug_file: DebugFileOpt = None,
    debug_root: DebugRootOpt = None,
    types_from: TypesFromOpt = None,
    as_json: JsonOpt = False,
    output: OutputOpt = None,
) -> None:
    """Where to attach a uprobe on a Go function, where its arguments are at entry, and
    probe programs that read them (and the structs they point to) as printed."""
    cache_writes_at_exit()
    from dwarfdiag.probe.probe import compare_lines, probe

    if compare:
        if len(args) != 3:
            raise BadInputError("--compare takes GC_TARGET GCCGO_TARGET SYMBOL")
        targets = targets_of(args[:2], debug_file, debug_root, types_from=types_from)
        inputs = [p for t in targets for p in t.files]
        if output:
            check_output(output, inputs)
        reports = [probe(targets[0], args[2]), probe(targets[1], args[2])]
        emit(reports, as_json, output, lambda: compare_lines(*reports), inputs=inputs,
             kind="probe-compare")
        return
    if len(args) != 2:
        raise BadInputError("probe takes TARGET SYMBOL (or --compare GC GCCGO SYMBOL)")
    target = target_of(args[0], debug_file, debug_root, types_from=types_from)
    inputs = target.files
    if output:
        check_output(output, inputs)
    if out_dir:
        check_out_dir(out_dir, inputs)
    report = probe(target, args[1], signature)
    if out_dir:
        from dwarfdiag.cli.output import write_output
        from dwarfdiag.probe.probe import probe_kit

        with progress(f"writing probe programs for {report.symbol}") as bar:
            kit = probe_kit(target, report, bar.stage, signature)
        out_dir.mkdir(exist_ok=True)
        for name, text in kit.files.items():
            write_output(out_dir / name, text, inputs)
        echo(f"wrote {', '.join(kit.files)} in {out_dir}", err=True)
        report.kit_dir = str(out_dir)
    emit(report, as_json, output, inputs=inputs, kind="probe")


def _budget(name: str, value: float | None, minimum: float) -> None:
    if value is not None and (math.isnan(value) or value < minimum):
        raise BadInputError(f"--{name} {value}: must be a number of at least {minimum:g}")


@app.command("bisect")
def bisect_cmd(
    target: TargetArg,
    binary: Annotated[Optional[Path], typer.Option(
        help="Use this binary for a named target instead of building it.")] = None,
    debug_file: DebugFileOpt = None,
    debug_root: DebugRootOpt = None,
    types_from: TypesFromOpt = None,
    oracle: Annotated[str, typer.Option(help="replay (default), libbpf or pahole.")] = "replay",
    libbpf: Annotated[str, typer.Option(
        "--libbpf", help="libbpf semantics for the replay or version of the real libbpf.")] = "1.5",
    toolchain: ToolchainOpt = None,
    btf_from: Annotated[str, typer.Option(
        "--from", help="Where the BTF comes from: encoder (dwarfdiag) or pahole (captured).")] = "encoder",
    max_calls: Annotated[Optional[int], typer.Option(help="Stop after this many oracle calls.")] = None,
    timeout: Annotated[Optional[float], typer.Option(help="Stop after this many seconds.")] = None,
    workers: Annotated[int, typer.Option(min=1, max=64, help="Oracle processes to run in parallel.")] = 2,
    out_dir: Annotated[Optional[Path], typer.Option(
        "--out-dir", help="Directory for bisect.json and the reproducers (default ./reports/NAME).")] = None,
    no_repro: Annotated[bool, typer.Option("--no-repro", help="Do not write and verify Go reproducers.")] = False,
    verify: Annotated[str, typer.Option(
        help="Toolchains whose pahole checks each reproducer.")] = "trixie,sid",
    as_json: JsonOpt = False,
    output: OutputOpt = None,
) -> None:
    """Shrink a failing binary's BTF to minimal failing type sets, with Go reproducers.
    Exit 1 when a failing set was found, 0 when nothing fails."""
    from dwarfdiag.bisect.oracles import OracleSpec
    from dwarfdiag.bisect.run import run_bisect
    from dwarfdiag.targets.resolve import resolve
    from dwarfdiag.toolchains import suites

    _budget("max-calls", max_calls, 1)
    _budget("timeout", timeout, 0.001)
    spec = OracleSpec(oracle, libbpf, toolchain if oracle == "pahole" else None)
    verify_names = tuple(suites.parse_names(verify)) if verify.strip() else ()
    if binary is not None and len(debug_file or []) > 1:
        raise BadInputError("--debug-file is given once, for --binary")
    with progress(f"finding {target}") as bar:
        if binary is not None:
            resolved = resolve(target, binary, (debug_file or [None])[0],
                               tuple(debug_root or ()), progress=bar.stage,
                               types_from=types_from)
        else:
            resolved = target_of(target, debug_file, debug_root, progress=bar.stage,
                                 types_from=types_from)
    out = out_dir or Path("reports") / resolved.name
    inputs = resolved.files
    check_out_dir(out, inputs)
    if output:
        check_output(output, inputs)
    with progress(f"bisect {resolved.name}") as bar:
        def on_step(stage: str, size: int, calls: int) -> None:
            bar.stage(f"{stage}: subset of {size} types, {calls} oracle calls")

        report = run_bisect(resolved, spec, btf_from, toolchain, workers, max_calls, timeout, out,
                            not no_repro, verify_names, on_step)
    emit(report, as_json, output, inputs=inputs)
    if report.search.sets:
        raise typer.Exit(1)
