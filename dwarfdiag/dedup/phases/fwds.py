"""Phase 4, ``btf_dedup_resolve_fwds``: FWDs whose name has one struct or union.

A FWD left unresolved by the struct phase resolves to the only canonical
struct/union of its name, if the kinds agree; an ambiguous name resolves
nothing.
"""

from __future__ import annotations

from dwarfdiag.btf.model import BtfKind
from dwarfdiag.dedup.state import DedupState

K = BtfKind


def dedup_resolve_fwds(d: DedupState) -> None:
    unique: dict[int, int] = {}  # name_off -> canonical struct/union id, 0 if ambiguous
    for type_id in range(1, d.type_cnt):
        t = d.recs[type_id]
        if t.kind not in (K.STRUCT, K.UNION) or d.map[type_id] != type_id:
            continue
        unique[t.name_off] = 0 if t.name_off in unique else type_id
    for type_id in range(d.start_id, d.type_cnt):
        t = d.recs[type_id]
        if t.kind != K.FWD or d.map[type_id] != type_id:
            continue
        cand_id = unique.get(t.name_off)
        if not cand_id:
            continue
        cand_kind = d.recs[cand_id].kind
        wanted = K.UNION if t.kflag else K.STRUCT
        if cand_kind != wanted:
            continue
        d.map[type_id] = cand_id
        d.emit(ev="fwd", id=type_id, name=d.name(type_id), canonical=cand_id)
