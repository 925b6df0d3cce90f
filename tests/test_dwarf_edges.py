"""Reader and encoder edge cases on hand-written DWARF (tests/dwarfwriter.py): no compiler.

Each case states the DIEs it needs; pyelftools reads the same file as the
oracle for what the DIEs are, and the BTF our encoder makes is checked
against what the DWARF says (or against the same layout written another way).
"""

from __future__ import annotations

import io
from pathlib import Path

import pytest
from elftools.elf.elffile import ELFFile

from dwarfdiag.btf.dump import dump_text
from dwarfdiag.btf.encoder import encode
from dwarfdiag.btf.model import BtfKind
from dwarfdiag.dwarf.constants import ATE_signed, ATE_unsigned, At, Form, Tag
from dwarfdiag.dwarf.loader import read_typegraph
from dwarfdiag.errors import BadInputError
from dwarfwriter import DW_UT_partial, D, Ref, Unit, base, cu, elf_with_dwarf


def _load(tmp_path: Path, data: bytes, name: str = "bin"):
    path = tmp_path / name
    path.write_bytes(data)
    return read_typegraph(path)


def _btf_text(graph) -> str:
    enc = encode(graph)
    return "".join(dump_text(enc.btf, range(1, enc.btf.type_cnt)))


def _program(version: int, ref: int = Form.ref4, name_form: int = Form.strp) -> Unit:
    """A Go-like struct with a self-reference through a typedef and a pointer."""
    t = D(Tag.structure_type, [(At.name, name_form, "main.T"), (At.byte_size, Form.data1, 16)],
          [D(Tag.member, [(At.name, Form.string, "n"), (At.type, ref, Ref("int")),
                          (At.data_member_location, Form.data1, 0)]),
           D(Tag.member, [(At.name, Form.string, "next"), (At.type, ref, Ref("ptr")),
                          (At.data_member_location, Form.data1, 8)])], label="T")
    td = D(Tag.typedef, [(At.name, Form.string, "main.T"), (At.type, ref, Ref("T")),
                         (At.decl_file, Form.data1, 0 if version >= 5 else 1),
                         (At.decl_line, Form.data2, 7)], label="td")
    ptr = D(Tag.pointer_type, [(At.type, ref, Ref("td")), (At.byte_size, Form.data1, 8)],
            label="ptr")
    return Unit(cu(base("int", 8, ATE_signed), t, td, ptr), files=["/src/app/main.go"])


LAYOUTS = [dict(version=v, offset_size=o, indirect=i, little_endian=le, bits=b)
           for v in (2, 3, 4, 5) for o in (4, 8) for i in (False, True)
           for le in (True, False) for b in (64, 32) if not (v == 2 and o == 8)]


@pytest.mark.parametrize("layout", LAYOUTS, ids=lambda lay: "-".join(
    f"{k}{int(v) if isinstance(v, bool) else v}" for k, v in lay.items()))
def test_every_layout_reads_the_same_types(tmp_path, layout):
    """DWARF 2 to 5, 32- and 64-bit DWARF, indirect forms, both byte orders, both ELF
    classes: the same DIEs, the same provenance, the same BTF."""
    reference = _btf_text(_load(tmp_path, elf_with_dwarf(_program(5)), "ref"))
    data = elf_with_dwarf(_program(layout["version"]), **layout)
    graph = _load(tmp_path, data)
    assert _btf_text(graph) == reference
    typedef = next(d for d in graph if d.tag == Tag.typedef)
    where = graph.provenance(typedef)
    assert where["file"] == "/src/app/main.go" and where["line"] == 7
    # the oracle agrees on every DIE's offset, tag and name
    elf = ELFFile(io.BytesIO(data))
    theirs = {d.offset: (d.tag, d.attributes.get("DW_AT_name"))
              for unit in elf.get_dwarf_info().iter_CUs() for d in unit.iter_DIEs() if d.tag}
    for die in graph:
        tag, name = theirs[die.offset]
        assert tag == Tag(die.tag).dwarf_name if hasattr(Tag(die.tag), "dwarf_name") \
            else tag == f"DW_TAG_{Tag(die.tag).name}"
        if die.name is not None:
            assert name is not None and name.value.decode() == die.name


def test_ref_udata_and_ref_addr_point_at_the_same_dies(tmp_path):
    texts = {_btf_text(_load(tmp_path, elf_with_dwarf(_program(5, ref)), f"r{ref:x}"))
             for ref in (Form.ref4, Form.ref_udata, Form.ref_addr)}
    assert len(texts) == 1


def test_strx_before_its_base_in_the_unit_die(tmp_path):
    """A unit DIE may use DW_FORM_strx before the DW_AT_str_offsets_base it holds;
    64-bit DWARF puts the base at 16, where the DWARF 5 default (8) is wrong."""
    for offset_size, base_at in ((4, 8), (8, 16)):
        unit = _program(5, name_form=Form.strx1)
        unit.root.attrs = [(At.name, Form.strx1, "main"),
                           (At.producer, Form.strx, "Go cmd/compile go1.27.3"),
                           (At.str_offsets_base, Form.sec_offset, base_at)]
        graph = _load(tmp_path, elf_with_dwarf(unit, offset_size=offset_size), f"s{base_at}")
        assert graph.cus[0].name == "main" and graph.cus[0].compiler == "gc"
        assert any(d.name == "main.T" and d.tag == Tag.structure_type for d in graph)


