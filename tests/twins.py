"""The twin oracle: what a stripped build's runtime descriptors say, against the DWARF
of the same program built without stripping (otherwise the same flags).

gc's DWARF types are made from the descriptors, and a DWARF type carries
``DW_AT_go_runtime_type``, its descriptor's offset from the types region,
exactly when the descriptor was kept. Types are matched by that offset (the
twins lay the region out alike), never by name, and compared:

* every type: its kind and size;
* a struct: its fields' names, offsets, embedded flags and types (a field's
  DWARF type matched to the descriptor's field type by the same attribute);
* an array, slice, pointer, chan: the element; a map: key and element;
* a func type: its parameters and results;

and every method whose signature survived: its parameters and results against
the DWARF subprogram at the same entry, and the registers ABIInternal gives
them computed from both graphs.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

from dwarfdiag.dwarf.constants import At, Tag
from dwarfdiag.dwarf.loader import load_typegraph
from dwarfdiag.gometa import GoRuntime
from dwarfdiag.gometa.layouts import (ARRAY, CHAN, FUNC, MAP, POINTER, SLICE, STRUCT,
                                      UNSAFE_POINTER)
from dwarfdiag.probe import abi
from dwarfdiag.probe.probe import origin


@dataclass
class TwinReport:
    dwarf_types: int = 0  # DWARF types with a descriptor in the unstripped build
    dwarf_structs: int = 0  # ... of which structs
    all_dwarf_structs: int = 0  # every DWARF struct type, with or without a descriptor
    recovered: int = 0  # of dwarf_types, found in the stripped build
    recovered_structs: int = 0
    exact: int = 0  # of recovered, in full agreement
    mismatches: list[str] = field(default_factory=list)
    methods: int = 0  # methods with a recovered signature
    methods_exact: int = 0
    method_mismatches: list[str] = field(default_factory=list)
    registers_checked: int = 0
    dwarf_without_receiver: int = 0  # generated wrappers Go 1.20/1.21 describe without it
    dwarf_without_results: int = 0  # methods whose DWARF lists none of their results
    dwarf_without_unnamed: int = 0  # Go 1.20/1.21 methods whose DWARF omits unnamed params
    functions: int = 0  # every function of the pclntab
    names_equal: int = 0
    names_differ: list[tuple[str, str]] = field(default_factory=list)
    by_kind: Counter = field(default_factory=Counter)


def _rt(g, die) -> int | None:
    """The go_runtime_type a reference to ``die`` stands for (a typedef gc puts in
    front of a named type has none: its definition has)."""
    seen = 0
    while die is not None and seen < 4:
        value = die.attrs.get(At.go_runtime_type)
        if value is not None:
            return value
        if die.tag != Tag.typedef or die.type is None:
            return None
        die = g.die(die.type)
        seen += 1
    return None


def compare_twins(plain: Path, stripped: Path) -> TwinReport:
    rt = GoRuntime(stripped)
    base = rt.moduledata.types
    descriptors = rt.descriptors
    plain_base = GoRuntime(plain).moduledata.types
    g = load_typegraph(plain)
    report = TwinReport(functions=len(rt.functions))

    def offset_of(value: int) -> int:
        # uintptr's attribute is an address in Go 1.20-1.22, every other an offset
        return value - plain_base if value >= plain_base else value

    checked: set[int] = set()
    for die in g:
        if die.tag == Tag.structure_type and die.name and not die.attrs.get(At.declaration):
            report.all_dwarf_structs += 1
        value = die.attrs.get(At.go_runtime_type)
        if not value or At.go_kind not in die.attrs:
            continue  # (0: the linker kept no descriptor it could point at)
        off = offset_of(value)
        if off in checked:
            continue
        checked.add(off)
        kind = die.attrs[At.go_kind]
        report.dwarf_types += 1
        report.dwarf_structs += kind == STRUCT
        d = descriptors.get(base + off)
        if d is None:
            continue
        report.recovered += 1
        report.recovered_structs += kind == STRUCT
        report.by_kind[kind] += 1
        problems = _differences(g, die, d, base, offset_of,
                                lambda addr: descriptors[addr].kind if addr in descriptors
                                else None)
        if problems:
            report.mismatches.append(f"{die.name}: {'; '.join(problems)}")
        else:
            report.exact += 1
        name = rt.type_name(d.address)
        if name == die.name:
            report.names_equal += 1
        else:
            report.names_differ.append((die.name, name))
    _compare_methods(g, rt, report, base, offset_of)
    return report


def _differences(g, die, d, base: int, offset_of, rt_kind) -> list[str]:
    out = []
    kind = die.attrs[At.go_kind]
    if kind == 0 and die.tag == Tag.pointer_type:
        kind = POINTER  # Go 1.20's linker writes kind 0 on the pointers it makes itself
    if kind != d.kind:
        return [f"kind {kind} vs {d.kind}"]

    def same(dwarf_type: int | None, addr: int, what: str) -> None:
        target = g.die(dwarf_type) if dwarf_type is not None else None
        value = _rt(g, target) if target is not None else None
        if value is None and target is not None and target.name == "unsafe.Pointer" and \
                rt_kind(addr) == UNSAFE_POINTER:
            return  # up to Go 1.22 unsafe.Pointer's DWARF type has no go_runtime_type
        if value is None or offset_of(value) != addr - base:
            out.append(f"{what}: DWARF {value} vs descriptor {addr - base:#x}")

    size = die.attrs.get(At.byte_size)
    if size is not None and size != d.size:
        out.append(f"size {size} vs {d.size}")
    if kind == STRUCT:
        members = [c for c in g.children(die) if c.tag == Tag.member]
        if [m.name for m in members] != [f.name for f in d.fields]:
            return out + [f"fields {[m.name for m in members]} vs {[f.name for f in d.fields]}"]
        for m, f in zip(members, d.fields):
            if m.attrs.get(At.data_member_location) != f.offset:
                out.append(f"{f.name} at {m.attrs.get(At.data_member_location)} vs {f.offset}")
            if bool(m.attrs.get(At.go_embedded_field)) != f.embedded:
                out.append(f"{f.name} embedded {m.attrs.get(At.go_embedded_field)} vs "
                           f"{f.embedded}")
            same(m.type, f.type, f"{f.name}'s type")
    elif kind in (POINTER, ARRAY):
        same(die.type, d.elem, "element")
    elif kind in (SLICE, CHAN):
        same(die.attrs.get(At.go_elem), d.elem, "element")
    elif kind == MAP:
        same(die.attrs.get(At.go_key), d.key, "key")
        same(die.attrs.get(At.go_elem), d.elem, "element")
    elif kind == FUNC:
        params = [c for c in g.children(die) if c.tag == Tag.formal_parameter]
        ins = [p for p in params if not p.attrs.get(At.variable_parameter)]
        outs = [p for p in params if p.attrs.get(At.variable_parameter)]
        pointed = not outs and len(ins) == len(d.params) + len(d.results)
        if pointed:  # before Go 1.24, a result is a parameter pointing at its type
            ins, outs = ins[:len(d.params)], ins[len(d.params):]
        if len(ins) != len(d.params) or len(outs) != len(d.results):
            return out + [f"{len(ins)}/{len(outs)} parameters/results vs "
                          f"{len(d.params)}/{len(d.results)}"]
        for i, (p, t) in enumerate(zip(ins, d.params)):
            same(p.type, t, f"parameter {i}")
        for i, (p, t) in enumerate(zip(outs, d.results)):
            same(g.die(p.type).type if pointed else p.type, t, f"result {i}")
    return out


def _compare_methods(g, rt: GoRuntime, report: TwinReport, base: int, offset_of) -> None:
    by_entry = {d.attrs.get(At.low_pc): d for d in g
                if d.tag == Tag.subprogram and d.attrs.get(At.low_pc)}
    runtime_graph = rt.typegraph()
    runtime_subprograms = {d.attrs.get(At.low_pc): d for d in runtime_graph
                           if d.tag == Tag.subprogram}
    for m in rt.methods():
        report.methods += 1
        die = by_entry.get(m.entry)
        if die is None:
            report.method_mismatches.append(f"{m.name}: no DWARF subprogram at {m.entry:#x}")
            continue
        # an optimised build's out-of-line copy names its parameters through their
        # abstract origin
        params = [origin(g, c) if not c.type else c for c in g.children(die)
                  if c.tag == Tag.formal_parameter]
        params = [p for p in params if p.type]
        ins = [p for p in params if not p.attrs.get(At.variable_parameter)]
        outs = [p for p in params if p.attrs.get(At.variable_parameter)]
        # gc's DWARF lists some results twice (ok, ok): one of each
        outs = [p for i, p in enumerate(outs)
                if not any(q.name == p.name and q.type == p.type for q in outs[:i])]
        sig = rt.descriptors[m.signature]
        want_in, want_out = [m.receiver, *sig.params], sig.results
        fn = rt.functions.get(m.name)
        no_receiver = fn is not None and fn.wrapper and len(ins) == len(sig.params) and \
            rt.buildinfo.release < (1, 22)
        if no_receiver:
            # Go 1.20 and 1.21 write a generated wrapper's DWARF without its receiver
            # (which ABIInternal still passes first, in RAX): compare the rest, and no
            # registers (DWARF's would be one off)
            want_in = list(sig.params)
            report.dwarf_without_receiver += 1
        unnamed_left_out = not no_receiver and len(ins) < len(want_in) and \
            rt.buildinfo.release < (1, 22)
        if unnamed_left_out:
            # Go 1.20 and 1.21 write no DWARF parameter for an unnamed or blank one
            # (func (noBody) Read([]byte) (int, error)): what DWARF lists must be the
            # signature's parameters in order with some left out; no registers (DWARF
            # cannot say which registers its parameters are in without the others)
            kept = _in_order(g, rt, ins, want_in, offset_of, base)
            if kept is None:
                report.method_mismatches.append(f"{m.name}: DWARF's parameters are not "
                                                f"the signature's, in order")
                continue
            want_in = kept
            report.dwarf_without_unnamed += 1
        problems = []
        if not outs and want_out:
            # an optimised build's DWARF may list no result at all: the parameters (and
            # their registers) are what a probe reads
            report.dwarf_without_results += 1
            want_out = []
        if len(ins) != len(want_in) or len(outs) != len(want_out):
            problems.append(f"{len(ins)}/{len(outs)} vs {len(want_in)}/{len(want_out)}")
        else:
            for i, (p, t) in enumerate(zip(ins + outs, want_in + want_out)):
                if not _same_type(g, rt, p.type, t, offset_of, base):
                    problems.append(f"parameter {i} ({p.name})")
            ours = runtime_subprograms[m.entry]
            our_params = [c for c in runtime_graph.children(ours)
                          if c.tag == Tag.formal_parameter
                          and not c.attrs.get(At.variable_parameter)]
            theirs = [r.registers for r in abi.gc_assign(g, ins)]
            mine = [r.registers for r in abi.gc_assign(runtime_graph, our_params)]
            if not no_receiver and not unnamed_left_out:
                report.registers_checked += len(mine)
                if theirs != mine:
                    problems.append(f"registers {mine} vs DWARF's {theirs}")
        if problems:
            report.method_mismatches.append(f"{m.name}: {'; '.join(problems)}")
        else:
            report.methods_exact += 1


def _same_type(g, rt: GoRuntime, dwarf_type: int, addr: int, offset_of, base: int) -> bool:
    """Is the DWARF type at ``dwarf_type`` the descriptor at ``addr``?"""
    die = g.die(dwarf_type)
    value = _rt(g, die)
    if value is None and die is not None and die.name == "unsafe.Pointer":
        # up to Go 1.22 unsafe.Pointer's DWARF type has no go_runtime_type
        return addr in rt.descriptors and rt.descriptors[addr].kind == UNSAFE_POINTER
    return value is not None and offset_of(value) == addr - base


def _in_order(g, rt: GoRuntime, ins, want: list[int], offset_of,
              base: int) -> list[int] | None:
    """The descriptors of ``want`` that DWARF's parameters ``ins`` stand for, matched
    in order by type (each DWARF parameter to the next signature parameter of its
    type); None when they do not all match."""
    kept, i = [], 0
    for p in ins:
        while i < len(want) and not _same_type(g, rt, p.type, want[i], offset_of, base):
            i += 1
        if i == len(want):
            return None
        kept.append(want[i])
        i += 1
    return kept


# --- the BTF each side makes ------------------------------------------------------------
def struct_layouts(btf) -> dict[str, tuple]:
    """Every named struct and union of a BTF: its size and members (name, bit offset,
    and what the member's type is: its kinds down to the first named type)."""
    from dwarfdiag.btf.model import BtfKind as K

    def spelled(type_id: int, depth: int = 0) -> str:
        if type_id == 0:
            return "void"
        t = btf.type_by_id(type_id)
        name = btf.name_of(t) if t.name_off else ""
        if name or depth > 4 or t.kind in (K.STRUCT, K.UNION, K.INT, K.FLOAT, K.ENUM,
                                           K.ENUM64, K.FWD, K.FUNC_PROTO):
            return f"{t.kind.name}:{name}"
        if t.kind == K.ARRAY:
            return f"ARRAY[{t.array.nelems}]>{spelled(t.array.type, depth + 1)}"
        return f"{t.kind.name}>{spelled(t.type, depth + 1)}"

    return {btf.name_of(t): (t.size, tuple((btf.str_at(m.name_off), m.offset, spelled(m.type))
                                          for m in t.members))
            for _, t in btf.iter_types() if t.kind in (K.STRUCT, K.UNION) and t.name_off}


def btf_differences(ours: dict, theirs: dict, kept: set[str]) -> list[str]:
    """Structs both BTFs name whose layout or member types differ, but for a member
    type we hold as a declaration (FWD) where the stripped binary kept no descriptor
    of it (``kept``: the names it kept) and DWARF has its definition."""
    out = []
    for name in sorted(set(ours) & set(theirs)):
        (size, members), (their_size, their_members) = ours[name], theirs[name]
        if size != their_size or len(members) != len(their_members):
            out.append(f"{name}: size {size} vs {their_size}, {len(members)} members vs "
                       f"{len(their_members)}")
            continue
        for mine, their in zip(members, their_members):
            if mine == their:
                continue
            declared = mine[2].rpartition("FWD:")[2]
            if mine[:2] == their[:2] and "FWD:" in mine[2] and declared not in kept and \
                    their[2].endswith(":" + declared):
                continue
            out.append(f"{name}.{mine[0]}: {mine[1:]} vs {their[1:]}")
    return out
