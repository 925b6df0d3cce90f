"""BTF as editable objects: read a :class:`Btf`, change types, write a new one.

The transformations that make usable BTF (C-legal names, pointer-sized func
values, cycles rewritten for old libbpf) change names, retarget references
and add types. :class:`EditableBtf` holds one :class:`Node` per type id with
names as text and references as ids, so those changes are plain assignments;
:meth:`EditableBtf.to_btf` lays the result out again with a fresh string
table. Ids stay stable: new types are appended, none is removed.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from dwarfdiag.btf.model import (Array, Btf, BtfKind, BtfType, EnumValue, Member, Param,
                                 StringTableBuilder, VarSecinfo)

K = BtfKind


@dataclass
class Node:
    kind: BtfKind
    name: str = ""
    size: int = 0  # sized kinds
    ref: int = 0  # the referenced id of reference kinds, FUNC, VAR, DECL_TAG
    kflag: bool = False
    members: list[list] = field(default_factory=list)  # [name, type, raw offset word]
    params: list[list] = field(default_factory=list)  # [name, type]
    values: list[list] = field(default_factory=list)  # [name, raw value]
    array: list[int] = field(default_factory=list)  # [elem, index, nelems]
    int_word: int = 0
    vlen: int | None = None  # FUNC keeps its linkage here
    linkage: int = 0
    secinfos: list[VarSecinfo] = field(default_factory=list)
    component_idx: int = 0


REF_KINDS = (K.PTR, K.TYPEDEF, K.CONST, K.VOLATILE, K.RESTRICT, K.TYPE_TAG, K.FUNC, K.VAR,
             K.DECL_TAG, K.FUNC_PROTO)  # FUNC_PROTO: ``ref`` is its return type


class EditableBtf:
    def __init__(self, nodes: list[Node], big_endian: bool = False):
        self.nodes = nodes  # nodes[0] is void
        self.big_endian = big_endian

    @classmethod
    def from_btf(cls, btf: Btf) -> "EditableBtf":
        if btf.base is not None:
            from dwarfdiag.errors import UnsupportedError

            raise UnsupportedError("editing split BTF is not supported; give whole BTF")
        nodes = [Node(K.UNKN)]
        for _, t in btf.iter_types():
            s = btf.str_at
            n = Node(t.kind, btf.name_of(t), kflag=t.kflag, int_word=t.int_word)
            if t.kind in REF_KINDS:
                n.ref = t.type
            else:
                n.size = t.size
            n.members = [[s(m.name_off), m.type, m.offset] for m in t.members]
            n.params = [[s(p.name_off), p.type] for p in t.params]
            n.values = [[s(v.name_off), v.val] for v in t.values]
            if t.array is not None:
                n.array = [t.array.type, t.array.index_type, t.array.nelems]
            if t.kind == K.FUNC:
                n.vlen = t.vlen
            n.linkage, n.secinfos, n.component_idx = t.linkage, list(t.secinfos), t.component_idx
            nodes.append(n)
        return cls(nodes, btf.big_endian)

    def add(self, node: Node) -> int:
        self.nodes.append(node)
        return len(self.nodes) - 1

    def __iter__(self):
        return iter(enumerate(self.nodes[1:], 1))

    def to_btf(self) -> Btf:
        strings = StringTableBuilder(0, with_empty=True)
        name = lambda text: strings.add(text) if text else 0  # noqa: E731
        types = []
        for _, n in self:
            common = dict(kflag=n.kflag)
            if n.kind in REF_KINDS and n.kind != K.FUNC_PROTO:
                extra = {"vlen": n.vlen} if n.vlen is not None else {}
                t = BtfType.make(n.kind, name(n.name), n.ref, linkage=n.linkage,
                                 component_idx=n.component_idx, **common, **extra)
            elif n.kind == K.FUNC_PROTO:
                t = BtfType.make(n.kind, 0, n.ref,
                                 params=tuple(Param(name(p), ref) for p, ref in n.params))
            elif n.kind in (K.STRUCT, K.UNION):
                t = BtfType.make(n.kind, name(n.name), n.size, **common,
                                 members=tuple(Member(name(m), ref, off)
                                               for m, ref, off in n.members))
            elif n.kind in (K.ENUM, K.ENUM64):
                t = BtfType.make(n.kind, name(n.name), n.size, **common,
                                 values=tuple(EnumValue(name(v), val) for v, val in n.values))
            elif n.kind == K.ARRAY:
                t = BtfType.make(n.kind, 0, 0, array=Array(*n.array))
            elif n.kind == K.DATASEC:
                t = BtfType.make(n.kind, name(n.name), n.size, secinfos=tuple(n.secinfos))
            else:  # INT, FLOAT, FWD
                t = BtfType.make(n.kind, name(n.name), n.size, int_word=n.int_word, **common)
            types.append(t)
        return Btf(types=types, strings=strings.data(), big_endian=self.big_endian)
