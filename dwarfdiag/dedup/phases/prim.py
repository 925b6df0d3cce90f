"""Phase 2, ``btf_dedup_prim_types``: types that reference no other type.

INT, FLOAT, FWD and ENUM/ENUM64 are hashed and compared directly; the first
equal candidate becomes canonical, or the type itself. An enum forward
declaration resolves to a full enum of the same name, and a canonical enum
fwd is re-pointed to a full enum met later.
"""

from __future__ import annotations

import errno

from dwarfdiag.btf.model import BtfKind
from dwarfdiag.dedup import hashing as H
from dwarfdiag.dedup.state import DedupError, DedupState

K = BtfKind
NOT_PRIMITIVE = frozenset({K.CONST, K.VOLATILE, K.RESTRICT, K.PTR, K.TYPEDEF, K.ARRAY,
                           K.STRUCT, K.UNION, K.FUNC, K.FUNC_PROTO, K.VAR, K.DATASEC,
                           K.DECL_TAG, K.TYPE_TAG})


def dedup_prim_type(d: DedupState, type_id: int) -> None:
    t = d.recs[type_id]
    k = t.kind
    if k in NOT_PRIMITIVE:
        return
    new_id = type_id
    if k == K.INT:
        h = H.hash_int_decl_tag(t)
        new_id = d.first_equal(h, t, H.equal_int_tag) or type_id
    elif k in (K.ENUM, K.ENUM64):
        h = H.hash_enum(t)
        for cand_id in d.table.candidates(h):
            cand = d.recs[cand_id]
            if H.equal_enum(t, cand):
                new_id = cand_id
                break
            if H.compat_enum(t, cand):
                if H.is_enum_fwd(t):
                    new_id = cand_id  # resolve fwd to the full enum
                    break
                d.map[cand_id] = type_id  # the canonical enum fwd now means this enum
    elif k in (K.FWD, K.FLOAT):
        h = H.hash_common(t)
        new_id = d.first_equal(h, t, H.equal_common) or type_id
    else:
        raise DedupError(-errno.EINVAL, "prim_types", type_id, {"reason": f"unknown kind {int(k)}"})
    d.settle(type_id, h, new_id)


def dedup_prim_types(d: DedupState) -> None:
    for type_id in range(d.start_id, d.type_cnt):
        dedup_prim_type(d, type_id)
