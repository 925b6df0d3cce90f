"""ELF in, TypeGraph out, with an on-disk cache keyed by content.

The cache key (:func:`dwarfdiag.cache.derived_key`) is the SHA-256 of the
binary's bytes plus a fingerprint of dwarfdiag's code and the Python
version, never the path. A warm load reads verified entries (the graph's
``marshal`` pieces, see :func:`_store`) and does not parse DWARF at all.
"""

from __future__ import annotations

import itertools
from collections import Counter
from pathlib import Path
from typing import Callable, Iterator, Sequence

from dwarfdiag.cache import (derived_key, framed, load_derived, reserve, store_derived_entries,
                             unframed)
from dwarfdiag.dwarf import gonames
from dwarfdiag.dwarf.constants import At, Tag
from dwarfdiag.dwarf.lines import file_table
from dwarfdiag.dwarf.reader import (AT_STMT_LIST, Context, UnitHeader, read_unit,
                                    unit_headers)
from dwarfdiag.dwarf.sections import ElfSections, read_sections
from dwarfdiag.elf import ElfFile
from dwarfdiag.dwarf.typegraph import (CompileUnit, Die, FunctionBodies, TypeGraph,
                                       link_children)
from dwarfdiag.errors import BadInputError
from dwarfdiag.fork import LOST, Forked, second_core, when_idle
from dwarfdiag.heap import bulk_build

CACHE_FORMAT = 10  # bump when TypeGraph.header_data or die_chunks change shape

Progress = Callable[[int, int], None]  # (bytes of .debug_info done, total)


def content_key(path: Path) -> str:
    """The TypeGraph's cache key: the binary's bytes, this code, this Python."""
    return derived_key(Path(path), "typegraph", CACHE_FORMAT)


def load_typegraph(path: Path, use_cache: bool = True, progress: Progress | None = None,
                   function_bodies: bool = True, store: bool = True,
                   one_core: bool = False, encoder_bodies: bool = False) -> TypeGraph:
    """The binary's TypeGraph, from the cache or read (and then cached); without
    ``function_bodies``, less what lies inside functions
    (:class:`~dwarfdiag.dwarf.typegraph.FunctionBodies`: never decoded when read, and
    cached so), but with ``encoder_bodies``, the bodies of the functions pahole may
    encode all the same: what the encoder needs, and in a gc binary a tenth of the
    bodies. ``store=False``: a graph
    read here is left for the caller to cache with :func:`put_in_cache` (the
    encoder's caller makes it background work). ``one_core``:
    a read stays in this process (another one, pahole, has the second core)."""
    with bulk_build(freeze=True):  # the graph lives as long as the process
        return _load_typegraph(Path(path), use_cache, progress, function_bodies, store,
                               one_core, encoder_bodies and not function_bodies)


def put_in_cache(graph: TypeGraph,
                 run: Callable[[Callable[[], object], Sequence[int]], None] = when_idle) -> None:
    """Have ``run`` write a graph read with ``store=False`` to the cache, once:
    :func:`~dwarfdiag.fork.when_idle` (now, or in the script once it has left) or
    :func:`~dwarfdiag.fork.in_background`. Its entries are reserved meanwhile, so a
    reader waits for them rather than reading the DWARF again."""
    if not graph.key or graph.cached:
        return
    entries = [("typegraph", graph.key)]
    if graph.function_bodies:
        entries.append((BODIES, graph.key))
    graph.cached = True  # in the cache, or on its way
    run(lambda: _store(graph), reserve(entries))


# The cache keeps a graph as two entries: the header and every DIE but the function
# bodies (``typegraph``), and the function bodies (``typegraph-bodies``), each a run
# of DIEs per frame, the n-th runs of both covering the same DIEs. An analysis of
# types and function names (diff) reads only the first: half the DIEs to unpack.
BODIES = "typegraph-bodies"


