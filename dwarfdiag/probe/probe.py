"""``dwarfdiag probe``: where a uprobe goes and where the arguments are, gc or gccgo."""

from __future__ import annotations

import difflib
import shutil
from dataclasses import asdict, dataclass, field
from pathlib import Path

from dwarfdiag.dwarf import gonames
from dwarfdiag.dwarf.constants import At, Tag
from dwarfdiag.dwarf.typegraph import Die, TypeGraph
from dwarfdiag.elf import EM_X86_64, STT_FUNC, ElfFile
from dwarfdiag.errors import BadInputError, NotFoundError, UnsupportedError
from dwarfdiag.probe import abi
from dwarfdiag.dwarf.locations import entry_location
from dwarfdiag.probe.prologue import disassemble
from dwarfdiag.target import Target

SUPPORTED = "x86-64 (amd64)"
BPF_REGS = {"rax": "ax", "rbx": "bx", "rcx": "cx", "rdx": "dx", "rdi": "di", "rsi": "si",
            "r8": "r8", "r9": "r9", "r10": "r10", "r11": "r11"}


@dataclass
class Param:
    name: str
    type: str
    go_kind: str
    size: int
    abi: str  # where the calling convention puts it at entry
    dwarf: str  # where DWARF says it is at the entry pc
    agrees: bool | None  # None: DWARF has no entry location to compare with
    registers: list[str] = field(default_factory=list)
    stack_offset: int | None = None


@dataclass
class ProbeReport:
    binary: str
    symbol: str
    compiler: str  # gc or gccgo
    address: int
    file_offset: int  # from the program headers, as the kernel maps the file
    file_offset_by_section: int | None
    nm_address: int | None
    params: list[Param]
    prologue: list[dict]
    btf: list[str]  # bpftool-style lines: FUNC, FUNC_PROTO, parameter types
    btf_note: str
    warnings: list[str]
    inlined_sites: list[dict]
    abi_note: str = ""
    return_sites: list[tuple[int, int]] = field(default_factory=list)  # (address, offset)
    kit_dir: str | None = None  # where --out-dir wrote the probe programs
    # does the binary's own symbol table name the function? bpftrace (through bcc)
    # resolves names there; without one it attaches by number
    named_in_binary: bool = True

    def as_dict(self) -> dict:
        return asdict(self)

    @property
    def bpftrace_attach(self) -> str:
        """The uprobe's attach point for bpftrace: the quoted symbol, or, in a binary
        with no symbols (``-ldflags=-s``), the file offset. bpftrace resolves an
        address through the symbols and, finding none, hands the number to the
        kernel as the file offset unchanged (bpftrace 0.17 to 0.23,
        ``AttachedProbe::resolve_offset_uprobe``), which it attaches only with
        ``--unsafe``."""
        if self.named_in_binary:
            return f'uprobe:{self.binary}:"{self.symbol}"'
        return f"uprobe:{self.binary}:{self.file_offset:#x}"

    @property
    def bpftrace_command(self) -> str:
        return "bpftrace" if self.named_in_binary else "bpftrace --unsafe"

    def bpftrace(self) -> str:
        """A one-line bpftrace command printing every register of every argument."""
        from dwarfdiag.probe.snippets import PARTS

        fmts, args = [], []
        for p in self.params:
            if p.registers and all(r in BPF_REGS for r in p.registers):
                parts = PARTS.get(p.go_kind) if len(PARTS.get(p.go_kind, ())) == \
                    len(p.registers) else None
                for i, r in enumerate(p.registers):
                    label = f"{p.name}.{parts[i]}" if parts else \
                        (f"{p.name}.r{i}" if len(p.registers) > 1 else p.name)
                    fmts.append(f"{label}=%ld")
                    args.append(f'reg("{BPF_REGS[r]}")')
            elif p.stack_offset is not None:
                fmts.append(f"{p.name}=%ld")
                args.append(f'*(int64 *)(reg("sp") + {p.stack_offset})')
        body = f'printf("{" ".join(fmts)}\\n", {", ".join(args)})' if args else 'printf("hit\\n")'
        return f"{self.bpftrace_command} -e '{self.bpftrace_attach} {{ {body}; }}'"

    def lines(self) -> list[str]:
        out = [f"{self.symbol} in {self.binary} ({self.compiler}, {SUPPORTED})",
               f"  address {self.address:#x}; uprobe file offset {self.file_offset:#x} "
               f"(program headers)"
               + (f", {self.file_offset_by_section:#x} via its section (libbpf)"
                  if self.file_offset_by_section is not None else "")
               + (f"; nm says {self.nm_address:#x}" if self.nm_address is not None else "")]
        out.append("  arguments at entry:")
        for p in self.params:
            check = {True: "agrees with DWARF", False: f"DWARF says {p.dwarf}  <-- MISMATCH",
                     None: f"DWARF: {p.dwarf}"}[p.agrees]
            out.append(f"    {p.name:<12} {p.type:<28} {p.abi:<22} {check}")
        if self.abi_note:
            out.append(f"    note: {self.abi_note}")
        out.append("  prologue:")
        for ins in self.prologue[:12]:
            mark = f"   <- {ins['mark']}" if ins["mark"] else ""
            out.append(f"    {ins['address']:#x}: {ins['text']}{mark}")
        out.append("  BTF:" + (f" ({self.btf_note})" if self.btf_note else ""))
        out += [f"    {line}" for line in self.btf]
        for w in self.warnings:
            out.append(f"  warning: {w}")
        for site in self.inlined_sites[:10]:
            out.append(f"    inlined into {site['caller']} at {site['call']}"
                       + (f" ({site['address']:#x})" if site.get("address") else ""))
        out.append("  bpftrace: " + self.bpftrace())
        if self.return_sites:
            out.append("  return sites (probe these, not a uretprobe): " + ", ".join(
                f"{a:#x} (file offset {o:#x})" for a, o in self.return_sites))
        if self.kit_dir:
            out.append(f"  probe programs: {self.kit_dir} (how to run them: "
                       f"{Path(self.kit_dir) / 'README'})")
        else:
            out.append("  a bpftrace script, a libbpf program, its loader and a header of the "
                       "argument types: dwarfdiag probe ... --out-dir DIR")
        return out


