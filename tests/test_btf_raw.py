"""The raw BTF reader and writer: hpack's four laws plus libbpf's checks."""

from __future__ import annotations

import struct

import pytest
from hypothesis import given
from hypothesis import strategies as st

from dwarfdiag.btf.build import BtfBuilder
from dwarfdiag.btf.model import BtfKind
from dwarfdiag.btf.raw import parse_btf, write_btf
from dwarfdiag.errors import BtfFormatError

from strategies import btf_graphs, btf_objects


# -- law 1 and 4: valid input encodes, and round-trips byte for byte

@given(btf_objects())
def test_valid_graphs_round_trip_byte_for_byte(btf):
    raw = write_btf(btf)
    parsed = parse_btf(raw)
    assert parsed.types == btf.types
    assert parsed.strings == btf.strings
    assert parsed.big_endian == btf.big_endian
    assert write_btf(parsed) == raw


@given(btf_graphs(max_types=10), st.data())
def test_split_btf_round_trips_on_its_base(base_builder, data):
    base = parse_btf(base_builder.raw())
    split = data.draw(btf_graphs(max_types=10, base=base))
    raw = split.raw()
    parsed = parse_btf(raw, base)
    assert parsed.start_id == base.type_cnt
    assert parsed.types == split.types
    assert list(parse_btf(raw, base, on_demand=True).types) == split.types
    assert write_btf(parsed) == raw
    for tid, t in parsed.iter_types():
        assert parsed.type_by_id(tid) is t
        parsed.str_at(t.name_off)  # resolves, possibly through the base


@given(btf_objects(), st.randoms(use_true_random=False))
def test_types_decoded_on_demand_are_the_types_parsed_at_once(btf, rnd):
    raw = write_btf(btf)
    whole, lazy = parse_btf(raw), parse_btf(raw, on_demand=True)
    assert lazy.heads() == whole.heads()  # known before any record is decoded
    order = list(range(len(whole.types)))
    rnd.shuffle(order)  # decoded in any order, each once, as the whole parse has it
    assert [lazy.types[i] for i in order] == [whole.types[i] for i in order]
    assert list(lazy.types) == whole.types
    assert lazy.types[-1:] == whole.types[-1:]
    assert write_btf(lazy) == raw


@given(btf_objects(min_types=1), st.data())
def test_a_damaged_file_fails_on_demand_as_it_fails_at_once(btf, data):
    """The records' bounds and kinds are read at once: the same error, or the same
    types (libbpf's per-type checks are left out of both)."""
    raw = bytearray(write_btf(btf))
    for _ in range(data.draw(st.integers(1, 4))):
        pos = data.draw(st.integers(0, len(raw) - 1))
        raw[pos] = data.draw(st.integers(0, 255))
    candidate = bytes(raw[:data.draw(st.integers(0, len(raw)))])
    outcomes = []
    for on_demand in (False, True):
        try:
            outcomes.append(list(parse_btf(candidate, sanity=False, on_demand=on_demand).types))
        except BtfFormatError as e:
            outcomes.append((str(e), e.offset))
    assert outcomes[0] == outcomes[1]


@given(st.binary(max_size=120), st.sampled_from([None, 1]))
def test_every_string_decoded_at_once_reads_as_each_read_alone(tail, base_strings):
    """check's strings_by_offset decodes the whole section into the memo at once:
    every offset (a string's start, or inside one, as hostile BTF may point) reads
    as str_at reads it alone, invalid UTF-8 and all."""
    from dwarfdiag.btf.model import Btf

    base = Btf(strings=b"\0base\0") if base_strings else None
    strings = (b"" if base else b"\0") + tail.replace(b"\0", b"\0\0", 1) + b"\0"
    at = Btf(strings=strings, base=base).strings_by_offset()
    alone = Btf(strings=strings, base=base)
    start = alone.start_str_off
    for off in range(start, start + len(strings)):
        assert at(off) == alone.str_at(off)


def test_both_byte_orders_decode_to_the_same_types():
    b = BtfBuilder()
    i = b.add_int("int", 4)
    b.add_struct("s", 8, [("a", i, 0), ("b", i, 32)])
    b.add_enum64("e", 8, [("X", 2**40 + 7)], signed=True)
    le, be = parse_btf(b.raw(big_endian=False)), parse_btf(b.raw(big_endian=True))
    assert le.types == be.types
    assert not le.big_endian and be.big_endian
    assert b.raw(big_endian=True)[:2] == b"\xeb\x9f"


