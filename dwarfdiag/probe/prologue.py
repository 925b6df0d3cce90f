"""The first instructions of a function, with what matters for a uprobe marked.

gc functions start with a stack-growth check (``cmp rsp, [r14+0x10]; jbe``
to a ``runtime.morestack`` call at the end); gccgo's split stack compares
``rsp`` with ``fs:0x70`` and calls ``__morestack``. The frame is set up by
``push rbp; mov rbp, rsp`` and ``sub rsp, N``. A uprobe at the symbol
address fires before all of that, where the argument registers are intact.
"""

from __future__ import annotations

from dataclasses import dataclass

import capstone


@dataclass
class Insn:
    address: int
    text: str
    mark: str = ""


def disassemble(code: bytes, address: int, count: int = 16) -> list[Insn]:
    md = capstone.Cs(capstone.CS_ARCH_X86, capstone.CS_MODE_64)
    out: list[Insn] = []
    frame_done = False
    for ins in md.disasm(code, address):
        text = f"{ins.mnemonic} {ins.op_str}".strip()
        mark = ""
        if ins.mnemonic == "cmp" and "[r14 + 0x10]" in ins.op_str:
            mark = "gc stack-growth check (compares the stack pointer with g.stackguard0)"
        elif ins.mnemonic == "cmp" and "fs:" in ins.op_str:
            mark = "gccgo split-stack check"  # against the stack limit in the TCB
        elif ins.mnemonic in ("jbe", "jb", "jae", "ja") and out and out[-1].mark.endswith("check"):
            mark = "branch of the stack check (morestack when the stack is too small)"
        elif (ins.mnemonic == "sub" and ins.op_str.startswith("rsp,")) or \
                (ins.mnemonic == "mov" and ins.op_str == "rbp, rsp"):
            mark = "frame setup"
        elif ins.mnemonic == "push" and ins.op_str == "rbp":
            mark = "frame setup"
        elif out and out[-1].mark == "frame setup" and not frame_done:
            mark = "first instruction after the frame is set up"
            frame_done = True
        out.append(Insn(ins.address, text, mark))
        if len(out) >= count:
            break
    return out


def return_sites(image, address: int, high: int | None) -> list[tuple[int, int]]:
    """Every ``ret`` of the function [address, high): (address, file offset)."""
    if not high:
        return []
    end = high if high > address else address + high  # DW_AT_high_pc as a length
    offset = image.offset_by_segments(address)
    if offset is None:
        return []
    code = image.read(offset, end - address)
    md = capstone.Cs(capstone.CS_ARCH_X86, capstone.CS_MODE_64)
    return [(i.address, offset + i.address - address) for i in md.disasm(code, address)
            if i.mnemonic == "ret"]