def origin(g: TypeGraph, die: Die) -> Die:
    """The abstract DIE a concrete one points at (gc's out-of-line copies of
    inlinable functions keep their name, type and parameters there)."""
    o = die.attrs.get(At.abstract_origin)
    found = g.die(o) if o is not None else None
    return found if found is not None else die


def name_of(g: TypeGraph, die: Die) -> str | None:
    return die.name or origin(g, die).name


def find_function(g: TypeGraph, image: ElfFile, symbol: str) -> Die:
    subprograms = [d for d in g if d.tag == Tag.subprogram and name_of(g, d)
                   and d.attrs.get(At.low_pc) and not d.attrs.get(At.declaration)]
    wanted = {symbol, gonames.normalise(symbol), symbol.replace("(*", "").replace(")", ""),
              symbol.replace("(*", "").replace(").", "..")}
    for d in subprograms:
        raw = name_of(g, d)
        if raw in wanted or gonames.normalise(raw, g.unit(d).compiler) in wanted:
            return d
    names = sorted({gonames.normalise(name_of(g, d), g.unit(d).compiler) for d in subprograms})
    close = difflib.get_close_matches(symbol, names, n=5, cutoff=0.6)
    hint = f"; did you mean {', '.join(close)}?" if close else ""
    raise NotFoundError(f"no function {symbol!r} with code in {image.path}{hint}")


def runtime_function(target: Target, g: TypeGraph, symbol: str,
                     signature: str | None) -> Die:
    """The function ``symbol`` of a binary without DWARF: from the graph of its
    runtime descriptors (a method whose signature the linker kept), or the pclntab's
    entry given ``signature``; one line when neither can say where its arguments are."""
    runtime = target.runtime
    fn = runtime.function(symbol) or _by_suffix(runtime, symbol)
    if fn is None:
        names = sorted(runtime.functions.by_name)
        close = difflib.get_close_matches(symbol, names, n=5, cutoff=0.6)
        hint = f"; did you mean {', '.join(close)}?" if close else ""
        raise NotFoundError(f"no function {symbol!r} in {target.binary}'s pclntab{hint}")
    if signature is not None:
        from dwarfdiag.probe.signature import apply_signature

        return apply_signature(g, fn.name, fn.entry, fn.end, fn.args, signature)
    for d in g:
        if d.tag == Tag.subprogram and d.attrs.get(At.low_pc) == fn.entry:
            return d
    raise NotFoundError(f"{fn.name}: {target.binary} has no DWARF and kept no signature of "
                        f"it (the linker keeps one for methods reached through an interface "
                        f"or reflection): give it with --signature 'func(...)', or its debug "
                        f"file (--debug-file), or probe an unstripped build")


def _by_suffix(runtime, symbol: str):
    """A function named ``.../symbol`` (``v3rpc.(*kvServer).Put``), if only one is."""
    found = [f for name, f in runtime.functions.by_name.items() if name.endswith("/" + symbol)]
    return found[0] if len(found) == 1 else None


