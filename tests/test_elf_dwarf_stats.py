"""Build ids and DWARF statistics (what the corpus manifest records): checked
against readelf on real binaries, and fed random and truncated files, which
must give our BadInputError and nothing else."""

from __future__ import annotations

import re
import subprocess

import pytest
from hypothesis import given
from hypothesis import strategies as st

from dwarfdiag.dwarf.stats import dwarf_stats
from dwarfdiag.elf import build_ids
from dwarfdiag.errors import BadInputError


def test_gnu_build_id_matches_readelf(c_binary):
    notes = subprocess.run(["readelf", "-n", str(c_binary)], capture_output=True,
                           text=True, check=True).stdout
    expected = re.search(r"Build ID: ([0-9a-f]+)", notes).group(1)
    assert build_ids(c_binary)["gnu"] == expected


def test_dwarf_stats_match_readelf(gc_seed_binary):
    stats = dwarf_stats(gc_seed_binary)
    dump = subprocess.run(["readelf", "--debug-dump=info", str(gc_seed_binary)],
                          capture_output=True, text=True, check=True).stdout
    tags = re.findall(r"Abbrev Number: \d+ \((DW_TAG_\w+)\)", dump)
    assert stats.die_count == len(tags)
    assert stats.dies_by_tag["DW_TAG_typedef"] == tags.count("DW_TAG_typedef")
    assert stats.cu_count == len(re.findall(r"Compilation Unit @", dump))
    assert stats.versions == sorted({int(v) for v in re.findall(r"Version:\s+(\d+)", dump)})
    assert stats.compressed  # gc compresses its debug sections by default


def test_no_dwarf_says_how_to_rebuild(tmp_path, c_binary):
    stripped = tmp_path / "stripped"
    subprocess.run(["strip", "-o", str(stripped), str(c_binary)], check=True)
    with pytest.raises(BadInputError, match="no DWARF.*rebuild without -s/-w"):
        dwarf_stats(stripped)


@given(st.binary(max_size=400), st.booleans())
def test_random_files_give_our_error(tmp_path_factory, data, elf_magic):
    path = tmp_path_factory.mktemp("rnd") / "f"
    path.write_bytes((b"\x7fELF\x02\x01\x01" if elf_magic else b"") + data)
    for reader in (build_ids, dwarf_stats):
        try:
            reader(path)
        except BadInputError:
            pass


def test_truncated_binaries_give_our_error(tmp_path, gc_seed_binary):
    data = gc_seed_binary.read_bytes()
    for cut in (16, 100, len(data) // 3, len(data) - 4096):
        path = tmp_path / f"cut{cut}"
        path.write_bytes(data[:cut])
        with pytest.raises(BadInputError, match=str(path)):
            dwarf_stats(path)


def test_elf_reader_matches_pyelftools(c_binary, gc_seed_binary):
    """Our one ELF reader against pyelftools: sections, program headers, symbols."""
    from elftools.elf.elffile import ELFFile

    from dwarfdiag.elf import ElfFile

    for path in (c_binary, gc_seed_binary):
        ours = ElfFile(path)
        with open(path, "rb") as f:
            theirs = ELFFile(f)
            assert [(s.name, s.offset, s.size) for s in ours.sections] == \
                [(s.name, s["sh_offset"], s["sh_size"]) for s in theirs.iter_sections()]
            assert [(s.vaddr, s.offset, s.filesz) for s in ours.segments] == \
                [(s["p_vaddr"], s["p_offset"], s["p_filesz"]) for s in theirs.iter_segments()
                 if s["p_type"] == "PT_LOAD"]
            symtab = theirs.get_section_by_name(".symtab")
            assert [(s.name, s.value) for s in ours.symbols()] == \
                [(s.name, s["st_value"]) for s in symtab.iter_symbols()]
            for name in (".debug_info", ".debug_abbrev", ".debug_line"):
                sec = theirs.get_section_by_name(name)
                assert ours.contents(name) == sec.data(), name  # inflated alike


def test_a_section_that_claims_gigabytes_fails_at_once(tmp_path, gc_seed_binary):
    """A compressed section whose header promises 4 GiB is refused before inflating."""
    import struct

    from dwarfdiag.elf import ElfFile
    from dwarfdiag.errors import BadInputError

    elf = ElfFile(gc_seed_binary)
    info = elf.section(".debug_info")
    data = bytearray(gc_seed_binary.read_bytes())
    struct.pack_into("<Q", data, info.offset + 8, 1 << 40)  # Elf64_Chdr.ch_size
    bomb = tmp_path / "bomb"
    bomb.write_bytes(bytes(data))
    with pytest.raises(BadInputError, match="claims to inflate to 1099511627776 bytes"):
        ElfFile(bomb).contents(".debug_info")
