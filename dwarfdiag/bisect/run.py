"""``dwarfdiag bisect``: target in, minimal failing sets and reproducers out."""

from __future__ import annotations

from pathlib import Path
from typing import Callable

from dwarfdiag.bisect.oracles import OracleSpec
from dwarfdiag.bisect.repro import write_and_verify
from dwarfdiag.bisect.search import Bisector
from dwarfdiag.bisect.subset import Universe
from dwarfdiag.cache import atomic_write
from dwarfdiag.findings.bisect import BisectReport
from dwarfdiag.findings.common import Provenance, TypeRef
from dwarfdiag.findings.schema import to_json
from dwarfdiag.target import Target

SOURCES = ("encoder", "pahole")


def run_bisect(target: Target, spec: OracleSpec, btf_from: str = "encoder",
               capture_toolchain: str | None = None, workers: int = 2,
               max_calls: int | None = None, timeout: float | None = None,
               out_dir: Path | None = None, reproduce: bool = True,
               verify_toolchains: tuple[str, ...] = ("trixie", "sid"),
               progress: Callable[[str, int, int], None] | None = None) -> BisectReport:
    from dwarfdiag.analysis import load_dedup_input
    from dwarfdiag.errors import BadInputError

    if btf_from not in SOURCES:
        raise BadInputError(f"unknown --from {btf_from!r}; choose encoder or pahole")
    toolchain = capture_toolchain or spec.toolchain
    if btf_from == "pahole" and not toolchain:
        raise BadInputError("--from pahole needs --toolchain to say which pahole to capture")
    inp = load_dedup_input(target, toolchain=toolchain if btf_from == "pahole" else None)
    universe = Universe(inp.btf, inp.provenance)
    search = Bisector(universe, spec, workers, max_calls, timeout, progress).run()
    report = BisectReport(target.name, str(target.binary), inp.producer, search)
    wanted = {i for s in search.sets for i in (*s.seeds, *s.cycle, *s.breakers)}
    for type_id in sorted(wanted):
        t = inp.btf.type_by_id(type_id)
        report.types[type_id] = TypeRef(type_id, t.kind.name, inp.btf.name_of(t),
                                        Provenance.of(inp.provenance.get(type_id)))
    out = Path(out_dir) if out_dir else Path("reports") / target.name
    for n, found in enumerate(search.sets, 1):
        if not reproduce or found.duplicate_of is not None:
            report.reproducers.append(None)
            continue
        report.reproducers.append(write_and_verify(
            universe.build(found.closure), out / f"repro-{n}", target.family,
            list(verify_toolchains)))
    out.mkdir(parents=True, exist_ok=True)
    atomic_write(out / "bisect.json", to_json(report).encode())
    return report