def probe(target: Target, symbol: str, signature: str | None = None) -> ProbeReport:
    binary = target.binary.resolve()  # uprobes and bpftrace want the absolute path
    image = ElfFile(binary)
    if image.machine != EM_X86_64:
        raise UnsupportedError(f"{binary} is for {image.arch}; dwarfdiag probe supports "
                               f"{SUPPORTED} only")
    # a stripped binary's symbols stay in its debug file (objcopy --only-keep-debug); a
    # binary without any has its functions' entries in the pclntab
    symbols = image.symbols(".symtab") or (
        ElfFile(target.dwarf).symbols(".symtab") if target.dwarf and target.stripped else [])
    g = target.load_graph()
    if target.dwarf is None:
        die = runtime_function(target, g, symbol, signature)
    else:
        if signature is not None:
            raise BadInputError(f"--signature: {target.dwarf} has DWARF, which gives every "
                                f"function's signature")
        die = find_function(g, image, symbol)
    unit = g.unit(die)
    compiler = "gccgo" if unit.compiler == "gccgo" else "gc"
    address = die.attrs[At.low_pc]
    syms = [s for s in symbols + image.symbols(".dynsym")
            if s.kind == STT_FUNC and s.value == address]
    fname = name_of(g, die)
    sym = next((s for s in syms if s.name == fname), syms[0] if syms else None)
    named_in_binary = any(s.name == fname and s.value == address for s in
                          image.symbols(".symtab") + image.symbols(".dynsym"))
    file_offset = image.offset_by_segments(address)
    if file_offset is None:
        raise BadInputError(f"{binary}: address {address:#x} of {symbol} is in no loaded segment")
    params_dies = [origin(g, c) if not c.type else c for c in g.children(die)
                   if c.tag == Tag.formal_parameter]
    params_dies = [p for p in params_dies
                   if not (compiler == "gc" and p.attrs.get(At.variable_parameter))]
    concrete = {id(origin(g, c)): c for c in g.children(die) if c.tag == Tag.formal_parameter}
    result = g.die(origin(g, die).type) if origin(g, die).type else None
    if compiler == "gc":
        locations, note = abi.gc_assign(g, params_dies), ""
    else:
        locations, note = abi.sysv_assign(g, params_dies, result)
    params = [_param(g, unit, die, p, loc, address, concrete.get(id(p), p))
              for p, loc in zip(params_dies, locations)]
    code = image.read(file_offset, 96)
    prologue = [asdict(i) for i in disassemble(code, address)]
    btf_lines, btf_note = _btf(g, origin(g, die) if not die.name else die)
    warnings = []
    if compiler == "gc":
        warnings.append("uretprobes are unsafe on gc binaries: goroutine stacks move, and the "
                        "kernel's return trampoline on the old stack crashes the program; "
                        "probe the return instructions instead")
    sites = _inlined_sites(g, die)
    if sites:
        warnings.append(f"{symbol} is also inlined at {len(sites)} site(s); a uprobe on the "
                        f"symbol misses those calls")
    from dwarfdiag.probe.prologue import return_sites

    returns = return_sites(image, address, die.attrs.get(At.high_pc)) \
        if compiler == "gc" else []
    return ProbeReport(str(binary), fname, compiler, address, file_offset,
                       image.offset_by_section(sym) if sym else None,
                       _nm_address(binary, fname), params, prologue, btf_lines, btf_note,
                       warnings, sites, note, returns, named_in_binary=named_in_binary)


def probe_kit(target: Target, report: ProbeReport, progress=None,
              signature: str | None = None):
    """The bpftrace script, libbpf program, loader and header for ``report``
    (:mod:`dwarfdiag.probe.snippets`)."""
    from dwarfdiag.probe.snippets import generate
    from dwarfdiag.usable.header import c_header, find_roots
    from dwarfdiag.usable.make import make_btf

    binary = Path(report.binary)
    made = make_btf(target, "kernel", "1.1", progress=progress, function_bodies=True)
    g = made.graph  # the probed function's parameters with it
    die = runtime_function(target, g, report.symbol, signature) if target.dwarf is None \
        else find_function(g, ElfFile(binary), report.symbol)
    pointees: dict[str, str] = {}  # parameter -> the Go name of the struct it points to
    params = [origin(g, c) if not c.type else c for c in g.children(die)
              if c.tag == Tag.formal_parameter]
    for p in params:
        target = abi.underlying(g, g.die(p.type)) if p.type else None
        if target is None or target.tag != Tag.pointer_type or not target.type:
            continue
        named = g.die(target.type)
        pointee = abi.underlying(g, named)
        if named is not None and named.name and pointee is not None and \
                pointee.tag == Tag.structure_type:
            pointees[p.name or "_"] = gonames.normalise(named.name, g.unit(named).compiler)
    wanted = sorted(set(pointees.values()))
    header = c_header(made.btf, made.names, made.provenance, g, wanted or None,
                      binary.name + "-types", str(binary)) if wanted else None
    # parameter -> the BTF id C code names its pointee by (a typedef, or the struct)
    struct_of = {param: find_roots(made.btf, made.names, [go_name])[0]
                 for param, go_name in pointees.items()}
    text = header.text if header else "/* no argument points to a struct */\n"
    return generate(report, binary, text, made.btf, made.provenance, struct_of)


