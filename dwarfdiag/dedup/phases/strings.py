"""Phase 1, ``btf_dedup_strings``: keep each referenced string once.

Every string offset is visited in type order (name, then member, enumerator
or parameter names) and re-pointed into a fresh string set that grows in
first-use order; strings the base already has point into the base. Only
now are equal strings equal offsets, which every later comparison relies on.
"""

from __future__ import annotations

from dwarfdiag.dedup.records import str_slots
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
    for type_id in range(d.start_id, d.type_cnt):
        r = d.recs[type_id]
        for container, index in str_slots(r):
            off = r.name_off if container is None else container[index]
            if off == 0 or off < start_str:
                continue
            s = _read(d.strings, off - start_str)
            if s in base_index:
                new_off = base_index[s]
            else:
                local = new.get(s)
                if local is None:
                    local = new[s] = len(blob)
                    blob += s + b"\0"
                new_off = start_str + local
            if container is None:
                r.name_off = new_off
            else:
                container[index] = new_off
    d.strings = bytes(blob)
