"""Is pahole's pre-dedup BTF a faithful image of the DWARF? ``dwarfdiag check``.

Our encoder (:mod:`dwarfdiag.btf.encoder`) emits one BTF type per DIE in
pahole's order and remembers each type's DIE. pahole's own BTF, captured
before dedup (:mod:`dwarfdiag.btf.capture`), is aligned with it type by
type (by position when the kind/name sequences agree, else by the longest
matching kind/name runs; functions by name). Then every aligned pair is
compared: kind, name, size, vlen, members, and above all where each
reference points. A mismatch is an *inconsistency*: pahole's BTF says
something the DWARF does not.

Inconsistencies are grouped by pattern (kind, slot, how far off the target
is) so that thousands read as a few lines. Two analyses say what they mean:

* **id drift**: when references land a fixed distance past the right
  target from some type on, the DIEs just before that point that got no
  BTF type are named; those are what shifted pahole's ids;
* **reference-only cycles** present in pahole's BTF but not in the DWARF's
  are encoder-made: libbpf's ``-ELOOP`` on them says nothing about the Go
  program.
"""

from __future__ import annotations

import difflib
import itertools
import operator
from collections import Counter, defaultdict
from collections.abc import Sequence
from contextlib import nullcontext
from dataclasses import dataclass, field
from typing import Callable

from dwarfdiag.btf.compare import SIZED
from dwarfdiag.btf.cycles import reference_cycles
from dwarfdiag.btf.encoder import Encoded
from dwarfdiag.btf.model import KIND_BY_VALUE, Btf, BtfKind
from dwarfdiag.btf.validate import sanity_check
from dwarfdiag.dwarf.constants import tag_name
from dwarfdiag.dwarf.reader import TYPE_TAGS
from dwarfdiag.dwarf.typegraph import Die, TypeGraph
from dwarfdiag.findings.check import (MAX_EXAMPLES, CheckSummary, Drift, Inconsistency,
                                      InconsistencyPattern, UnencodedDie, Unmatched)
from dwarfdiag.findings.common import Provenance
from dwarfdiag.fork import OnSecondCore
from dwarfdiag.heap import bulk_build

POSITIONAL_AGREEMENT = 0.99  # below this, align by matching runs instead of position
# graph(lo, hi): a TypeGraph holding at least the DIEs between the two offsets (lo
# None: from the start), each with the provenance the whole graph gives it where
# TypeGraph.provenance_is_local says so; graph(None, None): the whole graph
GraphAround = Callable[[int | None, int | None], TypeGraph]


class Inconsistencies(Sequence):
    """A check's inconsistencies, each made into an :class:`Inconsistency` (its words
    and its DIE's provenance) only when asked for. pahole 1.24's BTF of a gc binary
    has tens of thousands (each costly to spell out), and a
    summary shows a few per pattern; the pattern of each is kept at once."""

    def __init__(self, make: Callable[..., Inconsistency] = lambda inc: inc):
        self._make = make
        self._keys: list[tuple] = []  # each one's pattern (Inconsistency.pattern)
        self._args: list[tuple] = []  # what make() makes it from
        self._made: dict[int, Inconsistency] = {}

    def add(self, key: tuple, *args: object) -> None:
        self._keys.append(key)
        self._args.append(args)

    def extend(self, keys: Sequence[tuple], args: Sequence[tuple]) -> None:
        """Many :meth:`add` at once: each one's pattern, and its arguments."""
        self._keys.extend(keys)
        self._args.extend(args)

    def pattern_keys(self) -> list[tuple]:
        """Each one's :meth:`Inconsistency.pattern`, in order, none spelled out."""
        return self._keys

    def __len__(self) -> int:
        return len(self._keys)

    def __getitem__(self, index):  # type: ignore[override]
        if isinstance(index, slice):
            return [self[i] for i in range(*index.indices(len(self)))]
        index = range(len(self))[index]  # negative, or IndexError as a list says it
        made = self._made.get(index)
        if made is None:
            made = self._made[index] = self._make(*self._args[index])
        return made

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, Sequence):
            return NotImplemented
        return len(self) == len(other) and all(a == b for a, b in zip(self, other))

    __hash__ = None  # type: ignore[assignment]