def _store(graph: TypeGraph) -> None:
    """Both entries of a whole graph, from one walk; the first only of a graph
    without function bodies (the same entry: a read without them leaves out what
    the split does), or with the encoder's alone (those left out as the split does)."""
    # piece by piece: never a second copy of the graph
    header = [(0, piece) for piece in framed([graph.header_data()])]
    if not graph.function_bodies:
        runs = graph.die_chunks() if not graph.encoder_bodies else (
            outside for outside, _ in graph.split_chunks(FunctionBodies().drop))
        store_derived_entries([("typegraph", graph.key)], itertools.chain(
            header, ((0, piece) for piece in framed(runs))))
        return

    def pieces() -> Iterator[tuple[int, bytes]]:
        yield from header
        for outside, inside in graph.split_chunks(FunctionBodies().drop):
            for entry, run in ((0, outside), (1, inside)):
                for piece in framed([run]):
                    yield entry, piece

    store_derived_entries([("typegraph", graph.key), (BODIES, graph.key)], pieces())


def _load(key: str, function_bodies: bool) -> TypeGraph | None:
    """The cached graph (whole, or without function bodies), None on a miss."""
    payload = load_derived("typegraph", key)
    bodies = load_derived(BODIES, key) if function_bodies and payload is not None else b""
    if payload is None or bodies is None:
        return None
    try:
        runs = unframed(payload)
        header = next(runs)
        if function_bodies:
            # the runs of both entries cover the same DIEs: merged, they are in DIE
            # order again (offsets are unique; sorting two sorted lists is one merge)
            runs = (sorted(outside + inside) for outside, inside
                    in itertools.zip_longest(runs, unframed(bodies), fillvalue=[]))
        graph = TypeGraph.from_pieces(header, runs)
        graph.function_bodies = graph.encoder_bodies = function_bodies
        return graph
    except Exception:  # noqa: BLE001 - a verified entry of another shape: a miss
        return None


def load_typegraph_between(path: Path, lo: int | None, hi: int) -> TypeGraph | None:
    """From the cache, a graph of every unit and of the DIEs (without function
    bodies) with ``lo < offset < hi`` (``lo`` None: from the start), the runs
    before unpacked one at a time and let go; None on a miss."""
    payload = load_derived("typegraph", content_key(path))
    if payload is None:
        return None
    try:
        runs = unframed(payload)
        header = next(runs)
        kept: list[tuple] = []
        for run in runs:  # in DIE order
            kept.extend(die for die in run if (lo is None or die[0] > lo) and die[0] < hi)
            if run and run[-1][0] >= hi:
                break
        graph = TypeGraph.from_pieces(header, [kept])
    except Exception:  # noqa: BLE001 - a verified entry of another shape: a miss
        return None
    graph.function_bodies = graph.encoder_bodies = False
    graph.source, graph.cached = str(path), True
    return graph


def _load_typegraph(path: Path, use_cache: bool, progress: Progress | None,
                    function_bodies: bool, store: bool, one_core: bool,
                    encoder_bodies: bool) -> TypeGraph:
    # without the cache, no key: hashing the binary is wasted, and a graph without a
    # key fills no cache downstream either (diff's cycles)
    key = content_key(path) if use_cache else ""
    if use_cache:
        # the encoder's bodies come only with all of them (the second entry)
        graph = _load(key, function_bodies or encoder_bodies)
        if graph is not None:
            graph.source, graph.cached = str(path), True
            return graph
    graph = read_typegraph(path, key, progress, function_bodies, one_core, encoder_bodies)
    if store or not function_bodies:
        put_in_cache(graph)
    return graph


def read_typegraph(path: Path, key: str = "", progress: Progress | None = None,
                   function_bodies: bool = True, one_core: bool = False,
                   encoder_bodies: bool = False) -> TypeGraph:
    """Read the DWARF of ``path`` (without ``function_bodies``, leaving out what
    :class:`~dwarfdiag.dwarf.typegraph.FunctionBodies` drops, never decoded, but for
    the bodies the encoder needs with ``encoder_bodies``); errors name the file, the
    section and the offset."""
    encoder_bodies = encoder_bodies and not function_bodies
    try:
        with bulk_build():
            return _read_typegraph(Path(path), key, progress, function_bodies, one_core,
                                   encoder_bodies)
    except BadInputError as e:
        if str(e).startswith(f"{path}:"):
            raise
        raise BadInputError(f"{path}: {e}") from None
    except RecursionError:
        raise BadInputError(f"{path}: DWARF nested too deeply to be real") from None


