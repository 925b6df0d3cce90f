"""The BTF data model: every kind libbpf 1.7 knows, kept exactly as on disk.

A :class:`Btf` is a list of :class:`BtfType` records plus the raw string
section. Nothing is normalised: string offsets stay offsets, type ids stay the
ids of the file (the first type of a base BTF is id 1; of a split BTF, the
base's type count), and every raw word (``info``, member ``offset``, INT's
encoding word) is kept whole, so that writing a parsed file back gives the
same bytes. Decoded views (``kind``, ``vlen``, ``bit_offset``...) are
properties over the raw words.

Layout reference: the kernel's ``include/uapi/linux/btf.h`` and libbpf
``src/btf.h`` (struct btf_type and the per-kind trailers).
"""

from __future__ import annotations

import itertools
from collections.abc import Sequence
from dataclasses import dataclass, field
from enum import IntEnum
from typing import Callable, Iterator, NamedTuple

BTF_MAGIC = 0xEB9F
BTF_VERSION = 1
BTF_HEADER_SIZE = 24  # magic u16, version u8, flags u8, then five u32
BTF_TYPE_SIZE = 12  # name_off, info, size/type
BTF_MAX_VLEN = 0xFFFF


class BtfKind(IntEnum):
    """BTF_KIND_* from ``linux/btf.h``; 0 (UNKN) is only ever type id 0, void."""

    UNKN = 0
    INT = 1
    PTR = 2
    ARRAY = 3
    STRUCT = 4
    UNION = 5
    ENUM = 6
    FWD = 7
    TYPEDEF = 8
    VOLATILE = 9
    CONST = 10
    RESTRICT = 11
    FUNC = 12
    FUNC_PROTO = 13
    VAR = 14
    DATASEC = 15
    FLOAT = 16
    DECL_TAG = 17
    TYPE_TAG = 18
    ENUM64 = 19


BTF_KIND_MAX = BtfKind.ENUM64


class IntEncoding(IntEnum):
    """Bits 24..27 of an INT's trailing word (BTF_INT_ENCODING)."""

    NONE = 0
    SIGNED = 1
    CHAR = 2
    BOOL = 4


class FuncLinkage(IntEnum):
    """A FUNC's linkage, stored in its vlen field."""

    STATIC = 0
    GLOBAL = 1
    EXTERN = 2


class VarLinkage(IntEnum):
    """A VAR's linkage, stored in its trailing word."""

    STATIC = 0
    GLOBAL_ALLOCATED = 1
    GLOBAL_EXTERN = 2


# Kinds whose single trailing field is ``type`` (a referenced type id);
# every other kind uses the same word as ``size``.
KINDS_WITH_TYPE = frozenset(
    {
        BtfKind.PTR,
        BtfKind.FWD,  # unused, always 0, but it is the "type" union member
        BtfKind.TYPEDEF,
        BtfKind.VOLATILE,
        BtfKind.CONST,
        BtfKind.RESTRICT,
        BtfKind.FUNC,
        BtfKind.FUNC_PROTO,
        BtfKind.VAR,
        BtfKind.DECL_TAG,
        BtfKind.TYPE_TAG,
    }
)


# Bytes each kind adds after the 12-byte head: (fixed, per vlen item).
# Mirrors libbpf's btf_type_size(); kinds not listed are invalid.
TRAILER_SIZES: dict[BtfKind, tuple[int, int]] = {
    BtfKind.INT: (4, 0),
    BtfKind.PTR: (0, 0),
    BtfKind.ARRAY: (12, 0),
    BtfKind.STRUCT: (0, 12),
    BtfKind.UNION: (0, 12),
    BtfKind.ENUM: (0, 8),
    BtfKind.FWD: (0, 0),
    BtfKind.TYPEDEF: (0, 0),
    BtfKind.VOLATILE: (0, 0),
    BtfKind.CONST: (0, 0),
    BtfKind.RESTRICT: (0, 0),
    BtfKind.FUNC: (0, 0),
    BtfKind.FUNC_PROTO: (0, 8),
    BtfKind.VAR: (4, 0),
    BtfKind.DATASEC: (0, 12),
    BtfKind.FLOAT: (0, 0),
    BtfKind.DECL_TAG: (4, 0),
    BtfKind.TYPE_TAG: (0, 0),
    BtfKind.ENUM64: (0, 12),
}