def _param(g: TypeGraph, unit, func: Die, p: Die, loc: abi.ArgLocation, pc: int,
           concrete: Die) -> Param:
    """``p`` names and types the parameter; ``concrete`` (the out-of-line copy's
    own DIE, when there is one) holds its location."""
    t = g.die(p.type) if p.type else None
    from dwarfdiag.diff.shapes import go_kind

    dwarf, agrees = _dwarf_location(g, unit, func, concrete, pc, loc)
    return Param(p.name or "_", (t.name if t is not None else "void") or "(anon)",
                 go_kind(g, t) if t is not None else "void", loc.size, loc.describe(), dwarf,
                 agrees, loc.registers, loc.stack_offset)


def _dwarf_location(g: TypeGraph, unit, func: Die, p: Die, pc: int,
                    loc: abi.ArgLocation) -> tuple[str, bool | None]:
    if g.stats.get("types_from") == "runtime":
        return "no DWARF to compare with (the runtime's descriptors give the types)", None
    where = entry_location(g, func, p)
    if not where.pieces:
        return where.note, None
    if any(piece.cfa_offset is not None and piece.cfa_offset < 0 for piece in where.pieces):
        return (f"{where.describe()} (a slot in the callee's frame: valid after the prologue, "
                f"not at entry)", None)
    regs = [piece.register for piece in where.pieces if piece.register]
    if regs:
        return where.describe(), regs == loc.registers
    first = where.pieces[0].cfa_offset
    return where.describe(), loc.stack_offset == first + 8


def _btf(g: TypeGraph, die: Die) -> tuple[list[str], str]:
    from dwarfdiag.btf.dump import dump_text
    from dwarfdiag.btf.encoder import function_btf, pahole_emits_func

    btf, fid = function_btf(g, die)
    func = btf.type_by_id(fid)
    proto = btf.type_by_id(func.type)
    ids = [fid, func.type] + [p.type for p in proto.params if p.type] + \
        ([proto.type] if proto.type else [])
    lines = [line for text in dump_text(btf, list(dict.fromkeys(ids)))
             for line in text.rstrip("\n").split("\n")]
    why = pahole_emits_func(g, die)
    note = (f"pahole 1.32 emits no FUNC for it: {why}; this FUNC_PROTO is what dwarfdiag's "
            f"encoder builds from the DIE" if why else "pahole 1.32 emits this FUNC")
    return lines, note


def _inlined_sites(g: TypeGraph, die: Die) -> list[dict]:
    origins = {die.offset, origin(g, die).offset}
    if At.abstract_origin in die.attrs:
        origins.add(die.attrs[At.abstract_origin])
    sites = []
    for d in g:
        if d.tag != Tag.inlined_subroutine or d.attrs.get(At.abstract_origin) not in origins:
            continue
        caller = g.die(d.parent)
        while caller is not None and caller.tag != Tag.subprogram:
            caller = g.die(caller.parent)
        unit = g.unit(d)
        idx = d.attrs.get(At.call_file)
        file = unit.files[idx] if isinstance(idx, int) and 0 <= idx < len(unit.files) else "?"
        sites.append({"caller": name_of(g, caller) if caller is not None else "?",
                      "call": f"{file}:{d.attrs.get(At.call_line, '?')}",
                      "address": d.attrs.get(At.low_pc)})
    return sites


def _nm_address(binary: Path, name: str) -> int | None:
    nm = shutil.which("nm")
    if not nm:
        return None
    from dwarfdiag.toolchains.run import run_tool

    proc = run_tool([nm, str(binary)], 120)
    for line in proc.stdout.splitlines():
        parts = line.split(maxsplit=2)
        if len(parts) == 3 and parts[2] == name and parts[1] in "tT":
            return int(parts[0], 16)
    return None


def compare_lines(gc_report: ProbeReport, gccgo_report: ProbeReport) -> list[str]:
    out = [f"{gc_report.symbol}: gc {gc_report.binary} | gccgo {gccgo_report.binary}",
           f"  uprobe offset      {gc_report.file_offset:#x} | {gccgo_report.file_offset:#x}"]
    for a, b in zip(gc_report.params, gccgo_report.params):
        out.append(f"  {a.name:<12} {a.abi:<22} | {b.abi:<22} ({a.type} / {b.type})")
    for extra in gc_report.params[len(gccgo_report.params):]:
        out.append(f"  {extra.name:<12} {extra.abi:<22} | (absent)")
    if gccgo_report.abi_note:
        out.append(f"  gccgo: {gccgo_report.abi_note}")
    return out
