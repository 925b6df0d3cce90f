"""Commands over one or two binaries: ``check``, ``diff``, ``probe`` and ``bisect``."""

from __future__ import annotations

import math
from pathlib import Path
from typing import Annotated, Optional

import typer

from dwarfdiag.cli.apps import app, cache_writes_at_exit, keep_until_exit
from dwarfdiag.cli.btf import PaholeOpt, ToolchainOpt
from dwarfdiag.cli.output import (JsonOpt, OutputOpt, check_out_dir, check_output, echo, emit,
                                  progress)
from dwarfdiag.errors import BadInputError


@app.command("check")
def check_cmd(
    binary: Annotated[Path, typer.Argument(help="ELF binary with DWARF.")],
    pahole: PaholeOpt = None,
    toolchain: ToolchainOpt = None,
    btf: Annotated[Optional[Path], typer.Option(
        help="Use this already captured pre-dedup BTF instead of running pahole.")] = None,
    as_json: JsonOpt = False,
    output: OutputOpt = None,
) -> None:
    """Check pahole's pre-dedup BTF against the DWARF, type by type and reference by reference."""
    cache_writes_at_exit()
    from dwarfdiag.analysis import BinaryAnalysis, PaholeChoice
    from dwarfdiag.btf.files import read_btf_bytes

    inputs = [binary] + ([btf] if btf else [])
    if output:
        check_output(output, inputs)
    with progress(f"reading {binary}") as bar:
        analysis = BinaryAnalysis(binary, progress=bar.advance, function_bodies=False)
        if btf is not None:
            analysis.graph  # first: a binary without DWARF fails here, clearly
            report = analysis.check_btf(read_btf_bytes(btf), str(btf))
        else:
            # pahole runs beside the read; a binary without DWARF still fails with
            # the reader's message, not pahole's
            report = analysis.check(PaholeChoice.of(pahole, toolchain))
    emit(report.summary(), as_json, output, inputs=inputs)
    keep_until_exit(analysis, report)


@app.command("diff")
def diff_cmd(
    a: Annotated[Path, typer.Argument(help="First ELF with DWARF (e.g. the gc build).")],
    b: Annotated[Path, typer.Argument(help="Second ELF with DWARF (e.g. the gccgo build).")],
    type_name: Annotated[Optional[str], typer.Option("--type", help="Only this type (Go name).")] = None,
    package: Annotated[Optional[str], typer.Option(help="Only types and functions of this package.")] = None,
    limit: Annotated[int, typer.Option(min=0, help="Patterns to show as text.")] = 25,
    as_json: JsonOpt = False,
    output: OutputOpt = None,
) -> None:
    """Compare two builds' DWARF: matched Go types, representation classes, patterns, and
    the reference-only cycles each side's BTF would have."""
    cache_writes_at_exit()
    from dwarfdiag.diff.differ import diff, load_side, side_cycles

    if output:
        check_output(output, [a, b])
    with progress(f"reading {a}") as bar:
        ga = load_side(a, progress=bar.advance)
        with side_cycles(ga) as cycles_a:  # beside the reading of B
            bar.stage(f"reading {b}")
            gb = load_side(b, progress=bar.advance, other=ga)
            bar.stage("comparing")
            result = diff(ga, gb, type_name, package, cycles_a)
    emit(result, as_json, output, lambda: result.lines(limit), inputs=[a, b])
    keep_until_exit(ga, gb, result)


