"""ELF in, TypeGraph out, with an on-disk cache keyed by content.

The cache key (:func:`dwarfdiag.cache.derived_key`) is the SHA-256 of the
binary's bytes plus a fingerprint of dwarfdiag's code and the Python
version, never the path. A warm load reads one verified ``marshal`` entry
and does not parse DWARF at all.
"""

from __future__ import annotations

import marshal
from collections import Counter
from pathlib import Path
from typing import Callable

from dwarfdiag.cache import derived_key, load_derived, store_derived
from dwarfdiag.dwarf import gonames
from dwarfdiag.dwarf.constants import At, Tag
from dwarfdiag.dwarf.lines import file_table
from dwarfdiag.dwarf.reader import AT_STMT_LIST, Context, read_unit, unit_headers
from dwarfdiag.dwarf.sections import read_sections
from dwarfdiag.elf import STT_FUNC, ElfFile
from dwarfdiag.dwarf.typegraph import CompileUnit, Die, TypeGraph, link_children
from dwarfdiag.errors import BadInputError

CACHE_FORMAT = 8  # bump when TypeGraph.to_data changes shape

Progress = Callable[[int, int], None]  # (bytes of .debug_info done, total)


def content_key(path: Path) -> str:
    """The TypeGraph's cache key: the binary's bytes, this code, this Python."""
    return derived_key(Path(path), "typegraph", CACHE_FORMAT)


def load_typegraph(path: Path, use_cache: bool = True,
                   progress: Progress | None = None) -> TypeGraph:
    path = Path(path)
    key = content_key(path)
    if use_cache:
        payload = load_derived("typegraph", key)
        if payload is not None:
            try:
                graph = TypeGraph.from_data(marshal.loads(payload))
                graph.source = str(path)
                return graph
            except Exception:  # noqa: BLE001 - a verified entry of another shape: a miss
                pass
    graph = read_typegraph(path, key, progress)
    if use_cache:
        store_derived("typegraph", key, marshal.dumps(graph.to_data()))
    return graph


def read_typegraph(path: Path, key: str = "", progress: Progress | None = None) -> TypeGraph:
    """Read the DWARF of ``path``; errors name the file, the section and the offset."""
    try:
        return _read_typegraph(Path(path), key, progress)
    except BadInputError as e:
        if str(e).startswith(f"{path}:"):
            raise
        raise BadInputError(f"{path}: {e}") from None
    except RecursionError:
        raise BadInputError(f"{path}: DWARF nested too deeply to be real") from None


def _read_typegraph(path: Path, key: str, progress: Progress | None) -> TypeGraph:
    elf = ElfFile(path)
    sections = read_sections(elf)
    info = sections.get(".debug_info")
    if not info:
        raise BadInputError(f"{path}: no DWARF (.debug_info is missing): the binary is stripped "
                            f"or was linked with -ldflags=-w; rebuild without -s/-w (gc) or with "
                            f"-g (gccgo, gcc), or point at the unstripped binary")
    ctx = Context(sections)
    compiled: dict = {}
    count = [0]
    dies: dict[int, Die] = {}
    cus: list[CompileUnit] = []
    debug_line = sections.get(".debug_line")
    tally: dict = {}
    versions: set[int] = set()
    units = 0
    for unit in unit_headers(info, sections.endian):
        units += 1
        versions.add(unit.version)
        raw = read_unit(sections, unit, ctx, compiled, count, tally)
        if not raw:
            continue
        top = raw[0]
        if top.tag not in (Tag.compile_unit, Tag.partial_unit):
            continue  # type units and skeletons carry nothing pahole encodes
        files: list[str] = []
        if AT_STMT_LIST in top.attrs and debug_line:
            files = file_table(debug_line, top.attrs[AT_STMT_LIST], ctx)
        index = len(cus)
        cus.append(CompileUnit(top.offset, top.attrs.get(At.name) or "", 
                               top.attrs.get(At.producer) or "", top.attrs.get(At.language, 0),
                               unit.version, files))
        for d in raw:
            dies[d.offset] = Die(d.offset, d.tag, d.parent, index, d.attrs)
        if progress:
            progress(unit.end, len(info))
    link_children(dies)
    _assign_packages(cus, dies)
    stats = _usage(sections.get(".debug_abbrev"), tally)
    stats["dwarf_versions"] = sorted(versions)
    stats["unit_count"] = units
    return TypeGraph(str(path), key, cus, dies, _function_symbols(elf), count[0],
                     sections.compressed, stats)


def _usage(abbrev_data: bytes, tally: dict) -> dict:
    """DIE counts per tag, and attribute and form usage, from DIEs per abbreviation."""
    from dwarfdiag.dwarf.constants import At, Form, tag_name
    from dwarfdiag.dwarf.reader import parse_abbrevs

    tables: dict[int, dict] = {}
    tags: Counter = Counter()
    attrs: Counter = Counter()
    forms: Counter = Counter()
    for (offset, code), n in tally.items():
        table = tables.get(offset)
        if table is None:
            table = tables[offset] = parse_abbrevs(abbrev_data, offset)
        ab = table.get(code)
        if ab is None:
            continue
        tags[tag_name(ab.tag)] += n
        for at, form, _ in ab.attrs:
            attrs[_enum_name("DW_AT_", At, at)] += n
            forms[_enum_name("DW_FORM_", Form, form)] += n
    return {"dies_by_tag": dict(tags.most_common()), "attributes": dict(attrs.most_common()),
            "forms": dict(forms.most_common())}


def _enum_name(prefix: str, enum, value: int) -> str:
    try:
        return prefix + enum(value).name
    except ValueError:
        return f"{prefix}{value:#x}"


def _assign_packages(cus: list[CompileUnit], dies: dict[int, Die]) -> None:
    votes: list[Counter] = [Counter() for _ in cus]
    for d in dies.values():
        if d.tag == Tag.subprogram and d.name:
            pkg = gonames.package_of(gonames.normalise(d.name, cus[d.cu].compiler))
            if pkg:
                votes[d.cu][pkg] += 1
    for cu, vote in zip(cus, votes):
        if cu.compiler == "gc":
            cu.package = cu.name
        elif cu.compiler == "gccgo" and vote:
            cu.package = vote.most_common(1)[0][0]


def _function_symbols(elf: ElfFile) -> tuple[str, ...]:
    """Names of all STT_FUNC symbols, duplicates included (pahole counts them)."""
    return tuple(sorted(s.name for s in elf.symbols() if s.kind == STT_FUNC and s.name))
