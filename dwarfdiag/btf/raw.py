"""Raw BTF bytes <-> :class:`~dwarfdiag.btf.model.Btf`, checked as libbpf checks.

The reader follows libbpf's ``btf_new()`` step by step (``src/btf.c`` at
libbpf v1.7.0, commit 7280542f... is what we read): ``btf_parse_hdr``, then
``btf_parse_str_sec``, ``btf_parse_type_sec`` and ``btf_sanity_check`` (the
last lives in :mod:`dwarfdiag.btf.validate`). Anything libbpf would refuse
raises :class:`~dwarfdiag.errors.BtfFormatError` naming the file offset and
the problem, never an IndexError or struct.error. Both byte orders are read;
split BTF is read on top of a base.

The writer emits exactly the bytes that were read, for any file the reader
accepts, including unknown header tail bytes and inter-section padding.
"""

from __future__ import annotations

import struct
import sys
from array import array

from dwarfdiag.btf.model import (
    BTF_HEADER_SIZE,
    BTF_MAGIC,
    BTF_TYPE_SIZE,
    Array,
    Btf,
    BtfHeader,
    BtfKind,
    BtfType,
    EnumValue,
    KIND_BY_VALUE,
    Member,
    Param,
    TRAILER_SIZES,
    SectionPadding,
    TypesOnDemand,
    VarSecinfo,
)
from dwarfdiag.btf.validate import sanity_check
from dwarfdiag.errors import BtfFormatError
from dwarfdiag.heap import bulk_build

BTF_MAX_STR_OFFSET = 0x7FFFFFFF
_NATIVE = "<" if sys.byteorder == "little" else ">"
_WORD = next(code for code in "IL" if array(code).itemsize == 4)  # an unsigned 32-bit word



