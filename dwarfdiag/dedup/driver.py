"""``btf__dedup`` replayed: the phases in libbpf's order.

libbpf's dedup, in one paragraph (the long comment above ``btf__dedup`` in
``src/btf.c`` says it at length): types from many compile units repeat each
other, so dedup keeps one canonical type per equivalence class. Strings are
deduplicated first so that names compare as offsets. Types that reference
nothing are merged by exact equality. Structs and unions (and, from libbpf
1.7, typedefs) may sit in cycles, so two of them are merged only when a
walk over both type graphs, assuming each pair it meets equivalent until
proven otherwise, finds them equivalent; FWDs resolve to structs on the
way. Then the remaining reference kinds are resolved depth first, which
terminates only if every cycle passes through a struct or union (or a
typedef, from 1.7): otherwise -ELOOP. Finally the survivors are compacted
and every id rewritten.

The driver reads like libbpf's ``btf__dedup``: it lists the phases, stops at
the first failure with the phase's negative errno, and returns either the
deduplicated BTF or that failure.
"""

from __future__ import annotations

import sys
import time
from dataclasses import dataclass, field

from dwarfdiag.btf.model import Btf, BtfKind, BtfType
from dwarfdiag.btf.raw import write_btf
from dwarfdiag.dedup.phases.compact import dedup_compact_types
from dwarfdiag.dedup.phases.fwds import dedup_resolve_fwds
from dwarfdiag.dedup.phases.prep import dedup_prep
from dwarfdiag.dedup.phases.prim import dedup_prim_types
from dwarfdiag.dedup.phases.ref import dedup_ref_types
from dwarfdiag.dedup.phases.remap import dedup_remap_types
from dwarfdiag.dedup.phases.strings import dedup_strings
from dwarfdiag.dedup.phases.struct import dedup_struct_types
from dwarfdiag.dedup.records import Rec
from dwarfdiag.dedup.state import UNPROCESSED, DedupError, DedupState, Tracer
from dwarfdiag.dedup.variants import Variant
from dwarfdiag.heap import bulk_build

K = BtfKind
PHASES = ("prep", "strings", "prim_types", "struct_types", "resolve_fwds", "ref_types",
          "compact_types", "remap_types")
# libbpf recurses on the C stack; Go type chains are deep, so give Python room
# (set once, at import: changing it per call upsets callers that restore it).
RECURSION_LIMIT = 200_000
sys.setrecursionlimit(max(sys.getrecursionlimit(), RECURSION_LIMIT))


@dataclass
class ReplayResult:
    variant: Variant
    error: int  # 0, or libbpf's negative errno
    phase: str | None  # the failing phase
    type_id: int | None  # the top-level type whose processing failed
    detail: dict = field(default_factory=dict)  # e.g. {"cycle": [...]} for -ELOOP
    btf: Btf | None = None  # the deduplicated BTF on success
    canonical: list[int] = field(default_factory=list)  # id -> canonical id (libbpf's d->map)
    kept: list[int] = field(default_factory=list)  # old ids of the output types, in order
    hidden_failures: list[DedupError] = field(default_factory=list)  # explore mode only
    hangs: bool = False  # libbpf itself would not terminate
    seconds: float = 0.0

    @property
    def ok(self) -> bool:
        return self.error == 0 and not self.hangs

    @property
    def raw(self) -> bytes | None:
        return write_btf(self.btf) if self.btf is not None else None


def new_state(btf: Btf, variant: Variant, trace: Tracer | None) -> DedupState:
    """``btf_dedup_new``: records, the canonical map, the hypothetical map."""
    void = Rec(BtfType.make(K.UNKN))
    base_types = _all_types(btf.base) if btf.base is not None else []
    recs = [void] + [Rec(t) for t in base_types] + [Rec(t) for t in btf.types]
    base_strings = _all_strings(btf.base) if btf.base is not None else b""
    d = DedupState(recs, btf.start_id, btf.strings, base_strings, variant, trace=trace)
    d.map = [UNPROCESSED] * len(recs)
    d.map[0] = 0
    for type_id in range(1, len(recs)):
        if recs[type_id].kind in (K.VAR, K.DATASEC):
            d.map[type_id] = type_id  # never deduplicated
    d.hypot_map = [UNPROCESSED] * len(recs)
    return d


def _all_types(btf: Btf) -> list[BtfType]:
    return (_all_types(btf.base) if btf.base is not None else []) + list(btf.types)


def _all_strings(btf: Btf) -> bytes:
    return (_all_strings(btf.base) if btf.base is not None else b"") + btf.strings


def replay(btf: Btf, variant: Variant, trace: Tracer | None = None,
           explore: bool = False) -> ReplayResult:
    """Run ``btf__dedup`` as ``variant`` would, on a copy of ``btf``."""
    with bulk_build():
        return _replay(btf, variant, trace, explore)


def _replay(btf: Btf, variant: Variant, trace: Tracer | None, explore: bool) -> ReplayResult:
    start = time.perf_counter()
    d = new_state(btf, variant, trace)
    result = ReplayResult(variant, 0, None, None)
    kept: list[int] = []
    try:
        for phase in PHASES:
            d.phase = phase
            d.emit(ev="phase", status="start")
            if phase == "prep":
                dedup_prep(d)
            elif phase == "strings":
                dedup_strings(d)
            elif phase == "prim_types":
                dedup_prim_types(d)
            elif phase == "struct_types":
                dedup_struct_types(d)
            elif phase == "resolve_fwds":
                dedup_resolve_fwds(d)
            elif phase == "ref_types":
                failures = dedup_ref_types(d, explore)
                if failures:
                    first = failures[0]
                    result.hidden_failures = failures[1:]
                    raise first
            elif phase == "compact_types":
                kept = dedup_compact_types(d)
            elif phase == "remap_types":
                dedup_remap_types(d, kept)
            d.emit(ev="phase", status="end")
    except DedupError as e:
        from dwarfdiag.dedup.equiv import LibbpfWouldHang

        result.error, result.phase = e.errno, e.phase
        result.type_id = e.detail.get("first_id", e.type_id)
        result.detail = {**e.detail, "at": e.type_id}
        result.hangs = isinstance(e, LibbpfWouldHang)
        d.emit(ev="failed", errno=e.errno, id=result.type_id, detail=result.detail)
    result.canonical = list(d.map)
    if result.error == 0 and not result.hangs:
        result.kept = kept
        result.btf = Btf(types=[d.recs[i].to_btf_type() for i in kept], strings=d.strings,
                         base=btf.base, big_endian=btf.big_endian)
    result.seconds = time.perf_counter() - start
    return result
