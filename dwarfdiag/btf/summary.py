"""A one-screen summary of a BTF object (``dwarfdiag btf info``)."""

from __future__ import annotations

from collections import Counter

from dwarfdiag.btf.model import Btf


def summarize(btf: Btf) -> dict:
    """Header fields, byte order, id range and type counts per kind."""
    kinds = Counter(t.kind.name for t in btf.types)
    h = btf.header
    return {
        "byte_order": "big-endian" if btf.big_endian else "little-endian",
        "version": h.version,
        "flags": h.flags,
        "hdr_len": h.hdr_len,
        "type_len": h.type_len,
        "str_len": h.str_len,
        "split": btf.base is not None,
        "first_id": btf.start_id,
        "types": len(btf.types),
        "kinds": dict(sorted(kinds.items())),
    }