def _read_typegraph(path: Path, key: str, progress: Progress | None,
                    function_bodies: bool, one_core: bool, encoder_bodies: bool) -> TypeGraph:
    elf = ElfFile(path)
    sections = read_sections(elf)
    info = sections.get(".debug_info")
    if not info:
        raise BadInputError(f"{path}: no DWARF (.debug_info is missing): the binary is stripped "
                            f"or was linked with -ldflags=-w; rebuild without -s/-w (gc) or with "
                            f"-g (gccgo, gcc), or point at the unstripped binary")
    units = list(unit_headers(info, sections.endian))
    abbrevs, compressed = sections.get(".debug_abbrev"), sections.compressed
    del info  # the reading lets the inflated sections go once it is done with them
    merged = _Merged()
    functions = read_units_on_two_cores(sections, units, progress, merged.add,
                                        meanwhile=lambda: _function_symbols(elf),
                                        function_bodies=function_bodies, one_core=one_core,
                                        encoder_bodies=encoder_bodies)
    link_children(merged.dies)
    _assign_packages(merged.cus, merged.dies)
    stats = _usage(abbrevs, merged.tally)
    stats["dwarf_versions"] = sorted(merged.versions)
    stats["unit_count"] = len(units)
    return TypeGraph(str(path), key, merged.cus, merged.dies, functions, merged.count,
                     compressed, stats, function_bodies=function_bodies,
                     encoder_bodies=function_bodies or encoder_bodies)


class _Merged:
    """The parts :func:`read_units` returns, merged in unit order into Dies."""

    def __init__(self) -> None:
        self.dies: dict[int, Die] = {}
        self.cus: list[CompileUnit] = []
        self.tally: dict = {}
        self.versions: set[int] = set()
        self.count = 0

    def add(self, part: dict) -> None:
        first = len(self.cus)
        self.cus.extend(CompileUnit(*c) for c in part["cus"])
        dies, per_unit = self.dies, part["dies"]
        for index in range(len(per_unit)):
            for offset, tag, parent, attrs in per_unit[index]:
                dies[offset] = Die(offset, tag, parent, first + index, attrs)
            per_unit[index] = None  # its tuples' memory goes to the next unit's Dies
        for k, n in part["tally"].items():
            self.tally[k] = self.tally.get(k, 0) + n
        self.versions.update(part["versions"])
        self.count += part["count"]


def read_units(sections: ElfSections, units: list[UnitHeader],
               progress: Progress | None = None, scale: float = 1.0,
               function_bodies: bool = True, encoder_bodies: bool = False) -> dict:
    """The kept DIEs and compile units of ``units``, as plain (marshal-able) data.

    ``{"cus": [(offset, name, producer, language, version, files)], "dies":
    [[(offset, tag, parent, attrs)] for each of cus], "tally", "versions",
    "count"}``; ``progress`` hears ``.debug_info`` bytes, times ``scale``.
    """
    info = sections.get(".debug_info")
    debug_line = sections.get(".debug_line")
    ctx = Context(sections)
    compiled: dict = {}
    count = [0]
    tally: dict = {}
    versions: set[int] = set()
    cus: list[tuple] = []
    dies: list[list[tuple]] = []
    done = 0
    for unit in units:
        versions.add(unit.version)
        raw = read_unit(sections, unit, ctx, compiled, count, tally, function_bodies,
                        encoder_bodies)
        done += unit.end - unit.offset
        if not raw:
            continue
        top_offset, top_tag, _, top = raw[0]
        if top_tag not in (Tag.compile_unit, Tag.partial_unit):
            continue  # type units and skeletons carry nothing pahole encodes
        files: list[str] = []
        if AT_STMT_LIST in top and debug_line:
            files = file_table(debug_line, _unit_attr(top, AT_STMT_LIST, int, unit), ctx)
        cus.append((top_offset, _unit_attr(top, At.name, str, unit) or "",
                    _unit_attr(top, At.producer, str, unit) or "",
                    _unit_attr(top, At.language, int, unit) or 0, unit.version, files))
        dies.append(raw)
        if progress:
            progress(min(int(done * scale), len(info)), len(info))
    return {"cus": cus, "dies": dies, "tally": tally, "versions": sorted(versions),
            "count": count[0]}


