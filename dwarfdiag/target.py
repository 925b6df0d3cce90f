"""The Target: one program as every command and stage sees it.

Whatever the user names on the command line (a binary, a stripped binary and
its debug file, ``MODULE/PATH@VERSION``, a catalogue name:
:func:`dwarfdiag.targets.resolve.resolve`) becomes one Target, and every stage
after takes it rather than a path:

* ``binary``: the file the user runs, which a uprobe attaches to;
* ``dwarf``: the file holding its DWARF, the binary itself or its separate
  debug file, and ``dwarf_from``, how that file was found (gdb's rules:
  ``--debug-file``, the GNU build-id under a debug root, ``.gnu_debuglink``);
  or, for a Go binary with no DWARF anywhere (``-ldflags=-s -w``, a vendor's
  build) or when asked (``--types-from runtime``), None: its types come from
  the runtime's own type descriptors (:mod:`dwarfdiag.gometa`), ``types_from``
  says which;
* what compiled it, its build ids and its digest, each worked out once, when
  first asked for (a command that never asks pays nothing);
* ``build``: the record of how dwarfdiag built it, when it did.

A binary's DWARF is looked for once, here; no stage looks again.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from functools import cached_property
from pathlib import Path

from dwarfdiag.elf import (ElfFile, debug_roots, find_debug_file, has_debug_info,
                           no_dwarf_hint)
from dwarfdiag.errors import BadInputError, NotFoundError
from dwarfdiag.findings.matrix import Build, DwarfStats

IN_BINARY = "in the binary"
GIVEN = "--debug-file"
RUNTIME = "the runtime's type descriptors (no DWARF)"
TYPES_FROM = ("dwarf", "runtime")


@dataclass(frozen=True, eq=False)
class Target:
    name: str  # a file-name-safe label (reports/NAME)
    binary: Path  # the file the user runs
    dwarf: Path | None  # the file its DWARF is read from; None: types from the runtime
    dwarf_from: str  # how ``dwarf`` was found (IN_BINARY, GIVEN, a build-id, a debuglink)
    build: Build | None = field(default=None, repr=False)  # dwarfdiag's build of it

    @property
    def types_from(self) -> str:
        """``dwarf``, or ``runtime``: the Go runtime's type descriptors."""
        return "dwarf" if self.dwarf is not None else "runtime"

    @property
    def stripped(self) -> bool:
        """Is its DWARF in a separate file (or nowhere)?"""
        return self.dwarf_from != IN_BINARY

    @property
    def files(self) -> list[Path]:
        """The files this target is read from (never written over)."""
        return [self.binary] + ([self.dwarf] if self.dwarf and self.dwarf != self.binary else [])

    @property
    def types_file(self) -> Path:
        """The file the types are read from: the DWARF's, or the binary's own."""
        return self.dwarf or self.binary

    @cached_property
    def elf(self) -> ElfFile:
        return ElfFile(self.binary)

    @cached_property
    def runtime(self):
        """The binary's Go runtime metadata (:class:`dwarfdiag.gometa.GoRuntime`)."""
        from dwarfdiag.gometa import GoRuntime

        return GoRuntime(self.binary, self.elf)

    def require_dwarf(self, why: str) -> Path:
        """The DWARF file, or one line saying ``why`` it is needed and how to give it."""
        if self.dwarf is not None:
            return self.dwarf
        raise BadInputError(f"{self.binary}: no DWARF (its types come from the runtime's "
                            f"descriptors): {why}; give its debug file with --debug-file or "
                            f"--debug-root, or build it without -ldflags=-s -w")

    @cached_property
    def digest(self) -> str:
        """SHA-256 of the types file's bytes: what the derived caches are keyed by."""
        from dwarfdiag.cache import file_digest

        return file_digest(self.types_file)

    def load_graph(self, **options):
        """The TypeGraph of its types: :func:`~dwarfdiag.dwarf.loader.load_typegraph`
        of its DWARF with ``options``, or the graph of its runtime descriptors."""
        if self.dwarf is None:
            return self.runtime.typegraph()
        from dwarfdiag.dwarf.loader import load_typegraph

        return load_typegraph(self.dwarf, **options)

    @cached_property
    def build_ids(self) -> dict[str, str]:
        """The binary's GNU and Go build ids, and the SHA-256 of its bytes (what
        ``sha256sum`` prints; the derived caches' key is :attr:`digest`)."""
        if self.build is not None and self.build.build_ids:
            return dict(self.build.build_ids)
        return binary_ids(self.binary, self.elf)

    @cached_property
    def dwarf_stats(self) -> DwarfStats:
        """What its DWARF is made of, read without function bodies (the statistics
        count every DIE all the same) and from the cache when it is there."""
        if self.build is not None and self.build.dwarf is not None:
            return self.build.dwarf
        graph = self.load_graph(function_bodies=False)
        return DwarfStats(
            versions=list(graph.stats.get("dwarf_versions", [])),
            compressed=graph.compressed,
            cu_count=graph.stats.get("unit_count", len(graph.cus)),
            die_count=graph.die_count,
            dies_by_tag=dict(graph.stats.get("dies_by_tag", {})),
            producers=sorted({cu.producer for cu in graph.cus if cu.producer}))

    @cached_property
    def compiler(self) -> tuple[str, str]:
        """``(family, version)`` of what compiled the program (gc, gccgo, gcc,
        clang, rustc or unknown), from its units' producers (without DWARF, gc and
        the version its build information names)."""
        if self.dwarf is None:
            return "gc", self.runtime.buildinfo.go_version.removeprefix("go")
        from dwarfdiag.dwarf.producers import main_compiler

        return main_compiler(self.dwarf_stats.producers)

    @property
    def family(self) -> str:
        return self.compiler[0]

    def record(self) -> Build:
        """The target as a build record: dwarfdiag's own when it built it, else what
        the file and its DWARF say."""
        if self.build is not None:
            return self.build
        family, version = self.compiler
        return Build(program=self.name, level=0, compiler=f"{family}-{version or '?'}",
                     family=family, compiler_version=version or "?", profile="as built",
                     flags=(), status="built", binary=str(self.binary.absolute()),
                     debug_file=str(self.dwarf.absolute()) if self.dwarf and self.stripped
                     else None, build_ids=self.build_ids, dwarf=self.dwarf_stats,
                     size=self.binary.stat().st_size, types_from=self.types_from)


