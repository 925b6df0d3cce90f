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


def dedup_struct_type(d: DedupState, type_id: int) -> None:
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
    for cand_id in d.table.candidates(h):
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


def dedup_struct_types(d: DedupState) -> None:
    for type_id in range(d.start_id, d.type_cnt):
        dedup_struct_type(d, type_id)
