"""Compare two BTFs by their named types, the way the parity tests need.

Type ids differ between any two encoders and dedup runs, so the comparison is
over named types only, each reduced to a signature: kind, name, size (for
sized kinds), vlen, and member names with bit offsets (STRUCT/UNION) or
enumerator names with values. Multiplicity counts: two distinct structs
with the same signature are two entries.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field

from dwarfdiag.btf.model import Btf, BtfKind

SIZED = frozenset({BtfKind.INT, BtfKind.STRUCT, BtfKind.UNION, BtfKind.ENUM, BtfKind.ENUM64,
                   BtfKind.FLOAT, BtfKind.DATASEC})


def signature(btf: Btf, t) -> tuple:
    kind = t.kind
    size = t.size if kind in SIZED else None
    detail: tuple = ()
    if kind in (BtfKind.STRUCT, BtfKind.UNION):
        detail = tuple((btf.str_at(m.name_off), m.bit_offset(t.kflag)) for m in t.members)
    elif kind in (BtfKind.ENUM, BtfKind.ENUM64):
        detail = tuple((btf.str_at(v.name_off), v.val) for v in t.values)
    return (kind.name, btf.name_of(t), size, t.vlen, detail)


@dataclass
class Comparison:
    a_named: int
    b_named: int
    only_a: list[tuple] = field(default_factory=list)
    only_b: list[tuple] = field(default_factory=list)

    @property
    def equal(self) -> bool:
        return not self.only_a and not self.only_b

    def as_dict(self, limit: int = 50) -> dict:
        def show(sig: tuple) -> dict:
            kind, name, size, vlen, detail = sig
            return {"kind": kind, "name": name, "size": size, "vlen": vlen,
                    "members": [list(d) for d in detail]}

        return {"equal": self.equal, "named_types": [self.a_named, self.b_named],
                "only_in_a": len(self.only_a), "only_in_b": len(self.only_b),
                "only_in_a_examples": [show(s) for s in self.only_a[:limit]],
                "only_in_b_examples": [show(s) for s in self.only_b[:limit]]}


def named_signatures(btf: Btf, kinds: frozenset | None = None) -> Counter:
    out: Counter = Counter()
    for _, t in btf.iter_types():
        if t.name_off and (kinds is None or t.kind in kinds):
            out[signature(btf, t)] += 1
    return out


def compare(a: Btf, b: Btf, kinds: frozenset | None = None) -> Comparison:
    sa, sb = named_signatures(a, kinds), named_signatures(b, kinds)
    only_a = sorted((sa - sb).elements(), key=str)
    only_b = sorted((sb - sa).elements(), key=str)
    return Comparison(sum(sa.values()), sum(sb.values()), only_a, only_b)
