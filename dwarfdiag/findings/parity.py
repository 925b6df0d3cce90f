"""dwarfdiag's final BTF against pahole's, named type by named type (``findings.parity``)."""

from __future__ import annotations

from dataclasses import dataclass, field


@dataclass
class TypeSignature:
    """A named type as ``btf compare`` sees it."""

    kind: str
    name: str
    size: int | None
    vlen: int
    members: list[tuple[str, int]] = field(default_factory=list)  # (name, bit offset)


@dataclass
class ParityDifference:
    side: str  # "dwarfdiag" (only in ours) or "pahole" (only in pahole's)
    type: TypeSignature
    why: str  # the rule that makes the two encoders differ here, or "unexplained"


@dataclass
class ParityReport:
    """Our BTF after the libbpf 1.7 replay's dedup against ``pahole --btf_encode_detached``."""

    program: str
    compiler: str
    binary: str
    pahole: str  # the toolchain label (pahole 1.32 + libbpf 1.7)
    ours: int  # named types
    theirs: int
    differences: list[ParityDifference] = field(default_factory=list)
    error: str = ""  # set when either side produced no BTF

    @property
    def equal(self) -> bool:
        return not self.error and not self.differences

    @property
    def unexplained(self) -> list[ParityDifference]:
        return [d for d in self.differences if d.why == "unexplained"]

    def lines(self) -> list[str]:
        if self.error:
            return [f"parity with {self.pahole}: {self.error}"]
        head = (f"parity with {self.pahole}: {self.ours} named types in dwarfdiag's BTF, "
                f"{self.theirs} in pahole's; ")
        if self.equal:
            return [head + "the same"]
        out = [head + f"{len(self.differences)} differ ({len(self.unexplained)} unexplained)"]
        for d in self.differences:
            t = d.type
            out.append(f"  only in {d.side}: {t.kind} '{t.name}': {d.why}")
        return out
