"""The typer apps: the root command and its groups (commands attach in their modules)."""

from __future__ import annotations

from typing import Annotated, Optional

import typer

from dwarfdiag import __version__, fork

SETTINGS = dict(no_args_is_help=True, rich_markup_mode=None,
                context_settings={"help_option_names": ["-h", "--help"]})
app = typer.Typer(
    name="dwarfdiag",
    help="Explain why Go binaries break BTF generation (pahole / libbpf btf__dedup), "
         "and make BTF that works. Exit codes: 0 fine, 1 what was examined fails (pahole "
         "failed, check found inconsistencies, explain predicts a failure), 2 an error.",
    pretty_exceptions_enable=False, **SETTINGS)
btf_app = typer.Typer(help="Read, write, dump and inspect BTF.", **SETTINGS)
dedup_app = typer.Typer(help="Run libbpf's btf__dedup and explain its verdict.", **SETTINGS)
toolchains_app = typer.Typer(help="The compilers, pahole and libbpf versions dwarfdiag uses.",
                             **SETTINGS)
corpus_app = typer.Typer(help="The built-in corpus of Go programs and its builds.", **SETTINGS)
cache_app = typer.Typer(help="What dwarfdiag keeps in its cache, and cleaning it.", **SETTINGS)
app.add_typer(btf_app, name="btf")
app.add_typer(dedup_app, name="dedup")
app.add_typer(toolchains_app, name="toolchains")
app.add_typer(corpus_app, name="corpus")
app.add_typer(cache_app, name="cache")


class State:
    debug = False
    leaving_at_once = False  # main() is running: the process ends with os._exit
    kept: list = []


def cache_writes_at_exit() -> None:
    """This command reads one binary (diff: two) and ends: the cache writes it would
    give background children wait until its output is out and run detached as the
    script leaves (:func:`dwarfdiag.fork.detach_at_exit`; a child working beside the
    command costs both copied pages). Commands that go on (investigate, bisect,
    corpus matrix) write as they go: put-off work would pile up, holding every
    binary's graph. Only in the script, as :func:`keep_until_exit`."""
    if State.leaving_at_once:
        fork.detach_at_exit()


def keep_until_exit(*objects: object) -> None:
    """Leave ``objects`` (TypeGraphs: millions of small objects) for the operating
    system to free when the script leaves at once (see ``main``), rather than one by
    one as the command returns (a visible share of a warm diff or explain: see
    bench/bench_speed.py). Only in the script: a command invoked
    through ``app`` (the tests) frees them as usual."""
    if State.leaving_at_once:
        State.kept.extend(objects)


def _version_callback(value: bool) -> None:
    if value:
        typer.echo(f"dwarfdiag {__version__}")
        raise typer.Exit()


@app.callback()
def _root(
    debug: Annotated[bool, typer.Option(
        "--debug", help="Show tracebacks for errors (anywhere on the command line).")] = False,
    tool_timeout: Annotated[Optional[float], typer.Option(
        "--tool-timeout", min=1, help="Stop any outside tool (pahole, go, gccgo, apt-get) after "
        "this many seconds (default: each tool's own limit; DWARFDIAG_TOOL_TIMEOUT).")] = None,
    version: Annotated[Optional[bool], typer.Option(
        "--version", callback=_version_callback, is_eager=True,
        help="Print the version and exit.")] = None,
) -> None:
    import os

    from dwarfdiag.toolchains.run import ENV

    State.debug = State.debug or debug  # main() takes --debug from any position too
    if tool_timeout is not None:
        os.environ[ENV] = str(tool_timeout)
