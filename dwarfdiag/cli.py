"""The ``dwarfdiag`` command line: thin wrappers over the library.

Each command parses its options, calls one library function and prints the
result. Library errors (:class:`~dwarfdiag.errors.DwarfdiagError`) become one
line on stderr and exit code 2; ``--debug`` shows the traceback instead.
"""

from __future__ import annotations

import json
import sys
import traceback
from enum import Enum
from pathlib import Path
from typing import Annotated, Iterable, Optional

import typer

from dwarfdiag import __version__
from dwarfdiag.errors import DwarfdiagError
from dwarfdiag.findings.schema import to_data, to_json

app = typer.Typer(
    name="dwarfdiag",
    help="Explain why Go binaries break BTF generation (pahole / libbpf btf__dedup).",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    add_completion=False,
)
btf_app = typer.Typer(help="Read, dump and inspect BTF files.", no_args_is_help=True)
dedup_app = typer.Typer(help="Run libbpf's btf__dedup and explain its verdict.",
                        no_args_is_help=True)
toolchains_app = typer.Typer(help="The compilers, pahole and libbpf versions dwarfdiag uses.",
                             no_args_is_help=True)
corpus_app = typer.Typer(help="The built-in corpus of Go programs and its builds.",
                         no_args_is_help=True)
app.add_typer(btf_app, name="btf")
app.add_typer(dedup_app, name="dedup")
app.add_typer(toolchains_app, name="toolchains")
app.add_typer(corpus_app, name="corpus")


class _State:
    debug = False


def _version_callback(value: bool) -> None:
    if value:
        typer.echo(f"dwarfdiag {__version__}")
        raise typer.Exit()


@app.callback()
def _root(
    debug: Annotated[bool, typer.Option("--debug", help="Show tracebacks for errors.")] = False,
    version: Annotated[Optional[bool], typer.Option(
        "--version", callback=_version_callback, is_eager=True,
        help="Print the version and exit.")] = None,
) -> None:
    _State.debug = debug


def _write_stream(chunks: Iterable[str], out: Optional[Path]) -> None:
    if out is None:
        for chunk in chunks:
            sys.stdout.write(chunk)
        sys.stdout.flush()
    else:
        with open(out, "w") as f:
            f.writelines(chunks)


# ---------------------------------------------------------------- btf


class DumpFormat(str, Enum):
    raw = "raw"
    json = "json"


@btf_app.command("dump")
def btf_dump(
    file: Annotated[Path, typer.Argument(help="Raw BTF file, or an ELF with a .BTF section.")],
    base: Annotated[Optional[Path], typer.Option(help="Base BTF: FILE is split BTF on top of it.")] = None,
    format: Annotated[DumpFormat, typer.Option("--format", "-f",
                      help="raw: as 'bpftool btf dump file'; json: as 'bpftool -j'.")] = DumpFormat.raw,
    type_id: Annotated[Optional[int], typer.Option("--id", help="Dump only this type id.")] = None,
    root: Annotated[Optional[str], typer.Option(
        help="Dump the types with this name and everything they reference.")] = None,
    output: Annotated[Optional[Path], typer.Option("-o", "--output", help="Write here instead of stdout.")] = None,
) -> None:
    """Dump BTF types exactly as bpftool does."""
    from dwarfdiag.btf.dump import dump_json, dump_text, select_ids
    from dwarfdiag.btf.files import load_btf

    btf = load_btf(file, base)
    ids = select_ids(btf, type_id=type_id, root=root)
    dumper = dump_json if format is DumpFormat.json else dump_text
    _write_stream(dumper(btf, ids), output)


