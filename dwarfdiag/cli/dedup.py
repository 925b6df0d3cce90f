"""``dwarfdiag dedup ...``: the real libbpf's verdict, and the replay's trace and explanation."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Optional

import typer

from dwarfdiag.cli.apps import cache_writes_at_exit, dedup_app, keep_until_exit
from dwarfdiag.cli.options import (TARGET_HELP, BaseOpt, DebugFileOpt, DebugRootOpt, JsonOpt,
                                   LibbpfOpt, OutputOpt, PaholeOpt, ToolchainOpt, TypesFromOpt,
                                   target_or_btf)
from dwarfdiag.cli.output import (check_output, check_outputs, echo, emit, output_stream,
                                  progress, write_output)
from dwarfdiag.dedup.variants import DEFAULT as DEFAULT_LIBBPF
from dwarfdiag.errors import BadInputError

DedupInputArg = Annotated[str, typer.Argument(
    help="Raw pre-dedup BTF, or a TARGET: its DWARF encoded by dwarfdiag, or pahole's BTF "
         "of it captured with --pahole/--toolchain. " + TARGET_HELP, metavar="INPUT")]


def _dedup_input(input: str, base, pahole, toolchain, debug_file, debug_root, types_from,
                 bar):
    """The input resolved (a target or a BTF file), its files (never written over),
    and what ``load`` gives the replay."""
    from dwarfdiag.analysis import load_dedup_input
    from dwarfdiag.target import Target

    given = target_or_btf(input, debug_file, debug_root, progress=bar.stage,
                          types_from=types_from)
    files = given.files if isinstance(given, Target) else [given]
    files += [base] if base else []
    return given, files, lambda: load_dedup_input(given, base, pahole, toolchain,
                                                   progress=bar.advance)


@dedup_app.command("libbpf")
def dedup_libbpf(
    file: Annotated[Path, typer.Argument(help="Raw BTF (pre-dedup), or an ELF with a .BTF section.")],
    base: Annotated[Optional[Path], typer.Option(help="Base BTF for split BTF.")] = None,
    output: Annotated[Optional[Path], typer.Option("-o", "--output",
                      help="Write the deduplicated raw BTF here.")] = None,
    library: Annotated[Optional[Path], typer.Option(
        "--library", help="libbpf.so.1 to load (default: the system's).")] = None,
    toolchain: Annotated[Optional[str], typer.Option(
        help="Use the libbpf of an installed toolchain (bookworm, trixie, sid), run in a "
             "helper process under its own loader.")] = None,
    as_json: JsonOpt = False,
) -> None:
    """Run the real libbpf btf__dedup() on FILE and report its verdict (exit 1 if it fails)."""
    from dwarfdiag.btf.files import read_btf_bytes
    from dwarfdiag.btf.libbpf import HelperLibbpf, InProcessLibbpf, system_oracle
    from dwarfdiag.btf.raw import parse_btf
    from dwarfdiag.toolchains.suites import require

    if library and toolchain:
        raise BadInputError("give either --library or --toolchain, not both")
    if output:
        check_output(output, [file] + ([base] if base else []))
    if toolchain:
        oracle = HelperLibbpf.for_toolchain(require(toolchain))
    else:
        oracle = InProcessLibbpf(library) if library else system_oracle()
    base_raw = read_btf_bytes(base) if base else None
    raw = read_btf_bytes(file)
    result = oracle.dedup(raw, base_raw)
    if result.stage == "load":
        said = "; ".join(result.log[-2:]) or result.error_name
        raise BadInputError(f"{file}: libbpf {result.libbpf_version} refuses to load it "
                            f"({said})")
    base_btf = parse_btf(base_raw) if base_raw else None
    types_in = len(parse_btf(raw, base_btf).types)
    types_out = None
    if result.ok and result.btf is not None:
        types_out = len(parse_btf(result.btf, base_btf).types)
        if output:
            write_output(output, result.btf, [file])
    report = {"file": str(file), "libbpf": result.libbpf_version,
              "library": getattr(oracle, "path", None) or f"toolchain {toolchain}",
              "ok": result.ok, "error": result.error, "error_name": result.error_name,
              "stage": result.stage, "types_in": types_in, "types_out": types_out,
              "log": list(result.log)}
    verdict = (f"dedup ok: {types_in} -> {types_out} types" if result.ok
               else f"btf__dedup failed: {result.error_name} ({result.stage})")
    emit(report, as_json, text=lambda: [f"libbpf {result.libbpf_version}: {verdict}",
                                        *(f"  {line}" for line in result.log)],
         kind="dedup-libbpf")
    if not result.ok:
        raise typer.Exit(1)


def _focus_ids(btf, focus: str | None, named: str) -> list[int] | None:
    from dwarfdiag.errors import NotFoundError

    if focus is None:
        return None
    if focus.isdigit():
        if not btf.start_id <= int(focus) < btf.type_cnt:
            raise NotFoundError(f"--focus {focus}: {named} has type ids {btf.start_id} to "
                                f"{btf.type_cnt - 1}")
        return [int(focus)]
    ids = btf.find_by_name(focus)
    if not ids:
        raise NotFoundError(f"--focus: no type named {focus!r} in {named}")
    return ids


@dedup_app.command("trace")
def dedup_trace(
    input: DedupInputArg,
    libbpf: LibbpfOpt = DEFAULT_LIBBPF,
    base: BaseOpt = None,
    focus: Annotated[Optional[str], typer.Option(
        help="Only events that involve this type (id or name).")] = None,
    output: Annotated[Optional[Path], typer.Option(
        "-o", "--output", help="Write the events (JSON lines) here instead of stdout.")] = None,
    dedup_output: Annotated[Optional[Path], typer.Option(
        "--dedup-output", help="Write the deduplicated BTF here on success.")] = None,
    pahole: PaholeOpt = None,
    toolchain: ToolchainOpt = None,
    debug_file: DebugFileOpt = None,
    debug_root: DebugRootOpt = None,
    types_from: TypesFromOpt = None,
) -> None:
    """Replay btf__dedup step by step and stream every decision as JSON lines
    (exit 1 if it fails)."""
    cache_writes_at_exit()
    import sys
    from contextlib import nullcontext

    from dwarfdiag.dedup.driver import replay
    from dwarfdiag.dedup.trace import JsonlTracer
    from dwarfdiag.dedup.variants import variant
    from dwarfdiag.findings.explain import errno_name

    v = variant(libbpf)
    with progress(f"reading {input}") as bar:
        given, inputs, load = _dedup_input(input, base, pahole, toolchain, debug_file,
                                           debug_root, types_from, bar)
        check_outputs({"-o": output, "--dedup-output": dedup_output}, inputs)
        inp = load()
    focus_ids = _focus_ids(inp.btf, focus, input)
    with (output_stream(output, inputs) if output else nullcontext(sys.stdout)) as sink:
        tracer = JsonlTracer(sink, focus_ids)
        with progress(f"replaying libbpf {v.name}"):
            result = replay(inp.btf, v, trace=tracer)
    if dedup_output and result.ok:
        write_output(dedup_output, result.raw, inputs)
    verdict = (f"dedup ok: {len(inp.btf.types)} -> {len(result.kept)} types" if result.ok
               else f"dedup failed: {errno_name(result.error)} in {result.phase} at "
                    f"[{result.type_id}]")
    echo(f"libbpf {v.name} replay ({inp.producer}): {verdict}; {tracer.count} events"
         + (f" in {output}" if output else ""), err=True)
    if not result.ok:
        raise typer.Exit(1)


@dedup_app.command("explain")
def dedup_explain(
    input: DedupInputArg,
    libbpf: LibbpfOpt = DEFAULT_LIBBPF,
    base: BaseOpt = None,
    pahole: PaholeOpt = None,
    toolchain: ToolchainOpt = None,
    debug_file: DebugFileOpt = None,
    debug_root: DebugRootOpt = None,
    types_from: TypesFromOpt = None,
    as_json: JsonOpt = False,
    output: OutputOpt = None,
) -> None:
    """Say why btf__dedup fails (type, cycle, DIEs, root cause) or what it merged,
    and predict pahole's verdict for every libbpf version (exit 1 if it fails)."""
    cache_writes_at_exit()
    from dwarfdiag.dedup.explain import explain
    from dwarfdiag.dedup.variants import variant

    v = variant(libbpf)
    with progress(f"reading {input}") as bar:
        given, inputs, load = _dedup_input(input, base, pahole, toolchain, debug_file,
                                           debug_root, types_from, bar)
        if output:
            check_output(output, inputs)
        inp = load()
        result = explain(inp, v, progress=bar.stage)
    emit(result, as_json, output, inputs=inputs)
    keep_until_exit(inp)
    if not result.ok:
        raise typer.Exit(1)
