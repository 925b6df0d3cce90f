"""Do dwarfdiag's final BTF and pahole's agree? Every named-type difference, listed.

Our side is :func:`dwarfdiag.usable.final.final_btf`: the encoder (pahole
1.32's rules, its function rule included) deduplicated by the replay of
libbpf 1.7, what ``dwarfdiag btf final`` writes. pahole's side is ``pahole
--btf_encode_detached`` of a toolchain (sid: pahole 1.32 + libbpf 1.7). They
are compared as ``btf compare`` does: named types by kind, name, size, vlen
and members. The encoders agree on every rule dwarfdiag knows, so any
difference is a finding and is listed as such, never hidden.
"""

from __future__ import annotations

from dwarfdiag.analysis import BinaryAnalysis
from dwarfdiag.btf.compare import compare
from dwarfdiag.btf.raw import parse_btf
from dwarfdiag.findings.parity import ParityDifference, ParityReport, TypeSignature
from dwarfdiag.toolchains.pahole import encode_detached
from dwarfdiag.usable.final import DedupFailed, final_btf


def _signature(sig: tuple) -> TypeSignature:
    kind, name, size, vlen, detail = sig
    members = [(str(a), int(b)) for a, b in detail] if kind in ("STRUCT", "UNION") else []
    return TypeSignature(kind, name, size, vlen, members)


def parity(analysis: BinaryAnalysis, program: str, compiler: str, toolchain) -> ParityReport:
    """Compare our final BTF of ``analysis`` with ``toolchain``'s pahole."""
    report = ParityReport(program, compiler, str(analysis.target.binary), toolchain.label, 0, 0)
    run = encode_detached(toolchain.pahole_argv(), analysis.path)
    try:
        ours = final_btf(analysis, "1.7")
    except DedupFailed as e:
        report.error = str(e)
        return report
    if run.btf is None:
        report.error = f"pahole produced no BTF ({'; '.join(run.error_lines[-2:])})"
        return report
    result = compare(ours.btf, parse_btf(run.btf))
    report.ours, report.theirs = result.a_named, result.b_named
    for side, sigs in (("dwarfdiag", result.only_a), ("pahole", result.only_b)):
        for sig in sigs:
            report.differences.append(ParityDifference(side, _signature(sig), "unexplained"))
    return report