@dataclass
class CheckReport:
    binary: str
    pahole: str
    method: str
    dedup_ret: int | None
    pahole_types: int
    our_types: int
    aligned: int
    alignment: str
    inconsistencies: Inconsistencies = field(default_factory=Inconsistencies)
    drifts: list[Drift] = field(default_factory=list)
    pahole_cycles: list[list[int]] = field(default_factory=list)
    encoder_made_cycles: list[list[int]] = field(default_factory=list)
    dwarf_cycles: int = 0
    cycle_example: str = ""  # the first cycle of pahole's BTF, spelled out
    unmatched: Unmatched | None = None
    # pahole id -> our id (not saved: the replay of pahole's BTF takes provenance by it)
    mapping: dict[int, int] = field(default_factory=dict, repr=False)
    # (pahole id, its target) of references that land elsewhere than ours (not saved)
    bad_edges: set[tuple[int, int]] = field(default_factory=set, repr=False)

    def patterns(self) -> list[InconsistencyPattern]:
        groups: dict[tuple, list[int]] = defaultdict(list)
        for index, key in enumerate(self.inconsistencies.pattern_keys()):
            groups[key].append(index)
        found = self.inconsistencies
        return [InconsistencyPattern(kind, slot, off, cross, len(items),
                                     [found[i] for i in items[:MAX_EXAMPLES]])
                for (kind, slot, off, cross), items in sorted(groups.items(),
                                                               key=lambda kv: -len(kv[1]))]

    def verdict(self) -> list[str]:
        lines = []
        if self.dedup_ret is not None:
            lines.append(f"{self.pahole}: btf__dedup returned {self.dedup_ret}"
                         + (" (dedup failed)" if self.dedup_ret else " (ok)"))
        if not self.inconsistencies:
            lines.append(f"consistent: all {self.aligned} aligned types of pahole's BTF match "
                         f"their DIEs ({self.alignment} alignment)")
        else:
            n = len(self.inconsistencies)
            lines.append(f"{n} inconsistencies between pahole's BTF and the DWARF, in "
                         f"{len(self.patterns())} patterns ({self.alignment} alignment of "
                         f"{self.aligned} types)")
        for d in self.drifts:
            skipped = ", ".join(f"{s.tag} {s.name or '(anon)'} at {s.die_offset:#x}"
                                for s in d.unencoded_dies[:3]) or "no unencoded DIE found"
            lines.append(f"id drift {d.delta:+d}: {d.shifted} of {d.checked} references "
                         f"to types from id {d.from_id} on land {d.delta:+d} too far; just "
                         f"before that point pahole gave no BTF type to: {skipped}")
        lines.append(f"reference-only cycles: {len(self.pahole_cycles)} in pahole's BTF, "
                     f"{len(self.encoder_made_cycles)} of them made by inconsistent references; "
                     f"{self.dwarf_cycles} in the DWARF itself")
        if self.cycle_example:
            lines.append(f"e.g. {self.cycle_example}")
        if self.dedup_ret:
            if self.encoder_made_cycles:
                lines.append("conclusion: the encoder's inconsistent references made the cycles "
                             "libbpf rejects; the program's own DWARF has "
                             f"{self.dwarf_cycles}")
            elif not self.inconsistencies and self.dwarf_cycles:
                lines.append("conclusion: pahole encoded the DWARF faithfully; the failure comes "
                             "from the program's own reference-only cycles")
            elif not self.inconsistencies:
                lines.append("conclusion: pahole encoded the DWARF faithfully and there is no "
                             "reference-only cycle; the cause lies in dedup itself")
        return lines

    def summary(self, max_patterns: int | None = None,
                max_cycles: int = 20) -> CheckSummary:
        """The saved form: patterns with examples instead of every inconsistency."""
        return CheckSummary(
            self.binary, self.pahole, self.method, self.dedup_ret, self.pahole_types,
            self.our_types, self.aligned, self.alignment, len(self.inconsistencies),
            self.patterns()[:max_patterns], self.drifts, len(self.pahole_cycles),
            self.encoder_made_cycles[:max_cycles], self.dwarf_cycles, self.cycle_example,
            self.unmatched, self.verdict())


