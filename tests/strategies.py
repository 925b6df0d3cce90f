"""Hypothesis strategies for BTF: random valid type graphs of every kind.

Graphs may reference forward and form cycles (pointer, typedef, array, func
proto), as Go's DWARF does; FUNC always points at a FUNC_PROTO, as libbpf
requires. Unused info bits stay zero: libbpf does not check them, but the
kernel and pahole never set them either.
"""

from __future__ import annotations

from hypothesis import strategies as st

from dwarfdiag.btf.build import BtfBuilder
from dwarfdiag.btf.model import Btf, BtfHeader, BtfKind, SectionPadding

NAMES = ["", "int", "long", "char", "foo", "bar", "main.T", "main.stateFn",
         "runtime._type", "p", "q", "x", "café", "a b", "main.(*T).M"]

REF_KINDS = [BtfKind.PTR, BtfKind.TYPEDEF, BtfKind.VOLATILE, BtfKind.CONST,
             BtfKind.RESTRICT, BtfKind.TYPE_TAG]
ALL_KINDS = [k for k in BtfKind if k != BtfKind.UNKN]

u32 = st.integers(0, 0xFFFFFFFF)
name = st.sampled_from(NAMES)


@st.composite
def btf_graphs(draw, min_types: int = 0, max_types: int = 24, kinds=ALL_KINDS,
               base: Btf | None = None) -> BtfBuilder:
    """A BtfBuilder holding a random valid graph (split on ``base`` if given)."""
    b = BtfBuilder(base)
    kinds_list = draw(st.lists(st.sampled_from(kinds), min_size=min_types, max_size=max_types))
    first = b.start_id
    last = first + len(kinds_list) - 1
    proto_ids = [first + i for i, k in enumerate(kinds_list) if k == BtfKind.FUNC_PROTO]
    ref = st.integers(0, max(last, 0))
    for kind in kinds_list:
        if kind == BtfKind.FUNC and not proto_ids:
            kind = BtfKind.PTR
        if kind == BtfKind.INT:
            size = draw(st.sampled_from([1, 2, 4, 8, 16]))
            b.add_int(draw(name), size, draw(st.sampled_from([0, 1, 2, 4])),
                      bits=draw(st.integers(0, min(size * 8, 128))),
                      offset=draw(st.integers(0, 255)))
        elif kind in REF_KINDS:
            b.add_ref(kind, draw(ref), draw(name))
        elif kind == BtfKind.FWD:
            b.add_fwd(draw(name), union=draw(st.booleans()))
        elif kind == BtfKind.ARRAY:
            b.add_array(draw(ref), draw(ref), draw(u32))
        elif kind in (BtfKind.STRUCT, BtfKind.UNION):
            bitfields = draw(st.booleans())
            members = draw(st.lists(st.tuples(name, ref, u32), max_size=6))
            b.add_struct(draw(name), draw(u32), members, union=kind == BtfKind.UNION,
                         bitfields=bitfields)
        elif kind == BtfKind.ENUM:
            b.add_enum(draw(name), draw(st.sampled_from([1, 2, 4, 8])),
                       draw(st.lists(st.tuples(name, u32), max_size=5)), signed=draw(st.booleans()))
        elif kind == BtfKind.ENUM64:
            b.add_enum64(draw(name), 8, draw(st.lists(st.tuples(name, st.integers(0, 2**64 - 1)),
                                                      max_size=5)), signed=draw(st.booleans()))
        elif kind == BtfKind.FUNC_PROTO:
            b.add_func_proto(draw(ref), draw(st.lists(st.tuples(name, ref), max_size=5)))
        elif kind == BtfKind.FUNC:
            b.add_func(draw(name), draw(st.sampled_from(proto_ids)), draw(st.integers(0, 2)))
        elif kind == BtfKind.VAR:
            b.add_var(draw(name), draw(ref), draw(st.integers(0, 2)))
        elif kind == BtfKind.DATASEC:
            b.add_datasec(draw(name), draw(u32),
                          draw(st.lists(st.tuples(ref, u32, u32), max_size=4)))
        elif kind == BtfKind.FLOAT:
            b.add_float(draw(name), draw(st.sampled_from([2, 4, 8, 12, 16])))
        elif kind == BtfKind.DECL_TAG:
            b.add_decl_tag(draw(name) or "tag", draw(ref), draw(st.integers(-1, 5)))
        else:  # pragma: no cover - every kind is handled above
            raise AssertionError(kind)
    return b


@st.composite
def btf_objects(draw, **kw) -> Btf:
    """A random valid Btf, sometimes big-endian, sometimes with the odd but
    legal layouts libbpf accepts (longer header, padding between sections)."""
    b = draw(btf_graphs(**kw))
    btf = b.btf(big_endian=draw(st.booleans()))
    if draw(st.booleans()):
        extra = b"" if btf.big_endian else draw(st.binary(max_size=8).map(lambda x: x[: len(x) // 4 * 4]))
        btf.header = BtfHeader(version=draw(st.integers(0, 255)), flags=draw(st.integers(0, 255)),
                               extra=extra)
        btf.padding = SectionPadding(
            before_types=draw(st.binary(max_size=8).map(lambda x: x[: len(x) // 4 * 4])),
            between=draw(st.binary(max_size=5)),
            trailing=draw(st.binary(max_size=5)),
        )
    return btf
