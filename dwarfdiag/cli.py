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


# ---------------------------------------------------------------- dedup


@dedup_app.command("libbpf")
def dedup_libbpf(
    file: Annotated[Path, typer.Argument(help="Raw BTF (pre-dedup), or an ELF with a .BTF section.")],
    base: Annotated[Optional[Path], typer.Option(help="Base BTF for split BTF.")] = None,
    output: Annotated[Optional[Path], typer.Option("-o", "--output",
                      help="Write the deduplicated raw BTF here.")] = None,
    library: Annotated[Optional[Path], typer.Option(
        "--library", help="libbpf.so.1 to load (default: the system's).")] = None,
    as_json: Annotated[bool, typer.Option("--json", help="Machine-readable output.")] = False,
) -> None:
    """Run the real libbpf btf__dedup() on FILE and report its verdict."""
    from dwarfdiag.btf.files import read_btf_bytes
    from dwarfdiag.btf.libbpf import InProcessLibbpf, system_oracle
    from dwarfdiag.btf.raw import parse_btf

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
    report = {"file": str(file), "libbpf": result.libbpf_version, "library": oracle.path,
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


# ---------------------------------------------------------------- toolchains


@toolchains_app.command("list")
def toolchains_list(
    as_json: Annotated[bool, typer.Option("--json", help="Machine-readable output.")] = False,
) -> None:
    """Show the Go compilers, pahole, bpftool and libbpf found on this machine."""
    from dwarfdiag.corpus.toolchains import detect_tools

    tools = detect_tools()
    if as_json:
        typer.echo(json.dumps([t.as_dict() for t in tools], indent=2))
        return
    for t in tools:
        where = t.path or "not found"
        typer.echo(f"{t.name:<8} {t.version or '-':<12} {where}")
        if not t.path and t.install_hint:
            typer.echo(f"         install: {t.install_hint}")


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


@corpus_app.command("build")
def corpus_build(
    compilers: Annotated[str, typer.Option(help="Comma-separated compilers: gc, gccgo.")] = "gc,gccgo",
    programs: Annotated[Optional[str], typer.Option(
        help="Comma-separated corpus program names (default: all).")] = None,
    as_json: Annotated[bool, typer.Option("--json", help="Machine-readable output.")] = False,
) -> None:
    """Build corpus programs into the cache (reusing builds whose sources did not change)."""
    from dwarfdiag.corpus.build import build_many

    builds = build_many(_split(compilers), _split(programs) if programs else None)
    if as_json:
        typer.echo(json.dumps([b.as_dict() for b in builds], indent=2))
    else:
        for b in builds:
            detail = b.binary if b.binary else b.message.splitlines()[0] if b.message else ""
            typer.echo(f"{b.program:<24} {b.compiler:<6} {b.status:<12} {detail}")
    if any(b.status == "failed" for b in builds):
        raise typer.Exit(1)


def _split(text: str) -> list[str]:
    return [part.strip() for part in text.split(",") if part.strip()]


@app.command("investigate")
def investigate(
    out: Annotated[Path, typer.Option("--out", help="Report directory.")] = Path("reports/corpus"),
    compilers: Annotated[str, typer.Option(help="Comma-separated compilers: gc, gccgo.")] = "gc,gccgo",
    programs: Annotated[Optional[str], typer.Option(
        help="Comma-separated corpus program names (default: all).")] = None,
) -> None:
    """Build the built-in corpus, run pahole on every build and explain the outcome."""
    from dwarfdiag.investigate import run_investigation

    summary = run_investigation(out, _split(compilers), _split(programs) if programs else None)
    for line in summary.verdict_lines():
        typer.echo(line)


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
