"""Minimal failing type sets and their Go reproducers: ``dwarfdiag bisect --json``."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import ClassVar

from dwarfdiag.findings.common import TypeRef
from dwarfdiag.findings.explain import errno_name
from dwarfdiag.findings.schema import Document

STOP_REASONS = ("done", "nothing-to-bisect", "max-calls", "timeout", "interrupted")


@dataclass
class MinimalSet:
    seeds: list[int]  # the 1-minimal seed type ids (in the input BTF)
    closure: list[int]  # every type the failing subset holds
    units: list[str]  # the units (Go packages) the search narrowed to
    errno: int
    verified: bool  # re-checked with the oracle after the search
    cycle: list[int] = field(default_factory=list)  # the replay's failing chain, input ids
    # types of the closure whose removal alone makes the subset pass: what the
    # search bans before it looks for the next, independent set
    breakers: list[int] = field(default_factory=list)
    duplicate_of: int | None = None  # same names as an earlier set (e.g. per-CU copies)


@dataclass
class SearchResult:
    full_types: int
    full_errno: int
    oracle: str
    sets: list[MinimalSet] = field(default_factory=list)
    calls: int = 0
    cache_hits: int = 0
    seconds: float = 0.0
    stopped: str = "done"  # one of STOP_REASONS

    @property
    def independent(self) -> list[MinimalSet]:
        return [s for s in self.sets if s.duplicate_of is None]


@dataclass
class Reproducer:
    directory: str
    source: str
    verdicts: dict[str, str] = field(default_factory=dict)  # toolchain -> encodes/fails/...
    build: str = ""  # "built", or why not
    note: str = ""


@dataclass
class BisectReport(Document):
    KIND: ClassVar[str] = "bisect"

    target: str
    binary: str
    input: str  # what produced the BTF that was bisected
    search: SearchResult
    types: dict[int, TypeRef] = field(default_factory=dict)  # the types the sets name
    reproducers: list[Reproducer | None] = field(default_factory=list)

    def describe(self, type_id: int) -> str:
        t = self.types.get(type_id)
        return t.describe() if t else f"[{type_id}] ? '(anon)'"

    def lines(self) -> list[str]:
        s = self.search
        out = [f"{self.target}: {s.full_types} types ({self.input}); {s.oracle}: "
               + (errno_name(s.full_errno) if s.full_errno else "dedup succeeds")]
        if s.stopped == "nothing-to-bisect":
            out.append("nothing to bisect: dedup succeeds on the whole BTF")
            return out
        out.append(f"{len(s.independent)} independent minimal failing set(s)"
                   f" ({len(s.sets)} with duplicates) in {s.calls} oracle calls, "
                   f"{s.cache_hits} cached, {s.seconds} s; stopped: {s.stopped}")
        repros = self.reproducers + [None] * (len(s.sets) - len(self.reproducers))
        for n, (found, repro) in enumerate(zip(s.sets, repros), 1):
            tag = "" if found.verified else " (unverified: budget ran out)"
            dup = f" (same types as set {found.duplicate_of + 1})" \
                if found.duplicate_of is not None else ""
            out.append(f"set {n}{tag}{dup}: {len(found.seeds)} seed type(s), "
                       f"{len(found.closure)} with their references, {errno_name(found.errno)}")
            for seed in found.seeds:
                out.append(f"    seed  {self.describe(seed)}")
            if found.cycle:
                out.append("    cycle " + " -> ".join(self.describe(i) for i in found.cycle))
            if found.breakers:
                out.append("    removing any one of these makes it pass: "
                           + ", ".join(f"[{i}]" for i in found.breakers))
            if repro is not None:
                verdicts = ", ".join(f"{k} {v}" for k, v in repro.verdicts.items())
                out.append(f"    reproducer {repro.directory}: {repro.build}"
                           + (f"; pahole {verdicts}" if verdicts else "")
                           + (f" ({repro.note})" if repro.note else ""))
        return out