@btf_app.command("info")
def btf_info(
    file: Annotated[Path, typer.Argument(help="Raw BTF file, or an ELF with a .BTF section.")],
    base: Annotated[Optional[Path], typer.Option(help="Base BTF for split BTF.")] = None,
    as_json: Annotated[bool, typer.Option("--json", help="Machine-readable output.")] = False,
) -> None:
    """Summarise a BTF file: header, byte order, type counts per kind."""
    from dwarfdiag.btf.files import load_btf
    from dwarfdiag.btf.summary import summarize

    info = summarize(load_btf(file, base))
    if as_json:
        typer.echo(json.dumps(info, indent=2))
        return
    for key, value in info.items():
        if key != "kinds":
            typer.echo(f"{key}: {value}")
    for kind, count in info["kinds"].items():
        typer.echo(f"  {kind:<11} {count}")


@btf_app.command("encode")
def btf_encode(
    binary: Annotated[Path, typer.Argument(help="ELF binary with DWARF (gc, gccgo or C).")],
    output: Annotated[Path, typer.Option("-o", "--output", help="Write the raw BTF here.")],
    no_funcs: Annotated[bool, typer.Option("--no-funcs", help="Types only: no FUNC/FUNC_PROTO for subprograms.")] = False,
    provenance: Annotated[Optional[Path], typer.Option(
        help="Write every BTF id's DIE offset, Go name, package, file and line here (JSON).")] = None,
    no_cache: Annotated[bool, typer.Option("--no-cache", help="Ignore and do not fill the cache.")] = False,
) -> None:
    """Encode DWARF as pre-dedup BTF, as pahole 1.32 builds it before btf__dedup."""
    from dwarfdiag.btf.encoder import encode_file

    result = encode_file(binary, funcs=not no_funcs, use_cache=not no_cache)
    output.write_bytes(result.raw)
    if provenance:
        result.write_provenance(provenance, str(binary))
    for tag, count in sorted(result.warnings.items()):
        typer.echo(f"warning: {tag} not encoded ({count} DIEs)", err=True)
    typer.echo(f"{output}: {result.types} types (pre-dedup){' [cached]' if result.cached else ''}")


@btf_app.command("compare")
def btf_compare(
    a: Annotated[Path, typer.Argument(help="First BTF (raw, or an ELF with .BTF).")],
    b: Annotated[Path, typer.Argument(help="Second BTF.")],
    as_json: Annotated[bool, typer.Option("--json", help="Machine-readable output.")] = False,
    limit: Annotated[int, typer.Option(help="Show at most this many differences per side.")] = 20,
) -> None:
    """Compare the named types of two BTFs: kind, name, size, vlen, members and offsets.

    Exit code 0 when equal, 1 when they differ (as cmp(1) does).
    """
    from dwarfdiag.btf.compare import compare
    from dwarfdiag.btf.files import load_btf

    result = compare(load_btf(a), load_btf(b))
    doc = result.as_dict(limit)
    if as_json:
        typer.echo(json.dumps(doc, indent=2))
    else:
        typer.echo(f"named types: {result.a_named} in {a}, {result.b_named} in {b}; "
                   + ("equal" if result.equal else
                      f"{len(result.only_a)} only in A, {len(result.only_b)} only in B"))
        for side, examples in (("A", doc["only_in_a_examples"]), ("B", doc["only_in_b_examples"])):
            for e in examples:
                typer.echo(f"  only in {side}: {e['kind']} '{e['name']}' size={e['size']} "
                           f"vlen={e['vlen']}")
    if not result.equal:
        raise typer.Exit(1)


PaholeOpt = Annotated[Optional[str], typer.Option(help="pahole executable to run.")]
ToolchainOpt = Annotated[Optional[str], typer.Option(
    help="Installed pahole/libbpf toolchain to run: bookworm, trixie, sid or system (default).")]


