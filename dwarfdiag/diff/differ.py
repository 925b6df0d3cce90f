"""``dwarfdiag diff A B``: match two builds' Go types and functions and compare them.

Types are matched by their normalised Go name (gccgo's ``.main.T`` and
its unqualified names of the unit's own package both become gc's
``main.T``); a name's entry DIE is its typedef when there is one, since
both compilers reach a named type through it. Each matched pair is
compared for representation class, Go kind, typedef depth, size, members
(names, offsets and the shape of their types) and attributes present on
one side only, and checked for structural identity with a walk that keeps
a visited set of DIE pairs (as drgn's ``identical()`` does), so recursive
types terminate. Differences are grouped into patterns with a count and
examples, so a 10,000-type diff reads in a screen.

For BTF, both sides are encoded as pahole 1.32 would and their
reference-only cycles listed (:mod:`dwarfdiag.btf.cycles`); a type that is
on such a cycle on one side only is marked: its difference in
representation creates (or breaks) the cycle.
"""

from __future__ import annotations

import sys
from contextlib import nullcontext
from collections import defaultdict

from dwarfdiag.diff.shapes import BASIC_NAMES, chain, go_kind, representation, typedef_depth
from dwarfdiag.dwarf import gonames
from dwarfdiag.dwarf.constants import At, Tag, attr_name, tag_name
from dwarfdiag.dwarf.reader import TYPE_TAGS
from dwarfdiag.dwarf.typegraph import Die, TypeGraph
from dwarfdiag.findings.diff import (AbsentCycleType, DiffItem, DiffPattern, DiffResult,
                                     SideSummary, TypeDiff)
from dwarfdiag.fork import OnSecondCore, second_core
from dwarfdiag.heap import bulk_build
from dwarfdiag.target import Target

IGNORED_ATTRS = {At.name, At.type, At.sibling, At.location, At.low_pc}
# plain ints for the identity walk's hot loop (an IntEnum member costs a lookup each)
_NAME, _TYPE, _BYTE_SIZE, _COUNT = int(At.name), int(At.type), int(At.byte_size), int(At.count)
_MEMBER_LOCATION, _STRUCT = int(At.data_member_location), int(Tag.structure_type)
_MEMBER = int(Tag.member)
MAX_EXAMPLES = 3
sys.setrecursionlimit(max(sys.getrecursionlimit(), 100_000))


def load_side(target: Target, progress=None, other: TypeGraph | None = None) -> TypeGraph:
    """One side of a diff: the target's TypeGraph without what lies inside its
    functions (the diff compares types and function names only): read without
    decoding them, so that the first side takes half the memory while the second is
    read, and cached so (a later whole load reads the DWARF again). ``other``, the
    side loaded already, is shared when the DWARF has the same bytes (its cache entry
    may still wait to be written: the script writes it as it leaves). The side is
    named by the target's binary, wherever its DWARF is."""
    import dataclasses

    from dwarfdiag.dwarf.loader import content_key, load_typegraph

    if other is not None and other.key and content_key(target.types_file) == other.key:
        return dataclasses.replace(other, source=str(target.binary))
    if target.dwarf is None:
        return target.runtime.typegraph(content_key(target.binary))
    graph = load_typegraph(target.dwarf, progress=progress, function_bodies=False)
    if target.stripped:
        graph = dataclasses.replace(graph, source=str(target.binary))
    return graph


# --- matching ----------------------------------------------------------------------
def type_key(g: TypeGraph, die: Die) -> str | None:
    """The normalised Go name a type is matched by, or None for anonymous types
    (memoised on the graph: the identity walk asks for it at every step)."""
    keys = g.memo_table("type_key")
    offset = die.offset
    if offset not in keys:
        keys[offset] = _type_key(g, die)
    return keys[offset]


def _type_key(g: TypeGraph, die: Die) -> str | None:
    if not die.name:
        return None
    cu = g.unit(die)
    name = gonames.normalise(die.name, cu.compiler)
    if (cu.compiler == "gccgo" and cu.package and die.tag == Tag.typedef
            and "." not in name and not name.startswith("_")
            and name not in BASIC_NAMES and name not in ("string", "error")):
        name = f"{cu.package}.{name}"  # gccgo leaves its own package's names unqualified
    return name


