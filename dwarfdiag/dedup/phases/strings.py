"""Phase 1, ``btf_dedup_strings``: keep each referenced string once.

Every string offset is visited in type order (name, then member, enumerator
or parameter names) and re-pointed into a fresh string set that grows in
first-use order; strings the base already has point into the base. Only
now are equal strings equal offsets, which every later comparison relies on.
"""

from __future__ import annotations

from dwarfdiag.dedup.records import NAMED_ITEMS
from dwarfdiag.dedup.state import DedupState


def _read(data: bytes, local: int) -> bytes:
    end = data.find(b"\0", local)
    return data[local:end if end >= 0 else len(data)]


def _first_offsets(data: bytes) -> dict[bytes, int]:
    """libbpf's strset over existing data: the first occurrence of each string."""
    out: dict[bytes, int] = {}
    off = 0
    while off < len(data):
        end = data.find(b"\0", off)
        if end < 0:
            end = len(data)
        out.setdefault(data[off:end], off)
        off = end + 1
    return out


def dedup_strings(d: DedupState) -> None:
    start_str = len(d.base_strings)
    base_index = _first_offsets(d.base_strings) if d.base_strings else {}
    new: dict[bytes, int] = {}
    blob = bytearray()
    if not d.base_strings:
        new[b""] = 0
        blob += b"\0"
    # old offset -> new: an offset met again is the same string (the encoders write
    # each name once, so most slots repeat an offset), and its string was placed
    # when it was first met, as libbpf places it
    moved: dict[int, int] = {}

    def place(off: int) -> int:
        s = _read(d.strings, off - start_str)
        found = base_index.get(s)
        if found is None:
            local = new.get(s)
            if local is None:
                local = new[s] = len(blob)
                blob.extend(s + b"\0")
            found = start_str + local
        moved[off] = found
        return found

    # every string slot in btf_field_iter's STRS order: the type's name, then its
    # items' (records.NAMED_ITEMS)
    recs, get = d.recs, moved.get
    for type_id in range(d.start_id, d.type_cnt):
        r = recs[type_id]
        off = r.name_off
        if off and off >= start_str:
            r.name_off = get(off) or place(off)
        if r.kind in NAMED_ITEMS:
            for item in r.items:
                off = item[0]
                if off and off >= start_str:
                    item[0] = get(off) or place(off)
    d.strings = bytes(blob)