@btf_app.command("capture")
def btf_capture(
    binary: Annotated[Path, typer.Argument(help="ELF binary with DWARF.")],
    output: Annotated[Path, typer.Option("-o", "--output", help="Write pahole's pre-dedup BTF here.")],
    pahole: PaholeOpt = None,
    toolchain: ToolchainOpt = None,
    as_json: Annotated[bool, typer.Option("--json", help="Machine-readable output.")] = False,
) -> None:
    """Capture the BTF pahole hands to btf__dedup (even when dedup then fails)."""
    from dwarfdiag.btf.capture import capture
    from dwarfdiag.toolchains.suites import pahole_command

    argv, label = pahole_command(pahole, toolchain)
    cap = capture(binary, argv, label)
    output.write_bytes(cap.btf)
    if as_json:
        typer.echo(json.dumps({**cap.as_dict(), "output": str(output)}, indent=2))
        return
    verdict = "ok" if cap.dedup_ret == 0 else f"failed ({cap.dedup_ret})"
    typer.echo(f"{output}: {len(cap.btf)} bytes captured from {label} by {cap.method}; "
               f"its btf__dedup {verdict}")


@app.command("check")
def check_cmd(
    binary: Annotated[Path, typer.Argument(help="ELF binary with DWARF.")],
    pahole: PaholeOpt = None,
    toolchain: ToolchainOpt = None,
    btf: Annotated[Optional[Path], typer.Option(
        help="Use this already captured pre-dedup BTF instead of running pahole.")] = None,
    json_out: Annotated[Optional[Path], typer.Option("--json", help="Write the full report here (JSON).")] = None,
) -> None:
    """Check pahole's pre-dedup BTF against the DWARF, type by type and reference by reference."""
    from dwarfdiag.analysis import BinaryAnalysis, PaholeChoice

    analysis = BinaryAnalysis(binary)
    analysis.graph  # first: a binary without DWARF fails here, clearly
    if btf is not None:
        report = analysis.check_btf(btf.read_bytes(), str(btf))
    else:
        report = analysis.check(PaholeChoice.of(pahole, toolchain))
    summary = report.summary()
    for line in summary.lines():
        typer.echo(line)
    if json_out:
        json_out.write_text(to_json(summary))


# ---------------------------------------------------------------- dedup


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
    as_json: Annotated[bool, typer.Option("--json", help="Machine-readable output.")] = False,
) -> None:
    """Run the real libbpf btf__dedup() on FILE and report its verdict."""
    from dwarfdiag.btf.files import read_btf_bytes
    from dwarfdiag.btf.libbpf import HelperLibbpf, InProcessLibbpf, system_oracle
    from dwarfdiag.btf.raw import parse_btf
    from dwarfdiag.toolchains.suites import require

    if library and toolchain:
        raise DwarfdiagError("give either --library or --toolchain, not both")
    if toolchain:
        oracle = HelperLibbpf.for_toolchain(require(toolchain))
    else:
        oracle = InProcessLibbpf(library) if library else system_oracle()
    base_raw = read_btf_bytes(base) if base else None
    raw = read_btf_bytes(file)
    result = oracle.dedup(raw, base_raw)
    types_in = types_out = None
    if result.stage != "load":  # the input parsed, so counting it cannot fail
        base_btf = parse_btf(base_raw) if base_raw else None
        types_in = len(parse_btf(raw, base_btf).types)
    if result.ok and result.btf is not None:
        types_out = len(parse_btf(result.btf, base_btf).types)
        if output:
            output.write_bytes(result.btf)
    report = {"file": str(file), "libbpf": result.libbpf_version,
              "library": getattr(oracle, "path", None) or f"toolchain {toolchain}",
              "ok": result.ok, "error": result.error, "error_name": result.error_name,
              "stage": result.stage, "types_in": types_in, "types_out": types_out,
              "log": list(result.log)}
    if as_json:
        typer.echo(json.dumps(report, indent=2))
    else:
        verdict = (f"dedup ok: {types_in} -> {types_out} types" if result.ok
                   else f"btf__dedup failed: {result.error_name} ({result.stage})")
        typer.echo(f"libbpf {result.libbpf_version}: {verdict}")
        for line in result.log:
            typer.echo(f"  {line}")
    if not result.ok:
        raise typer.Exit(1)


LibbpfOpt = Annotated[str, typer.Option(
    "--libbpf", help="Which libbpf btf__dedup to replay: 1.1, 1.5, 1.6, 1.7 or master.")]