def record_size(t: "BtfType") -> int:
    """On-disk size of a type record: the 12-byte head plus its trailer."""
    fixed, per_item = TRAILER_SIZES[t.kind]
    return BTF_TYPE_SIZE + fixed + per_item * t.vlen


# BtfKind by its 5-bit value, None where linux/btf.h defines no kind: calling the
# enum costs a microsecond, and analyses ask for kinds millions of times.
KIND_BY_VALUE = tuple(BtfKind(v) if v in BtfKind._value2member_map_ else None
                       for v in range(32))


def info_vlen(info: int) -> int:
    return info & 0xFFFF


def info_kflag(info: int) -> bool:
    return bool(info >> 31)


def make_info(kind: BtfKind, vlen: int = 0, kflag: bool = False) -> int:
    """Pack BTF_INFO: vlen in bits 0..15, kind in 24..28, kflag in bit 31."""
    return (int(kflag) << 31) | (int(kind) << 24) | (vlen & 0xFFFF)


class Member(NamedTuple):
    """A struct/union member. ``offset`` is the raw word: with the parent's
    kflag set it packs a bitfield size in its top 8 bits (BTF_MEMBER_BITFIELD_SIZE)."""

    name_off: int
    type: int
    offset: int

    def bit_offset(self, kflag: bool) -> int:
        return self.offset & 0xFFFFFF if kflag else self.offset

    def bitfield_size(self, kflag: bool) -> int:
        return self.offset >> 24 if kflag else 0


class Param(NamedTuple):
    """A FUNC_PROTO parameter; ``type == 0`` with no name is a C variadic ``...``."""

    name_off: int
    type: int


class EnumValue(NamedTuple):
    """An ENUM or ENUM64 enumerator. ``val`` is the raw unsigned value
    (32 bits for ENUM, 64 for ENUM64); signedness is the parent's kflag."""

    name_off: int
    val: int


class Array(NamedTuple):
    type: int
    index_type: int
    nelems: int


class VarSecinfo(NamedTuple):
    """One variable of a DATASEC."""

    type: int
    offset: int
    size: int


