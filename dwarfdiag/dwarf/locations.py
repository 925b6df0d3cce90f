"""Where DWARF says a parameter is at a given pc: location lists and expressions.

Used by probe (arguments at a uprobe) and by the final BTF (pahole leaves out
functions whose parameters are not where the ABI puts them).

Only what entry-time argument locations need: DWARF 5 ``.debug_loclists``
(DW_LLE_* entries) and DWARF 4 ``.debug_loc``, evaluated at one pc, and the
expression forms compilers use for arguments: ``DW_OP_regN``/``regx``
(with ``DW_OP_piece`` for multi-register values), ``DW_OP_fbreg`` against a
``DW_OP_call_frame_cfa`` frame base, and ``DW_OP_bregN``.
"""

from __future__ import annotations

import struct
from dataclasses import dataclass, field

from pathlib import Path

from dwarfdiag.dwarf.constants import At
from dwarfdiag.dwarf.reader import sleb, uleb
from dwarfdiag.dwarf.typegraph import Die, TypeGraph

# DWARF register numbers on x86-64 (System V psABI, table 3.36)
X86_64_REGS = ["rax", "rdx", "rcx", "rbx", "rsi", "rdi", "rbp", "rsp", "r8", "r9", "r10", "r11",
               "r12", "r13", "r14", "r15", "rip"] + [f"xmm{i}" for i in range(16)]


@dataclass
class Piece:
    register: str | None = None  # a register, or
    cfa_offset: int | None = None  # a stack slot at CFA + offset (CFA = rsp + 8 at entry)
    size: int | None = None  # bytes, for DW_OP_piece


@dataclass
class Location:
    pieces: list[Piece] = field(default_factory=list)
    note: str = ""  # why there is no usable location

    def describe(self) -> str:
        if not self.pieces:
            return self.note or "unknown"
        return " + ".join(p.register if p.register else f"[rsp{8 + p.cfa_offset:+d}]"
                          for p in self.pieces if p.register or p.cfa_offset is not None)


def decode_expr(expr: bytes, frame_base_is_cfa: bool = True) -> Location:
    loc, p = Location(), 0
    current: Piece | None = None
    while p < len(expr):
        op = expr[p]
        p += 1
        if 0x50 <= op <= 0x6F:  # DW_OP_reg0..31
            current = Piece(register=_reg(op - 0x50))
        elif op == 0x90:  # DW_OP_regx
            n, p = uleb(expr, p)
            current = Piece(register=_reg(n))
        elif op == 0x91:  # DW_OP_fbreg
            off, p = sleb(expr, p)
            if not frame_base_is_cfa:
                return Location(note="frame-base relative (valid after the prologue)")
            current = Piece(cfa_offset=off)
        elif op == 0x9C:  # DW_OP_call_frame_cfa: the value sits at the CFA itself
            current = Piece(cfa_offset=0)
        elif op == 0x23 and current is not None and current.cfa_offset is not None:
            add, p = uleb(expr, p)  # DW_OP_plus_uconst after a stack address
            current.cfa_offset += add
        elif op == 0x77:  # DW_OP_breg7 (rsp)
            off, p = sleb(expr, p)
            current = Piece(cfa_offset=off - 8)
        elif op == 0x93:  # DW_OP_piece
            size, p = uleb(expr, p)
            if current is not None:
                current.size = size
                loc.pieces.append(current)
            else:
                loc.pieces.append(Piece(size=size))  # optimised-out piece
            current = None
        elif op == 0x9F:  # DW_OP_stack_value: a value, not a location
            return Location(note="computed value, not a location")
        else:
            return Location(note=f"expression with DW_OP {op:#x}")
    if current is not None:
        loc.pieces.append(current)
    return loc


def _reg(n: int) -> str:
    return X86_64_REGS[n] if n < len(X86_64_REGS) else f"reg{n}"


