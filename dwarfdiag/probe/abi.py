"""Argument locations at function entry, from the calling convention and the DWARF types.

* gc, amd64 ABIInternal (Go's ``abi-internal.md``): integer registers RAX,
  RBX, RCX, RDI, RSI, R8, R9, R10, R11 and floating-point X0-X14, assigned
  argument by argument. An argument is broken into its scalar parts
  (a string is pointer + length, a slice pointer + length + capacity, an
  interface two words, a struct its fields in order, an array of length 1
  its element, a complex number two floats); if all parts fit in the
  remaining registers they get them, otherwise the whole argument goes to
  the stack, aligned, in the arguments area that starts at 8(SP) at entry.
  An array longer than one element always goes to the stack.
* gccgo, System V AMD64: each argument is classified per eightbyte (SSE if
  only floats, else INTEGER); anything over 16 bytes is MEMORY and goes to
  the stack. RDI, RSI, RDX, RCX, R8, R9 and XMM0-7; an argument that does
  not fit whole goes to the stack. A result over 16 bytes is returned
  through a hidden pointer in RDI, which shifts the arguments.

Types are read from the DWARF of each parameter, so every Go type shape the
compiler emitted is handled the same way.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from dwarfdiag.dwarf.constants import ATE_complex_float, ATE_float, At, Tag
from dwarfdiag.dwarf.typegraph import Die, TypeGraph

GC_INT = ["rax", "rbx", "rcx", "rdi", "rsi", "r8", "r9", "r10", "r11"]
GC_FLOAT = [f"xmm{i}" for i in range(15)]
SYSV_INT = ["rdi", "rsi", "rdx", "rcx", "r8", "r9"]
SYSV_SSE = [f"xmm{i}" for i in range(8)]
TRANSPARENT = (Tag.typedef, Tag.const_type, Tag.volatile_type)


class NotInRegisters(Exception):
    """gc: an array longer than one element, which ABIInternal never puts in registers."""


@dataclass
class Leaf:
    offset: int
    size: int
    is_float: bool


@dataclass
class ArgLocation:
    registers: list[str] = field(default_factory=list)
    stack_offset: int | None = None  # bytes from RSP at entry
    size: int = 0

    def describe(self) -> str:
        if self.registers:
            return " + ".join(self.registers)
        if self.stack_offset is not None:
            return f"[rsp{self.stack_offset:+d}]"
        return "nothing (zero-sized)"


def underlying(g: TypeGraph, die: Die | None) -> Die | None:
    seen = 0
    while die is not None and die.tag in TRANSPARENT and seen < 32:
        die = g.die(die.type) if die.type else None
        seen += 1
    return die


def size_of(g: TypeGraph, die: Die | None) -> int:
    die = underlying(g, die)
    if die is None:
        return 0
    if At.byte_size in die.attrs:
        return die.attrs[At.byte_size]
    if die.tag == Tag.array_type:
        return _count(g, die) * size_of(g, g.die(die.type) if die.type else None)
    return 8 if die.tag in (Tag.pointer_type, Tag.subroutine_type) else 0


def align_of(g: TypeGraph, die: Die | None) -> int:
    leaves = flatten(g, die, gc_arrays=False)
    return max((min(leaf.size, 8) for leaf in leaves), default=1)


def _count(g: TypeGraph, die: Die) -> int:
    for sub in g.children(die):
        if sub.tag == Tag.subrange_type:
            if At.count in sub.attrs:
                return sub.attrs[At.count]
            if At.upper_bound in sub.attrs:
                return sub.attrs[At.upper_bound] + 1
    return 0


def flatten(g: TypeGraph, die: Die | None, base: int = 0, gc_arrays: bool = True) -> list[Leaf]:
    """The scalar parts of a type, in order, with their offsets."""
    die = underlying(g, die)
    if die is None:
        return []
    tag = die.tag
    if tag == Tag.base_type:
        size = die.attrs.get(At.byte_size, 8)
        enc = die.attrs.get(At.encoding)
        if enc == ATE_complex_float:
            half = size // 2
            return [Leaf(base, half, True), Leaf(base + half, half, True)]
        return [Leaf(base, size, enc == ATE_float)] if size else []
    if tag in (Tag.structure_type, Tag.union_type, Tag.class_type):
        out = []
        for m in g.children(die):
            if m.tag == Tag.member:
                loc = m.attrs.get(At.data_member_location, 0)
                offset = loc if isinstance(loc, int) else 0
                out += flatten(g, g.die(m.type) if m.type else None, base + offset, gc_arrays)
        return out
    if tag == Tag.array_type:
        n = _count(g, die)
        elem = g.die(die.type) if die.type else None
        if gc_arrays and n > 1:
            raise NotInRegisters()
        step = size_of(g, elem)
        return [leaf for i in range(n) for leaf in flatten(g, elem, base + i * step, gc_arrays)]
    if tag == Tag.enumeration_type:
        return [Leaf(base, die.attrs.get(At.byte_size, 4), False)]
    return [Leaf(base, 8, False)]  # pointers, func values, maps, chans, unsafe.Pointer


def gc_assign(g: TypeGraph, params: list[Die]) -> list[ArgLocation]:
    ni = nf = 0
    stack = 8  # the arguments area starts just above the return address
    out = []
    for p in params:
        t = g.die(p.type) if p.type else None
        size = size_of(g, t)
        try:
            leaves = flatten(g, t)
            n_int = sum(1 for leaf in leaves if not leaf.is_float)
            n_flt = len(leaves) - n_int
            fits = ni + n_int <= len(GC_INT) and nf + n_flt <= len(GC_FLOAT)
        except NotInRegisters:
            leaves, fits = [], False
        if fits:
            regs, ni, nf = _take([leaf.is_float for leaf in leaves], GC_INT, GC_FLOAT, ni, nf)
            out.append(ArgLocation(regs, None, size))
        elif size == 0:
            out.append(ArgLocation([], None, 0))
        else:
            align = align_of(g, t)
            stack = (stack + align - 1) // align * align
            out.append(ArgLocation([], stack, size))
            stack += size
    return out


def sysv_assign(g: TypeGraph, params: list[Die],
                result: Die | None = None) -> tuple[list[ArgLocation], str]:
    ni = nf = 0
    note = ""
    if result is not None and size_of(g, result) > 16:
        ni, note = 1, "rdi holds the hidden pointer to the (over 16-byte) result"
    stack = 8
    out = []
    for p in params:
        t = g.die(p.type) if p.type else None
        size = size_of(g, t)
        classes = _eightbytes(g, t, size)
        need_i = sum(1 for c in classes if c == "INTEGER")
        need_f = len(classes) - need_i
        if classes and ni + need_i <= len(SYSV_INT) and nf + need_f <= len(SYSV_SSE):
            regs, ni, nf = _take([c == "SSE" for c in classes], SYSV_INT, SYSV_SSE, ni, nf)
            out.append(ArgLocation(regs, None, size))
        elif size == 0:
            out.append(ArgLocation([], None, 0))
        else:
            out.append(ArgLocation([], stack, size))
            stack += (size + 7) // 8 * 8
    return out, note


def _take(is_float: list[bool], int_regs: list[str], float_regs: list[str],
          ni: int, nf: int) -> tuple[list[str], int, int]:
    """The next registers for parts that are known to fit, and the new counts."""
    regs = []
    for flt in is_float:
        if flt:
            regs.append(float_regs[nf])
            nf += 1
        else:
            regs.append(int_regs[ni])
            ni += 1
    return regs, ni, nf


def _eightbytes(g: TypeGraph, t: Die | None, size: int) -> list[str]:
    """psABI classification; [] means MEMORY (or nothing to pass)."""
    if size == 0 or size > 16:
        return []
    classes: list[str | None] = [None] * ((size + 7) // 8)
    for leaf in flatten(g, t, gc_arrays=False):
        i = min(leaf.offset // 8, len(classes) - 1)
        kind = "SSE" if leaf.is_float else "INTEGER"
        classes[i] = "INTEGER" if "INTEGER" in (classes[i], kind) else "SSE"
    return [c or "SSE" for c in classes]