_AGGREGATES = (BtfKind.STRUCT, BtfKind.UNION)
_ONE_REFERENCE = frozenset({BtfKind.PTR, BtfKind.TYPEDEF, BtfKind.CONST, BtfKind.VOLATILE,
                            BtfKind.RESTRICT, BtfKind.TYPE_TAG, BtfKind.FUNC, BtfKind.VAR,
                            BtfKind.DECL_TAG})


def _targets(t, kind: BtfKind) -> list[int]:
    if kind in _AGGREGATES:
        return [m.type for m in t.members]
    if kind == BtfKind.FUNC_PROTO:
        return [t.size_or_type] + [p.type for p in t.params]
    if kind == BtfKind.ARRAY:
        return [t.array.type, t.array.index_type]
    if kind in _ONE_REFERENCE:
        return [t.size_or_type]
    return []


def _slot_kind(kind: BtfKind, index: int) -> str:
    """The first word of :func:`slot_label`, without the member's name."""
    if kind in _AGGREGATES:
        return "member"
    if kind == BtfKind.FUNC_PROTO:
        return "return" if index == 0 else "param"
    if kind == BtfKind.ARRAY:
        return ("element", "index")[index]
    return "type"


def _offset_word(delta: int | None) -> str:
    """How far a reference is off, as :meth:`Inconsistency.pattern` words it."""
    if delta is None:
        return "-"
    return f"{delta:+d}" if abs(delta) <= 16 else "elsewhere"


def slot_label(btf: Btf, t, index: int) -> str:
    """Where the ``index``-th reference of a type sits, in words (asked only for the
    references that are wrong: spelling every member name was a fifth of a check)."""
    k = t.kind
    if k in _AGGREGATES:
        return f"member {btf.str_at(t.members[index].name_off) or '(anon)'}"
    if k == BtfKind.FUNC_PROTO:
        return "return" if index == 0 else f"param {index - 1}"
    if k == BtfKind.ARRAY:
        return ("element", "index")[index]
    return "type"


def _split_keys(btf: Btf) -> tuple[list[int], list[tuple[int, str]],
                                   list[tuple[int, int, int]]]:
    """Ids of plain types with their (kind, name) keys, and (FUNC, its FUNC_PROTO, its
    name's offset) triples, in id order (kinds as the raw numbers: one walk of plain
    ints)."""
    name = btf.strings_by_offset()
    func, proto = int(BtfKind.FUNC), int(BtfKind.FUNC_PROTO)
    name_offs, infos, size_or_types = btf.heads()  # no record decoded for this
    protos = {t for info, t in zip(infos, size_or_types) if (info >> 24) & 0x1F == func}
    plain, keys, funcs = [], [], []
    for i, name_off, info, t in zip(itertools.count(btf.start_id), name_offs, infos,
                                    size_or_types):
        kind = (info >> 24) & 0x1F
        if kind == func:
            funcs.append((i, t, name_off))
        elif kind != proto or i not in protos:
            plain.append(i)
            keys.append((kind, name(name_off)))
    return plain, keys, funcs