# -- law 2 and 3: invalid input raises our error, arbitrary bytes never crash

@given(st.binary(max_size=200))
def test_random_bytes_parse_or_raise_our_error(data):
    try:
        parse_btf(data)
    except BtfFormatError:
        pass


@given(btf_objects(min_types=1), st.data())
def test_mutated_files_parse_or_raise_our_error(btf, data):
    raw = bytearray(write_btf(btf))
    for _ in range(data.draw(st.integers(1, 4))):
        pos = data.draw(st.integers(0, len(raw) - 1))
        raw[pos] = data.draw(st.integers(0, 255))
    cut = data.draw(st.integers(0, len(raw)))
    for candidate in (bytes(raw), bytes(raw[:cut])):
        try:
            reparsed = parse_btf(candidate)
        except BtfFormatError:
            continue
        # whatever parses must also write back identically
        assert write_btf(reparsed) == candidate


@given(btf_objects(min_types=1), st.data())
def test_the_checks_at_a_glance_pass_exactly_what_the_per_type_checks_pass(btf, data):
    """sanity_check's one-pass look and the per-type checks agree on every file the
    mutation leaves parseable: valid at a glance exactly when no type has a problem."""
    from dwarfdiag.btf.validate import _valid_at_a_glance, type_problem

    raw = bytearray(write_btf(btf))
    for _ in range(data.draw(st.integers(0, 4))):
        pos = data.draw(st.integers(0, len(raw) - 1))
        raw[pos] = data.draw(st.integers(0, 255))
    try:
        parsed = parse_btf(bytes(raw), sanity=False, on_demand=True)
    except BtfFormatError:
        return
    try:
        fine = all(type_problem(parsed, i, t) is None for i, t in parsed.iter_types())
    except ValueError:  # a kind libbpf does not know: type_problem cannot name it
        fine = False
    # the look over the records' words agrees with the checks of their decoded fields
    assert _valid_at_a_glance(parse_btf(bytes(raw), sanity=False, on_demand=True)) == fine


@given(btf_objects(min_types=1), st.data())
def test_cycles_over_records_decoded_on_demand_are_the_cycles_over_all(btf, data):
    """reference_cycles reads kinds and single references from the heads, and decodes
    only arrays and prototypes: the same cycles, mutated references and all."""
    from dwarfdiag.btf.cycles import reference_cycles

    raw = bytearray(write_btf(btf))
    for _ in range(data.draw(st.integers(0, 4))):
        pos = data.draw(st.integers(0, len(raw) - 1))
        raw[pos] = data.draw(st.integers(0, 255))
    try:
        whole = parse_btf(bytes(raw), sanity=False)
    except BtfFormatError:
        return
    lazy = parse_btf(bytes(raw), sanity=False, on_demand=True)
    assert reference_cycles(lazy) == reference_cycles(whole) == _every_node_cycles(whole)


def _every_node_cycles(btf):
    """reference_cycles as it was first written: every reference node a root of
    Tarjan's walk, every record's references from its decoded fields (the oracle of
    the pruned, undecoded walk)."""
    from dwarfdiag.btf.cycles import REFERENCE_KINDS, _one_cycle, _tarjan

    start, types = btf.start_id, btf.types
    is_ref = [t.kind in REFERENCE_KINDS for t in types]

    def edges(i):
        return [r for r in types[i - start].referenced_ids()
                if 0 <= r - start < len(types) and is_ref[r - start]]

    components = _tarjan([start + i for i, ref in enumerate(is_ref) if ref], edges)
    cycles = [_one_cycle(min(c), set(c), edges) for c in components
              if len(c) > 1 or c[0] in edges(c[0])]
    return sorted(cycles, key=lambda c: c[0])


# -- libbpf's checks, one by one, each naming an offset

def _valid() -> bytes:
    b = BtfBuilder()
    i = b.add_int("int", 4)
    p = b.add_func_proto(i, [("x", i)])
    b.add_func("f", p)
    return b.raw()


def _patch(raw: bytes, off: int, fmt: str, value: int) -> bytes:
    out = bytearray(raw)
    struct.pack_into(fmt, out, off, value)
    return bytes(out)


