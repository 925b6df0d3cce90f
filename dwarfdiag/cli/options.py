"""The options commands share, declared once, and the one way a command turns its
TARGET argument into a :class:`~dwarfdiag.target.Target`.

A TARGET is a path to an ELF binary (stripped ones find their DWARF through
``--debug-file``, ``--debug-root``, ``$DWARFDIAG_DEBUG_ROOT``, the GNU build-id
under ``/usr/lib/debug`` or ``.gnu_debuglink``), ``MODULE/PATH@VERSION`` (built
from the module proxy), a name from ``corpus/external.toml`` or a corpus
program. Commands that also read BTF files (``btf final``, ``btf header``,
``dedup explain|trace``) take :func:`target_or_btf`.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Callable, Optional

import typer

if TYPE_CHECKING:  # the Target (its ELF reader, the findings records) when a command runs
    from dwarfdiag.target import Target

TARGET_HELP = ("An ELF binary (stripped: with its debug file), MODULE/PATH@VERSION, or a "
               "name from corpus/external.toml (kubeadm, helm, ...) or the corpus.")
TargetArg = Annotated[str, typer.Argument(help=TARGET_HELP, metavar="TARGET",
                                          show_default=False)]
DebugFileOpt = Annotated[Optional[list[Path]], typer.Option(
    "--debug-file", help="The separate debug file of a stripped binary (with two "
                         "targets: once per stripped target, in order).")]
DebugRootOpt = Annotated[Optional[list[Path]], typer.Option(
    "--debug-root", help="Also look for debug files under this directory (as "
                         "/usr/lib/debug: .build-id/xx/rest.debug, or the debuglink's name "
                         "under the binary's own path); repeatable. "
                         "$DWARFDIAG_DEBUG_ROOT adds more.")]
TypesFromOpt = Annotated[Optional[str], typer.Option(
    "--types-from", help="Where the types come from: dwarf (the default where there is "
                         "DWARF) or runtime (a Go binary's own type descriptors, the default "
                         "where there is no DWARF: -ldflags=-s -w builds).")]
JsonOpt = Annotated[bool, typer.Option("--json", help="Print JSON on stdout instead of text.")]
OutputOpt = Annotated[Optional[Path], typer.Option(
    "-o", "--output", help="Write the output to this file instead of stdout.")]
PaholeOpt = Annotated[Optional[str], typer.Option(help="pahole executable to run.")]
ToolchainOpt = Annotated[Optional[str], typer.Option(
    help="Installed pahole/libbpf toolchain to run: bookworm, trixie, sid or system (default).")]
LibbpfOpt = Annotated[str, typer.Option(
    "--libbpf", help="Which libbpf btf__dedup to replay: 1.1, 1.5, 1.6, 1.7 or master.")]
BaseOpt = Annotated[Optional[Path], typer.Option(help="Base BTF: INPUT is split BTF on top of it.")]
CompilersOpt = Annotated[str, typer.Option(
    help="Comma-separated compilers: gc (the installed one), gc-VERSION, gc-all, gccgo, "
         "gccgo-trixie, gccgo-sid.")]
ProgramsOpt = Annotated[Optional[str], typer.Option(
    help="Comma-separated corpus program names (default: all).")]
LevelsOpt = Annotated[Optional[str], typer.Option(help="Corpus levels, e.g. 1-5,9 (default: all).")]
ProfilesOpt = Annotated[str, typer.Option(
    help="Comma-separated build profiles: debug (-N -l, as the seed), opt.")]


def split(text: str) -> list[str]:
    return [part.strip() for part in text.split(",") if part.strip()]


def targets_of(texts: list[str], debug_files: list[Path] | None,
               debug_roots: list[Path] | None,
               progress: Callable[[str], None] | None = None,
               types_from: str | None = None) -> list[Target]:
    """Each TARGET resolved; the n-th ``--debug-file`` goes with the n-th target that
    has no DWARF of its own."""
    from dwarfdiag.elf import has_debug_info, is_elf, ElfFile
    from dwarfdiag.errors import BadInputError
    from dwarfdiag.targets.resolve import resolve

    given = list(debug_files or [])
    roots = tuple(debug_roots or ())
    out = []
    for text in texts:
        debug_file = None
        if given and is_elf(Path(text)) and not has_debug_info(ElfFile(Path(text))):
            debug_file = given.pop(0)
        out.append(resolve(text, debug_file=debug_file, debug_root=roots, progress=progress,
                           types_from=types_from))
    if given:
        raise BadInputError(f"--debug-file {given[0]}: no stripped target left for it "
                            f"(a target with DWARF of its own takes none)")
    return out


def target_of(text: str, debug_files: list[Path] | None = None,
              debug_roots: list[Path] | None = None,
              progress: Callable[[str], None] | None = None,
              types_from: str | None = None) -> Target:
    return targets_of([text], debug_files, debug_roots, progress, types_from)[0]


def target_or_btf(text: str, debug_files: list[Path] | None = None,
                  debug_roots: list[Path] | None = None,
                  progress: Callable[[str], None] | None = None,
                  types_from: str | None = None) -> Target | Path:
    """A TARGET, or a BTF file: raw BTF, or an ELF whose only types are its ``.BTF``
    section (no DWARF of its own nor found)."""
    from dwarfdiag.elf import ElfFile, has_debug_info, is_elf

    path = Path(text)
    if path.is_file() and not is_elf(path):
        if debug_files:
            from dwarfdiag.errors import BadInputError

            raise BadInputError(f"{path}: --debug-file goes with a binary; this input is BTF")
        return path
    if is_elf(path) and not debug_files and types_from is None:
        elf = ElfFile(path)
        if not has_debug_info(elf) and elf.section(".BTF") is not None:
            from dwarfdiag.elf import debug_roots as roots_of, find_debug_file

            if find_debug_file(path, roots_of(tuple(debug_roots or ()))) is None:
                return path
    return target_of(text, debug_files, debug_roots, progress, types_from)
