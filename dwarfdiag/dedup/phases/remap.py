"""Phase 7, ``btf_dedup_remap_types``: point every reference at its new id.

Each id is resolved to its canonical type and then to that type's compacted
id. A reference to a type that was not kept (never resolved) is -EINVAL.
"""

from __future__ import annotations

import errno

from dwarfdiag.dedup.records import type_id_slots
from dwarfdiag.dedup.state import MAX_NR_TYPES, DedupError, DedupState


def dedup_remap_types(d: DedupState, kept: list[int]) -> None:
    for type_id in kept:
        r = d.recs[type_id]
        for container, index in type_id_slots(r):
            old = r.ref if container is None else container[index]
            new = d.hypot_map[d.resolve(old)]
            if new > MAX_NR_TYPES:
                raise DedupError(-errno.EINVAL, "remap_types", type_id,
                                 {"reference": old, "reason": "references a type that was not kept"})
            if container is None:
                r.ref = new
            else:
                container[index] = new
