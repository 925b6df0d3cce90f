"""Build BTF programmatically, in the spirit of libbpf's ``btf__add_*()`` API.

Used by the tests (small hand-made graphs) and by anything that synthesises
BTF. Each ``add_*`` appends one type and returns its id; references may point
forward, as in any BTF, so cycles are built by adding a placeholder and
calling :meth:`BtfBuilder.set_type` later.
"""

from __future__ import annotations

from dwarfdiag.btf.model import (
    Array,
    Btf,
    BtfKind,
    BtfType,
    EnumValue,
    FuncLinkage,
    IntEncoding,
    Member,
    Param,
    StringTableBuilder,
    VarSecinfo,
)
from dwarfdiag.btf.raw import write_btf


class BtfBuilder:
    def __init__(self, base: Btf | None = None):
        self.base = base
        start_str = base.str_size if base is not None else 0
        self.strings = StringTableBuilder(start_str, with_empty=base is None)
        self.types: list[BtfType] = []
        self.start_id = base.type_cnt if base is not None else 1

    def _name(self, name: str | None) -> int:
        if not name:
            return 0
        if self.base is not None:
            # like btf__add_str: reuse a base string if it exists
            found = _find_str(self.base, name)
            if found is not None:
                return found
        return self.strings.add(name)

    def _add(self, t: BtfType) -> int:
        self.types.append(t)
        return self.start_id + len(self.types) - 1

    def set_type(self, type_id: int, **changes) -> None:
        """Replace fields of an already added type (e.g. close a cycle)."""
        from dataclasses import replace

        idx = type_id - self.start_id
        self.types[idx] = replace(self.types[idx], **changes)

    def add_int(self, name: str, size: int, encoding: int = IntEncoding.SIGNED,
                bits: int | None = None, offset: int = 0) -> int:
        bits = size * 8 if bits is None else bits
        word = (encoding << 24) | (offset << 16) | bits
        return self._add(BtfType.make(BtfKind.INT, self._name(name), size, int_word=word))

    def add_float(self, name: str, size: int) -> int:
        return self._add(BtfType.make(BtfKind.FLOAT, self._name(name), size))

    def add_ref(self, kind: BtfKind, ref: int, name: str | None = None, kflag: bool = False) -> int:
        """Any kind whose only payload is one referenced type id (PTR, TYPEDEF, CONST, ...)."""
        return self._add(BtfType.make(kind, self._name(name), ref, kflag=kflag))

    def add_ptr(self, ref: int) -> int:
        return self.add_ref(BtfKind.PTR, ref)

    def add_const(self, ref: int) -> int:
        return self.add_ref(BtfKind.CONST, ref)

    def add_volatile(self, ref: int) -> int:
        return self.add_ref(BtfKind.VOLATILE, ref)

    def add_restrict(self, ref: int) -> int:
        return self.add_ref(BtfKind.RESTRICT, ref)

    def add_typedef(self, name: str, ref: int) -> int:
        return self.add_ref(BtfKind.TYPEDEF, ref, name)

    def add_type_tag(self, value: str, ref: int) -> int:
        return self.add_ref(BtfKind.TYPE_TAG, ref, value)

    def add_fwd(self, name: str, union: bool = False) -> int:
        return self.add_ref(BtfKind.FWD, 0, name, kflag=union)

    def add_array(self, elem: int, index_type: int, nelems: int) -> int:
        return self._add(BtfType.make(BtfKind.ARRAY, 0, 0, array=Array(elem, index_type, nelems)))

    def add_struct(self, name: str | None, size: int,
                   members: list[tuple[str | None, int, int]] = (), union: bool = False,
                   bitfields: bool = False) -> int:
        """``members`` are (name, type id, bit offset); with ``bitfields`` the
        bit offset word may carry a bitfield size in its top byte."""
        ms = tuple(Member(self._name(n), t, off) for n, t, off in members)
        kind = BtfKind.UNION if union else BtfKind.STRUCT
        return self._add(BtfType.make(kind, self._name(name), size, kflag=bitfields, members=ms))

    def add_union(self, name: str | None, size: int,
                  members: list[tuple[str | None, int, int]] = ()) -> int:
        return self.add_struct(name, size, members, union=True)

    def add_enum(self, name: str | None, size: int, values: list[tuple[str, int]] = (),
                 signed: bool = False) -> int:
        vs = tuple(EnumValue(self._name(n), v & 0xFFFFFFFF) for n, v in values)
        return self._add(BtfType.make(BtfKind.ENUM, self._name(name), size, kflag=signed, values=vs))

    def add_enum64(self, name: str | None, size: int, values: list[tuple[str, int]] = (),
                   signed: bool = False) -> int:
        vs = tuple(EnumValue(self._name(n), v & 0xFFFFFFFFFFFFFFFF) for n, v in values)
        return self._add(BtfType.make(BtfKind.ENUM64, self._name(name), size, kflag=signed, values=vs))

    def add_func_proto(self, ret: int, params: list[tuple[str | None, int]] = ()) -> int:
        ps = tuple(Param(self._name(n), t) for n, t in params)
        return self._add(BtfType.make(BtfKind.FUNC_PROTO, 0, ret, params=ps))

    def add_func(self, name: str, proto: int, linkage: int = FuncLinkage.GLOBAL) -> int:
        return self._add(BtfType.make(BtfKind.FUNC, self._name(name), proto, vlen=linkage))

    def add_var(self, name: str, ref: int, linkage: int = 1) -> int:
        return self._add(BtfType.make(BtfKind.VAR, self._name(name), ref, linkage=linkage))

    def add_datasec(self, name: str, size: int, vars: list[tuple[int, int, int]] = ()) -> int:
        infos = tuple(VarSecinfo(*v) for v in vars)
        return self._add(BtfType.make(BtfKind.DATASEC, self._name(name), size, secinfos=infos))

    def add_decl_tag(self, value: str, ref: int, component_idx: int = -1) -> int:
        return self._add(BtfType.make(BtfKind.DECL_TAG, self._name(value), ref,
                                      component_idx=component_idx))

    def btf(self, big_endian: bool = False) -> Btf:
        return Btf(types=list(self.types), strings=self.strings.data(), base=self.base,
                   big_endian=big_endian)

    def raw(self, big_endian: bool = False) -> bytes:
        return write_btf(self.btf(big_endian))


def _find_str(btf: Btf, s: str) -> int | None:
    needle = s.encode() + b"\0"
    pos = 0
    while True:
        idx = btf.strings.find(needle, pos)
        if idx < 0:
            break
        if idx == 0 or btf.strings[idx - 1] == 0:
            return btf.start_str_off + idx
        pos = idx + 1
    return _find_str(btf.base, s) if btf.base is not None else None
