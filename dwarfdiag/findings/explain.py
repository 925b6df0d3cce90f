"""The diagnosis of one dedup replay: ``dwarfdiag dedup explain --json``."""

from __future__ import annotations

import errno as errno_mod
from dataclasses import dataclass, field
from typing import ClassVar

from dwarfdiag.findings.common import Provenance, TypeRef
from dwarfdiag.findings.schema import Document


def errno_name(err: int) -> str:
    """``-40`` -> ``-ELOOP``; "" for 0."""
    return "-" + errno_mod.errorcode.get(-err, str(-err)) if err else ""


@dataclass
class Failure:
    errno: int
    phase: str
    first_id: int | None  # the top-level type libbpf was processing
    at_id: int | None  # where the failure was detected
    chain: list[TypeRef]  # the cycle or chain, first type again at the end for a cycle
    root_cause: str

    JSON_EXTRA: ClassVar[tuple[str, ...]] = ("errno_name",)

    @property
    def errno_name(self) -> str:
        return errno_name(self.errno)

    def summary(self) -> list[str]:
        """Two lines: what failed and why, then the chain."""
        path = " -> ".join(link.describe() for link in self.chain) or "(no chain)"
        return [f"{self.errno_name} in {self.phase} while processing [{self.first_id}]: "
                f"{self.root_cause}", f"    {path}"]


@dataclass
class Prediction:
    """pahole's verdict with one libbpf version, predicted by the replay."""

    variant: str
    follows: str  # the libbpf code the variant follows (tag, commit)
    verified_against: str | None  # the real libbpf the variant is tested against
    encodes: bool
    errno_name: str
    first_id: int | None
    why: str


@dataclass
class EquivalenceClass:
    canonical: int
    size: int
    kind: str
    name: str
    provenance: Provenance = field(default_factory=Provenance)


@dataclass
class Explanation(Document):
    KIND: ClassVar[str] = "explain"

    source: str  # what produced the BTF: a file, our encoder, a pahole label
    variant: str  # the libbpf variant replayed
    types_in: int
    types_out: int | None
    first_failure: Failure | None
    hidden_failures: list[Failure]
    merges_per_kind: dict[str, int]
    largest_classes: list[EquivalenceClass]
    predictions: list[Prediction]
    replay_seconds: float
    binary: str | None = None  # the ELF the BTF came from, when it came from one

    JSON_EXTRA: ClassVar[tuple[str, ...]] = ("ok",)

    @property
    def ok(self) -> bool:
        return self.first_failure is None

    @property
    def failures(self) -> list[Failure]:
        """Every independent failure, the first one first."""
        return ([self.first_failure] if self.first_failure else []) + self.hidden_failures

    def lines(self) -> list[str]:
        out = [f"input: {self.source}, {self.types_in} types; libbpf {self.variant} replay"]
        if self.first_failure is None:
            out.append(f"dedup ok: {self.types_in} -> {self.types_out} types")
            merged = ", ".join(f"{k} {n}" for k, n in sorted(self.merges_per_kind.items(),
                                                               key=lambda kv: -kv[1]))
            out.append(f"merged away per kind: {merged or 'none'}")
            for c in self.largest_classes[:5]:
                out.append(f"  class of {c.size}: [{c.canonical}] {c.kind} "
                           f"'{c.name or '(anon)'}'")
        else:
            head, chain = self.first_failure.summary()
            out += ["first failure: " + head, chain]
            if self.hidden_failures:
                out.append(f"{len(self.hidden_failures)} more independent failures hidden "
                           f"behind it:")
                for f in self.hidden_failures[:10]:
                    out += ["  " + line for line in f.summary()]
        if self.predictions:
            out.append("predicted pahole outcome per libbpf:")
        for p in self.predictions:
            verdict = "encodes" if p.encodes else f"fails ({p.errno_name})"
            out.append(f"  libbpf {p.variant:<6} {verdict}: {p.why}")
        return out