def _matching_runs(a: list, b: list) -> list[tuple[int, int, int]]:
    """Runs of equal keys, ``(start in a, start in b, length)``, as difflib finds them,
    after the common head and tail are taken as they are.

    pahole and our encoder agree on all but a few types, so nearly everything is
    head or tail; difflib alone on 40k keys takes 15 s (its longest-match search
    is quadratic here), on the few differing keys in the middle nothing.
    """
    n = min(len(a), len(b))
    head = 0
    while head < n and a[head] == b[head]:
        head += 1
    tail = 0
    while tail < n - head and a[-1 - tail] == b[-1 - tail]:
        tail += 1
    runs = [(0, 0, head)] if head else []
    middle = difflib.SequenceMatcher(None, a[head:len(a) - tail], b[head:len(b) - tail],
                                     autojunk=False)
    runs += [(head + i, head + j, size) for i, j, size in middle.get_matching_blocks() if size]
    if tail:
        runs.append((len(a) - tail, len(b) - tail, tail))
    return runs


def align(pahole: Btf, ours: Btf) -> tuple[dict[int, int], str, Unmatched]:
    """pahole id -> our id, the method used, and what stayed unmatched."""
    p_plain, pk, p_funcs = _split_keys(pahole)
    o_plain, ok, o_funcs = _split_keys(ours)
    mapping: dict[int, int] = {}
    same = sum(map(operator.eq, pk, ok))  # in C: 40k keys a side
    if len(pk) == len(ok) and (not pk or same / len(pk) >= POSITIONAL_AGREEMENT):
        method = "positional"
        mapping.update(zip(p_plain, o_plain))
    else:
        method = "matching runs"
        for a, b, size in _matching_runs(pk, ok):
            mapping.update(zip(p_plain[a:a + size], o_plain[b:b + size]))
    by_name: dict[str, list[tuple[int, int]]] = defaultdict(list)
    o_name, p_name = ours.strings_by_offset(), pahole.strings_by_offset()
    for f, proto, name_off in o_funcs:
        by_name[o_name(name_off)].append((f, proto))
    unmatched_funcs = 0
    for f, proto, name_off in p_funcs:
        cands = by_name.get(p_name(name_off))
        if cands:
            of, oproto = cands.pop(0)
            mapping[f] = of
            mapping[proto] = oproto
        else:
            unmatched_funcs += 1
    unmatched = Unmatched(len(p_plain) - sum(map(mapping.__contains__, p_plain)),
                          len(o_plain) - len(set(mapping.values()) & set(o_plain)),
                          unmatched_funcs, sum(len(v) for v in by_name.values()))
    return mapping, method, unmatched


def _describe(btf: Btf, i: int) -> str:
    if i == 0:
        return "[0] void"
    if not (btf.start_id <= i < btf.start_id + len(btf.types)):
        return f"[{i}] (no such type)"
    t = btf.type_by_id(i)
    return f"[{i}] {t.kind.name} '{btf.name_of(t) or '(anon)'}'"


def check(graph: TypeGraph | GraphAround, encoded: Encoded,
          pahole: Btf | Callable[[], Btf], label: str = "pahole", method: str = "",
          dedup_ret: int | None = None) -> CheckReport:
    """pahole's BTF against ours, type by type. ``graph`` may be a function
    ``graph(lo, hi)`` that gives a TypeGraph holding at least the DIEs between those
    offsets: they are looked at only where pahole's ids drift (the DIEs that got no
    type), so a check with our encoding cached mostly reads no DWARF. ``pahole``
    may be a function too, parsing pahole's bytes without libbpf's per-type checks
    (``parse_btf(..., sanity=False)``, best ``on_demand``): the second core finds
    our encoding's cycles meanwhile, and makes those checks while this one
    compares."""
    # maps, lists of ints and pahole's BTF: nothing for the collector, then or later
    # (frozen, as a graph is once per binary: without that, the first collection
    # after the pause walks all of it)
    with bulk_build(freeze=True):
        return _check(graph, encoded, pahole, label, method, dedup_ret)


