"""Subsets of a BTF that are always valid BTF, for the bisect oracle.

A subset is given by seed type ids and a banned set. It is closed under
references: every type a kept PTR, TYPEDEF, CONST, VOLATILE, RESTRICT,
TYPE_TAG, ARRAY, FUNC_PROTO, FUNC, VAR or DECL_TAG references is kept too;
a reference to a banned type becomes void. Struct and union members are not
followed: a kept struct keeps its members only if every member's type is in
the subset anyway; otherwise it becomes a *size-preserving stub* (same
name, kind and size, no members). We chose the stub over a FWD because a
FWD changes the kind and would let dedup resolve it to another struct of
the same name, changing the verdict for reasons not in the subset. FUNC,
VAR and DECL_TAG whose target is gone are dropped (libbpf would refuse
them). Type order is preserved, so a subset dedups the way the full BTF
would, just smaller.
"""

from __future__ import annotations

from collections import defaultdict

from dwarfdiag.btf.model import Array, Btf, BtfKind, BtfType, Member, Param, VarSecinfo

K = BtfKind
COMPOSITE = (K.STRUCT, K.UNION)
NEEDS_TARGET = (K.FUNC, K.VAR, K.DECL_TAG)


class Universe:
    """The full BTF, its reference lists, and its types grouped into units."""

    def __init__(self, btf: Btf, provenance: dict[int, dict] | None = None):
        if btf.base is not None:
            from dwarfdiag.errors import UnsupportedError

            raise UnsupportedError("bisect works on whole BTF, not split BTF")
        self.btf = btf
        self.provenance = provenance or {}
        self.follow: list[tuple[int, ...]] = [()]
        # by id (0 is void), read once: the oracle builds a subset per call
        self.records: list[BtfType | None] = [None]
        self.kinds: list[BtfKind] = [K.UNKN]
        for _, t in btf.iter_types():
            self.follow.append(() if t.kind in COMPOSITE else tuple(t.referenced_ids()))
            self.records.append(t)
            self.kinds.append(t.kind)
        # FUNC/VAR/DECL_TAG ids and the one type each needs
        self.needs: dict[int, int] = {i: self.records[i].type  # type: ignore[union-attr]
                                      for i in range(1, len(self.kinds))
                                      if self.kinds[i] in NEEDS_TARGET}
        self.units: dict[str, list[int]] = defaultdict(list)
        for type_id in range(1, btf.type_cnt):
            self.units[self.unit_of(type_id)].append(type_id)

    def unit_of(self, type_id: int) -> str:
        """The Go package (or compile unit) that owns a type; "(unknown)" without provenance."""
        p = self.provenance.get(type_id, {})
        return p.get("package") or p.get("cu") or "(unknown)"

    @property
    def all_ids(self) -> list[int]:
        return list(range(1, self.btf.type_cnt))

    def closure(self, seeds, banned=frozenset()) -> list[int]:
        keep: set[int] = set()
        stack = [s for s in seeds if s not in banned]
        while stack:
            t = stack.pop()
            if t in keep or t == 0 or t in banned:
                continue
            keep.add(t)
            stack.extend(r for r in self.follow[t] if r not in keep and r not in banned)
        # a FUNC/VAR/DECL_TAG whose target is banned cannot stay
        needs = self.needs
        changed = True
        while changed:
            changed = False
            for t in [t for t in keep if t in needs]:
                if needs[t] not in keep:
                    keep.discard(t)
                    changed = True
        return sorted(keep)

    def build(self, kept: list[int]) -> Btf:
        """The subset BTF of already closed ``kept`` ids, renumbered in order.

        Records are rebuilt with the constructor, field by field: the oracle calls
        this for every subset it tries, and ``dataclasses.replace`` costs several
        times as much per type.
        """
        new = {old: i + 1 for i, old in enumerate(kept)}
        m = new.get
        records, kinds = self.records, self.kinds
        types = []
        for old in kept:
            t = records[old]
            k = kinds[old]
            if k in COMPOSITE:
                if all(mb.type == 0 or mb.type in new for mb in t.members):
                    t = _copy(t, members=tuple(Member(mb.name_off, m(mb.type, 0), mb.offset)
                                               for mb in t.members))
                else:  # size-preserving stub
                    t = BtfType.make(k, t.name_off, t.size, kflag=t.kflag)
            elif k == K.ARRAY:
                a = t.array
                t = _copy(t, array=Array(m(a.type, 0), m(a.index_type, 0), a.nelems))
            elif k == K.FUNC_PROTO:
                t = _copy(t, size_or_type=m(t.type, 0),
                          params=tuple(Param(p.name_off, m(p.type, 0)) for p in t.params))
            elif k == K.DATASEC:
                infos = tuple(VarSecinfo(m(s.type, 0), s.offset, s.size) for s in t.secinfos
                              if s.type in new)
                t = BtfType.make(k, t.name_off, t.size, secinfos=infos)
            elif k in RETARGETED:
                t = _copy(t, size_or_type=m(t.type, 0))
            types.append(t)
        return Btf(types=types, strings=self.btf.strings, big_endian=self.btf.big_endian)


RETARGETED = frozenset({K.PTR, K.TYPEDEF, K.CONST, K.VOLATILE, K.RESTRICT, K.TYPE_TAG, K.FUNC,
                        K.VAR, K.DECL_TAG})


def _copy(t: BtfType, size_or_type: int | None = None, members: tuple | None = None,
          params: tuple | None = None, array: Array | None = None) -> BtfType:
    """``dataclasses.replace`` for the fields :meth:`Universe.build` changes."""
    return BtfType(t.name_off, t.info, t.size_or_type if size_or_type is None else size_or_type,
                   t.int_word, t.array if array is None else array,
                   t.members if members is None else members,
                   t.params if params is None else params, t.values, t.linkage, t.secinfos,
                   t.component_idx)