def _with_type_padding(raw: bytes, pad: bytes) -> bytes:
    from dataclasses import replace
    btf = parse_btf(raw)
    btf.padding = replace(btf.padding, before_types=pad)
    return write_btf(btf)


@pytest.mark.parametrize("mutate, message, offset", [
    (lambda r: r[:10], "header not found", 0),
    (lambda r: _patch(r, 0, "<H", 0x1234), "bad magic", 0),
    (lambda r: _patch(r, 4, "<I", 4096), "header length 4096 is larger", 4),
    (lambda r: _patch(r, 4, "<I", 8), "shorter than", 4),
    (lambda r: _patch(r, 20, "<I", 4096), "string section", 16),
    (lambda r: _patch(r, 12, "<I", 4096), "sections overlap", 8),
    (lambda r: _with_type_padding(r, b"\0\0"), "not 4-byte aligned", 8),
    (lambda r: r[:-1] + b"x", "does not end with a NUL", None),
])
def test_header_and_section_checks(mutate, message, offset):
    with pytest.raises(BtfFormatError, match=message) as err:
        parse_btf(mutate(_valid()))
    if offset is not None:
        assert err.value.offset == offset


def test_unknown_kind_is_refused():
    raw = _patch(_valid(), 24 + 4, "<I", 25 << 24)
    with pytest.raises(BtfFormatError, match=r"type \[1\] has unsupported kind 25") as err:
        parse_btf(raw)
    assert err.value.offset == 24 + 4


def test_truncated_type_names_its_id():
    b = BtfBuilder()
    b.add_int("int", 4)
    b.add_struct("s", 4, [("a", 1, 0)])
    btf = b.btf()
    raw = bytearray(write_btf(btf))
    type_len = struct.unpack_from("<I", raw, 12)[0]
    struct.pack_into("<I", raw, 12, type_len - 4)  # cut the member in half
    with pytest.raises(BtfFormatError, match=r"type \[2\] \(STRUCT, vlen 1\) is truncated"):
        parse_btf(bytes(raw))


def test_dangling_reference_is_refused_like_btf_sanity_check():
    b = BtfBuilder()
    b.add_ptr(7)
    with pytest.raises(BtfFormatError, match=r"type \[1\] PTR: invalid referenced type id 7"):
        parse_btf(b.raw())


def test_func_must_point_at_func_proto():
    b = BtfBuilder()
    i = b.add_int("int", 4)
    b.add_func("f", i)
    with pytest.raises(BtfFormatError, match=r"referenced type \[1\] is not FUNC_PROTO"):
        parse_btf(b.raw())


def test_bad_string_offset_is_refused():
    b = BtfBuilder()
    b.add_int("int", 4)
    b.set_type(1, name_off=999)
    with pytest.raises(BtfFormatError, match="invalid type name .string offset 999"):
        parse_btf(b.raw())


def test_split_btf_may_have_an_empty_string_section():
    base = parse_btf(_valid())
    b = BtfBuilder(base)
    b.add_ptr(1)
    split = parse_btf(b.raw(), base)
    assert split.strings == b""
    assert split.types[0].kind == BtfKind.PTR


# -- the file-level entry point: ELF or raw, random bytes never escape as a crash

@given(st.binary(max_size=300), st.booleans())
def test_random_files_load_or_raise_our_error(tmp_path_factory, data, elf_magic):
    from dwarfdiag.btf.files import load_btf
    from dwarfdiag.errors import BadInputError

    path = tmp_path_factory.mktemp("rnd") / "f"
    path.write_bytes((b"\x7fELF" if elf_magic else b"") + data)
    try:
        load_btf(path)
    except BadInputError:
        pass


def test_truncated_elf_with_btf_names_the_problem(tmp_path, c_binary, pahole):
    import subprocess
    from dwarfdiag.btf.files import load_btf
    from dwarfdiag.errors import BadInputError

    elf = tmp_path / "with_btf"
    elf.write_bytes(c_binary.read_bytes())
    subprocess.run([pahole, "-J", str(elf)], check=True, capture_output=True)
    data = elf.read_bytes()
    for cut in (64, len(data) // 2, len(data) - 100):
        (tmp_path / "cut").write_bytes(data[:cut])
        with pytest.raises(BadInputError, match=str(tmp_path / "cut")):
            load_btf(tmp_path / "cut")
