"""What a TARGET on the command line means: one :class:`~dwarfdiag.target.Target`.

In order:

* an existing file: any ELF binary (gc, gccgo, C); when it is stripped, its
  DWARF is found in a separate debug file (``--debug-file``, the GNU build-id
  under ``--debug-root``/``$DWARFDIAG_DEBUG_ROOT``/``/usr/lib/debug``,
  ``.gnu_debuglink``);
* ``MODULE/PATH/cmd/x@vX.Y.Z``: built from the module proxy
  (:mod:`dwarfdiag.targets.modules`);
* a name from ``corpus/external.toml`` (kubeadm, kubectl, helm, ...): built
  the same way at its pinned version, unless ``--binary`` or a ``binary =``
  in the user's targets.toml names one built elsewhere;
* a corpus program or stand-in (``statefn``, ``gotool`` = GOROOT ``cmd/go``).

Every command that takes a binary takes it through :func:`resolve`.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Callable

from dwarfdiag.errors import NotFoundError
from dwarfdiag.findings.matrix import Build
from dwarfdiag.target import Target, of_file
from dwarfdiag.targets import modules
from dwarfdiag.targets.catalogue import load_named, user_config
from dwarfdiag.toolchains.go import Compiler


def label(name: str) -> str:
    """A file-name-safe label: letters, digits, ``_``, ``.`` and ``-``, never hidden."""
    return re.sub(r"[^A-Za-z0-9_.-]", "_", name).lstrip(".") or "target"


def of_build(build: Build, types_from: str | None = None) -> Target:
    """A binary dwarfdiag built."""
    assert build.binary is not None
    return of_file(Path(build.binary), label(build.program), build=build,
                   types_from=types_from)


def is_prebuilt(text: str) -> bool:
    """Is ``text`` a binary that exists already (a file, or a named target with a
    ``binary =``)? Then compilers and profiles do not apply to it."""
    if Path(text).is_file():
        return True
    entry = load_named().get(text)
    return entry is not None and bool(entry.binary)


def looks_like_a_path(text: str) -> bool:
    return "/" in text and "@" not in text or text.startswith((".", "~"))


def resolve_later(text: str) -> str:
    """Check that ``text`` names a target :func:`resolve` can build (a module at a
    version, a catalogue name, a corpus program) without building it; the kind found.
    Anything else raises the error :func:`resolve` would."""
    if modules.parse(text) is not None:
        return "module"
    if text in load_named():
        return "named"
    from dwarfdiag.corpus.catalogue import load_catalogue

    if text in {p.name for p in load_catalogue()}:
        return "corpus"
    resolve(text)  # not buildable: the same error as resolving it
    return "file"


def resolve(text: str, binary: Path | None = None, debug_file: Path | None = None,
            debug_root: tuple[Path, ...] = (), compiler: Compiler | None = None,
            profile: str = "debug", progress: Callable[[str], None] | None = None,
            types_from: str | None = None) -> Target:
    """The target ``text`` names (see the module docstring), built if need be;
    ``types_from`` ``runtime``: its types from its runtime descriptors even where it
    has DWARF."""
    if binary is not None:
        if not Path(binary).is_file():
            raise NotFoundError(f"--binary {binary}: no such file")
        return of_file(Path(binary), label(Path(text).name), debug_file, debug_root,
                       types_from=types_from)
    path = Path(text)
    if path.exists() or path.is_symlink():
        return of_file(path, label(path.name), debug_file, debug_root, types_from=types_from)
    spec = modules.parse(text)
    if spec is not None:
        return of_build(_build_module(spec, compiler, profile, progress), types_from)
    named = load_named()
    if text in named:
        entry = named[text]
        if entry.binary:
            configured = Path(entry.binary).expanduser()
            if not configured.is_file():
                raise NotFoundError(f"{text}: binary = {entry.binary!r} (in {user_config()}) "
                                    f"is not a file")
            return of_file(configured, label(text), debug_file, debug_root,
                           types_from=types_from)
        spec = modules.ModuleTarget(entry.name, entry.package, entry.version, entry.tags,
                                    entry.replace_staging, entry.module)
        return of_build(_build_module(spec, compiler, profile, progress), types_from)
    from dwarfdiag.corpus.catalogue import load_catalogue

    programs = {p.name: p for p in load_catalogue()}
    if text in programs:
        from dwarfdiag.corpus.build import build
        from dwarfdiag.toolchains.go import gc

        built = build(programs[text], compiler or gc(), profile)
        if built.status != "built":
            raise NotFoundError(f"cannot build corpus program {text}: {built.message}")
        return of_build(built, types_from)
    known = sorted(set(programs) | set(named))
    if looks_like_a_path(text):
        raise NotFoundError(f"{text}: no such file")
    if "/" in text:
        raise NotFoundError(f"{text}: no such file, and not MODULE/PATH@VERSION")
    raise NotFoundError(f"unknown target {text!r}: give a path to an ELF binary, "
                        f"MODULE/PATH@VERSION, or one of {', '.join(known)}")


def _build_module(spec: modules.ModuleTarget, compiler: Compiler | None, profile: str,
                  progress: Callable[[str], None] | None) -> Build:
    from dwarfdiag.toolchains.go import gc

    return modules.with_actual_compiler(modules.build(spec, compiler or gc(), profile,
                                                      progress))