@dataclass(frozen=True, slots=True)
class BtfType:
    """One BTF type record: the common 12-byte head plus its kind's trailer.

    Only the trailer that matches ``kind`` is meaningful; the others keep their
    empty defaults. Build new types with :meth:`make` so ``info`` and the
    trailer lengths agree.
    """

    name_off: int
    info: int  # raw BTF_INFO word, reserved bits included
    size_or_type: int  # ``size`` for sized kinds, ``type`` for KINDS_WITH_TYPE
    int_word: int = 0  # INT: raw encoding/offset/bits word
    array: Array | None = None  # ARRAY
    members: tuple[Member, ...] = ()  # STRUCT, UNION
    params: tuple[Param, ...] = ()  # FUNC_PROTO
    values: tuple[EnumValue, ...] = ()  # ENUM, ENUM64
    linkage: int = 0  # VAR
    secinfos: tuple[VarSecinfo, ...] = ()  # DATASEC
    component_idx: int = 0  # DECL_TAG, signed (-1 means the type itself)

    @classmethod
    def make(cls, kind: BtfKind, name_off: int = 0, size_or_type: int = 0, *,
             kflag: bool = False, vlen: int | None = None, **trailer) -> "BtfType":
        """Build a type, deriving vlen from the trailer unless it is given
        (FUNC keeps its linkage in vlen)."""
        if vlen is None:
            items = (trailer.get("members") or trailer.get("params")
                     or trailer.get("values") or trailer.get("secinfos") or ())
            vlen = len(items)
        return cls(name_off, make_info(kind, vlen, kflag), size_or_type, **trailer)

    @property
    def kind(self) -> BtfKind:
        kind = KIND_BY_VALUE[(self.info >> 24) & 0x1F]
        if kind is None:
            return BtfKind((self.info >> 24) & 0x1F)  # raises the ValueError it always did
        return kind

    @property
    def vlen(self) -> int:
        return info_vlen(self.info)

    @property
    def kflag(self) -> bool:
        return info_kflag(self.info)

    @property
    def size(self) -> int:
        return self.size_or_type

    @property
    def type(self) -> int:
        return self.size_or_type

    # INT trailer: BTF_INT_ENCODING / BTF_INT_OFFSET / BTF_INT_BITS
    @property
    def int_encoding(self) -> int:
        return (self.int_word >> 24) & 0x0F

    @property
    def int_offset(self) -> int:
        return (self.int_word >> 16) & 0xFF

    @property
    def int_bits(self) -> int:
        return self.int_word & 0xFF

    def referenced_ids(self) -> Iterator[int]:
        """Every type id this record points at, in libbpf's visit order
        (``btf_type_visit_type_ids``): for FUNC_PROTO the return type first."""
        kind = self.kind
        if kind in KINDS_WITH_TYPE:  # FWD included: libbpf visits its (zero) type too
            yield self.size_or_type
        if kind == BtfKind.ARRAY:
            assert self.array is not None
            yield self.array.type
            yield self.array.index_type
        for m in self.members:
            yield m.type
        for p in self.params:
            yield p.type
        for s in self.secinfos:
            yield s.type


@dataclass(frozen=True, slots=True)
class BtfHeader:
    """``struct btf_header``. ``extra`` keeps header bytes past the 24 we know
    (hdr_len may be larger; libbpf accepts that for native endianness)."""

    magic: int = BTF_MAGIC
    version: int = BTF_VERSION
    flags: int = 0
    hdr_len: int = BTF_HEADER_SIZE
    type_off: int = 0
    type_len: int = 0
    str_off: int = 0
    str_len: int = 0
    extra: bytes = b""


class TypesOnDemand(Sequence):
    """A BTF object's types, each decoded from its raw record when first asked for,
    the head words of every record (name_off, info, size_or_type) known at once.

    A check reads pahole 1.24's BTF of a gc binary, which has about three times as
    many records as align with our encoding: decoding them all was most of the
    parse, finding the records' bounds and heads a small part of it
    (:func:`dwarfdiag.btf.raw.parse_btf`'s ``on_demand``). Read-only: a Btf that is
    edited holds a list.
    """

    __slots__ = ("heads", "words", "places", "_decode", "_decode_all", "_decoded")

    def __init__(self, heads: tuple[list[int], list[int], list[int]], words: Sequence[int],
                 places: list[int], decode: Callable[[int], "BtfType"],
                 decode_all: Callable[[], list["BtfType"]]):
        self.heads = heads  # name_offs, infos, size_or_types, by index
        # the type section as 32-bit words in this machine's order, and where each
        # record starts in it: a trailer's words are read there without decoding it
        self.words, self.places = words, places
        self._decode = decode  # index -> its record
        self._decode_all = decode_all  # every record, in one loop
        self._decoded: list[BtfType | None] = [None] * len(heads[0])

    def __len__(self) -> int:
        return len(self._decoded)

    def __getitem__(self, index):  # type: ignore[override]
        if isinstance(index, slice):
            return [self[i] for i in range(*index.indices(len(self)))]
        t = self._decoded[index]  # an index out of range fails as a list's does
        if t is None:
            index = range(len(self))[index]
            t = self._decoded[index] = self._decode(index)
        return t

    def __iter__(self) -> Iterator["BtfType"]:
        decoded, decode = self._decoded, self._decode
        for i, t in enumerate(decoded):
            if t is None:
                t = decoded[i] = decode(i)
            yield t

    def decode_all(self) -> list["BtfType"]:
        """Every record, decoded: the list a Btf that is not read on demand holds."""
        if self._decoded.count(None) != len(self._decoded):
            return list(self)  # those decoded already, as they are
        return self._decode_all()


