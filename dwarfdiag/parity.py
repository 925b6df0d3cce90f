"""Do dwarfdiag's final BTF and pahole's agree? Every named-type difference, explained.

Our side is the faithful encoding (:mod:`dwarfdiag.btf.encoder`, pahole 1.32's
rules) deduplicated by the replay of libbpf 1.7; pahole's side is
``pahole --btf_encode_detached`` of a toolchain (sid: pahole 1.32 + libbpf
1.7). They are compared as ``btf compare`` does: named types by kind, name,
size, vlen and members. Each difference is explained by the rule that makes
the encoders part ways, where one is known:

* a FUNC only we keep, one of whose first six parameters DWARF places at
  entry somewhere other than the System V register pahole expects: pahole
  (since 1.25) leaves out functions with such parameters, because their BTF
  prototype would promise registers the code does not use; dwarfdiag does
  not evaluate locations when encoding, so it keeps them (cgo's
  ``_cgo_panic`` and ``_cgoexp_*`` trampolines, built by gcc).

Anything else is listed as unexplained, never hidden.
"""

from __future__ import annotations

from dwarfdiag.analysis import BinaryAnalysis
from dwarfdiag.btf.compare import compare
from dwarfdiag.btf.raw import parse_btf
from dwarfdiag.dwarf.constants import Tag
from dwarfdiag.findings.parity import ParityDifference, ParityReport, TypeSignature
from dwarfdiag.toolchains.pahole import encode_detached

# System V x86-64: the first six integer arguments, as DWARF names the registers
SYSV_INTEGER_REGS = ("rdi", "rsi", "rdx", "rcx", "r8", "r9")


def _signature(sig: tuple) -> TypeSignature:
    kind, name, size, vlen, detail = sig
    members = [(str(a), int(b)) for a, b in detail] if kind in ("STRUCT", "UNION") else []
    return TypeSignature(kind, name, size, vlen, members)


def _why_func_differs(analysis: BinaryAnalysis, name: str) -> str:
    from dwarfdiag.probe.probe import entry_location

    g = analysis.graph
    funcs = [d for d in g if d.tag == Tag.subprogram and d.name == name
             and not d.attrs.get(0x3c)]  # DW_AT_declaration
    for func in funcs:
        params = [c for c in g.children(func) if c.tag == Tag.formal_parameter]
        for index, param in enumerate(params[:len(SYSV_INTEGER_REGS)]):
            where = entry_location(g, func, param)
            regs = [p.register for p in where.pieces if p.register]
            expected = SYSV_INTEGER_REGS[index]
            if regs and regs[0] != expected and not regs[0].startswith("xmm"):
                return (f"parameter {index + 1} ({param.name or '_'}) is in {regs[0]} at entry, "
                        f"not {expected}: pahole leaves out functions whose parameters are not "
                        f"where the System V ABI puts them; dwarfdiag does not evaluate "
                        f"locations and keeps them")
    return "unexplained"


def parity(analysis: BinaryAnalysis, program: str, compiler: str, toolchain) -> ParityReport:
    """Compare our libbpf-1.7-deduplicated BTF of ``analysis`` with ``toolchain``'s pahole."""
    from dwarfdiag.dedup.driver import replay
    from dwarfdiag.dedup.variants import variant

    report = ParityReport(program, compiler, str(analysis.path), toolchain.label, 0, 0)
    ours = replay(analysis.encoded.btf, variant("1.7"))
    run = encode_detached(toolchain.pahole_argv(), analysis.path)
    if not ours.ok or ours.btf is None:
        report.error = "the libbpf 1.7 replay fails on dwarfdiag's encoding"
        return report
    if run.btf is None:
        report.error = f"pahole produced no BTF ({'; '.join(run.error_lines[-2:])})"
        return report
    result = compare(ours.btf, parse_btf(run.btf))
    report.ours, report.theirs = result.a_named, result.b_named
    for side, sigs in (("dwarfdiag", result.only_a), ("pahole", result.only_b)):
        for sig in sigs:
            why = _why_func_differs(analysis, sig[1]) if side == "dwarfdiag" and \
                sig[0] == "FUNC" else "unexplained"
            report.differences.append(ParityDifference(side, _signature(sig), why))
    return report