@app.command("probe")
def probe_cmd(
    args: Annotated[list[str], typer.Argument(
        help="BINARY SYMBOL; with --compare: GC_BINARY GCCGO_BINARY SYMBOL. SYMBOL is a Go "
             "function name (main.f, main.(*T).M) in gc's or gccgo's spelling.")],
    compare: Annotated[bool, typer.Option("--compare", help="Show a gc and a gccgo build side by side.")] = False,
    out_dir: Annotated[Optional[Path], typer.Option(
        "--out-dir", help="Also write a bpftrace script, a libbpf program, its loader and a "
                          "C header of the argument types here.")] = None,
    as_json: JsonOpt = False,
    output: OutputOpt = None,
) -> None:
    """Where to attach a uprobe on a Go function, where its arguments are at entry, and
    probe programs that read them (and the structs they point to) as printed."""
    cache_writes_at_exit()
    from dwarfdiag.probe.probe import compare_lines, probe

    if compare:
        if len(args) != 3:
            raise BadInputError("--compare takes GC_BINARY GCCGO_BINARY SYMBOL")
        binaries = [Path(args[0]), Path(args[1])]
        if output:
            check_output(output, binaries)
        reports = [probe(binaries[0], args[2]), probe(binaries[1], args[2])]
        emit(reports, as_json, output, lambda: compare_lines(*reports), inputs=binaries)
        return
    if len(args) != 2:
        raise BadInputError("probe takes BINARY SYMBOL (or --compare GC GCCGO SYMBOL)")
    if output:
        check_output(output, [Path(args[0])])
    if out_dir:
        check_out_dir(out_dir, [Path(args[0])])
    report = probe(Path(args[0]), args[1])
    if out_dir:
        from dwarfdiag.cli.output import write_output
        from dwarfdiag.probe.probe import probe_kit

        with progress(f"writing probe programs for {report.symbol}") as bar:
            kit = probe_kit(report, bar.stage)
        out_dir.mkdir(exist_ok=True)
        for name, text in kit.files.items():
            write_output(out_dir / name, text, [Path(args[0])])
        echo(f"wrote {', '.join(kit.files)} in {out_dir}", err=True)
        report.kit_dir = str(out_dir)
    emit(report, as_json, output, inputs=[Path(args[0])])


def _budget(name: str, value: float | None, minimum: float) -> None:
    if value is not None and (math.isnan(value) or value < minimum):
        raise BadInputError(f"--{name} {value}: must be a number of at least {minimum:g}")


@app.command("bisect")
def bisect_cmd(
    target: Annotated[str, typer.Argument(
        help="An ELF binary, MODULE/PATH/cmd/x@vX.Y.Z, a name from corpus/external.toml "
             "(kubeadm, kubectl, helm, ...: built from the module proxy), or a corpus program "
             "(statefn, gotool = GOROOT cmd/go, ...).")],
    binary: Annotated[Optional[Path], typer.Option(
        help="Use this binary for a named target instead of building it.")] = None,
    debug_file: Annotated[Optional[Path], typer.Option(
        "--debug-file", help="The separate debug file of a stripped binary.")] = None,
    oracle: Annotated[str, typer.Option(help="replay (default), libbpf or pahole.")] = "replay",
    libbpf: Annotated[str, typer.Option(
        "--libbpf", help="libbpf semantics for the replay or version of the real libbpf.")] = "1.5",
    toolchain: ToolchainOpt = None,
    source: Annotated[str, typer.Option(
        "--from", help="Where the BTF comes from: encoder (dwarfdiag) or pahole (captured).")] = "encoder",
    max_calls: Annotated[Optional[int], typer.Option(help="Stop after this many oracle calls.")] = None,
    timeout: Annotated[Optional[float], typer.Option(help="Stop after this many seconds.")] = None,
    workers: Annotated[int, typer.Option(min=1, max=64, help="Oracle processes to run in parallel.")] = 2,
    out_dir: Annotated[Optional[Path], typer.Option(
        "--out-dir", help="Directory for bisect.json and the reproducers (default reports/TARGET).")] = None,
    no_repro: Annotated[bool, typer.Option("--no-repro", help="Do not write and verify Go reproducers.")] = False,
    verify: Annotated[str, typer.Option(
        help="Toolchains whose pahole checks each reproducer.")] = "trixie,sid",
    as_json: JsonOpt = False,
    output: OutputOpt = None,
) -> None:
    """Shrink a failing binary's BTF to minimal failing type sets, with Go reproducers."""
    from dwarfdiag.bisect.oracles import OracleSpec
    from dwarfdiag.bisect.run import run_bisect
    from dwarfdiag.targets.resolve import resolve
    from dwarfdiag.toolchains import suites

    _budget("max-calls", max_calls, 1)
    _budget("timeout", timeout, 0.001)
    spec = OracleSpec(oracle, libbpf, toolchain if oracle == "pahole" else None)
    verify_names = tuple(suites.parse_names(verify)) if verify.strip() else ()
    with progress(f"finding {target}") as bar:
        resolved = resolve(target, binary, debug_file, progress=bar.stage)
    out = out_dir or Path("reports") / resolved.name
    check_out_dir(out, [resolved.binary])
    if output:
        check_output(output, [resolved.binary])
    with progress(f"bisect {resolved.name}") as bar:
        def on_step(stage: str, size: int, calls: int) -> None:
            bar.stage(f"{stage}: subset of {size} types, {calls} oracle calls")

        report = run_bisect(resolved, spec, source, toolchain, workers, max_calls, timeout, out,
                            not no_repro, verify_names, on_step)
    emit(report, as_json, output, inputs=[resolved.binary])