DedupInputArg = Annotated[Path, typer.Argument(
    help="Raw pre-dedup BTF, or an ELF with DWARF (encoded by dwarfdiag, or captured from "
         "pahole with --pahole/--toolchain).")]


def _focus_ids(btf, focus: str | None) -> list[int] | None:
    from dwarfdiag.errors import NotFoundError

    if focus is None:
        return None
    if focus.isdigit():
        return [int(focus)]
    ids = btf.find_by_name(focus)
    if not ids:
        raise NotFoundError(f"no type named {focus!r} in the input")
    return ids


@dedup_app.command("trace")
def dedup_trace(
    input: DedupInputArg,
    libbpf: LibbpfOpt = "1.7",
    base: Annotated[Optional[Path], typer.Option(help="Base BTF: INPUT is split BTF on top of it.")] = None,
    focus: Annotated[Optional[str], typer.Option(
        help="Only events that involve this type (id or name).")] = None,
    jsonl: Annotated[Optional[Path], typer.Option(
        help="Write the events here as JSON lines (default: stdout).")] = None,
    output: Annotated[Optional[Path], typer.Option(
        "-o", "--output", help="Write the deduplicated BTF here on success.")] = None,
    pahole: PaholeOpt = None,
    toolchain: ToolchainOpt = None,
) -> None:
    """Replay btf__dedup step by step and stream every decision as JSON lines."""
    from dwarfdiag.analysis import load_dedup_input
    from dwarfdiag.dedup.driver import replay
    from dwarfdiag.dedup.trace import JsonlTracer
    from dwarfdiag.dedup.variants import variant
    from dwarfdiag.findings.explain import errno_name

    v = variant(libbpf)
    inp = load_dedup_input(input, base, pahole, toolchain)
    sink = open(jsonl, "w") if jsonl else sys.stdout
    try:
        tracer = JsonlTracer(sink, _focus_ids(inp.btf, focus))
        result = replay(inp.btf, v, trace=tracer)
    finally:
        if jsonl:
            sink.close()
    if output and result.ok:
        output.write_bytes(result.raw)
    verdict = (f"dedup ok: {len(inp.btf.types)} -> {len(result.kept)} types" if result.ok
               else f"dedup failed: {errno_name(result.error)} in {result.phase} at "
                    f"[{result.type_id}]")
    typer.echo(f"libbpf {v.name} replay ({inp.source}): {verdict}; {tracer.count} events"
               + (f" in {jsonl}" if jsonl else ""), err=jsonl is None)
    if not result.ok:
        raise typer.Exit(1)


@dedup_app.command("explain")
def dedup_explain(
    input: DedupInputArg,
    libbpf: LibbpfOpt = "1.7",
    base: Annotated[Optional[Path], typer.Option(help="Base BTF: INPUT is split BTF on top of it.")] = None,
    pahole: PaholeOpt = None,
    toolchain: ToolchainOpt = None,
    json_out: Annotated[Optional[Path], typer.Option("--json", help="Write the diagnosis here (JSON).")] = None,
) -> None:
    """Say why btf__dedup fails (type, cycle, DIEs, root cause) or what it merged,
    and predict pahole's verdict for every libbpf version."""
    from dwarfdiag.analysis import load_dedup_input
    from dwarfdiag.dedup.explain import explain
    from dwarfdiag.dedup.variants import variant

    result = explain(load_dedup_input(input, base, pahole, toolchain), variant(libbpf))
    for line in result.lines():
        typer.echo(line)
    if json_out:
        json_out.write_text(to_json(result))
    if not result.ok:
        raise typer.Exit(1)


