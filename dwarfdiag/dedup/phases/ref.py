"""Phase 5, ``btf_dedup_ref_types``: reference kinds, recursively.

PTR, CONST, VOLATILE, RESTRICT, TYPE_TAG, FUNC, DECL_TAG, ARRAY and
FUNC_PROTO (and TYPEDEF before libbpf 1.7) are resolved depth first: the
referenced types are made canonical, the ids rewritten in place, and only
then is the type hashed and compared exactly. A type being resolved is
marked in progress; meeting it again means a cycle that passes through no
struct or union (or, from 1.7, typedef) and libbpf returns -ELOOP. C cannot
form such a cycle; Go can.

``explore=True`` is not libbpf: after a failure it marks the types on the
failing chain as their own canonical and carries on, so that the diagnosis
can list the failures the first one hides.
"""

from __future__ import annotations

import errno

from dwarfdiag.btf.model import BtfKind
from dwarfdiag.dedup import hashing as H
from dwarfdiag.dedup.state import IN_PROGRESS, MAX_NR_TYPES, DedupError, DedupState

K = BtfKind
COMMON = (K.CONST, K.VOLATILE, K.RESTRICT, K.PTR, K.FUNC, K.TYPE_TAG)


def dedup_ref_type(d: DedupState, type_id: int) -> int:
    """Canonical id of ``type_id``; raises DedupError(-ELOOP) on a cycle."""
    m = d.map[type_id]
    if m == IN_PROGRESS:
        start = d.ref_stack.index(type_id)
        cycle = d.ref_stack[start:] + [type_id]
        raise DedupError(-errno.ELOOP, "ref_types", type_id, {"cycle": cycle})
    if m <= MAX_NR_TYPES:
        return d.resolve(type_id)
    t = d.recs[type_id]
    d.map[type_id] = IN_PROGRESS
    d.ref_stack.append(type_id)
    if d.trace is not None:
        d.emit(ev="enter", id=type_id, kind=t.kind.name, name=d.name(type_id),
               depth=len(d.ref_stack))
    k = t.kind
    if k in COMMON or (k == K.TYPEDEF and not d.variant.typedef_in_struct_phase):
        t.ref = dedup_ref_type(d, t.ref)
        h, equal = H.hash_common(t), H.equal_common
    elif k == K.DECL_TAG:
        t.ref = dedup_ref_type(d, t.ref)
        h, equal = H.hash_int_decl_tag(t), H.equal_int_tag
    elif k == K.ARRAY:
        t.array[0] = dedup_ref_type(d, t.array[0])
        t.array[1] = dedup_ref_type(d, t.array[1])
        h, equal = H.hash_array(t), H.equal_array
    elif k == K.FUNC_PROTO:
        t.ref = dedup_ref_type(d, t.ref)
        for p in t.items:
            p[1] = dedup_ref_type(d, p[1])
        h, equal = H.hash_fnproto(t), H.equal_fnproto
    else:
        raise DedupError(-errno.EINVAL, "ref_types", type_id,
                         {"reason": f"kind {k.name} reached the reference phase unresolved"})
    found = d.first_equal(h, t, equal)
    new_id = type_id if found is None else found
    d.ref_stack.pop()
    d.settle(type_id, h, new_id)
    return new_id


def dedup_ref_types(d: DedupState, explore: bool = False) -> list[DedupError]:
    """Run the phase; return the failures (only the first, unless exploring)."""
    failures: list[DedupError] = []
    for type_id in range(d.start_id, d.type_cnt):
        try:
            dedup_ref_type(d, type_id)
        except DedupError as e:
            e.detail.setdefault("first_id", type_id)
            e.detail["stack"] = list(d.ref_stack)
            d.emit(ev="error", id=type_id, errno=e.errno, detail=e.detail)
            if not explore:
                raise
            failures.append(e)
            for stuck in d.ref_stack:  # break the chain so the walk can go on
                d.map[stuck] = stuck
            d.ref_stack.clear()
    return failures