def named_types(g: TypeGraph) -> dict[str, Die]:
    """Matching key -> entry DIE, for types declared at unit level (types nested
    in a subprogram, like gc's ``.param0`` shapes of generic code, are local).

    When several DIEs share a key (gccgo's Go ``int`` and the C ``int`` of
    libgo's startup code), the choice must not depend on DIE order: a typedef
    first, then a Go unit's DIE over a C unit's, then the lowest offset.
    """
    unit_dies = {cu.offset for cu in g.cus}
    entries: dict[str, Die] = {}

    def rank(d: Die) -> tuple:
        return (d.tag != Tag.typedef, g.unit(d).compiler == "c", d.offset)

    for die in g:
        if die.tag not in TYPE_TAGS or die.parent not in unit_dies:
            continue
        key = type_key(g, die)
        if key is None:
            continue
        current = entries.get(key)
        if current is None or rank(die) < rank(current):
            entries[key] = die
    return entries


def functions(g: TypeGraph) -> dict[str, Die]:
    out: dict[str, Die] = {}
    for die in g:
        if die.tag == Tag.subprogram and die.name and not die.attrs.get(At.declaration):
            key = gonames.normalise(die.name, g.unit(die).compiler)
            if key not in out or die.offset < out[key].offset:
                out[key] = die
    return out


# --- comparison ----------------------------------------------------------------------
class Identity:
    """Structural identity of two DIE graphs, cycle-aware and memoised.

    A pair met again while it is being compared counts as identical (the
    coinductive reading, as drgn's ``identical()``). A "different" verdict
    never depends on such an assumption, so it is remembered for good; a
    "same" verdict only once the top-level comparison that made it is done.
    """

    def __init__(self, ga: TypeGraph, gb: TypeGraph):
        self.ga, self.gb = ga, gb
        self.different: set[tuple[int, int]] = set()
        self.same: set[tuple[int, int]] = set()

    def __call__(self, a: Die, b: Die) -> bool:
        visited: set[tuple[int, int]] = set()
        result = identical(self.ga, a, self.gb, b, visited, self)
        if result:
            self.same.update(visited)
        return result


def identical(ga: TypeGraph, a: Die | None, gb: TypeGraph, b: Die | None,
              visited: set | None = None, memo: "Identity | None" = None) -> bool:
    """Structural identity of two DIE graphs; a pair met again counts as identical."""
    if visited is None:
        visited = set()
    if a is None or b is None:
        return a is None and b is None
    pair = (a.offset, b.offset)
    if pair in visited or (memo is not None and pair in memo.same):
        return True
    if memo is not None and pair in memo.different:
        return False
    visited.add(pair)
    if not _identical_here(ga, a, gb, b, visited, memo):
        if memo is not None:
            memo.different.add(pair)
        return False
    return True


def _identical_here(ga: TypeGraph, a: Die, gb: TypeGraph, b: Die, visited: set,
                    memo: "Identity | None") -> bool:
    attrs_a, attrs_b = a.attrs, b.attrs
    if a.tag != b.tag or attrs_a.get(_BYTE_SIZE) != attrs_b.get(_BYTE_SIZE):
        return False
    if a.tag != _STRUCT and (type_key(ga, a) or "") != (type_key(gb, b) or ""):
        return False
    if len(a.children) != len(b.children):
        return False
    dies_a, dies_b = ga.dies, gb.dies
    for x, y in zip(a.children, b.children):
        x, y = dies_a[x], dies_b[y]
        xa, ya = x.attrs, y.attrs
        if (x.tag != y.tag or xa.get(_NAME) != ya.get(_NAME)
                or xa.get(_MEMBER_LOCATION) != ya.get(_MEMBER_LOCATION)
                or xa.get(_COUNT) != ya.get(_COUNT)):
            return False
        tx, ty = xa.get(_TYPE), ya.get(_TYPE)
        if not identical(ga, dies_a.get(tx) if tx else None,
                         gb, dies_b.get(ty) if ty else None, visited, memo):
            return False
    ta, tb = attrs_a.get(_TYPE), attrs_b.get(_TYPE)
    return identical(ga, dies_a.get(ta) if ta else None,
                     gb, dies_b.get(tb) if tb else None, visited, memo)