@app.command("bisect")
def bisect_cmd(
    target: Annotated[str, typer.Argument(
        help="An ELF binary, a corpus program (statefn, gotool = GOROOT cmd/go, ...), or a "
             "named external program from corpus/external.toml (kubeadm, kubectl, podman).")],
    binary: Annotated[Optional[Path], typer.Option(help="The binary for a named external target.")] = None,
    oracle: Annotated[str, typer.Option(help="replay (default), libbpf or pahole.")] = "replay",
    libbpf: Annotated[str, typer.Option(
        "--libbpf", help="libbpf semantics for the replay or version of the real libbpf.")] = "1.5",
    toolchain: ToolchainOpt = None,
    source: Annotated[str, typer.Option(
        "--from", help="Where the BTF comes from: encoder (dwarfdiag) or pahole (captured).")] = "encoder",
    max_calls: Annotated[Optional[int], typer.Option(help="Stop after this many oracle calls.")] = None,
    timeout: Annotated[Optional[float], typer.Option(help="Stop after this many seconds.")] = None,
    workers: Annotated[int, typer.Option(help="Oracle processes to run in parallel.")] = 2,
    out: Annotated[Optional[Path], typer.Option(
        help="Directory for bisect.json and the reproducers (default reports/TARGET).")] = None,
    no_repro: Annotated[bool, typer.Option("--no-repro", help="Do not write and verify Go reproducers.")] = False,
    verify: Annotated[str, typer.Option(
        help="Toolchains whose pahole checks each reproducer.")] = "trixie,sid",
    as_json: Annotated[bool, typer.Option("--json", help="Print the report as JSON.")] = False,
) -> None:
    """Shrink a failing binary's BTF to minimal failing type sets, with Go reproducers."""
    from rich.console import Console
    from rich.progress import Progress, SpinnerColumn, TextColumn, TimeElapsedColumn

    from dwarfdiag.bisect.oracles import OracleSpec
    from dwarfdiag.bisect.run import run_bisect
    from dwarfdiag.bisect.targets import resolve
    from dwarfdiag.toolchains import suites

    spec = OracleSpec(oracle, libbpf, toolchain if oracle == "pahole" else None)
    resolved = resolve(target, binary)
    console = Console(stderr=True)
    with Progress(SpinnerColumn(), TextColumn("{task.description}"), TimeElapsedColumn(),
                  console=console, transient=True, disable=not console.is_terminal) as bar:
        task = bar.add_task(f"bisect {resolved.name}", total=None)

        def progress(stage: str, size: int, calls: int) -> None:
            bar.update(task, description=f"{stage}: subset of {size} types, {calls} oracle calls")

        report = run_bisect(resolved, spec, source, toolchain, workers, max_calls, timeout, out,
                            not no_repro, tuple(suites.parse_names(verify)), progress)
    if as_json:
        typer.echo(to_json(report), nl=False)
    else:
        for line in report.lines():
            typer.echo(line)


@app.command("diff")
def diff_cmd(
    a: Annotated[Path, typer.Argument(help="First ELF with DWARF (e.g. the gc build).")],
    b: Annotated[Path, typer.Argument(help="Second ELF with DWARF (e.g. the gccgo build).")],
    json_out: Annotated[Optional[Path], typer.Option("--json", help="Write the whole diff here (JSON).")] = None,
    type_name: Annotated[Optional[str], typer.Option("--type", help="Only this type (Go name).")] = None,
    package: Annotated[Optional[str], typer.Option(help="Only types and functions of this package.")] = None,
    limit: Annotated[int, typer.Option(help="Patterns to show in the terminal.")] = 25,
) -> None:
    """Compare two builds' DWARF: matched Go types, representation classes, patterns, and
    the reference-only cycles each side's BTF would have."""
    from dwarfdiag.diff.differ import diff
    from dwarfdiag.dwarf.loader import load_typegraph

    result = diff(load_typegraph(a), load_typegraph(b), type_name, package)
    for line in result.lines(limit):
        typer.echo(line)
    if json_out:
        json_out.write_text(to_json(result))


