"""Where a Go type is declared: a file and line that exist on this machine.

gc writes no ``DW_AT_decl_file`` for types, and gccgo's points into the
temporary directory the build ran in, gone by the time anyone reads the
report. So the declaration is looked up the way a reader would: in the
package's directory, the line ``type Name`` (or ``Name ...`` inside a
``type (`` block). Package directories come from

* a corpus program: its own packages under its corpus directory (``main`` is
  the directory itself, ``PROGRAM/sub`` its ``sub`` folder);
* the standard library: ``GOROOT/src`` of the gc that built it (gccgo ships no
  sources);
* a module target: where ``go list`` found each package when it was built
  (``Build.packages``; the module cache keeps them);
* any other binary: the source files its DWARF names for each package's unit,
  where they still exist (a user's own build, in place).

Paths are shown the way a Go developer names them: ``corpus/09-statefn/main.go``,
``go1.27.3/src/text/template/parse/lex.go``,
``k8s.io/kubernetes@v1.37.2/cmd/kubeadm/app/cmd/init.go``.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path

MAX_FILES = 400  # a package with more Go files than this is not searched
MAX_FILE_BYTES = 4 << 20


@dataclass
class SourceMap:
    """Import path -> (directory, how to show it)."""

    packages: dict[str, tuple[Path, str]] = field(default_factory=dict)
    goroot: tuple[Path, str] | None = None  # (GOROOT/src, "go1.27.3/src")
    _found: dict[tuple[str, str], tuple[str, int] | None] = field(default_factory=dict)

    def directory(self, package: str) -> tuple[Path, str] | None:
        if package in self.packages:
            return self.packages[package]
        if self.goroot is not None and "." not in package.split("/")[0]:
            root, shown = self.goroot
            folder = root / package
            if folder.is_dir():
                return folder, f"{shown}/{package}"
        return None

    def add_units(self, units) -> None:
        """Each package's directory as the DWARF names it, where it exists and no other
        source gave one: of the ``.go`` files a unit lists, in the order it lists them
        (gc names a unit after its package; the loader gives gccgo's theirs), the
        directory of the first whose ``package`` clause is the package's name. A unit
        also lists the files of what it inlined, from other packages' directories."""
        for unit in units:
            if not unit.package or unit.package in self.packages:
                continue
            wanted = _package_name(unit.package)
            tried: set[str] = set()
            for file in unit.files:
                folder = str(Path(file).parent)
                if not (file.endswith(".go") and Path(file).is_absolute()) or folder in tried:
                    continue
                tried.add(folder)
                if _package_clause(Path(file)) == wanted:
                    self.packages[unit.package] = (Path(folder), folder)
                    break
                if len(tried) >= 20:
                    break
        self._found.clear()  # what was not found may be found now

    def declaration(self, package: str | None, go_name: str | None) -> tuple[str, int] | None:
        """(shown path, line) of ``type Name`` for a Go type name in its package."""
        if not package or not go_name:
            return None
        name = _type_name(package, go_name)
        if not name:
            return None
        key = (package, name)
        if key not in self._found:
            found = self.directory(package)
            self._found[key] = _search(found[0], found[1], name) if found else None
        return self._found[key]


def _package_name(import_path: str) -> str:
    """The name Go code of ``import_path`` declares, by convention: its last element
    without a major-version suffix (``gopkg.in/yaml.v3`` -> ``yaml``, ``x/y/v2`` -> ``y``)."""
    parts = import_path.split("/")
    if len(parts) > 1 and re.fullmatch(r"v\d+", parts[-1]):
        parts.pop()
    return re.sub(r"\.v\d+$", "", parts[-1])


def _package_clause(path: Path) -> str | None:
    """The name in a Go file's ``package`` clause (None if unreadable or missing)."""
    try:
        with open(path, errors="replace") as f:
            for _, line in zip(range(200), f):
                m = re.match(r"^package\s+(\w+)", line)
                if m:
                    return m[1]
    except OSError:
        return None
    return None


def _type_name(package: str, go_name: str) -> str | None:
    """``text/template/parse.stateFn`` -> ``stateFn``; composite spellings have none."""
    name = go_name.split("[", 1)[0]  # generic instances: main.Box[int]
    prefix = package + "."
    if name.startswith(prefix):
        name = name[len(prefix):]
    elif "." in name:  # another package's type, or a composite spelling
        return None
    # else gccgo's bare name of a type of the unit's own package
    return name if re.fullmatch(r"[A-Za-z_]\w*", name) else None


def _search(folder: Path, shown: str, name: str) -> tuple[str, int] | None:
    try:
        files = sorted(p for p in folder.glob("*.go") if not p.name.endswith("_test.go"))
    except OSError:
        return None
    single = re.compile(rf"^type\s+{re.escape(name)}\b")
    in_block = re.compile(rf"^\s+{re.escape(name)}\b(?!\s*[,=(])")
    for path in files[:MAX_FILES]:
        try:
            if path.stat().st_size > MAX_FILE_BYTES:
                continue
            lines = path.read_text(errors="replace").splitlines()
        except OSError:
            continue
        block = False
        for number, line in enumerate(lines, 1):
            if single.match(line):
                return f"{shown}/{path.name}", number
            if re.match(r"^type\s*\($", line):
                block = True
            elif block and line.startswith(")"):
                block = False
            elif block and in_block.match(line):
                return f"{shown}/{path.name}", number
    return None


def shown_module_dir(directory: str, modcache: str | None) -> str:
    """A module cache directory as ``module@version/sub`` (the cache escapes capitals
    as ``!x``); any other directory as it is."""
    if modcache and directory.startswith(modcache.rstrip("/") + "/"):
        rest = directory[len(modcache.rstrip("/")) + 1:]
        return re.sub(r"!([a-z])", lambda m: m[1].upper(), rest)
    return directory


def for_build(build, repository: Path | None = None) -> SourceMap:
    """The source map of one build (a :class:`dwarfdiag.findings.matrix.Build`)."""
    from dwarfdiag.toolchains.go import parse_compilers

    out = SourceMap()
    if build.family == "gc":
        try:
            go = Path(parse_compilers(build.compiler)[0].go_command).resolve()
        except Exception:  # noqa: BLE001 - no such compiler here: no standard library sources
            go = None
        if go is not None and (go.parent.parent / "src").is_dir():
            out.goroot = (go.parent.parent / "src", f"go{build.compiler_version}/src")
    for package, spec in (build.packages or {}).items():
        directory, _, shown = spec.partition("\t")
        out.packages[package] = (Path(directory), shown or directory)
    program = _corpus_program(build.program) if not build.module else None
    if program is not None and not program.is_standin:
        folder = Path(program.directory)
        shown = _relative(folder, repository)
        module = _module_path(folder) or build.program
        out.packages.setdefault("main", (folder, shown))
        for sub in (p for p in folder.rglob("*") if p.is_dir()):
            rel = sub.relative_to(folder).as_posix()
            out.packages.setdefault(f"{module}/{rel}", (sub, f"{shown}/{rel}"))
    return out


def _corpus_program(name: str):
    from dwarfdiag.corpus.catalogue import load_catalogue
    from dwarfdiag.errors import NotFoundError

    try:
        return next((p for p in load_catalogue() if p.name == name), None)
    except NotFoundError:
        return None


def _module_path(folder: Path) -> str | None:
    """The module line of a corpus program's go.mod (builds add ``module NAME``)."""
    try:
        text = (folder / "go.mod").read_text()
    except OSError:
        return None
    m = re.search(r"^module\s+(\S+)", text, re.M)
    return m[1] if m else None


def _relative(folder: Path, repository: Path | None) -> str:
    base = repository or Path.cwd()
    try:
        return folder.resolve().relative_to(base.resolve()).as_posix()
    except ValueError:
        return folder.as_posix()