def _check(graph: TypeGraph | GraphAround, encoded: Encoded,
           pahole: Btf | Callable[[], Btf], label: str, method: str,
           dedup_ret: int | None) -> CheckReport:
    graph_of = graph if callable(graph) else (lambda lo, hi: graph)
    ours = encoded.btf
    unchecked = callable(pahole)

    def pahole_side(btf: Btf) -> list[list[int]]:
        if unchecked:
            sanity_check(btf)  # what parse_btf leaves out, as it would raise it
        return reference_cycles(btf)

    # on the second core: our cycles while pahole's BTF is parsed, then pahole's
    # checks and cycles while this process compares (together a fifth of a check)
    with OnSecondCore(lambda: len(reference_cycles(ours))) as dwarf_cycles:
        theirs = pahole() if callable(pahole) else pahole
        with OnSecondCore(lambda: pahole_side(theirs)) as pahole_checked:
            try:
                report = _compare(graph_of, encoded, theirs, label, method, dedup_ret)
            except Exception:
                pahole_checked.result()  # BTF libbpf refuses: say that, not how we stumbled
                raise
            report.pahole_cycles = pahole_checked.result()  # type: ignore[assignment]
        report.dwarf_cycles = dwarf_cycles.result()  # type: ignore[assignment]
    bad_edges = report.bad_edges
    report.encoder_made_cycles = [c for c in report.pahole_cycles
                                  if any((a, b) in bad_edges
                                         for a, b in zip(c, c[1:] + c[:1]))]
    if report.pahole_cycles:
        first = report.pahole_cycles[0]
        report.cycle_example = " -> ".join(_describe(theirs, i) for i in first + first[:1])
    return report


def _compare(graph_of: GraphAround, encoded: Encoded, pahole: Btf, label: str,
             method: str, dedup_ret: int | None) -> CheckReport:
    """The aligned pairs compared (:class:`_PairComparison`), and the drifts; the
    report's ``bad_edges`` are pahole's references that land elsewhere than ours."""
    ours = encoded.btf
    mapping, how, unmatched = align(pahole, ours)
    back = {o: p for p, o in mapping.items()}

    def spell(p_id: int, o_id: int, index: int, slot: str, expected: str, actual: str,
              delta: int | None = None, cross: bool | None = None) -> Inconsistency:
        """An inconsistency in words, with its DIE: ``index`` is the reference's slot
        (-1: the field ``slot`` names, its words given)."""
        ot = ours.type_by_id(o_id)
        o_target = p_target = None
        if index >= 0:  # a reference: where it points in each, and where it should
            o_target, p_target = _targets(ot, ot.kind)[index], \
                _targets(pahole.type_by_id(p_id), ot.kind)[index]
            slot = slot_label(pahole, pahole.type_by_id(p_id), index)
            expected, actual = _describe(ours, o_target), _describe(pahole, p_target)
        return Inconsistency(p_id, o_id, ot.kind.name, ours.name_of(ot), slot, expected,
                             actual, delta, cross, Provenance.of(encoded.provenance.get(o_id)),
                             o_target, p_target)

    report = CheckReport(encoded.source, label, method, dedup_ret, len(pahole.types),
                         len(ours.types), len(mapping), how, unmatched=unmatched,
                         mapping=mapping, inconsistencies=Inconsistencies(spell))
    pairs = list(mapping.items())
    compare = _PairComparison(encoded, pahole, mapping, back)
    # a big check's later pairs on the second core (what is found comes back as
    # plain data, in order after this process's)
    cut = len(pairs) if len(pairs) < PARALLEL_MIN_PAIRS else int(len(pairs) * PARENT_SHARE)
    with OnSecondCore(lambda: compare(pairs[cut:])) if cut < len(pairs) else \
            nullcontext() as later:
        parts = [compare(pairs[:cut])]
        if later is not None:
            parts.append(later.result())  # type: ignore[arg-type]
    bad_edges: set[tuple[int, int]] = set()
    ref_checks: list[tuple[int, int | None]] = []  # (right target, delta) per plain reference
    for patterns, args, bad, checks in parts:  # tuples still: marshal keeps them
        report.inconsistencies.extend(patterns, args)
        bad_edges.update(bad)
        ref_checks.extend(checks)
    report.drifts = _drifts(graph_of, encoded, ours, ref_checks)
    report.bad_edges = bad_edges
    return report