def test_partial_units_are_not_encoded_as_pahole_does(tmp_path):
    """pahole skips DW_TAG_partial_unit ("some types will not be considered", 1.24
    to 1.32); so do we, and a compile unit beside it still counts."""
    unit = _program(5)
    unit.root.tag, unit.unit_type = Tag.partial_unit, DW_UT_partial
    assert _btf_text(_load(tmp_path, elf_with_dwarf(unit), "partial")) == ""
    both = _load(tmp_path, elf_with_dwarf([unit, _program(5)]), "both")
    assert _btf_text(both) == _btf_text(_load(tmp_path, elf_with_dwarf(_program(5)), "one"))


@pytest.mark.toolchain
@pytest.mark.parametrize("case", ["go-dwarf4", "go-dwarf5", "c-bits-dwarf2", "c-bits-dwarf4"])
def test_synthetic_dwarf_against_pahole_132(tmp_path, sid_toolchain, case):
    """Real pahole 1.32 (sid) reads the same hand-written DWARF: after its dedup it has
    the same named types, sizes, members and bit offsets as our encoding."""
    from dwarfdiag.btf.compare import compare
    from dwarfdiag.btf.raw import parse_btf
    from dwarfdiag.toolchains.pahole import encode_detached

    version = int(case[-1])
    unit = _program(version) if case.startswith("go") else _bits(version)
    path = tmp_path / case
    path.write_bytes(elf_with_dwarf(unit, version=version, symbols=[("main.main", 0x1000, 2)]))
    run = encode_detached(sid_toolchain.pahole_argv(), path)
    assert run.encoded, run.error_lines
    ours = encode(read_typegraph(path)).btf
    result = compare(ours, parse_btf(run.btf))
    assert result.equal, (result.only_a, result.only_b)


def _bits(version: int) -> Unit:
    """struct S { unsigned a:3, b:5; int c:12; } on a little-endian machine."""
    u32, i32 = base("unsigned int", 4, ATE_unsigned), base("int", 4, ATE_signed)

    def member(name: str, type_label: str, bit: int, width: int) -> D:
        attrs = [(At.name, Form.string, name), (At.type, Form.ref4, Ref(type_label)),
                 (At.bit_size, Form.data1, width)]
        if version >= 4:
            attrs.append((At.data_bit_offset, Form.data1, bit))
        else:  # DWARF 2/3: storage unit offset + bit offset from its most significant bit
            attrs += [(At.byte_size, Form.data1, 4), (At.bit_offset, Form.data1, 32 - bit - width),
                      (At.data_member_location, Form.data1, 0)]
        return D(Tag.member, attrs)

    s = D(Tag.structure_type, [(At.name, Form.string, "S"), (At.byte_size, Form.data1, 4)],
          [member("a", "unsigned int", 0, 3), member("b", "unsigned int", 3, 5),
           member("c", "int", 8, 12)])
    return Unit(cu(u32, i32, s, name="bits.c", producer="GNU C17", language=0x1d))


@pytest.mark.parametrize("version", [2, 3, 4, 5])
def test_bitfields_keep_their_bit_offsets_and_widths(tmp_path, version):
    enc = encode(_load(tmp_path, elf_with_dwarf(_bits(version), version=version)))
    [s] = [t for t in enc.btf.types if t.kind == BtfKind.STRUCT]
    assert s.kflag  # bitfield sizes are recorded in the member offsets
    got = [(enc.btf.str_at(m.name_off), m.bit_offset(s.kflag), m.bitfield_size(s.kflag))
           for m in s.members]
    assert got == [("a", 0, 3), ("b", 3, 5), ("c", 8, 12)]


def test_forms_that_are_skipped_do_not_derail_the_rest(tmp_path):
    """data16, block forms, implicit_const and exprloc between kept attributes."""
    t = D(Tag.structure_type, [(At.name, Form.string, "main.B"),
                               (0x3FE0, Form.data16, bytes(range(16))),
                               (0x3FE1, Form.block1, b"\x01\x02\x03"),
                               (At.byte_size, Form.implicit_const, 24),
                               (0x3FE2, Form.exprloc, b"\x9c"),
                               (At.decl_line, Form.udata, 300)],
          [D(Tag.member, [(At.name, Form.string, "x"), (At.type, Form.ref4, Ref("int")),
                          (At.data_member_location, Form.sdata, 16)])])
    graph = _load(tmp_path, elf_with_dwarf(Unit(cu(base("int", 8, ATE_signed), t))))
    die = next(d for d in graph if d.name == "main.B")
    assert die.attrs[At.byte_size] == 24 and die.attrs[At.decl_line] == 300
    enc = encode(graph)
    [s] = [t for t in enc.btf.types if t.kind == BtfKind.STRUCT]
    assert s.size == 24 and s.members[0].bit_offset(s.kflag) == 128


def test_an_unknown_form_is_one_clear_error(tmp_path):
    data = bytearray(elf_with_dwarf(_program(5)))
    # the first abbreviation's attribute list: tag, children flag, then (at, form) pairs;
    # rewrite the DW_AT_name form of the compile unit to an unassigned one
    from dwarfdiag.elf import ElfFile

    path = tmp_path / "ok"
    path.write_bytes(bytes(data))
    abbrev = ElfFile(path).section(".debug_abbrev")
    at = data.index(bytes([At.name, Form.string]), abbrev.offset)
    data[at + 1] = 0x7F
    bad = tmp_path / "bad"
    bad.write_bytes(bytes(data))
    with pytest.raises(BadInputError, match="unknown attribute form 0x7f"):
        read_typegraph(bad)
