"""Diagnose an investigated matrix: why each failing cell fails, gc vs gccgo, bisect.

For every built binary the dedup replay predicts each toolchain's verdict on
our pahole-1.32-faithful encoding. Where the real pahole fails, ``explain``
gives the first failure (cycle, DIEs, root cause) for that toolchain's
libbpf; where the replay says the encoding dedups but the real pahole fails,
the fault is pahole's own BTF, and ``check`` (capture + consistency) says
what is wrong with it. Each program is diffed gc against gccgo, and the
stand-ins that still fail are bisected with reproducers. Everything is
plain data for ``findings.json`` and the report.
"""

from __future__ import annotations

from pathlib import Path
from typing import Callable

from dwarfdiag.corpus.matrix import Matrix
from dwarfdiag.dedup.variants import variant_for

MAX_CHAIN = 12


def _failure_summary(explanation) -> dict | None:
    f = explanation.first_failure
    if f is None:
        return None
    return {"errno": f.errno_name, "phase": f.phase, "first_id": f.first_id,
            "root_cause": f.root_cause,
            "chain": [{"id": link.id, "kind": link.kind, "name": link.name,
                       "provenance": link.provenance} for link in f.chain[:MAX_CHAIN]],
            "hidden": [{"errno": h.errno_name, "root_cause": h.root_cause,
                        "chain": [f"{link.kind} {link.name or '(anon)'}" for link in h.chain]}
                       for h in explanation.hidden_failures[:10]],
            "hidden_count": len(explanation.hidden_failures)}


def _trace_window(btf, variant_name: str, width: int = 40) -> list[dict]:
    """The trace events just before the failure (for the report's stepper)."""
    from collections import deque

    from dwarfdiag.dedup.driver import replay
    from dwarfdiag.dedup.variants import variant

    window: deque = deque(maxlen=width)
    replay(btf, variant(variant_name), trace=window.append)
    return list(window)


def diagnose_builds(matrix: Matrix, progress: Callable[[str], None] | None = None) -> list[dict]:
    from dwarfdiag.dedup.explain import explain
    from dwarfdiag.dedup.inputs import load_input
    from dwarfdiag.dedup.variants import variant

    toolchains = {t.name: t for t in matrix.toolchains}
    out = []
    for b in matrix.builds:
        if b.status != "built":
            continue
        if progress:
            progress(f"explain {b.program} ({b.compiler}, {b.profile})")
        inp = load_input(Path(b.binary))
        cells = [c for c in matrix.cells if c.binary == b.binary]
        entry = {"program": b.program, "compiler": b.compiler, "profile": b.profile,
                 "binary": b.binary, "types": len(inp.btf.types), "cells": {}}
        explained: dict[str, object] = {}
        for c in cells:
            tc = toolchains[c.toolchain]
            v = variant_for(tc.libbpf_version)
            if v not in explained:
                explained[v] = explain(inp, variant(v), predict=False)  # one variant per cell
            e = explained[v]
            predicted = "fails" if e.first_failure is not None else "encodes"
            cell = {"real": c.outcome, "variant": v, "predicted": predicted,
                    "agrees": predicted == c.outcome or c.outcome not in ("fails", "encodes")}
            if c.outcome == "fails" and e.first_failure is not None:
                cell["failure"] = _failure_summary(e)
                cell["trace"] = _trace_window(inp.btf, v)
            elif c.outcome == "fails":
                cell["check"] = _check_summary(b.binary, tc)
            entry["cells"][c.toolchain] = cell
        out.append(entry)
    return out


def _check_summary(binary: str, tc) -> dict:
    """pahole's own BTF against the DWARF, for a cell our replay cannot explain."""
    from dwarfdiag.btf.capture import capture
    from dwarfdiag.btf.consistency import check
    from dwarfdiag.btf.encoder import encode
    from dwarfdiag.btf.raw import parse_btf
    from dwarfdiag.dwarf.loader import load_typegraph
    from dwarfdiag.errors import DwarfdiagError

    try:
        graph = load_typegraph(Path(binary))
        cap = capture(Path(binary), tc.pahole_argv(), tc.label)
        report = check(graph, encode(graph), parse_btf(cap.btf), tc.label, cap.method,
                       cap.dedup_ret)
    except DwarfdiagError as e:
        return {"error": str(e)}
    return {"verdict": report.verdict(), "patterns": report.patterns()[:8],
            "inconsistencies": len(report.inconsistencies), "drifts": report.drifts,
            "encoder_made_cycles": len(report.encoder_made_cycles),
            "pahole_cycles": len(report.pahole_cycles), "dwarf_cycles": report.dwarf_cycles}


def diff_programs(matrix: Matrix, progress: Callable[[str], None] | None = None) -> list[dict]:
    """gc against gccgo, per program, for the first gc and gccgo debug builds."""
    from dwarfdiag.diff.differ import diff
    from dwarfdiag.dwarf.loader import load_typegraph

    by_program: dict[str, dict[str, str]] = {}
    for b in matrix.builds:
        if b.status == "built" and b.profile == "debug":
            by_program.setdefault(b.program, {}).setdefault(b.family, b.binary)
    out = []
    for program, pair in sorted(by_program.items()):
        if "gc" not in pair or "gccgo" not in pair:
            continue
        if progress:
            progress(f"diff {program}: gc vs gccgo")
        result = diff(load_typegraph(Path(pair["gc"])), load_typegraph(Path(pair["gccgo"])))
        out.append({"program": program, "gc": pair["gc"], "gccgo": pair["gccgo"],
                    "matched": result.matched, "only_gc": len(result.only_a),
                    "only_gccgo": len(result.only_b), "differing": len(result.differing),
                    "patterns": result.patterns[:20],
                    "cycles_gc": result.a.reference_cycles[:10],
                    "cycles_gccgo": result.b.reference_cycles[:10],
                    "relevant": [{"name": d.name, "on_cycle": list(d.on_cycle),
                                  "representation": list(d.representation)}
                                 for d in result.diffs if d.on_cycle[0] != d.on_cycle[1]]})
    return out


def bisect_standins(matrix: Matrix, diagnosis: list[dict], out_dir: Path,
                    progress: Callable[[str], None] | None = None) -> list[dict]:
    """Bisect each gc stand-in build that fails before the newest toolchain, at the
    newest such toolchain whose failure the replay reproduces (bookworm's failures
    come from pahole's own BTF, which bisecting our encoding cannot shrink)."""
    from dwarfdiag.bisect.oracles import OracleSpec
    from dwarfdiag.bisect.run import run_bisect
    from dwarfdiag.bisect.targets import Target
    from dwarfdiag.corpus.catalogue import select_programs

    standins = {p.name for p in select_programs() if p.is_standin}
    older = [t.name for t in matrix.toolchains[:-1]]
    out = []
    for d in diagnosis:
        if d["program"] not in standins or d["profile"] != "debug":
            continue
        explained = [tc for tc in older if "failure" in d["cells"].get(tc, {})]
        if not explained:
            continue
        tc = explained[-1]
        variant_name = d["cells"][tc]["variant"]
        if progress:
            progress(f"bisect {d['program']} ({d['compiler']}) at libbpf {variant_name}")
        family = "gccgo" if d["compiler"].startswith("gccgo") else "gc"
        report = run_bisect(Target(d["program"], Path(d["binary"]), "corpus", family),
                            OracleSpec("replay", variant_name),
                            out_dir=out_dir / "bisect" / d["program"])
        out.append({"program": d["program"], "compiler": d["compiler"], "toolchain": tc,
                    "report": report.as_dict(), "lines": report.lines()})
    return out
