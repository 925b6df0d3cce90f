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
    with pytest.raises(BadInputError, match="no DWARF.*rebuild it without stripping"):
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