def loclist_at(data: bytes, offset: int, pc: int | None, base: int, version: int,
               addrx=None) -> bytes | None:
    """The expression of the list at ``offset`` that covers ``pc`` (None if none does);
    with ``pc`` None, the list's first expression."""
    try:
        if version >= 5:
            return _loclists(data, offset, pc, base, addrx)
        return _loc(data, offset, pc, base)
    except (IndexError, struct.error):
        return None


def _loclists(d: bytes, p: int, pc: int, base: int, addrx) -> bytes | None:
    while True:
        kind = d[p]
        p += 1
        if kind == 0:  # end_of_list
            return None
        if kind == 1:  # base_addressx
            i, p = uleb(d, p)
            base = addrx(i) if addrx else base
            continue
        if kind == 6:  # base_address
            base, = struct.unpack_from("<Q", d, p)
            p += 8
            continue
        if kind == 2:  # startx_endx
            a, p = uleb(d, p)
            b, p = uleb(d, p)
            lo, hi = (addrx(a), addrx(b)) if addrx else (None, None)
        elif kind == 3:  # startx_length
            a, p = uleb(d, p)
            n, p = uleb(d, p)
            lo = addrx(a) if addrx else None
            hi = lo + n if lo is not None else None
        elif kind == 4:  # offset_pair
            a, p = uleb(d, p)
            b, p = uleb(d, p)
            lo, hi = base + a, base + b
        elif kind == 5:  # default_location
            lo, hi = 0, 1 << 64
        elif kind == 7:  # start_end
            lo, hi = struct.unpack_from("<QQ", d, p)
            p += 16
        elif kind == 8:  # start_length
            lo, = struct.unpack_from("<Q", d, p)
            p += 8
            n, p = uleb(d, p)
            hi = lo + n
        else:
            return None
        n, p = uleb(d, p)
        expr = d[p:p + n]
        p += n
        if pc is None or (lo is not None and lo <= pc < hi):
            return expr


def _loc(d: bytes, p: int, pc: int, base: int) -> bytes | None:
    while True:
        lo, hi = struct.unpack_from("<QQ", d, p)
        p += 16
        if lo == 0 and hi == 0:
            return None
        if lo == 0xFFFFFFFFFFFFFFFF:
            base = hi
            continue
        n, = struct.unpack_from("<H", d, p)
        p += 2
        expr = d[p:p + n]
        p += n
        if pc is None or base + lo <= pc < base + hi:
            return expr


def entry_location(g: TypeGraph, func: Die, p: Die, first: bool = False) -> Location:
    """Where DWARF puts parameter ``p`` of ``func`` at the function's entry pc (``first``:
    the first entry of its location list, wherever it applies, as pahole reads it)."""
    value = p.attrs.get(At.location)
    if value is None:
        return Location(note="no DW_AT_location (optimised out)")
    if isinstance(value, bytes):
        return decode_expr(value)
    pc = None if first else func.attrs.get(At.low_pc)
    expr = _loclist_expr(g, g.unit(func), value, pc) if (pc is not None or first) else None
    if expr is None:
        return Location(note="no location list entry covers the entry pc")
    return decode_expr(expr)


def _loclist_expr(g: TypeGraph, unit, offset: int, pc: int | None) -> bytes | None:
    from dwarfdiag.dwarf.reader import Context
    from dwarfdiag.dwarf.sections import read_sections

    cache = g.memo.setdefault("loc_sections", {})
    if "s" not in cache:
        cache["s"] = read_sections(Path(g.source), (".debug_loclists", ".debug_loc", ".debug_addr",
                                                    ".debug_str", ".debug_str_offsets"))
    sections = cache["s"]
    cu_die = g.die(unit.offset)
    base = cu_die.attrs.get(At.low_pc) or 0 if cu_die is not None else 0
    if unit.version >= 5:
        ctx = Context(sections)
        ctx.addr_base = cu_die.attrs.get(At.addr_base, 8) if cu_die is not None else 8
        return loclist_at(sections.get(".debug_loclists"), offset, pc, base, 5, ctx.addrx)
    return loclist_at(sections.get(".debug_loc"), offset, pc, base, 4)