def _unit_attr(top: dict, at: int, kind: type, unit: UnitHeader):
    """An attribute of the unit DIE, of the type its meaning needs (a corrupt form
    gives, say, bytes where an offset belongs)."""
    value = top.get(at)
    if value is not None and not isinstance(value, kind):
        raise BadInputError(f".debug_info: the unit DIE at {unit.die_offset:#x} has a "
                            f"{value.__class__.__name__} for attribute {at:#x}, where DWARF "
                            f"puts {'a string' if kind is str else 'a number'}; the section "
                            f"is corrupt")
    return value


# Below this much .debug_info, a second process costs more than it saves.
PARALLEL_MIN_BYTES = 4 << 20
PARENT_SHARE = 0.5  # 0.45 to 0.6 measured alike on kubeadm and podman-remote


def read_units_on_two_cores(sections: ElfSections, units: list[UnitHeader],
                            progress: Progress | None, consume: Callable[[dict], None],
                            meanwhile: Callable[[], object] = lambda: None,
                            function_bodies: bool = True, one_core: bool = False,
                            encoder_bodies: bool = False) -> object:
    """:func:`read_units` over all units, the later half read by a forked child
    (:mod:`dwarfdiag.fork`); ``consume`` gets each part in unit order, so DIE order
    is kept. Returns what ``meanwhile()`` returns.

    DWARF has no index, but its units are independent: the child reads the later
    part of ``.debug_info`` (1 - PARENT_SHARE of the bytes) while this process reads
    the first, consumes it and runs ``meanwhile`` before it waits for the child
    (``sections`` are emptied then). A bad unit in the child fails the read exactly
    as it would here; a child lost any other way has its part read here instead.
    """
    total = sum(u.end - u.offset for u in units)
    if total < PARALLEL_MIN_BYTES or len(units) < 2 or one_core or not second_core():
        consume(read_units(sections, units, progress, function_bodies=function_bodies,
                           encoder_bodies=encoder_bodies))
        return meanwhile()
    running, split = 0, len(units) - 1
    for i, unit in enumerate(units):
        running += unit.end - unit.offset
        if running >= total * PARENT_SHARE:
            split = max(1, min(i + 1, len(units) - 1))
            break
    mine, theirs = units[:split], units[split:]
    bodies = dict(function_bodies=function_bodies, encoder_bodies=encoder_bodies)
    with Forked(lambda: read_units(sections, theirs, **bodies)) as child:
        consume(read_units(sections, mine, progress,
                           scale=total / max(1, sum(u.end - u.offset for u in mine)), **bodies))
        result = meanwhile()
        # this process is done with the inflated sections (the largest it holds): gone
        # before the child's part arrives, inflated again only if it is lost (from
        # a regular file; what came through a pipe stays)
        again = Path(sections.path).is_file()
        if again:
            sections.data.clear()
        second = child.result()
    if second is LOST:
        second = read_units(read_sections(sections.path) if again else sections, theirs,
                            **bodies)
    consume(second)  # type: ignore[arg-type]
    return result


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
    """gc names each unit after its package; a gccgo unit gets the package most of
    its functions carry (only gccgo units need the vote over every subprogram)."""
    gccgo = {i for i, cu in enumerate(cus) if cu.compiler == "gccgo"}
    votes: dict[int, Counter] = {i: Counter() for i in gccgo}
    if gccgo:
        subprogram = int(Tag.subprogram)
        for d in dies.values():
            if d.tag == subprogram and d.cu in gccgo and d.name:
                pkg = gonames.package_of(gonames.normalise(d.name, "gccgo"))
                if pkg:
                    votes[d.cu][pkg] += 1
    for i, cu in enumerate(cus):
        if cu.compiler == "gc":
            cu.package = cu.name
        elif i in votes and votes[i]:
            cu.package = votes[i].most_common(1)[0][0]


def _function_symbols(elf: ElfFile) -> tuple[str, ...]:
    """Names of all STT_FUNC symbols, duplicates included (pahole counts them)."""
    return tuple(sorted(elf.function_names()))