@app.command("probe")
def probe_cmd(
    args: Annotated[list[str], typer.Argument(
        help="BINARY SYMBOL; with --compare: GC_BINARY GCCGO_BINARY SYMBOL. SYMBOL is a Go "
             "function name (main.f, main.(*T).M) in gc's or gccgo's spelling.")],
    compare: Annotated[bool, typer.Option("--compare", help="Show a gc and a gccgo build side by side.")] = False,
    as_json: Annotated[bool, typer.Option("--json", help="Machine-readable output.")] = False,
) -> None:
    """Where to attach a uprobe on a Go function, and where its arguments are at entry."""
    from dwarfdiag.errors import BadInputError
    from dwarfdiag.probe.probe import compare_lines, probe

    if compare:
        if len(args) != 3:
            raise BadInputError("--compare takes GC_BINARY GCCGO_BINARY SYMBOL")
        reports = [probe(Path(args[0]), args[2]), probe(Path(args[1]), args[2])]
        if as_json:
            typer.echo(json.dumps([r.as_dict() for r in reports], indent=1))
        else:
            for line in compare_lines(*reports):
                typer.echo(line)
        return
    if len(args) != 2:
        raise BadInputError("probe takes BINARY SYMBOL")
    report = probe(Path(args[0]), args[1])
    if as_json:
        typer.echo(json.dumps({**report.as_dict(), "bpftrace": report.bpftrace(),
                               "libbpf": report.libbpf()}, indent=1))
    else:
        for line in report.lines():
            typer.echo(line)


# ---------------------------------------------------------------- toolchains


@toolchains_app.command("list")
def toolchains_list(
    as_json: Annotated[bool, typer.Option("--json", help="Machine-readable output.")] = False,
) -> None:
    """Show the compilers and tools found here, and the pahole/libbpf toolchains."""
    from dwarfdiag.toolchains import suites
    from dwarfdiag.toolchains.tools import detect_tools

    tools = detect_tools()
    toolchains = {name: suites.installed(name) for name in suites.all_names()}
    if as_json:
        typer.echo(json.dumps({
            "tools": [to_data(t.record()) for t in tools],
            "toolchains": {name: to_data(tc.record()) if tc else None
                           for name, tc in toolchains.items()},
        }, indent=2))
        return
    for t in tools:
        typer.echo(f"{t.name:<8} {t.version or '-':<12} {t.path or 'not found'}")
        if not t.path and t.install_hint:
            typer.echo(f"         install: {t.install_hint}")
    typer.echo("")
    for name, tc in toolchains.items():
        spec = suites.SPECS.get(name)
        if tc:
            typer.echo(f"{name:<9} pahole {tc.pahole_version:<6} libbpf {tc.libbpf_version:<7} "
                       f"{tc.root or tc.pahole}")
        else:
            hint = f"dwarfdiag toolchains install {name}" if spec else "apt-get install dwarves"
            typer.echo(f"{name:<9} not installed ({spec.summary if spec else 'pahole on PATH'}); "
                       f"{hint}")


@toolchains_app.command("install")
def toolchains_install(
    names: Annotated[list[str], typer.Argument(help="bookworm, trixie, sid, or all.")],
    force: Annotated[bool, typer.Option("--force", help="Download and unpack again.")] = False,
) -> None:
    """Download a pahole/libbpf toolchain from Debian's archive and unpack it into the cache.

    Uses apt-get download with a private sources list and state dir, then
    dpkg -x: the system's apt sources and installed packages are never touched.
    """
    from dwarfdiag.toolchains import suites

    if names == ["all"]:
        names = list(suites.SPECS)
    for name in suites.parse_names(",".join(names)):
        typer.echo(f"installing {name} ...", err=True)
        tc = suites.install(name, force=force)
        versions = ", ".join(f"{p} {v}" for p, v in sorted(tc.packages.items()))
        typer.echo(f"{tc.label}: {tc.root or tc.pahole}")
        if versions:
            typer.echo(f"  packages: {versions}")


@toolchains_app.command("which")
def toolchains_which(
    name: Annotated[str, typer.Argument(help="bookworm, trixie, sid or system.")],
    as_json: Annotated[bool, typer.Option("--json", help="Machine-readable output.")] = False,
) -> None:
    """Print the command line that runs NAME's pahole (through its unpacked loader)."""
    import shlex

    from dwarfdiag.toolchains import suites

    tc = suites.require(suites.parse_names(name)[0])
    if as_json:
        typer.echo(to_json(tc.record()), nl=False)
    else:
        typer.echo(shlex.join(tc.pahole_argv()))


