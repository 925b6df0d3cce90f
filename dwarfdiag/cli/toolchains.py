"""``dwarfdiag toolchains ...``: what is installed, installing, and how to run it."""

from __future__ import annotations

import shlex
from typing import Annotated

import typer

from dwarfdiag.cli.apps import toolchains_app
from dwarfdiag.cli.options import JsonOpt
from dwarfdiag.cli.output import echo, emit


@toolchains_app.command("list")
def toolchains_list(as_json: JsonOpt = False) -> None:
    """Show the compilers and tools found here, and the pahole/libbpf toolchains."""
    from dwarfdiag.toolchains import suites
    from dwarfdiag.toolchains.tools import detect_tools

    tools = detect_tools()
    installed = {name: suites.installed(name) for name in suites.all_names()}
    doc = {"tools": [t.record() for t in tools],
           "toolchains": {name: tc.record() if tc else None for name, tc in installed.items()}}

    def text():
        for t in tools:
            yield f"{t.name:<8} {t.version or '-':<12} {t.path or 'not found'}"
            if not t.path and t.install_hint:
                yield f"         install: {t.install_hint}"
        yield ""
        for name, tc in installed.items():
            spec = suites.SPECS.get(name)
            if tc:
                yield (f"{name:<9} pahole {tc.pahole_version:<6} libbpf {tc.libbpf_version:<7} "
                       f"{tc.root or tc.pahole}")
            else:
                hint = f"dwarfdiag toolchains install {name}" if spec else "apt-get install dwarves"
                yield (f"{name:<9} not installed ({spec.summary if spec else 'pahole on PATH'}); "
                       f"{hint}")

    emit(doc, as_json, text=text, kind="toolchains")


@toolchains_app.command("install")
def toolchains_install(
    names: Annotated[list[str], typer.Argument(help="bookworm, trixie, sid, or all.")],
    force: Annotated[bool, typer.Option("--force", help="Download and unpack again.")] = False,
) -> None:
    """Download a pahole/libbpf toolchain from Debian's archive and unpack it into the cache.

    Uses apt-get download with a private sources list and state dir, then
    dpkg -x: the system's apt sources and installed packages are never touched.
    """
    from dwarfdiag.cli.output import progress
    from dwarfdiag.toolchains import suites

    if names == ["all"]:
        names = list(suites.SPECS)
    for name in suites.parse_names(",".join(names)):
        with progress(f"installing {name} from Debian's archive"):
            tc = suites.install(name, force=force)
        versions = ", ".join(f"{p} {v}" for p, v in sorted(tc.packages.items()))
        echo(f"{tc.label}: {tc.root or tc.pahole}")
        if versions:
            echo(f"  packages: {versions}")


@toolchains_app.command("which")
def toolchains_which(
    name: Annotated[str, typer.Argument(help="bookworm, trixie, sid or system.")],
    as_json: JsonOpt = False,
) -> None:
    """Print the command line that runs NAME's pahole (through its unpacked loader)."""
    from dwarfdiag.toolchains import suites

    names = suites.parse_names(name)
    if len(names) != 1:
        from dwarfdiag.errors import BadInputError

        raise BadInputError(f"toolchains which takes one name (bookworm, trixie, sid or "
                            f"system), got {name!r}")
    tc = suites.require(names[0])
    emit(tc.record(), as_json, text=lambda: [shlex.join(tc.pahole_argv())], kind="toolchain")