def compare_pair(name: str, ga: TypeGraph, a: Die, gb: TypeGraph, b: Die,
                 same: Identity | None = None) -> TypeDiff:
    ka, kb = go_kind(ga, a), go_kind(gb, b)
    ra, rb = representation(ga, a), representation(gb, b)
    same = same or Identity(ga, gb)
    diff = TypeDiff(name, (ka, kb), (ra, rb), same(a, b))
    add = lambda pattern, detail="": diff.items.append(DiffItem(pattern, detail))  # noqa: E731
    if ka != kb:
        add(f"Go kind {ka} (A) vs {kb} (B)")
    if ra != rb:
        add(f"{ka}: {ra} (A) vs {rb} (B)")
    da, db = typedef_depth(ga, a), typedef_depth(gb, b)
    if da != db:
        add(f"typedef depth {da} (A) vs {db} (B)")
    sa, sb = chain(ga, a)[-1], chain(gb, b)[-1]
    size_a, size_b = sa.attrs.get(At.byte_size), sb.attrs.get(At.byte_size)
    if size_a is not None and size_b is not None and size_a != size_b:
        add(f"{ka}: size differs", f"{size_a} vs {size_b}")
    if sa.tag == sb.tag == Tag.structure_type:
        _compare_members(ka, ga, sa, gb, sb, add)
    if a.attrs.keys() == b.attrs.keys():
        only_a = only_b = []  # the same attributes: nothing to spell
    else:
        only_a = sorted(_attr_names(a) - _attr_names(b))
        only_b = sorted(_attr_names(b) - _attr_names(a))
    for attr in only_a:
        add(f"{tag_name(a.tag)} has {attr} only in A")
    for attr in only_b:
        add(f"{tag_name(b.tag)} has {attr} only in B")
    if not diff.items and not diff.identical:
        add(f"{ka}: same shape, different referenced types")
    return diff


# Below this many matched types, a second process costs more than it saves.
PARALLEL_MIN_PAIRS = 20_000


def _compare_all(ga: TypeGraph, ta: dict[str, Die], gb: TypeGraph, tb: dict[str, Die],
                 keys: list[str]) -> list[TypeDiff]:
    """:func:`compare_pair` for every key, in order; for a big diff the later half
    on the second core (each process with its own identity memo: a verdict does not
    depend on what the memo holds, see :class:`Identity`)."""
    def compare(part: list[str]) -> list[TypeDiff]:
        same = Identity(ga, gb)
        return [compare_pair(key, ga, ta[key], gb, tb[key], same) for key in part]

    if len(keys) < PARALLEL_MIN_PAIRS or not second_core():
        return compare(keys)
    half = len(keys) // 2
    with OnSecondCore(lambda: [_plain(d) for d in compare(keys[half:])]) as child:
        mine = compare(keys[:half])
        theirs = child.result()
    return mine + [TypeDiff(name, tuple(kinds), tuple(reps), identical,
                            [DiffItem(pattern, detail) for pattern, detail in items])
                   for name, kinds, reps, identical, items in theirs]


def _plain(d: TypeDiff) -> tuple:
    """A TypeDiff as marshal's plain data (before any cycle is marked on it)."""
    return (d.name, d.go_kind, d.representation, d.identical,
            [(item.pattern, item.detail) for item in d.items])