# Below this many aligned pairs a second process costs more than it saves; above,
# this process compares this share (the second core has pahole's checks and both
# sides' cycles to work out meanwhile).
PARALLEL_MIN_PAIRS = 20_000
PARENT_SHARE = 0.6


class _PairComparison:
    """Aligned pairs compared field by field and reference by reference: for each
    part, the inconsistencies' patterns and what spells them out
    (:class:`Inconsistencies`), pahole's references that land elsewhere, and every
    plain reference's right target and how far pahole's is off (the drifts). Plain
    data, so that a part can be compared on the second core.

    Every pair is visited, so the loop reads plain fields: equal info words mean
    equal kind and vlen, names come through the string memo directly, and pahole's
    heads are read as words (a pointer's, a typedef's or a function's record is not
    decoded at all: two thirds of the pairs).
    """

    def __init__(self, encoded: Encoded, pahole: Btf, mapping: dict[int, int],
                 back: dict[int, int]):
        self.encoded, self.pahole, self.mapping, self.back = encoded, pahole, mapping, back
        # worked out here, before a part goes to the second core
        self.unit = encoded.unit_by_type
        self.p_name = pahole.strings_by_offset()
        self.o_name = encoded.btf.strings_by_offset()
        self.p_heads = pahole.heads()

    def __call__(self, pairs: list[tuple[int, int]]) -> tuple[list, list, list, list]:
        ours, pahole = self.encoded.btf, self.pahole
        patterns: list[tuple] = []
        args: list[tuple] = []
        bad_edges: list[tuple[int, int]] = []
        ref_checks: list[tuple[int, int | None]] = []
        add_pattern, add_args, bad, note = (patterns.append, args.append, bad_edges.append,
                                            ref_checks.append)
        p_types, o_types, p_start, o_start = pahole.types, ours.types, pahole.start_id, \
            ours.start_id
        p_name, o_name, unit = self.p_name, self.o_name, self.unit
        landed_at, right_at = self.mapping.get, self.back.get
        p_name_offs, p_infos, p_size_or_types = self.p_heads
        # (kind, slot index, delta, crossing) -> the pattern: a few hundred, met 78k times
        seen_patterns: dict[tuple, tuple] = {}

        def add(p_id: int, o_id: int, ot, slot: str, expected: str, actual: str) -> None:
            add_pattern((ot.kind.name, slot.split()[0], "-", None))
            add_args((p_id, o_id, -1, slot, expected, actual))

        for p_id, o_id in pairs:
            at, ot = p_id - p_start, o_types[o_id - o_start]
            p_info, o_info, p_size_or_type = p_infos[at], ot.info, p_size_or_types[at]
            kind = ot.kind
            if p_info != o_info and (p_info >> 24) & 0x1F != (o_info >> 24) & 0x1F:
                add(p_id, o_id, ot, "kind", kind.name,
                    KIND_BY_VALUE[(p_info >> 24) & 0x1F].name)
                continue
            if p_name(p_name_offs[at]) != o_name(ot.name_off):
                add(p_id, o_id, ot, "name", o_name(ot.name_off), p_name(p_name_offs[at]))
            if kind in SIZED and p_size_or_type != ot.size_or_type:
                add(p_id, o_id, ot, "size", str(ot.size), str(p_size_or_type))
            if p_info != o_info and p_info & 0xFFFF != ot.vlen:
                add(p_id, o_id, ot, "vlen", str(ot.vlen), str(p_info & 0xFFFF))
            if kind in _ONE_REFERENCE:
                pt = None
                p_targets = [p_size_or_type]
            else:
                pt = p_types[at]
                p_targets = _targets(pt, kind)
            if kind in _AGGREGATES:
                p_kflag, o_kflag = pt.kflag, ot.kflag
                for pm, om in zip(pt.members, ot.members):
                    if p_kflag or o_kflag:
                        p_at, o_at = pm.bit_offset(p_kflag), om.bit_offset(o_kflag)
                    else:  # no bitfield encoding: the offset is the word (Go's structs)
                        p_at, o_at = pm.offset, om.offset
                    if p_at != o_at or p_name(pm.name_off) != o_name(om.name_off):
                        add(p_id, o_id, ot, "member layout", f"{o_name(om.name_off)}@{o_at}",
                            f"{p_name(pm.name_off)}@{p_at}")
                        break
            plain = kind != BtfKind.FUNC
            for index, (p_target, o_target) in enumerate(zip(p_targets, _targets(ot, kind))):
                landed = landed_at(p_target) if p_target else 0
                if o_target:
                    right_in_pahole = right_at(o_target)
                    delta = (p_target - right_in_pahole) if right_in_pahole is not None \
                        else None
                    if plain:
                        note((o_target, delta))
                else:
                    delta = p_target  # void is void in both
                if landed == o_target:
                    continue
                bad((p_id, p_target))
                # words only when asked for (Inconsistencies); the pattern at once
                a, b = unit[o_id], unit[o_target]  # the two DIEs' units (-1: no DIE)
                cross = None if a < 0 or b < 0 else a != b
                key = (kind, index, delta, cross)
                pattern = seen_patterns.get(key)
                if pattern is None:
                    pattern = seen_patterns[key] = (kind.name, _slot_kind(kind, index),
                                                    _offset_word(delta), cross)
                add_pattern(pattern)
                add_args((p_id, o_id, index, "", "", "", delta, cross))
        return patterns, args, bad_edges, ref_checks


