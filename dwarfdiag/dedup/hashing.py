"""Type signature hashes and the equality/compatibility predicates of libbpf dedup.

Ports of ``btf_hash_*``, ``btf_equal_*``, ``btf_compat_*`` and
``btf_shallow_equal_struct`` from libbpf ``src/btf.c`` (identical in v1.1.2,
v1.5.0 and v1.7.0, except ``btf_hash_typedef``/``btf_equal_typedef`` which
v1.7.0 adds). ``hash_combine`` is ``h * 31 + value`` on a 64-bit long; keys
are kept as unsigned 64-bit ints. A hash never includes an id that may still
change; ``btf_hash_array`` and ``btf_hash_fnproto`` do include ids, because
they run in the reference phase after their targets are canonical.
"""

from __future__ import annotations

from dwarfdiag.btf.model import BtfKind
from dwarfdiag.dedup.records import Rec

K = BtfKind
MASK64 = (1 << 64) - 1


def hash_combine(h: int, value: int) -> int:
    return (h * 31 + value) & MASK64


def hash_common(t: Rec) -> int:
    return hash_combine(hash_combine(hash_combine(0, t.name_off), t.info), t.ref)


def equal_common(a: Rec, b: Rec) -> bool:
    return a.name_off == b.name_off and a.info == b.info and a.ref == b.ref


def hash_typedef(t: Rec) -> int:
    return hash_combine(hash_combine(0, t.name_off), t.info)


def equal_typedef(a: Rec, b: Rec) -> bool:
    return a.name_off == b.name_off and a.info == b.info


def _int_or_tag_word(t: Rec) -> int:
    # the u32 right after the header: INT's encoding word, DECL_TAG's component_idx
    return t.int_word if t.kind == K.INT else t.component_idx & 0xFFFFFFFF


def hash_int_decl_tag(t: Rec) -> int:
    return hash_combine(hash_common(t), _int_or_tag_word(t))


def equal_int_tag(a: Rec, b: Rec) -> bool:
    return equal_common(a, b) and _int_or_tag_word(a) == _int_or_tag_word(b)


def hash_enum(t: Rec) -> int:
    # no vlen, members or size: an enum fwd must find its full enum
    return hash_combine(0, t.name_off)


def equal_enum(a: Rec, b: Rec) -> bool:
    if not equal_common(a, b):
        return False
    return all(x[0] == y[0] and x[1] == y[1] for x, y in zip(a.items, b.items))


def is_any_enum(t: Rec) -> bool:
    return t.kind in (K.ENUM, K.ENUM64)


def is_enum_fwd(t: Rec) -> bool:
    return is_any_enum(t) and t.vlen == 0


def compat_enum(a: Rec, b: Rec) -> bool:
    if not is_enum_fwd(a) and not is_enum_fwd(b):
        return equal_enum(a, b)
    # a forward declaration on either side: ignore vlen, size and ENUM/ENUM64
    return a.name_off == b.name_off and is_any_enum(a) and is_any_enum(b)


def hash_struct(t: Rec) -> int:
    h = hash_common(t)
    for m in t.items:
        h = hash_combine(hash_combine(h, m[0]), m[2])
    return h


def shallow_equal_struct(a: Rec, b: Rec) -> bool:
    if not equal_common(a, b):
        return False
    return all(x[0] == y[0] and x[2] == y[2] for x, y in zip(a.items, b.items))


def hash_array(t: Rec) -> int:
    h = hash_common(t)
    for v in t.array:
        h = hash_combine(h, v)
    return h


def equal_array(a: Rec, b: Rec) -> bool:
    return equal_common(a, b) and a.array == b.array


def compat_array(a: Rec, b: Rec) -> bool:
    return equal_common(a, b) and a.array[2] == b.array[2]


def hash_fnproto(t: Rec) -> int:
    h = hash_common(t)
    for p in t.items:
        h = hash_combine(hash_combine(h, p[0]), p[1])
    return h


def equal_fnproto(a: Rec, b: Rec) -> bool:
    if not equal_common(a, b):
        return False
    return all(x[0] == y[0] and x[1] == y[1] for x, y in zip(a.items, b.items))


def compat_fnproto(a: Rec, b: Rec) -> bool:
    # the return type id is not compared
    if a.name_off != b.name_off or a.info != b.info:
        return False
    return all(x[0] == y[0] for x, y in zip(a.items, b.items))
