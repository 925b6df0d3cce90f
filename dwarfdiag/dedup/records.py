"""Mutable type records for the replay, converted from and to the BTF model.

libbpf dedups in place: the reference phase rewrites ``t->type`` and member
or parameter ids as it resolves them, and later hashes read the rewritten
ids. The frozen :class:`~dwarfdiag.btf.model.BtfType` cannot do that, so the
replay works on these small mutable records and converts back at the end.
"""

from __future__ import annotations

from dwarfdiag.btf.model import (Array, BtfKind, BtfType, EnumValue, Member, Param,
                                 VarSecinfo, info_kflag, info_vlen)

K = BtfKind


class Rec:
    """One type: the 12-byte head plus its kind's trailer, all mutable.

    ``ref`` is ``size_or_type``; ``items`` holds members ``[name_off, type,
    offset]``, params ``[name_off, type]``, enum values ``[name_off, val]`` or
    DATASEC entries ``[type, offset, size]``; ``array`` is ``[type,
    index_type, nelems]``.
    """

    __slots__ = ("kind", "name_off", "info", "ref", "int_word", "array", "items",
                 "linkage", "component_idx")

    def __init__(self, t: BtfType):
        self.kind = t.kind
        self.name_off = t.name_off
        self.info = t.info
        self.ref = t.size_or_type
        self.int_word = t.int_word
        self.array = list(t.array) if t.array is not None else None
        if t.members:
            self.items = [list(m) for m in t.members]
        elif t.params:
            self.items = [list(p) for p in t.params]
        elif t.values:
            self.items = [list(v) for v in t.values]
        elif t.secinfos:
            self.items = [list(s) for s in t.secinfos]
        else:
            self.items = []
        self.linkage = t.linkage
        self.component_idx = t.component_idx

    @property
    def vlen(self) -> int:
        return info_vlen(self.info)

    @property
    def kflag(self) -> bool:
        return info_kflag(self.info)

    def to_btf_type(self) -> BtfType:
        k = self.kind
        kw: dict = {}
        if k == K.ARRAY:
            kw["array"] = Array(*self.array)
        elif k in (K.STRUCT, K.UNION):
            kw["members"] = tuple(Member(*m) for m in self.items)
        elif k == K.FUNC_PROTO:
            kw["params"] = tuple(Param(*p) for p in self.items)
        elif k in (K.ENUM, K.ENUM64):
            kw["values"] = tuple(EnumValue(*v) for v in self.items)
        elif k == K.DATASEC:
            kw["secinfos"] = tuple(VarSecinfo(*s) for s in self.items)
        return BtfType(self.name_off, self.info, self.ref, int_word=self.int_word,
                       linkage=self.linkage, component_idx=self.component_idx, **kw)


# Kinds whose ``ref`` is a type id rather than a size.
REF_IS_TYPE = frozenset({K.PTR, K.TYPEDEF, K.VOLATILE, K.CONST, K.RESTRICT, K.FUNC,
                         K.FUNC_PROTO, K.VAR, K.DECL_TAG, K.TYPE_TAG})


def type_id_slots(r: Rec):
    """(container, index) of every type id in ``r``, in libbpf's field order
    (``btf_field_iter`` with BTF_FIELD_ITER_IDS)."""
    k = r.kind
    if k == K.ARRAY:
        yield r.array, 0
        yield r.array, 1
        return
    if k in REF_IS_TYPE:
        yield None, -1  # r.ref
    if k in (K.STRUCT, K.UNION, K.FUNC_PROTO):
        for item in r.items:
            yield item, 1
    elif k == K.DATASEC:
        for item in r.items:
            yield item, 0


# Kinds whose items start with a string offset (member, parameter, enumerator names):
# with the type's own name, the string slots of btf_field_iter's STRS order.
NAMED_ITEMS = frozenset({K.STRUCT, K.UNION, K.FUNC_PROTO, K.ENUM, K.ENUM64})

