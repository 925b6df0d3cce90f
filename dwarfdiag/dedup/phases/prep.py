"""Phase 0, ``btf_dedup_prep``: split BTF only.

Base types are canonical by definition and go into the hash table as
candidates, hashed the way the phase that would meet them looks them up.
"""

from __future__ import annotations

import errno

from dwarfdiag.btf.model import BtfKind
from dwarfdiag.dedup import hashing as H
from dwarfdiag.dedup.state import DedupError, DedupState

K = BtfKind
COMMON = (K.CONST, K.VOLATILE, K.RESTRICT, K.PTR, K.FWD, K.TYPEDEF, K.FUNC, K.FLOAT,
          K.TYPE_TAG)


def dedup_prep(d: DedupState) -> None:
    for type_id in range(1, d.start_id):
        t = d.recs[type_id]
        d.map[type_id] = type_id
        k = t.kind
        if k in (K.VAR, K.DATASEC):
            continue
        if k == K.TYPEDEF and d.variant.typedef_hash_in_prep:
            h = H.hash_typedef(t)  # master (5b0f3729): as the struct phase looks it up
        elif k in COMMON:
            h = H.hash_common(t)
        elif k in (K.INT, K.DECL_TAG):
            h = H.hash_int_decl_tag(t)
        elif k in (K.ENUM, K.ENUM64):
            h = H.hash_enum(t)
        elif k in (K.STRUCT, K.UNION):
            h = H.hash_struct(t)
        elif k == K.ARRAY:
            h = H.hash_array(t)
        elif k == K.FUNC_PROTO:
            h = H.hash_fnproto(t)
        else:
            raise DedupError(-errno.EINVAL, "prep", type_id, {"reason": f"unknown kind {int(k)}"})
        d.table.add(h, type_id)
