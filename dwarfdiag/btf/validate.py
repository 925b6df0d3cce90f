"""libbpf's ``btf_sanity_check()``: every string offset and type id must resolve.

Ported from libbpf ``src/btf.c`` (``btf_validate_str``, ``btf_validate_id``,
``btf_validate_type``; added in libbpf v1.3, commit 3903802b "libbpf: add
basic BTF sanity validation", unchanged in substance through v1.7.0). It is
deliberately less thorough than the kernel's verifier: it checks only what
libbpf itself relies on. Like libbpf it stops at the first bad type.

Debian 12's libbpf 1.1 predates this check, so it (and bpftool 7.1) accept
files we refuse; such files would make btf__dedup read out of bounds.
"""

from __future__ import annotations

from dwarfdiag.btf.model import Btf, BtfKind, BtfType, TypesOnDemand, record_size
from dwarfdiag.errors import BtfFormatError


def sanity_check(btf: Btf) -> None:
    """Raise BtfFormatError for the first type that references a missing
    string or type id, or a FUNC whose type is not a FUNC_PROTO."""
    if _valid_at_a_glance(btf):
        return
    offset = btf.header.hdr_len + btf.header.type_off
    for type_id, t in btf.iter_types():
        problem = type_problem(btf, type_id, t)
        if problem:
            raise BtfFormatError(f"type [{type_id}] {t.kind.name}: {problem}", offset)
        offset += record_size(t)


def type_problem(btf: Btf, type_id: int, t: BtfType) -> str | None:
    """What libbpf's btf_validate_type() would complain about, or None."""
    if not btf.has_str(t.name_off):
        return f"invalid type name (string offset {t.name_off})"
    kind = t.kind
    if kind in (BtfKind.INT, BtfKind.FWD, BtfKind.FLOAT):
        return None
    if kind == BtfKind.FUNC:
        if not _valid_id(btf, t.type):
            return f"invalid referenced type id {t.type}"
        if t.type == 0 or btf.type_by_id(t.type).kind != BtfKind.FUNC_PROTO:
            return f"referenced type [{t.type}] is not FUNC_PROTO"
        return None
    if kind in (BtfKind.PTR, BtfKind.TYPEDEF, BtfKind.VOLATILE, BtfKind.CONST,
                BtfKind.RESTRICT, BtfKind.VAR, BtfKind.DECL_TAG, BtfKind.TYPE_TAG):
        return None if _valid_id(btf, t.type) else f"invalid referenced type id {t.type}"
    if kind == BtfKind.ARRAY:
        assert t.array is not None
        for ref in (t.array.type, t.array.index_type):
            if not _valid_id(btf, ref):
                return f"invalid referenced type id {ref}"
        return None
    if kind in (BtfKind.STRUCT, BtfKind.UNION):
        for i, m in enumerate(t.members):
            if not btf.has_str(m.name_off):
                return f"member {i}: invalid field name (string offset {m.name_off})"
            if not _valid_id(btf, m.type):
                return f"member {i}: invalid referenced type id {m.type}"
        return None
    if kind in (BtfKind.ENUM, BtfKind.ENUM64):
        for i, v in enumerate(t.values):
            if not btf.has_str(v.name_off):
                return f"value {i}: invalid enum name (string offset {v.name_off})"
        return None
    if kind == BtfKind.FUNC_PROTO:
        # libbpf checks only the parameters; we also check the return type,
        # because every consumer (dedup included) follows it unchecked
        if not _valid_id(btf, t.type):
            return f"invalid return type id {t.type}"
        for i, p in enumerate(t.params):
            if not btf.has_str(p.name_off):
                return f"param {i}: invalid param name (string offset {p.name_off})"
            if not _valid_id(btf, p.type):
                return f"param {i}: invalid referenced type id {p.type}"
        return None
    if kind == BtfKind.DATASEC:
        for i, s in enumerate(t.secinfos):
            if not _valid_id(btf, s.type):
                return f"var {i}: invalid referenced type id {s.type}"
        return None
    return f"unrecognized kind {int(kind)}"


_REFERRING = frozenset(int(k) for k in (BtfKind.PTR, BtfKind.TYPEDEF, BtfKind.VOLATILE,
                                         BtfKind.CONST, BtfKind.RESTRICT, BtfKind.VAR,
                                         BtfKind.DECL_TAG, BtfKind.TYPE_TAG))
_NAMED_ONLY = frozenset(int(k) for k in (BtfKind.INT, BtfKind.FWD, BtfKind.FLOAT))


def _valid_at_a_glance(btf: Btf) -> bool:
    """Every check of :func:`type_problem` passes, in one pass over the records'
    words (a check of pahole 1.24's BTF of a big gc binary asks this):
    False as soon as one might fail, and always for split BTF and for types not read
    from raw BTF; then the per-type checks find the first problem and word it.

    No record is decoded: every name offset and every type id of a trailer is a
    column of its words (a stride), checked by its largest value: no record is
    decoded for it (pahole 1.24's prototypes of a gc binary number tens of
    thousands)."""
    types = btf.types
    if btf.base is not None or not isinstance(types, TypesOnDemand):
        return False
    strings, ids = len(btf.strings), btf.type_cnt
    words, places = types.words, types.places
    name_offs, infos, size_or_types = types.heads
    func, proto, array = int(BtfKind.FUNC), int(BtfKind.FUNC_PROTO), int(BtfKind.ARRAY)
    aggregates = (int(BtfKind.STRUCT), int(BtfKind.UNION))
    enum, enum64, datasec = int(BtfKind.ENUM), int(BtfKind.ENUM64), int(BtfKind.DATASEC)

    def column_below(at: int, count: int, stride: int, limit: int) -> bool:
        """Are the ``count`` words from ``at``, ``stride`` apart, all below ``limit``?"""
        return count == 0 or max(words[at:at + count * stride:stride]) < limit

    for index, (name_off, info, size_or_type) in enumerate(zip(name_offs, infos,
                                                               size_or_types)):
        kind = (info >> 24) & 0x1F
        if name_off >= strings:
            return False
        if kind in _NAMED_ONLY:
            continue
        tail, vlen = places[index] + 3, info & 0xFFFF
        if kind in _REFERRING:
            if size_or_type >= ids:
                return False
        elif kind in aggregates:  # (name_off, type, offset) each
            if not (column_below(tail, vlen, 3, strings)
                    and column_below(tail + 1, vlen, 3, ids)):
                return False
        elif kind == func:
            if not 0 < size_or_type < ids or (infos[size_or_type - 1] >> 24) & 0x1F != proto:
                return False
        elif kind == proto:  # (name_off, type) each
            if size_or_type >= ids or not (column_below(tail, vlen, 2, strings)
                                           and column_below(tail + 1, vlen, 2, ids)):
                return False
        elif kind == array:  # type, index_type, nelems
            if words[tail] >= ids or words[tail + 1] >= ids:
                return False
        elif kind == enum:  # (name_off, val) each
            if not column_below(tail, vlen, 2, strings):
                return False
        elif kind == enum64:  # (name_off, lo, hi) each
            if not column_below(tail, vlen, 3, strings):
                return False
        elif kind == datasec:  # (type, offset, size) each
            if not column_below(tail, vlen, 3, ids):
                return False
        else:
            return False  # no kind libbpf knows: worded by type_problem
    return True


def _valid_id(btf: Btf, type_id: int) -> bool:
    """libbpf's btf__type_by_id() succeeds: void or an existing id."""
    return type_id < btf.type_cnt
