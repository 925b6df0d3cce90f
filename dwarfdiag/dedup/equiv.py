"""Type-graph equivalence: ``btf_dedup_is_equiv`` and what it relies on.

The struct phase asks whether a candidate type graph (rooted at a struct,
union or, from libbpf 1.7, a typedef) is equivalent to a canonical one. The
walk records every pair it assumes equivalent in the hypothetical map
(canonical id -> candidate id); meeting a pair again counts as equivalent,
which is what lets the walk terminate on cycles. Contract, as in libbpf:
``>0`` equivalent, ``0`` not, ``<0`` an errno.

When the hypothetical map already holds another candidate for a canonical
type, the compilers' habit of emitting duplicate identical types within one
unit is allowed for: libbpf <= 1.5 accepts identical arrays and structs
(``btf_dedup_identical_arrays/structs``), libbpf >= 1.6 any identical types
up to depth 16 (``btf_dedup_identical_types``).
"""

from __future__ import annotations

import errno

from dwarfdiag.btf.model import BtfKind
from dwarfdiag.dedup import hashing as H
from dwarfdiag.dedup.state import MAX_NR_TYPES, DedupError, DedupState

K = BtfKind
REF_KINDS = (K.CONST, K.VOLATILE, K.RESTRICT, K.PTR, K.TYPEDEF, K.FUNC, K.TYPE_TAG)
IDENTICAL_DEPTH = 16


class LibbpfWouldHang(DedupError):
    """The real libbpf would not return: its identical-types walk cycles."""

    def __init__(self, phase: str, type_id: int, detail: dict):
        super().__init__(0, phase, type_id, detail)


def fwd_kind(t) -> BtfKind:
    return K.UNION if t.kflag else K.STRUCT


def identical_arrays(d: DedupState, id1: int, id2: int) -> bool:
    """libbpf <= 1.5: two ARRAYs equal down to their referenced ids."""
    t1, t2 = d.recs[id1], d.recs[id2]
    if t1.kind != K.ARRAY or t2.kind != K.ARRAY:
        return False
    return H.equal_array(t1, t2)


def identical_structs(d: DedupState, id1: int, id2: int) -> bool:
    """libbpf <= 1.5: two structs/unions whose members are the same ids, or
    identical arrays or structs themselves."""
    t1, t2 = d.recs[id1], d.recs[id2]
    if t1.kind not in (K.STRUCT, K.UNION) or t1.kind != t2.kind:
        return False
    if not H.shallow_equal_struct(t1, t2):
        return False
    for m1, m2 in zip(t1.items, t2.items):
        if (m1[1] != m2[1] and not identical_arrays(d, m1[1], m2[1])
                and not identical_structs(d, m1[1], m2[1])):
            return False
    return True


def identical_types(d: DedupState, id1: int, id2: int, depth: int) -> bool:
    """libbpf >= 1.6: structural identity over every kind, to ``depth``.

    Reference kinds continue at the same depth (libbpf's ``goto recur``), so
    two reference-only cycles of the same shape would make libbpf loop for
    ever; the replay detects the repeated pair and raises LibbpfWouldHang.
    """
    seen: set[tuple[int, int]] = set()
    while True:
        if (id1, id2) in seen:
            raise LibbpfWouldHang(d.phase, id1, {"pair": [id1, id2]})
        seen.add((id1, id2))
        t1, t2 = d.recs[id1], d.recs[id2]
        if depth <= 0:
            d.emit(ev="note", text="depth limit reached in identical-types comparison",
                   ids=[id1, id2])
            return False
        if t1.kind != t2.kind:
            return False
        k = t1.kind
        if k == K.UNKN:  # void
            return True
        if k == K.INT:
            return H.equal_int_tag(t1, t2)
        if k in (K.ENUM, K.ENUM64):
            return H.compat_enum(t1, t2)
        if k in (K.FWD, K.FLOAT):
            return H.equal_common(t1, t2)
        if k in REF_KINDS:
            if t1.info != t2.info or t1.name_off != t2.name_off:
                return False
            id1, id2 = t1.ref, t2.ref  # tail recursion at the same depth, as libbpf's goto
            continue
        if k == K.ARRAY:
            if not H.compat_array(t1, t2):
                return False
            # libbpf 1.6/1.7 read both arrays from t1 (``a2 = btf_array(t1)``),
            # so these comparisons always succeed; kept to behave the same.
            a1 = a2 = t1.array
            if a1[1] != a2[1] and not identical_types(d, a1[1], a2[1], depth - 1):
                return False
            if a1[0] != a2[0] and not identical_types(d, a1[0], a2[0], depth - 1):
                return False
            return True
        if k in (K.STRUCT, K.UNION):
            if not H.shallow_equal_struct(t1, t2):
                return False
            for m1, m2 in zip(t1.items, t2.items):
                if m1[1] != m2[1] and not identical_types(d, m1[1], m2[1], depth - 1):
                    return False
            return True
        if k == K.FUNC_PROTO:
            if not H.compat_fnproto(t1, t2):
                return False
            if t1.ref != t2.ref and not identical_types(d, t1.ref, t2.ref, depth - 1):
                return False
            for p1, p2 in zip(t1.items, t2.items):
                if p1[1] != p2[1] and not identical_types(d, p1[1], p2[1], depth - 1):
                    return False
            return True
        return False