class _Codec:
    """Precompiled structs for one byte order (``struct`` compiles once)."""

    def __init__(self, order: str):
        self.order = order
        self.header = struct.Struct(order + "HBBIIIII")
        self.head = struct.Struct(order + "III")
        self.u32 = struct.Struct(order + "I")
        self.i32 = struct.Struct(order + "i")
        self.triple = struct.Struct(order + "III")
        self.pair = struct.Struct(order + "II")
        self.trailers = _trailer_decoders(self)
        # per 5-bit kind value: (fixed words, words per vlen item), None for no kind
        self.trailer_words = tuple(None if t is None else (t[0] // 4, t[1] // 4)
                                   for t in self.trailers)


def parse_btf(data: bytes, base: Btf | None = None, sanity: bool = True,
              on_demand: bool = False) -> Btf:
    """Parse raw BTF (a ``.BTF`` section or a ``pahole --btf_encode_detached``
    file). ``base`` makes it split BTF: ids and string offsets continue the
    base's. Raises BtfFormatError for anything libbpf's btf__new() refuses;
    ``sanity=False`` leaves out libbpf's per-type checks (for bytes our own writer
    made from our own encoder, read back from a verified cache entry, or checked
    apart). ``on_demand``: each record's trailer is decoded when its type is first
    asked for (:class:`~dwarfdiag.btf.model.TypesOnDemand`); the records' bounds
    and kinds are read at once, so a malformed section fails here all the same."""
    with bulk_build():  # a type object per record, no cycles among them
        return _parse_btf(bytes(data), base, sanity, on_demand)


def _parse_btf(data: bytes, base: Btf | None, sanity: bool, on_demand: bool = False) -> Btf:
    header, codec = _parse_header(data)
    type_start = header.hdr_len + header.type_off
    str_start = header.hdr_len + header.str_off
    strings = data[str_start:str_start + header.str_len]
    _check_string_section(strings, str_start, base)
    if base is not None and base.big_endian != (codec is _BE):
        raise BtfFormatError("split BTF and its base have different byte orders", 0)

    btf = Btf(
        strings=strings,
        base=base,
        big_endian=codec is _BE,
        header=header,
        padding=SectionPadding(
            before_types=data[header.hdr_len:type_start],
            between=data[type_start + header.type_len:str_start],
            trailing=data[str_start + header.str_len:],
        ),
    )
    if not (sanity or on_demand):  # our own bytes back from the cache: one tight walk
        btf.types = _parse_types(data, type_start, header.type_len, btf.start_id, codec)
        return btf
    # the records' bounds and heads at once, each trailer decoded when asked for:
    # libbpf's checks read the words undecoded (bench/bench_speed.py: check)
    records = _types_on_demand(data, type_start, header.type_len, btf.start_id, codec)
    btf.types = records
    if sanity:
        sanity_check(btf)
    if not on_demand:
        btf.types = records.decode_all()
    return btf


def _parse_header(data: bytes) -> tuple[BtfHeader, _Codec]:
    """libbpf btf_parse_hdr(): magic, byte order and section bounds."""
    if len(data) < BTF_HEADER_SIZE:
        raise BtfFormatError(f"BTF header not found: file has {len(data)} bytes, "
                             f"the header needs {BTF_HEADER_SIZE}", 0)
    (magic,) = struct.unpack_from("<H", data, 0)
    if magic == BTF_MAGIC:
        codec = _LE
    elif magic == 0x9FEB:
        codec = _BE
    else:
        raise BtfFormatError(f"bad magic {magic:#06x} (expected 0xeb9f in either byte order)", 0)
    magic, version, flags, hdr_len, type_off, type_len, str_off, str_len = \
        codec.header.unpack_from(data, 0)
    if codec is _BE and hdr_len != BTF_HEADER_SIZE:
        # libbpf: -ENOTSUP, it cannot byte-swap header fields it does not know
        raise BtfFormatError(f"header length {hdr_len} is not {BTF_HEADER_SIZE}, "
                             "which libbpf requires for non-native byte order", 4)
    if hdr_len < BTF_HEADER_SIZE:
        raise BtfFormatError(f"header length {hdr_len} is shorter than the "
                             f"{BTF_HEADER_SIZE}-byte struct btf_header", 4)
    if len(data) < hdr_len:
        raise BtfFormatError(f"header length {hdr_len} is larger than the data "
                             f"({len(data)} bytes)", 4)
    meta_left = len(data) - hdr_len
    if meta_left < str_off + str_len:
        raise BtfFormatError(
            f"string section (offset {str_off}, length {str_len}) ends past the "
            f"end of the data ({meta_left} bytes after the header)", 16)
    if type_off + type_len > str_off:
        raise BtfFormatError(
            f"sections overlap: type data at {type_off}+{type_len}, "
            f"strings at {str_off}+{str_len}", 8)
    if type_off % 4:
        raise BtfFormatError(f"type section offset {type_off} is not 4-byte aligned", 8)
    extra = data[BTF_HEADER_SIZE:hdr_len]
    header = BtfHeader(magic, version, flags, hdr_len, type_off, type_len,
                       str_off, str_len, extra)
    return header, codec


def _check_string_section(strings: bytes, file_off: int, base: Btf | None) -> None:
    """libbpf btf_parse_str_sec(): NUL-terminated, empty string first."""
    if base is not None and not strings:
        return
    if not strings:
        raise BtfFormatError("string section is empty (it must hold at least "
                             "the empty string)", file_off)
    if len(strings) - 1 > BTF_MAX_STR_OFFSET:
        raise BtfFormatError("string section is larger than 2 GiB", file_off)
    if strings[-1] != 0:
        raise BtfFormatError("string section does not end with a NUL byte",
                             file_off + len(strings) - 1)
    if base is None and strings[0] != 0:
        raise BtfFormatError("string section does not start with the empty "
                             "string", file_off)


def _parse_types(data: bytes, start: int, length: int, first_id: int,
                 c: _Codec) -> list[BtfType]:
    """libbpf btf_parse_type_sec(): walk records, sizing each by its kind."""
    types: list[BtfType] = []
    append = types.append
    pos, end = start, start + length
    type_id = first_id
    head_unpack = c.head.unpack_from
    view = memoryview(data)
    trailers = c.trailers
    while pos + BTF_TYPE_SIZE <= end:
        name_off, info, size_or_type = head_unpack(data, pos)
        raw_kind = (info >> 24) & 0x1F
        vlen = info & 0xFFFF
        trailer = trailers[raw_kind]
        if trailer is None:
            raise BtfFormatError(f"type [{type_id}] has unsupported kind {raw_kind}", pos + 4)
        fixed, per_item, decode = trailer
        tail = pos + BTF_TYPE_SIZE
        next_pos = tail + fixed + per_item * vlen
        if next_pos > end:
            raise BtfFormatError(
                f"type [{type_id}] ({BtfKind(raw_kind).name}, vlen {vlen}) is truncated: it "
                f"needs {next_pos - pos} bytes, the type section has {end - pos} left", pos)
        append(BtfType(name_off, info, size_or_type) if decode is None
               else decode(view, tail, next_pos, name_off, info, size_or_type))
        pos = next_pos
        type_id += 1
    if pos != end:
        raise BtfFormatError(f"type section has {end - pos} stray bytes after "
                             f"type [{type_id - 1}]", pos)
    return types


def _types_on_demand(data: bytes, start: int, length: int, first_id: int,
                     c: _Codec) -> TypesOnDemand:
    """libbpf btf_parse_type_sec(): walk the records, sizing each by its kind, over
    the type section as 32-bit words, keeping each record's place and head; the
    trailers are decoded later, one record at a time."""
    words = array(_WORD, data[start:start + length - length % 4])
    if c.order != _NATIVE:
        words.byteswap()
    sizes = c.trailer_words
    places: list[int] = []  # each record's first word
    put = places.append
    pos, end = 0, len(words)
    type_id = first_id
    while pos + 3 <= end:
        info = words[pos + 1]
        raw_kind = (info >> 24) & 0x1F
        size = sizes[raw_kind]
        if size is None:
            raise BtfFormatError(f"type [{type_id}] has unsupported kind {raw_kind}",
                                 start + 4 * pos + 4)
        vlen = info & 0xFFFF
        next_pos = pos + 3 + size[0] + size[1] * vlen
        if next_pos > end:
            raise BtfFormatError(
                f"type [{type_id}] ({BtfKind(raw_kind).name}, vlen {vlen}) is truncated: it "
                f"needs {4 * (next_pos - pos)} bytes, the type section has "
                f"{length - 4 * pos} left", start + 4 * pos)
        put(pos)
        pos = next_pos
        type_id += 1
    if 4 * pos != length:
        raise BtfFormatError(f"type section has {length - 4 * pos} stray bytes after "
                             f"type [{type_id - 1}]", start + 4 * pos)
    heads = ([words[p] for p in places], [words[p + 1] for p in places],
             [words[p + 2] for p in places])
    view = memoryview(data)
    trailers = c.trailers
    name_offs, infos, size_or_types = heads

    def decode(index: int) -> BtfType:
        info = infos[index]
        fixed, per_item, trailer = trailers[(info >> 24) & 0x1F]
        if trailer is None:
            return BtfType(name_offs[index], info, size_or_types[index])
        tail = start + 4 * places[index] + BTF_TYPE_SIZE
        return trailer(view, tail, tail + fixed + per_item * (info & 0xFFFF),
                       name_offs[index], info, size_or_types[index])

    def decode_all() -> list[BtfType]:  # decode() in one loop of locals: a whole parse
        out: list[BtfType] = []
        put = out.append
        for name_off, info, size_or_type, place in zip(name_offs, infos, size_or_types,
                                                       places):
            fixed, per_item, trailer = trailers[(info >> 24) & 0x1F]
            if trailer is None:
                put(BtfType(name_off, info, size_or_type))
            else:
                tail = start + 4 * place + BTF_TYPE_SIZE
                put(trailer(view, tail, tail + fixed + per_item * (info & 0xFFFF), name_off,
                            info, size_or_type))
        return out

    return TypesOnDemand(heads, words, places, decode, decode_all)


def _trailer_decoders(c: _Codec) -> tuple:
    """Per 5-bit kind value: (fixed bytes, bytes per vlen item, decoder of the trailer
    or None for a head-only kind), or None for a kind libbpf does not know. A decoder
    takes (view, trailer start, trailer end, name_off, info, size_or_type)."""
    u32, i32, triple, pair = c.u32.unpack_from, c.i32.unpack_from, c.triple, c.pair

    def int_(v, tail, end, n, info, st):
        return BtfType(n, info, st, int_word=u32(v, tail)[0])

    def array(v, tail, end, n, info, st):
        return BtfType(n, info, st, array=Array._make(triple.unpack_from(v, tail)))

    def members(v, tail, end, n, info, st):
        items = triple.iter_unpack(v[tail:end])
        return BtfType(n, info, st, members=tuple(map(Member._make, items)))

    def enum(v, tail, end, n, info, st):
        items = pair.iter_unpack(v[tail:end])
        return BtfType(n, info, st, values=tuple(map(EnumValue._make, items)))

    def enum64(v, tail, end, n, info, st):
        return BtfType(n, info, st, values=tuple(
            EnumValue(name, (hi << 32) | lo) for name, lo, hi in triple.iter_unpack(v[tail:end])))

    def params(v, tail, end, n, info, st):
        return BtfType(n, info, st, params=tuple(map(Param._make, pair.iter_unpack(v[tail:end]))))

    def var(v, tail, end, n, info, st):
        return BtfType(n, info, st, linkage=u32(v, tail)[0])

    def datasec(v, tail, end, n, info, st):
        items = triple.iter_unpack(v[tail:end])
        return BtfType(n, info, st, secinfos=tuple(map(VarSecinfo._make, items)))

    def decl_tag(v, tail, end, n, info, st):
        return BtfType(n, info, st, component_idx=i32(v, tail)[0])

    decoders = {BtfKind.INT: int_, BtfKind.ARRAY: array, BtfKind.STRUCT: members,
                BtfKind.UNION: members, BtfKind.ENUM: enum, BtfKind.ENUM64: enum64,
                BtfKind.FUNC_PROTO: params, BtfKind.VAR: var, BtfKind.DATASEC: datasec,
                BtfKind.DECL_TAG: decl_tag}
    table: list = [None] * 32
    for kind, (fixed, per_item) in TRAILER_SIZES.items():
        table[kind.value] = (fixed, per_item, decoders.get(kind))
    return tuple(table)


_LE = _Codec("<")
_BE = _Codec(">")


def _type_words(types: list[BtfType]) -> list[int]:
    """Every type record as the 32-bit words it is made of (a record is nothing
    else: head, then its kind's trailer), in order."""
    words: list[int] = []
    put, put_all = words.append, words.extend
    kinds = KIND_BY_VALUE
    for t in types:
        put_all((t.name_off, t.info, t.size_or_type))
        kind = kinds[(t.info >> 24) & 0x1F]
        if kind is BtfKind.INT:
            put(t.int_word)
        elif kind is BtfKind.ARRAY:
            assert t.array is not None, "ARRAY type without its array trailer"
            put_all(t.array)
        elif kind is BtfKind.ENUM64:
            for v in t.values:
                put_all((v.name_off, v.val & 0xFFFFFFFF, v.val >> 32))
        elif kind is BtfKind.VAR:
            put(t.linkage)
        elif kind is BtfKind.DECL_TAG:
            put(t.component_idx & 0xFFFFFFFF)  # signed: the same four bytes
        else:
            for m in t.members:
                put_all(m)
            for p in t.params:
                put_all(p)
            for v in t.values:
                put_all(v)
            for sec in t.secinfos:
                put_all(sec)
    return words


def write_btf(btf: Btf) -> bytes:
    """Serialise ``btf`` (own types and strings only for split BTF). Section
    offsets and lengths are recomputed from the content and padding, so a
    parsed file comes back byte for byte and a built one comes out canonical."""
    c = _BE if btf.big_endian else _LE
    words = _type_words(btf.types)
    type_data = struct.pack(f"{c.order}{len(words)}I", *words)
    h, pad = btf.header, btf.padding
    type_off = len(pad.before_types)
    str_off = type_off + len(type_data) + len(pad.between)
    head = c.header.pack(h.magic, h.version, h.flags, BTF_HEADER_SIZE + len(h.extra),
                         type_off, len(type_data), str_off, len(btf.strings))
    return b"".join((head, h.extra, pad.before_types, type_data, pad.between,
                     btf.strings, pad.trailing))