def _drifts(graph_of: GraphAround, encoded: Encoded, ours: Btf,
            checks: list[tuple[int, int | None]]) -> list[Drift]:
    """Fixed-distance shifts of reference targets, and the DIEs that caused them."""
    shifted = Counter(map(operator.itemgetter(1), checks))  # in C: 80k references in a gc binary
    shifted.pop(0, None)  # on target
    shifted.pop(None, None)  # to a type pahole has not
    out = []
    for delta, count in shifted.most_common(3):
        if count < 2 or abs(delta) > 16:
            continue
        start = min(t for t, d in checks if d == delta)
        after = [d for t, d in checks if t >= start]
        unencoded = _unencoded_before(graph_of, encoded, start)
        out.append(Drift(delta, start, after.count(delta), len(after), _describe(ours, start),
                         unencoded))
    return out


def _unencoded_before(graph_of: GraphAround, encoded: Encoded,
                      first_shifted: int) -> list[UnencodedDie]:
    """Type DIEs between the last correctly referenced type and ``first_shifted``
    that have no BTF type of their own."""
    hi, lo = encoded.die_offset(first_shifted), encoded.die_offset(first_shifted - 1)
    if hi is None:
        return []
    encoded_dies = set(map(encoded.die_offsets(), encoded.provenance))

    def unencoded(graph: TypeGraph) -> list[Die]:
        found = []
        for die in graph:
            if lo is not None and die.offset <= lo:
                continue
            if die.offset >= hi:
                break
            if die.tag in TYPE_TAGS and die.offset not in encoded_dies:
                found.append(die)
        return found

    graph = graph_of(lo, hi)
    dies = unencoded(graph)
    if not all(graph.provenance_is_local(die) for die in dies):
        graph = graph_of(None, None)  # an anonymous type's package is its owner's
        dies = unencoded(graph)
    out = []
    for die in dies:
        where = graph.provenance(die)
        out.append(UnencodedDie(die.offset, tag_name(die.tag), die.name,
                                where.get("package"), where.get("cu")))
    return out