def surely_not_equiv(d: DedupState, cand_id: int, canon_id: int) -> bool:
    """True only where :func:`is_equiv`, started on an empty hypothetical map, returns 0
    having walked nothing but reference kinds: a name or a kind differs at the end of a
    chain of typedefs, pointers and qualifiers. Anything else (perhaps equivalent, a
    FWD, a pair met twice, a struct, array or prototype to compare) is False, left to
    the real walk.

    Not libbpf: a shortcut to the same answer. The struct phase meets this case
    millions of times on gc binaries with generics: thousands of typedefs share one
    name (gc's ``.param0``, ``.param1`` shape dictionaries), so every new one is
    compared with every distinct earlier one. The checks are is_equiv's own, in its
    order, without the side effects that a 0 result throws away.
    """
    recs, m = d.recs, d.map
    seen: list[int] = []  # canonical ids walked: a second visit is the hypothetical map's
    fwd = K.FWD
    while True:
        # resolve_type_id on both sides, inlined: this loop runs millions of times
        a = cand_id
        while m[a] <= MAX_NR_TYPES and m[a] != a:
            a = m[a]
        b = canon_id
        while m[b] <= MAX_NR_TYPES and m[b] != b:
            b = m[b]
        if a == b:
            return False
        canon = recs[canon_id]
        if canon.kind == fwd:
            return False  # resolve_fwd_id and FWD matching: the real walk's business
        if canon_id in seen:
            return False
        seen.append(canon_id)
        cand = recs[cand_id]
        if cand.name_off != canon.name_off:
            return True
        ck = cand.kind
        if ck == fwd:
            return False
        if ck != canon.kind:
            return True
        if ck not in REF_KINDS:
            return False
        if cand.info != canon.info:
            return True
        cand_id, canon_id = cand.ref, canon.ref


def is_equiv(d: DedupState, cand_id: int, canon_id: int) -> int:
    """``btf_dedup_is_equiv``: >0 equivalent, 0 not, <0 errno."""
    if d.resolve(cand_id) == d.resolve(canon_id):
        return 1
    canon_id = d.resolve_fwd(canon_id)
    hypot = d.hypot_map[canon_id]
    if hypot <= MAX_NR_TYPES:
        if hypot == cand_id:
            return 1
        if d.variant.identical_types_generalised:
            return 1 if identical_types(d, hypot, cand_id, IDENTICAL_DEPTH) else 0
        if identical_arrays(d, hypot, cand_id):
            return 1
        if identical_structs(d, hypot, cand_id):
            return 1
        return 0
    d.hypot_add(canon_id, cand_id)

    cand, canon = d.recs[cand_id], d.recs[canon_id]
    if cand.name_off != canon.name_off:
        return 0
    ck, nk = cand.kind, canon.kind
    if (ck == K.FWD or nk == K.FWD) and ck != nk:
        if ck == K.FWD:
            real, fwd = nk, fwd_kind(cand)
        else:
            real, fwd = ck, fwd_kind(canon)
            if fwd == real and canon_id < d.start_id:
                d.hypot_adjust_canon = True  # a base FWD would need resolving
        return 1 if fwd == real else 0
    if ck != nk:
        return 0
    if ck == K.INT:
        return int(H.equal_int_tag(cand, canon))
    if ck in (K.ENUM, K.ENUM64):
        return int(H.compat_enum(cand, canon))
    if ck in (K.FWD, K.FLOAT):
        return int(H.equal_common(cand, canon))
    if ck in REF_KINDS:
        if cand.info != canon.info:
            return 0
        return is_equiv(d, cand.ref, canon.ref)
    if ck == K.ARRAY:
        if not H.compat_array(cand, canon):
            return 0
        eq = is_equiv(d, cand.array[1], canon.array[1])
        if eq <= 0:
            return eq
        return is_equiv(d, cand.array[0], canon.array[0])
    if ck in (K.STRUCT, K.UNION):
        if not H.shallow_equal_struct(cand, canon):
            return 0
        for i, (cm, nm) in enumerate(zip(cand.items, canon.items)):
            eq = is_equiv(d, cm[1], nm[1])
            if eq <= 0:
                if cand.name_off:
                    d.emit(ev="note", text="shallow-equal but not equivalent", id=cand_id,
                           canon=canon_id, field=i, result=eq)
                return eq
        return 1
    if ck == K.FUNC_PROTO:
        if not H.compat_fnproto(cand, canon):
            return 0
        eq = is_equiv(d, cand.ref, canon.ref)
        if eq <= 0:
            return eq
        for cp, np_ in zip(cand.items, canon.items):
            eq = is_equiv(d, cp[1], np_[1])
            if eq <= 0:
                return eq
        return 1
    return -errno.EINVAL


def merge_hypot_map(d: DedupState) -> None:
    """``btf_dedup_merge_hypot_map``: make the proven equivalences canonical."""
    for canon_type_id in d.hypot_list:
        targ_type_id = d.hypot_map[canon_type_id]
        t_id, c_id = d.resolve(targ_type_id), d.resolve(canon_type_id)
        t_kind, c_kind = d.recs[t_id].kind, d.recs[c_id].kind
        # a FWD on the canonical side resolves to the concrete candidate, even
        # in the split case (base FWD -> split struct)
        if t_kind != K.FWD and c_kind == K.FWD:
            d.map[c_id] = t_id
        if d.hypot_adjust_canon:
            continue
        if t_kind == K.FWD and c_kind != K.FWD:
            d.map[t_id] = c_id
        if (t_kind in (K.STRUCT, K.UNION) and c_kind != K.FWD
                and d.is_mapped(c_id) and not d.is_mapped(t_id)):
            # record the struct equivalence now, to spare a full check later
            d.map[t_id] = c_id