def binary_ids(binary: Path, elf: ElfFile | None = None) -> dict[str, str]:
    """A binary's GNU build-id and Go build ID where present, and its SHA-256 (every
    binary gets a content id: gc's internal linker writes no GNU build-id)."""
    import hashlib

    ids = (elf or ElfFile(binary)).build_ids()
    h = hashlib.sha256()
    with open(binary, "rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            h.update(chunk)
    ids["sha256"] = h.hexdigest()
    return ids


def of_file(binary: Path, name: str | None = None, debug_file: Path | None = None,
            debug_root: tuple[Path, ...] = (), build: Build | None = None,
            types_from: str | None = None) -> Target:
    """A binary on disk as a Target, its types found once: the binary's own DWARF,
    the ``debug_file`` given, its separate debug file under ``debug_root``,
    ``$DWARFDIAG_DEBUG_ROOT`` and ``/usr/lib/debug``, or else, for a Go binary, its
    runtime type descriptors (``types_from="runtime"``: those even where DWARF is)."""
    binary = Path(binary)
    if not binary.exists():
        raise NotFoundError(f"{binary}: no such file")
    elf = ElfFile(binary)
    label = name or binary.name
    if types_from not in (None, *TYPES_FROM):
        raise BadInputError(f"--types-from {types_from}: choose dwarf or runtime")
    if types_from == "runtime":
        if debug_file is not None:
            raise BadInputError("--debug-file gives DWARF; --types-from runtime reads none")
        return _runtime_target(label, binary, elf, build)
    if debug_file is not None:
        debug_file = Path(debug_file)
        if not debug_file.exists():
            raise NotFoundError(f"{debug_file}: --debug-file: no such file")
        if not has_debug_info(ElfFile(debug_file)):
            raise BadInputError(f"{debug_file}: --debug-file has no DWARF (.debug_info)")
        return Target(label, binary, debug_file, GIVEN, build)
    if has_debug_info(elf):
        return Target(label, binary, binary, IN_BINARY, build)
    roots = debug_roots(debug_root)
    found = find_debug_file(binary, roots)
    if found is not None:
        return Target(label, binary, found[0], found[1], build)
    from dwarfdiag.gometa import has_runtime_metadata

    if types_from is None and has_runtime_metadata(elf):
        return _runtime_target(label, binary, elf, build)
    raise BadInputError(no_dwarf_hint(binary, roots))


def _runtime_target(label: str, binary: Path, elf: ElfFile, build: Build | None) -> Target:
    from dwarfdiag.gometa import has_runtime_metadata

    if not has_runtime_metadata(elf):
        raise BadInputError(f"{binary}: no Go runtime metadata (.gopclntab, .go.buildinfo) "
                            f"to read its types from: --types-from runtime reads binaries "
                            f"built by gc")
    target = Target(label, binary, None, RUNTIME, build)
    target.runtime  # the layout for its Go version: an unsupported one is one line now
    return target