def _compare_members(kind: str, ga: TypeGraph, sa: Die, gb: TypeGraph, sb: Die, add) -> None:
    dies_a, dies_b = ga.dies, gb.dies
    ma = [m for m in (dies_a[c] for c in sa.children) if m.tag == _MEMBER]
    mb = [m for m in (dies_b[c] for c in sb.children) if m.tag == _MEMBER]
    names_a = [m.attrs.get(_NAME) for m in ma]
    names_b = [m.attrs.get(_NAME) for m in mb]
    if names_a != names_b:
        add(f"{kind}: member names differ", f"{names_a} vs {names_b}")
        return
    reps_a, reps_b = ga.memo_table("representation"), gb.memo_table("representation")
    for x, y, name in zip(ma, mb, names_a):
        xa, ya = x.attrs, y.attrs
        if xa.get(_MEMBER_LOCATION) != ya.get(_MEMBER_LOCATION):
            add(f"{kind}: member offsets differ", name or "")
        tx, ty = xa.get(_TYPE), ya.get(_TYPE)
        tx, ty = dies_a.get(tx) if tx else None, dies_b.get(ty) if ty else None
        if tx is not None and ty is not None:
            # representation()'s own memo, looked up here first: members repeat types
            rx = reps_a.get(tx.offset) or representation(ga, tx)
            ry = reps_b.get(ty.offset) or representation(gb, ty)
            if rx != ry:
                add(f"member of {kind}: {rx} (A) vs {ry} (B)", name or "")


def _attr_names(die: Die) -> set[str]:
    return {attr_name(at) for at in die.attrs if at not in IGNORED_ATTRS}


# --- BTF relevance -----------------------------------------------------------------
def cycle_names(g: TypeGraph) -> tuple[list[list[str]], set[str]]:
    """Reference-only cycles of the side's pahole-1.32 encoding, as type names,
    and the set of matching keys of the named types on them.

    Cached under the graph's key, which covers the binary's bytes and all of
    dwarfdiag's code: encoding is the slow part of a warm diff.
    """
    import json

    from dwarfdiag.cache import load_derived, store_derived

    payload = load_derived("diff-cycles", g.key) if g.key else None
    if payload is not None:
        try:
            data = json.loads(payload)
            cycles, keys = data["cycles"], data["keys"]
            if isinstance(cycles, list) and isinstance(keys, list):
                return cycles, set(keys)
        except (ValueError, KeyError, TypeError):
            pass
    cycles, keys = _cycle_names(g)
    if g.key:
        store_derived("diff-cycles", g.key,
                      json.dumps({"cycles": cycles, "keys": sorted(keys)}).encode())
    return cycles, keys


def _cycle_names(g: TypeGraph) -> tuple[list[list[str]], set[str]]:
    from dwarfdiag.btf.cycles import reference_cycles
    from dwarfdiag.btf.encoder import encode

    enc = encode(g, funcs=False)
    cycles, keys = [], set()
    for cycle in reference_cycles(enc.btf):
        spelled = []
        for type_id in cycle:
            t = enc.btf.type_by_id(type_id)
            spelled.append(f"{t.kind.name} {enc.btf.name_of(t) or '(anon)'}")
            offset = enc.provenance.get(type_id, {}).get("die_offset")
            die = g.die(offset) if offset is not None else None
            key = type_key(g, die) if die is not None else None
            if key:
                keys.add(key)
        cycles.append(spelled + spelled[:1])
    return cycles, keys


def summary(g: TypeGraph, types: int, funcs: int) -> SideSummary:
    s = g.stats
    return SideSummary(g.source, sorted({cu.compiler for cu in g.cus}),
                       sorted({cu.producer for cu in g.cus if cu.producer}),
                       s.get("dwarf_versions", []), g.compressed, len(g.cus), g.die_count,
                       s.get("dies_by_tag", {}), s.get("attributes", {}), s.get("forms", {}),
                       types, funcs)


def side_cycles(g: TypeGraph) -> OnSecondCore:
    """Side ``g``'s reference-only cycles (:func:`cycle_names`), worked out on the
    second core from now on: started as soon as the first side is loaded, they run
    beside the reading of the second (encoding a side for them is a sixth of a cold
    diff). Give it to :func:`diff` as ``cycles_a``; a context manager."""
    return OnSecondCore(lambda: cycle_names(g))


def diff(ga: TypeGraph, gb: TypeGraph, type_name: str | None = None,
         package: str | None = None, cycles_a: OnSecondCore | None = None) -> DiffResult:
    """What differs between two binaries' types and functions, type by type
    (``cycles_a``: side A's cycles, started by :func:`side_cycles`)."""
    with bulk_build():  # memo tables and findings, no cycles among them
        return _diff(ga, gb, type_name, package, cycles_a)