# ---------------------------------------------------------------- corpus


@corpus_app.command("list")
def corpus_list(
    as_json: Annotated[bool, typer.Option("--json", help="Machine-readable output.")] = False,
) -> None:
    """List the built-in corpus programs, simplest first."""
    from dwarfdiag.corpus.catalogue import load_catalogue

    programs = load_catalogue()
    if as_json:
        typer.echo(json.dumps([p.as_dict() for p in programs], indent=2))
        return
    for p in programs:
        typer.echo(f"{p.level:>3}  {p.name:<24} go>={p.min_go:<5} {', '.join(p.features)}")


CompilersOpt = Annotated[str, typer.Option(
    help="Comma-separated compilers: gc (the installed one), gc-VERSION, gc-all, gccgo.")]
ProgramsOpt = Annotated[Optional[str], typer.Option(
    help="Comma-separated corpus program names (default: all).")]
LevelsOpt = Annotated[Optional[str], typer.Option(help="Corpus levels, e.g. 1-5,9 (default: all).")]
ProfilesOpt = Annotated[str, typer.Option(
    help="Comma-separated build profiles: debug (-N -l, as the seed), opt.")]


def _selected_builds(compilers: str, programs: Optional[str], levels: Optional[str],
                     profiles: str, as_json: bool):
    """Build the selection with a progress bar; returns the builds."""
    from rich.console import Console
    from rich.progress import Progress

    from dwarfdiag.corpus.build import PROFILES, build_many
    from dwarfdiag.corpus.catalogue import parse_levels, select_programs
    from dwarfdiag.toolchains.go import parse_compilers

    chosen = select_programs(_split(programs) if programs else None,
                             parse_levels(levels) if levels else None)
    comps = parse_compilers(compilers)
    profs = tuple(_split(profiles))
    unknown = [p for p in profs if p not in PROFILES]
    if unknown:
        raise typer.BadParameter(f"unknown profile {unknown[0]}; use {', '.join(PROFILES)}")
    total = len(chosen) * len(comps) * len(profs)
    with Progress(console=Console(stderr=True), transient=True, disable=as_json) as progress:
        task = progress.add_task("building", total=total)
        return build_many(chosen, comps, profs, on_build=lambda b: progress.update(
            task, advance=1, description=f"built {b.program} ({b.compiler}, {b.profile})"))


@corpus_app.command("build")
def corpus_build(
    compilers: CompilersOpt = "gc,gccgo",
    programs: ProgramsOpt = None,
    levels: LevelsOpt = None,
    profiles: ProfilesOpt = "debug",
    as_json: Annotated[bool, typer.Option("--json", help="Machine-readable output.")] = False,
) -> None:
    """Build corpus programs into the cache and refresh its manifest.json.

    Builds whose sources, compiler version and flags did not change are reused.
    A program a compiler cannot build (generics on gccgo 12) is 'unsupported'.
    """
    from dwarfdiag.corpus.build import manifest_path

    builds = _selected_builds(compilers, programs, levels, profiles, as_json)
    if as_json:
        typer.echo(to_json(builds), nl=False)
    else:
        for b in builds:
            if b.status == "built":
                assert b.dwarf is not None
                detail = (f"DWARF {'/'.join(map(str, b.dwarf.versions))}, "
                          f"{b.dwarf.die_count} DIEs  {b.binary}")
            else:
                detail = b.message.splitlines()[0] if b.message else ""
            typer.echo(f"{b.level:>3} {b.program:<22} {b.compiler:<13} {b.profile:<5} "
                       f"{b.status:<11} {detail}")
        typer.echo(f"manifest: {manifest_path()}", err=True)
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
    out: Annotated[Path, typer.Option("--out", help="Where to write the matrix JSON.")] =
        Path("reports/matrix.json"),
    as_json: Annotated[bool, typer.Option("--json", help="Print the matrix JSON on stdout.")] = False,
) -> None:
    """Run pahole from each toolchain on every corpus build and tabulate pass/fail."""
    from rich.console import Console
    from rich.progress import Progress

    from dwarfdiag.toolchains import suites
    from dwarfdiag.corpus.matrix import render_table, run_matrix

    tcs = [suites.ensure(n) for n in suites.parse_names(toolchains)]
    builds = _selected_builds(compilers, programs, levels, profiles, as_json)
    console = Console(stderr=True)
    with Progress(console=console, transient=True, disable=as_json) as progress:
        task = progress.add_task("pahole", total=len(builds) * len(tcs))
        matrix = run_matrix(builds, tcs, on_cell=lambda c: progress.update(
            task, advance=1, description=f"{c.program} ({c.compiler}) x {c.toolchain}"))
    matrix.write(out)
    if as_json:
        typer.echo(to_json(matrix.record()), nl=False)
        return
    Console(width=max(Console().width, 120)).print(render_table(matrix))
    for name, counts in matrix.counts().items():
        typer.echo(f"{name}: " + ", ".join(f"{n} {o}" for o, n in sorted(counts.items())))
    typer.echo(f"matrix: {out}")


