"""Phase 6, ``btf_dedup_compact_types``: drop every type that is not canonical.

Canonical types keep their order and get consecutive new ids; ``hypot_map``
is reused to hold old id -> new id, as libbpf does.
"""

from __future__ import annotations

from dwarfdiag.dedup.state import UNPROCESSED, DedupState


def dedup_compact_types(d: DedupState) -> list[int]:
    """Old ids of the surviving types, in their new order."""
    d.hypot_map = [UNPROCESSED] * d.type_cnt
    d.hypot_map[0] = 0
    for type_id in range(1, d.start_id):
        d.hypot_map[type_id] = type_id
    kept = []
    next_id = d.start_id
    for type_id in range(d.start_id, d.type_cnt):
        if d.map[type_id] != type_id:
            continue
        d.hypot_map[type_id] = next_id
        kept.append(type_id)
        if d.trace is not None and type_id != next_id:
            d.emit(ev="remap", id=type_id, new=next_id)
        next_id += 1
    d.emit(ev="compact", types_in=d.type_cnt - d.start_id, types_out=len(kept))
    return kept
