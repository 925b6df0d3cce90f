"""The state of one dedup run, as libbpf's ``struct btf_dedup`` holds it.

All fields mirror libbpf's (``src/btf.c``, v1.7.0), so the phase modules
read like the C functions they port.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Callable

from dwarfdiag.btf.model import BtfKind
from dwarfdiag.dedup.records import Rec
from dwarfdiag.dedup.table import DedupTable
from dwarfdiag.dedup.variants import Variant

K = BtfKind
UNPROCESSED = 0xFFFFFFFF  # BTF_UNPROCESSED_ID
IN_PROGRESS = 0xFFFFFFFE  # BTF_IN_PROGRESS_ID
MAX_NR_TYPES = 0x7FFFFFFF  # BTF_MAX_NR_TYPES

Tracer = Callable[[dict], None]


class DedupError(Exception):
    """A phase failed the way libbpf's would: ``errno`` is negative."""

    def __init__(self, errno: int, phase: str, type_id: int | None, detail: dict | None = None):
        super().__init__(f"{phase} failed: {errno}")
        self.errno, self.phase, self.type_id, self.detail = errno, phase, type_id, detail or {}


@dataclass
class DedupState:
    # every type by id, base types included; recs[0] stands for void
    recs: list[Rec]
    # first id of the BTF being deduped (1, or the base's type count for split BTF)
    start_id: int
    # strings: own string section bytes, and the base's (b"" when not split)
    strings: bytes
    base_strings: bytes
    variant: Variant
    # signature hash -> candidate canonical ids, in libbpf's iteration order
    table: DedupTable = field(default_factory=DedupTable)
    # canonical map: id -> canonical id, or UNPROCESSED / IN_PROGRESS
    map: list[int] = field(default_factory=list)
    # hypothetical map of the current equivalence check: canon id -> cand id
    hypot_map: list[int] = field(default_factory=list)
    # canon ids in hypot_map, in the order they were added (to clear and merge)
    hypot_list: list[int] = field(default_factory=list)
    # the check would have to re-map an already canonical base type (split BTF)
    hypot_adjust_canon: bool = False
    # optional observer of trace events; None costs nothing
    trace: Tracer | None = None
    # ref phase: ids whose btf_dedup_ref_type is on the (recursive) stack
    ref_stack: list[int] = field(default_factory=list)
    # after the run: the compacted type order (hypot_map reused, as libbpf does)
    phase: str = ""

    @property
    def type_cnt(self) -> int:
        return len(self.recs)

    def kind(self, type_id: int) -> BtfKind:
        return self.recs[type_id].kind

    def is_mapped(self, type_id: int) -> bool:
        return self.map[type_id] <= MAX_NR_TYPES

    def resolve(self, type_id: int) -> int:
        """``resolve_type_id``: follow the canonical map to its end."""
        m = self.map
        while m[type_id] <= MAX_NR_TYPES and m[type_id] != type_id:
            type_id = m[type_id]
        return type_id

    def resolve_fwd(self, type_id: int) -> int:
        """``resolve_fwd_id``: a FWD already resolved to a struct/union becomes that."""
        if self.recs[type_id].kind != K.FWD:
            return type_id
        resolved = self.resolve(type_id)
        return resolved if self.recs[resolved].kind != K.FWD else type_id

    def hypot_add(self, from_id: int, to_id: int) -> None:
        self.hypot_list.append(from_id)
        self.hypot_map[from_id] = to_id

    def clear_hypot(self) -> None:
        for i in self.hypot_list:
            self.hypot_map[i] = UNPROCESSED
        self.hypot_list.clear()
        self.hypot_adjust_canon = False

    def name(self, type_id: int) -> str:
        off = self.recs[type_id].name_off
        if off == 0:
            return ""
        data, base = (self.base_strings, 0) if off < len(self.base_strings) else \
            (self.strings, len(self.base_strings))
        local = off - base
        end = data.find(b"\0", local)
        return data[local:end if end >= 0 else len(data)].decode("utf-8", "backslashreplace")

    def first_equal(self, h: int, t, equal) -> int | None:
        """The first candidate under hash ``h`` that ``equal`` accepts (libbpf's
        ``for_each_dedup_cand`` loop with its ``break``)."""
        for cand_id in self.table.candidates(h):
            if equal(t, self.recs[cand_id]):
                return cand_id
        return None

    def settle(self, type_id: int, h: int, new_id: int, **trace_extra) -> None:
        """Record ``type_id``'s canonical id; a type that is its own canonical
        becomes a candidate under ``h`` (the common tail of every phase)."""
        self.map[type_id] = new_id
        if self.trace is not None:
            cands = self.table.candidates(h)
            tried = cands[:cands.index(new_id) + 1] if new_id in cands else list(cands)
            event = {"ev": "type", "id": type_id, "kind": self.recs[type_id].kind.name,
                     "name": self.name(type_id), "hash": h, "candidates": tried,
                     "canonical": new_id, **trace_extra}
            self.emit(**event)
        if new_id == type_id:
            self.table.add(h, type_id)

    def emit(self, **event) -> None:
        if self.trace is not None:
            event.setdefault("phase", self.phase)
            self.trace(event)