def _split(text: str) -> list[str]:
    return [part.strip() for part in text.split(",") if part.strip()]


@app.command("investigate")
def investigate(
    out: Annotated[Path, typer.Option("--out", help="Report directory.")] = Path("reports/corpus"),
    toolchains: Annotated[str, typer.Option(
        help="Comma-separated toolchains (installed into the cache when missing).")] =
        "bookworm,trixie,sid",
    compilers: CompilersOpt = "gc,gccgo",
    programs: ProgramsOpt = None,
    levels: LevelsOpt = None,
    no_bisect: Annotated[bool, typer.Option("--no-bisect", help="Skip bisecting the stand-ins.")] = False,
) -> None:
    """Build the built-in corpus, run every toolchain's pahole on it, explain every failure,
    diff gc against gccgo, bisect the failing stand-ins and write the HTML report."""
    from dwarfdiag.toolchains import suites
    from dwarfdiag.corpus.catalogue import parse_levels
    from dwarfdiag.toolchains.go import parse_compilers
    from dwarfdiag.investigate import run_investigation

    summary = run_investigation(
        out, parse_compilers(compilers), suites.parse_names(toolchains),
        _split(programs) if programs else None, parse_levels(levels) if levels else None,
        bisect=not no_bisect)
    for line in summary.verdict_lines():
        typer.echo(line)


@app.command("report")
def report_cmd(
    inputs: Annotated[list[Path], typer.Argument(
        help="Saved results: findings.json (dwarfdiag investigate), bisect.json "
             "(dwarfdiag bisect), diff JSON (dwarfdiag diff --json).")],
    out: Annotated[Path, typer.Option("--out", help="Directory for index.html and findings.json.")],
) -> None:
    """Render the HTML report from saved results, without recomputing anything."""
    from dwarfdiag import findings
    from dwarfdiag.errors import BadInputError
    from dwarfdiag.report.render import merge_inputs, write_report

    documents = []
    for path in inputs:
        try:
            data = path.read_bytes()
        except OSError as e:
            raise BadInputError(f"{path}: cannot read: {e.strerror}") from e
        documents.append((str(path), findings.load(path, data)))
    typer.echo(str(write_report(merge_inputs(documents), out)))


# ---------------------------------------------------------------- entry point


def main() -> None:
    try:
        app()
    except DwarfdiagError as e:
        if _State.debug:
            traceback.print_exc()
        print(f"dwarfdiag: error: {e}", file=sys.stderr)
        sys.exit(2)
    except BrokenPipeError:
        # output piped into head(1) and friends: not an error
        sys.stderr.close()
        sys.exit(0)
    except KeyboardInterrupt:
        print("dwarfdiag: interrupted", file=sys.stderr)
        sys.exit(130)