@dataclass(slots=True)
class Btf:
    """A whole BTF object: types, strings and, for split BTF, its base.

    ``types[i]`` has type id ``start_id + i``; id 0 is void and not stored.
    ``strings`` is the raw string section; offsets below ``start_str_off``
    belong to the base. ``padding`` keeps bytes that sit between or after the
    sections in the file so that the writer can reproduce it exactly.
    """

    types: list[BtfType] = field(default_factory=list)  # or TypesOnDemand, read-only
    strings: bytes = b"\0"
    base: "Btf | None" = None
    big_endian: bool = False
    header: BtfHeader = field(default_factory=BtfHeader)
    padding: "SectionPadding" = field(default_factory=lambda: SectionPadding())
    _str_cache: dict[int, str] = field(default_factory=dict, repr=False, compare=False)
    _every_string_decoded: bool = field(default=False, repr=False, compare=False)

    @property
    def start_id(self) -> int:
        return self.base.type_cnt if self.base is not None else 1

    @property
    def start_str_off(self) -> int:
        return self.base.str_size if self.base is not None else 0

    @property
    def type_cnt(self) -> int:
        """libbpf's ``btf__type_cnt``: one past the last valid id."""
        return self.start_id + len(self.types)

    @property
    def str_size(self) -> int:
        """Logical size of all strings up to and including this object's."""
        return self.start_str_off + len(self.strings)

    def heads(self) -> tuple[list[int], list[int], list[int]]:
        """Every type's name_off, info and size_or_type words, in id order (without
        decoding the records of :class:`TypesOnDemand`)."""
        if isinstance(self.types, TypesOnDemand):
            return self.types.heads
        types = self.types
        return ([t.name_off for t in types], [t.info for t in types],
                [t.size_or_type for t in types])

    def type_by_id(self, type_id: int) -> BtfType:
        """The record for ``type_id`` (from the base if it is a base id).
        Id 0 (void) has no record; asking for it raises KeyError too."""
        if type_id < self.start_id:
            if self.base is None or type_id == 0:
                raise KeyError(type_id)
            return self.base.type_by_id(type_id)
        idx = type_id - self.start_id
        if idx >= len(self.types):
            raise KeyError(type_id)
        return self.types[idx]

    def has_str(self, off: int) -> bool:
        """libbpf's ``btf__str_by_offset`` succeeds for this offset."""
        if off < self.start_str_off:
            return self.base is not None and self.base.has_str(off)
        return off - self.start_str_off < len(self.strings)

    def str_at(self, off: int) -> str:
        """The NUL-terminated string at logical offset ``off``.

        Invalid UTF-8 is kept visible with backslash escapes rather than
        failing: names in BTF are bytes, and a dump must still show them."""
        if off < self.start_str_off:
            if self.base is None:
                raise KeyError(off)
            return self.base.str_at(off)
        cached = self._str_cache.get(off)
        if cached is not None:
            return cached
        local = off - self.start_str_off
        if local >= len(self.strings):
            raise KeyError(off)
        end = self.strings.find(b"\0", local)
        if end < 0:
            end = len(self.strings)
        text = self.strings[local:end].decode("utf-8", "backslashreplace")
        self._str_cache[off] = text
        return text

    def name_of(self, t: BtfType) -> str:
        return self.str_at(t.name_off)

    def strings_by_offset(self) -> Callable[[int], str]:
        """:meth:`str_at` as a function that looks its memo up before the call (for
        loops that ask hundreds of thousands of times, such as check's), with every
        string of this object's section decoded into the memo at once first (a check
        asks each of pahole 1.24's strings several times)."""
        if not self._every_string_decoded:
            self._decode_every_string()
        memo, str_at = self._str_cache, self.str_at

        def at(off: int) -> str:
            text = memo.get(off)
            return text if text is not None else str_at(off)
        return at

    def _decode_every_string(self) -> None:
        """Each NUL-terminated string of the section into the memo, at the offset it
        starts at, as :meth:`str_at` decodes it (an offset inside a string, which
        hostile BTF may use, is left to :meth:`str_at`)."""
        parts = self.strings.split(b"\0")[:-1]  # the section ends with a NUL
        try:  # valid UTF-8 (nearly always): one decode, and the same split
            text = self.strings.decode("utf-8").split("\0")
        except UnicodeDecodeError:
            text = [part.decode("utf-8", "backslashreplace") for part in parts]
        starts = itertools.accumulate(map(len, parts), lambda at, n: at + n + 1,
                                      initial=self.start_str_off)
        self._str_cache.update(zip(starts, text))
        self._every_string_decoded = True

    def link_role(self, src: int, dst: int) -> str:
        """How type ``src`` refers to type ``dst``, in words for an edge label:
        ``member next``, ``param 1 (l)``, ``return type``, ``points to``, ..."""
        t = self.type_by_id(src) if src else None
        if t is None:
            return ""
        k = t.kind
        for m in t.members:
            if m.type == dst:
                return f"member {self.str_at(m.name_off) or '(anon)'}"
        if k == BtfKind.FUNC_PROTO:
            if t.type == dst:
                return "return type"
            for n, param in enumerate(t.params, 1):
                if param.type == dst:
                    name = self.str_at(param.name_off)
                    return f"param {n}" + (f" ({name})" if name else "")
        if k == BtfKind.ARRAY and t.array is not None:
            return "element" if t.array.type == dst else "index type"
        words = {BtfKind.PTR: "points to", BtfKind.TYPEDEF: "names",
                 BtfKind.CONST: "const of", BtfKind.VOLATILE: "volatile of",
                 BtfKind.RESTRICT: "restrict of", BtfKind.TYPE_TAG: "tags",
                 BtfKind.FUNC: "prototype", BtfKind.VAR: "type", BtfKind.DECL_TAG: "tags"}
        return words.get(k, "refers to")

    def iter_types(self) -> Iterator[tuple[int, BtfType]]:
        """(id, type) for this object's own types, in id order."""
        return enumerate(self.types, start=self.start_id)

    def find_by_name(self, name: str) -> list[int]:
        """Ids of all own and base types called ``name``, in id order."""
        found = self.base.find_by_name(name) if self.base is not None else []
        found.extend(i for i, t in self.iter_types()
                     if t.name_off and self.str_at(t.name_off) == name)
        return found


@dataclass(frozen=True, slots=True)
class SectionPadding:
    """Raw bytes the BTF layout allows around its two sections: between the
    header and the types (type_off > 0), between types and strings, and after
    the strings. Empty for anything libbpf or pahole writes."""

    before_types: bytes = b""
    between: bytes = b""
    trailing: bytes = b""


class StringTableBuilder:
    """Append-only string section with de-duplication, for building BTF
    in tests and in the encoder. Offset 0 is the empty string."""

    def __init__(self, start_off: int = 0, with_empty: bool = True):
        self._data = bytearray(b"\0" if with_empty else b"")
        self._offsets: dict[str, int] = {"": 0} if with_empty else {}
        self._start = start_off

    def add(self, s: str) -> int:
        off = self._offsets.get(s)
        if off is None:
            off = self._start + len(self._data)
            self._data += s.encode() + b"\0"
            self._offsets[s] = off
        return off

    def data(self) -> bytes:
        return bytes(self._data)
