"""``dwarfdiag bisect``: target in, minimal failing sets and reproducers out."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable

from dwarfdiag.bisect.oracles import OracleSpec
from dwarfdiag.bisect.repro import Reproducer, write_and_verify
from dwarfdiag.bisect.search import Bisector, MinimalSet, SearchResult
from dwarfdiag.bisect.subset import Universe
from dwarfdiag.bisect.targets import Target
from dwarfdiag.dedup.explain import errno_name

SOURCES = ("encoder", "pahole")


@dataclass
class BisectReport:
    target: str
    binary: str
    input: str
    search: SearchResult
    types: dict[int, dict] = field(default_factory=dict)  # id -> kind, name, provenance
    reproducers: list[Reproducer | None] = field(default_factory=list)

    def describe(self, type_id: int) -> str:
        t = self.types.get(type_id, {})
        p = t.get("provenance", {})
        where = ", ".join(x for x in (
            f"package {p['package']}" if p.get("package") else "",
            f"DIE {p['die_offset']:#x}" if p.get("die_offset") is not None else "",
            f"{p['file']}:{p.get('line', '?')}" if p.get("file") else "") if x)
        return (f"[{type_id}] {t.get('kind', '?')} '{t.get('name') or '(anon)'}'"
                + (f" ({where})" if where else ""))

    def lines(self) -> list[str]:
        s = self.search
        out = [f"{self.target}: {s.full_types} types ({self.input}); {s.oracle}: "
               + (errno_name(s.full_errno) if s.full_errno else "dedup succeeds")]
        if s.stopped == "nothing-to-bisect":
            out.append("nothing to bisect: dedup succeeds on the whole BTF")
            return out
        independent = [x for x in s.sets if x.duplicate_of is None]
        out.append(f"{len(independent)} independent minimal failing set(s)"
                   f" ({len(s.sets)} with duplicates) in {s.calls} oracle calls, "
                   f"{s.cache_hits} cached, {s.seconds} s; stopped: {s.stopped}")
        for n, (found, repro) in enumerate(zip(s.sets, self.reproducers), 1):
            tag = "" if found.verified else " (unverified: budget ran out)"
            dup = f" (same types as set {found.duplicate_of + 1})" \
                if found.duplicate_of is not None else ""
            out.append(f"set {n}{tag}{dup}: {len(found.seeds)} seed type(s), "
                       f"{len(found.closure)} with their references, {errno_name(found.errno)}")
            for seed in found.seeds:
                out.append(f"    seed  {self.describe(seed)}")
            if found.cycle:
                chain = " -> ".join(self.describe(i) for i in found.cycle)
                out.append(f"    cycle {chain}")
            if found.breakers:
                out.append("    removing any one of these makes it pass: "
                           + ", ".join(f"[{i}]" for i in found.breakers))
            if repro is not None:
                verdicts = ", ".join(f"{k} {v}" for k, v in repro.verdicts.items())
                out.append(f"    reproducer {repro.directory}: {repro.build}"
                           + (f"; pahole {verdicts}" if verdicts else "")
                           + (f" ({repro.note})" if repro.note else ""))
        return out

    def as_dict(self) -> dict:
        return {"target": self.target, "binary": self.binary, "input": self.input,
                "search": self.search.as_dict(),
                "types": {str(k): v for k, v in sorted(self.types.items())},
                "reproducers": [r.as_dict() if r else None for r in self.reproducers]}


def run_bisect(target: Target, spec: OracleSpec, source: str = "encoder",
               capture_toolchain: str | None = None, workers: int = 2,
               max_calls: int | None = None, timeout: float | None = None,
               out_dir: Path | None = None, reproduce: bool = True,
               verify_toolchains: tuple[str, ...] = ("trixie", "sid"),
               progress: Callable[[str, int, int], None] | None = None) -> BisectReport:
    from dwarfdiag.dedup.inputs import load_input
    from dwarfdiag.errors import BadInputError

    if source not in SOURCES:
        raise BadInputError(f"unknown --from {source!r}; choose encoder or pahole")
    toolchain = capture_toolchain or spec.toolchain
    if source == "pahole" and not toolchain:
        raise BadInputError("--from pahole needs --toolchain to say which pahole to capture")
    inp = load_input(target.binary, toolchain=toolchain if source == "pahole" else None)
    universe = Universe(inp.btf, inp.provenance)
    search = Bisector(universe, spec, workers, max_calls, timeout, progress).run()
    report = BisectReport(target.name, str(target.binary), inp.source, search)
    wanted = {i for s in search.sets for i in (*s.seeds, *s.cycle, *s.breakers)}
    for type_id in sorted(wanted):
        t = inp.btf.type_by_id(type_id)
        report.types[type_id] = {"kind": t.kind.name, "name": inp.btf.name_of(t),
                                 "provenance": inp.provenance.get(type_id, {})}
    out = Path(out_dir) if out_dir else Path("reports") / target.name
    for n, found in enumerate(search.sets, 1):
        if not reproduce or found.duplicate_of is not None:
            report.reproducers.append(None)
            continue
        report.reproducers.append(write_and_verify(
            universe.build(found.closure), out / f"repro-{n}", target.family,
            list(verify_toolchains)))
    out.mkdir(parents=True, exist_ok=True)
    (out / "bisect.json").write_text(json.dumps(report.as_dict(), indent=1) + "\n")
    return report


def minimal_sets(report: BisectReport) -> list[MinimalSet]:
    return [s for s in report.search.sets if s.duplicate_of is None]
