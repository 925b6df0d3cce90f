"""Phase 3, ``btf_dedup_struct_types``: structs and unions (and typedefs from 1.7).

Each candidate with the same shallow signature (name, size, member names
and offsets; a typedef's name and info) is checked with the type-graph
equivalence walk (:func:`~dwarfdiag.dedup.equiv.is_equiv`); the first that
is equivalent becomes canonical, and the walk's hypothetical pairs are
merged into the canonical map. libbpf 1.7 (37027144) moved TYPEDEF here so
that cycles through a typedef are walked, not recursed into.
"""

from __future__ import annotations

from dwarfdiag.btf.model import BtfKind
from dwarfdiag.dedup import hashing as H
from dwarfdiag.dedup.equiv import is_equiv, merge_hypot_map, surely_not_equiv
from dwarfdiag.dedup.state import MAX_NR_TYPES, DedupError, DedupState

K = BtfKind


def dedup_struct_type(d: DedupState, type_id: int,
                      signatures: list[tuple[int, int] | None] | None = None) -> None:
    """One type; ``signatures`` (see :func:`typedef_chain_signatures`) lets a typedef
    skip the candidates whose chain signature differs from its own."""
    if d.map[type_id] <= MAX_NR_TYPES:
        return  # already deduped (perhaps by an earlier merge)
    t = d.recs[type_id]
    k = t.kind
    typedef = k == K.TYPEDEF and d.variant.typedef_in_struct_phase
    if k not in (K.STRUCT, K.UNION) and not typedef:
        return
    h = H.hash_typedef(t) if typedef else H.hash_struct(t)
    shallow_equal = H.equal_typedef if typedef else H.shallow_equal_struct
    new_id = type_id
    checks = [] if d.trace is not None else None
    shortcut = typedef and checks is None  # a trace records every check in full
    mine = signatures[type_id] if shortcut and signatures is not None else None
    for cand_id in d.table.candidates(h):
        if mine is not None:
            theirs = signatures[cand_id]  # type: ignore[index]
            if theirs is not None and theirs != mine:
                continue  # surely_not_equiv would say True: see typedef_chain_signatures
        # a hash collision with another kind must not reach is_equiv
        if not shallow_equal(t, d.recs[cand_id]):
            continue
        if shortcut and surely_not_equiv(d, type_id, cand_id):
            continue
        d.clear_hypot()
        eq = is_equiv(d, type_id, cand_id)
        if checks is not None:
            checks.append({"cand": cand_id, "result": eq, "adjust_canon": d.hypot_adjust_canon,
                           "hypot": [[c, d.hypot_map[c]] for c in d.hypot_list]})
        if eq < 0:
            raise DedupError(eq, "struct_types", type_id, {"candidate": cand_id})
        if not eq:
            continue
        merge_hypot_map(d)
        if d.hypot_adjust_canon:  # not really equivalent
            continue
        new_id = cand_id
        break
    d.settle(type_id, h, new_id, candidates=[c["cand"] for c in checks or ()],
             equiv=checks)


# Kinds a typedef's target chain may pass through, unnamed, before the named type
# (gc's ``.param0`` -> ``*T``): merged only in the ref phase, after this one.
_TRANSPARENT = (K.PTR, K.CONST, K.VOLATILE, K.RESTRICT)


def typedef_chain_signatures(d: DedupState) -> list[tuple[int, int] | None]:
    """For each typedef id, its chain signature: (the shape of the unnamed pointers
    and qualifiers it names, the name offset of the type at the end of them); None
    where that says nothing (not a typedef, a FWD or the typedef itself at the end, a
    loop, a long chain).

    Why a typedef may skip every candidate whose signature differs from its own:
    for a new typedef X and a candidate Y of equal name and info,
    :func:`~dwarfdiag.dedup.equiv.surely_not_equiv` walks both chains in step. The
    unnamed pointers and qualifiers are not merged before the ref phase, so two of
    them resolve to one type only if they are one type, and then everything after
    would be one too. So the walk reaches the first step where the signatures differ
    without an early answer, and there it answers True:

    * both sides unnamed pointers or qualifiers: their kinds or infos differ;
    * one side has reached its end: a named type (the other side is unnamed), or an
      unnamed struct, array, prototype ... (the other side's kind differs);
    * both sides at their ends: the names differ.

    Neither end is a FWD nor Y itself (those give None), and no two types of
    different names or (FWDs aside) kinds resolve to one: every merge in dedup
    (equal hashes and records, or an equivalence walk, which starts each pair by
    comparing names) joins types of equal name offset and kind, or a FWD with a
    struct or union. So that True is read from this list instead of a walk: on gc
    binaries with generics it replaces millions of walks over the ``.paramN``
    typedefs. The differential tests against real libbpf 1.7 guard it.
    """
    recs = d.recs
    count = len(recs)
    shapes: dict[tuple, int] = {}
    out: list[tuple[int, int] | None] = [None] * count
    typedef, fwd, transparent = K.TYPEDEF, K.FWD, _TRANSPARENT
    for type_id in range(d.start_id, d.type_cnt):
        r = recs[type_id]
        if r.kind != typedef:
            continue
        shape: list[tuple[int, int]] = []
        z = r.ref
        while 0 <= z < count and len(shape) <= 8:
            t = recs[z]
            if t.kind not in transparent or t.name_off:
                break
            shape.append((t.kind, t.info))
            z = t.ref
        else:
            continue  # a dangling id, or a chain too long (perhaps a loop): walk it
        if z == type_id or recs[z].kind == fwd:
            continue
        out[type_id] = (shapes.setdefault(tuple(shape), len(shapes)), recs[z].name_off)
    return out


def dedup_struct_types(d: DedupState) -> None:
    signatures = typedef_chain_signatures(d) \
        if d.variant.typedef_in_struct_phase and d.trace is None else None
    for type_id in range(d.start_id, d.type_cnt):
        dedup_struct_type(d, type_id, signatures)