def _diff(ga: TypeGraph, gb: TypeGraph, type_name: str | None,
          package: str | None, cycles_a: OnSecondCore | None) -> DiffResult:
    def wanted(key: str) -> bool:
        if type_name and key != type_name and not key.endswith("." + type_name):
            return False
        return not package or gonames.package_of(key) == package

    # the sides' cycles on the second core while this process matches and compares
    # (encoding both sides is a third of a cold diff): A's unless started already,
    # B's unless B has A's bytes
    same = bool(ga.key) and ga.key == gb.key
    todo = ([] if cycles_a else [ga]) + ([] if same else [gb])
    with OnSecondCore(lambda: [cycle_names(g) for g in todo]) if todo else \
            nullcontext() as cycles:
        ta, tb = named_types(ga), named_types(gb)
        fa, fb = functions(ga), functions(gb)
        keys_a = {k for k in ta if wanted(k)}
        keys_b = {k for k in tb if wanted(k)}
        diffs = _compare_all(ga, ta, gb, tb, sorted(keys_a & keys_b))
        found = list(cycles.result()) if cycles else []  # type: ignore[union-attr]
        side_a = cycles_a.result() if cycles_a else found.pop(0)
        side_b = side_a if same else found.pop(0)
        (cycles_a, on_a), (cycles_b, on_b) = side_a, side_b
    for d in diffs:
        d.on_cycle = (d.name in on_a, d.name in on_b)
        if d.on_cycle[0] != d.on_cycle[1]:
            d.items.append(DiffItem("on a reference-only cycle in "
                                    + ("A only" if d.on_cycle[0] else "B only")))
    a, b = summary(ga, len(ta), len(fa)), summary(gb, len(tb), len(fb))
    a.reference_cycles, b.reference_cycles = cycles_a, cycles_b
    func_keys_a = {k for k in fa if not package or gonames.package_of(k) == package}
    func_keys_b = {k for k in fb if not package or gonames.package_of(k) == package}
    result = DiffResult(a, b, len(keys_a & keys_b), sorted(keys_a - keys_b),
                        sorted(keys_b - keys_a), len(func_keys_a & func_keys_b),
                        sorted(func_keys_a - func_keys_b), sorted(func_keys_b - func_keys_a),
                        diffs)
    # a type on one side's cycles that the other side does not have at all: say so,
    # rather than count it as "not on a cycle" there
    result.cycle_types_absent = [
        AbsentCycleType(key, side, _why_absent(key, other))
        for side, on, other_keys, other in (("A", on_a, set(tb), gb), ("B", on_b, set(ta), ga))
        for key in sorted(on) if wanted(key) and key not in other_keys]
    result.patterns = group(diffs)
    for what in ("dies_by_tag", "attributes", "forms"):
        ua, ub = set(a.__dict__[what]), set(b.__dict__[what])
        label = {"dies_by_tag": "tags", "attributes": "attributes", "forms": "forms"}[what]
        result.usage_only_a[label] = sorted(ua - ub)
        result.usage_only_b[label] = sorted(ub - ua)
    return result


def _why_absent(key: str, other: TypeGraph) -> str:
    """Why the other build has no type named ``key``."""
    package = gonames.package_of(key) or ""
    standard = package and "." not in package.split("/")[0]
    if standard and any(cu.compiler == "gccgo" for cu in other.cus):
        return (f"the other build has no type {key}: gccgo links the standard library "
                f"({package}) from libgo.so, so its types are not in the binary")
    return f"the other build's DWARF has no type {key}"


def group(diffs: list[TypeDiff]) -> list[DiffPattern]:
    by_pattern: dict[str, list[str]] = defaultdict(list)
    for d in diffs:
        for pattern in dict.fromkeys(item.pattern for item in d.items):
            by_pattern[pattern].append(d.name)
    return [DiffPattern(p, len(names), names[:MAX_EXAMPLES])
            for p, names in sorted(by_pattern.items(), key=lambda kv: (-len(kv[1]), kv[0]))]
