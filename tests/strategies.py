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


# --- graphs shaped for dedup ------------------------------------------------
# Few names and sizes, several copies of one "compile unit" with small
# mutations: that is what makes dedup merge, resolve FWDs and meet cycles.
DEDUP_NAMES = ["", "a", "b", "main.T"]
_BY_VALUE = (BtfKind.STRUCT, BtfKind.UNION, BtfKind.ARRAY, BtfKind.TYPEDEF, BtfKind.CONST,
             BtfKind.VOLATILE)


@st.composite
def _unit(draw, size: int):
    """A list of type specs; by-value references point backwards (so no struct
    contains itself), pointers and func protos anywhere (so cycles form)."""
    kinds = [BtfKind.INT, BtfKind.PTR, BtfKind.TYPEDEF, BtfKind.CONST, BtfKind.VOLATILE,
             BtfKind.ARRAY, BtfKind.STRUCT, BtfKind.UNION, BtfKind.FWD, BtfKind.ENUM,
             BtfKind.FUNC_PROTO, BtfKind.FUNC, BtfKind.FLOAT, BtfKind.ENUM64]
    specs = []
    for i in range(size):
        kind = draw(st.sampled_from(kinds))
        back = st.integers(0, i)  # 0 = void, j = spec j-1 of this unit
        anywhere = st.integers(0, size)
        nm = draw(st.sampled_from(DEDUP_NAMES))
        if kind == BtfKind.INT:
            specs.append((kind, nm, draw(st.sampled_from([4, 8]))))
        elif kind == BtfKind.FLOAT:
            specs.append((kind, nm, draw(st.sampled_from([4, 8]))))
        elif kind == BtfKind.PTR:
            specs.append((kind, "", draw(anywhere)))
        elif kind in (BtfKind.TYPEDEF, BtfKind.CONST, BtfKind.VOLATILE):
            specs.append((kind, nm if kind == BtfKind.TYPEDEF else "", draw(back)))
        elif kind == BtfKind.ARRAY:
            specs.append((kind, "", draw(back), draw(st.sampled_from([1, 2]))))
        elif kind in (BtfKind.STRUCT, BtfKind.UNION):
            members = draw(st.lists(st.tuples(st.sampled_from(["x", "y"]), back), max_size=3))
            specs.append((kind, nm, [(m, t, 64 * j) for j, (m, t) in enumerate(members)]))
        elif kind == BtfKind.FWD:
            specs.append((kind, nm or "a", draw(st.booleans())))
        elif kind in (BtfKind.ENUM, BtfKind.ENUM64):
            values = draw(st.lists(st.sampled_from([("A", 0), ("B", 1)]), max_size=2, unique=True))
            specs.append((kind, nm, values))
        elif kind == BtfKind.FUNC_PROTO:
            specs.append((kind, "", draw(anywhere),
                          draw(st.lists(st.tuples(st.sampled_from(["", "p"]), anywhere), max_size=3))))
        else:  # FUNC: needs a FUNC_PROTO of the unit; re-drawn below if none
            specs.append((kind, nm or "f", None))
    return specs


def _emit_unit(b: BtfBuilder, specs, mutate: set[int]) -> None:
    base = b.start_id + len(b.types) - 1  # id of this unit's spec j is base + j
    ids = lambda j: 0 if j == 0 else base + j  # noqa: E731
    protos = [i + 1 for i, s in enumerate(specs) if s[0] == BtfKind.FUNC_PROTO]
    for i, spec in enumerate(specs):
        kind, nm = spec[0], spec[1]
        if i in mutate and kind in (BtfKind.STRUCT, BtfKind.UNION) and nm:
            b.add_fwd(nm, union=kind == BtfKind.UNION)  # this copy only declares it
            continue
        if kind == BtfKind.INT:
            b.add_int(nm, spec[2])
        elif kind == BtfKind.FLOAT:
            b.add_float(nm, spec[2])
        elif kind in (BtfKind.PTR, BtfKind.TYPEDEF, BtfKind.CONST, BtfKind.VOLATILE):
            b.add_ref(kind, ids(min(spec[2], len(specs))), nm or None)
        elif kind == BtfKind.ARRAY:
            b.add_array(ids(spec[2]), ids(spec[2]) if spec[2] and specs[spec[2] - 1][0] == BtfKind.INT else 0,
                        spec[3])
        elif kind in (BtfKind.STRUCT, BtfKind.UNION):
            b.add_struct(nm or None, 8 * max(1, len(spec[2])),
                         [(m, ids(t), off) for m, t, off in spec[2]], union=kind == BtfKind.UNION)
        elif kind == BtfKind.FWD:
            b.add_fwd(nm, union=spec[2])
        elif kind == BtfKind.ENUM:
            b.add_enum(nm or None, 4, spec[2])
        elif kind == BtfKind.ENUM64:
            b.add_enum64(nm or None, 8, spec[2])
        elif kind == BtfKind.FUNC_PROTO:
            b.add_func_proto(ids(min(spec[2], len(specs))),
                             [(p or None, ids(min(t, len(specs)))) for p, t in spec[3]])
        elif protos:
            b.add_func(nm, ids(protos[i % len(protos)]))
        else:
            b.add_int("int", 4)


@st.composite
def dedup_graphs(draw, max_unit: int = 8, max_copies: int = 3) -> Btf:
    """Copies of one random unit (as if several CUs emitted the same types),
    some copies declaring a struct only as FWD, plus a unit of its own."""
    specs = draw(_unit(draw(st.integers(1, max_unit))))
    b = BtfBuilder()
    for _ in range(draw(st.integers(1, max_copies))):
        mutate = set(draw(st.lists(st.integers(0, len(specs) - 1), max_size=2)))
        _emit_unit(b, specs, mutate)
    if draw(st.booleans()):
        _emit_unit(b, draw(_unit(draw(st.integers(1, max_unit)))), set())
    return b.btf()
