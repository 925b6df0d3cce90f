"""The pclntab and the moduledata: every function's name, entry and argument size,
and where the type descriptors are.

``.gopclntab`` (``.data.rel.ro.gopclntab`` in some PIE builds) starts with the
``pcHeader`` (Go 1.20+: magic 0xfffffff1, pointer size, the function count,
then offsets from the header to the function-name table and to the function
table). The function table lists ``(entry offset, _func offset)`` pairs sorted
by entry; each ``_func`` gives the name offset, the argument area size
(``args``, what a Go caller reserves for the callee's arguments and results)
and the ``funcID``. Entry offsets are from the text base: ``pcHeader.textStart``
up to Go 1.25, the moduledata's ``text`` from 1.26 on.

The moduledata (``runtime.firstmoduledata``) ties it together: the text range,
the type descriptors' region (``types`` .. ``etypes``) and the lists of
descriptors and itabs. From Go 1.26 it sits at the start of ``.go.module``;
before, the linker puts it in ``.noptrdata``, and it is found the way the
runtime's own first field leads to it: the one pointer-sized word there that
holds the pcHeader's address and whose ``ftab`` slice points into the pclntab.
Layouts per version: :mod:`dwarfdiag.gometa.layouts`.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cached_property

from dwarfdiag.errors import BadInputError, UnsupportedError
from dwarfdiag.gometa.image import Image
from dwarfdiag.gometa.layouts import PCLNTAB_MAGIC, Layout

ARGS_SIZE_UNKNOWN = -0x80000000  # _func.args of a function whose size is not known
MAX_FUNCTIONS = 5_000_000  # a pclntab claiming more is corrupt


@dataclass(frozen=True)
class Function:
    name: str
    entry: int  # the address of its first instruction
    end: int  # the entry of the function after it (or the end of text)
    args: int  # the argument area (arguments and results), or ARGS_SIZE_UNKNOWN
    funcid: int
    wrapper: bool  # generated code (an ABI0 wrapper of an ABIInternal function, say)


@dataclass
class ModuleData:
    """The fields of ``runtime.moduledata`` dwarfdiag reads."""

    address: int
    pcheader: int
    funcnametab: int
    ftab: int  # the function table's address
    nftab: int
    text: int
    etext: int
    types: int
    etypes: int
    typelinks: tuple[int, int]  # (address, count) of []int32; (0, 0) from 1.27
    itablinks: tuple[int, int]  # (address, count) of []*itab; (0, 0) from 1.27
    typedesclen: int = 0  # 1.27
    itaboffset: int = 0  # 1.27
    itabsize: int = 0  # 1.27


class Pclntab:
    """The function table of a Go binary."""

    def __init__(self, image: Image, layout: Layout):
        self.image, self.layout = image, layout
        where = image.path
        section = image.section(".gopclntab", ".data.rel.ro.gopclntab")
        if section is None:
            raise BadInputError(f"{where}: no .gopclntab section: not a Go binary built by "
                                f"gc, or its section headers were removed")
        self.address = section.addr
        magic, _, _, min_lc, ptr_size, nfunc = image.unpack("IBBBBQ", self.address)
        if magic != PCLNTAB_MAGIC:
            raise UnsupportedError(f"{where}: .gopclntab magic {magic:#x}, not Go 1.20's "
                                   f"{PCLNTAB_MAGIC:#x}: dwarfdiag reads the runtime metadata of "
                                   f"Go 1.20 and later")
        if ptr_size != 8 or nfunc > MAX_FUNCTIONS:
            raise BadInputError(f"{where}: .gopclntab header is corrupt (pointer size "
                                f"{ptr_size}, {nfunc} functions)")
        self.nfunc, self.min_lc = nfunc, min_lc
        # nfiles, textStart, then the offsets (from the header) of the tables
        (_, self.text_start, funcname_off, _, _, _, pcln_off) = image.unpack(
            "QQQQQQQ", self.address + 16)
        self.funcnametab = self.address + funcname_off
        self.pclntable = self.address + pcln_off

    def functions(self, text: int, etext: int) -> list[Function]:
        """Every function, by entry (``text``: the base of entry offsets)."""
        image, where = self.image, self.image.path
        n = self.nfunc
        table = image.read(self.pclntable, (n + 1) * 8)
        import struct

        pairs = list(struct.iter_unpack(image.endian + "II", table))
        out = []
        for i in range(n):
            entry_off, func_off = pairs[i]
            end_off = pairs[i + 1][0]
            at = self.pclntable + func_off
            f_entry, name_off, args, _, _, _, _, _, _, _, funcid, _flag, _, _ = image.unpack(
                "IiiIIIIIIiBBBB", at)
            if f_entry != entry_off or name_off < 0:
                raise BadInputError(f"{where}: .gopclntab function {i} at {at:#x} disagrees "
                                    f"with its table entry; the table is corrupt")
            name = image.cstring(self.funcnametab + name_off).decode("utf-8", "replace")
            entry = text + entry_off
            end = text + end_off if i + 1 < n else etext
            out.append(Function(name, entry, max(end, entry), args, funcid,
                                funcid == self.layout.funcid_wrapper))
        return out


def find_moduledata(image: Image, pcln: Pclntab, layout: Layout) -> ModuleData:
    """The moduledata: at the start of ``.go.module`` (Go 1.26+), else the word in
    the data sections that points at the pcHeader and whose function table is the
    pclntab's."""
    where = image.path
    candidates: list[int] = []
    module = image.section(".go.module")
    if module is not None:
        candidates.append(module.addr)
    else:
        for name in (".noptrdata", ".data", ".data.rel.ro"):
            section = image.section(name)
            if section is None:
                continue
            data = image.elf.raw(section)
            target = pcln.address.to_bytes(8, "little" if image.endian == "<" else "big")
            at = data.find(target)
            while at >= 0:
                if at % 8 == 0:
                    candidates.append(section.addr + at)
                at = data.find(target, at + 1)
        # a PIE binary holds zeros there, its relocations the pcHeader's address
        candidates += [addr for addr, addend in image.relocations().items()
                       if addend == pcln.address]
    for addr in candidates:
        md = _decode(image, layout, addr)
        if md is not None and md.pcheader == pcln.address and md.ftab == pcln.pclntable:
            return md
    raise BadInputError(f"{where}: no moduledata points at the pclntab; the binary is not "
                        f"a Go executable dwarfdiag can read (a plugin, a shared library, or "
                        f"corrupt)")


def _decode(image: Image, layout: Layout, addr: int) -> ModuleData | None:
    f = layout.moduledata

    def ptr(name: str) -> int:
        return image.pointer(addr + f[name])

    try:
        md = ModuleData(addr, ptr("pcHeader"), ptr("funcnametab"), ptr("ftab"),
                        image.word(addr + f["ftab"] + 8), ptr("text"), ptr("etext"),
                        ptr("types"), ptr("etypes"), (0, 0), (0, 0))
        if layout.listed_in_typedesc:
            md.typedesclen = image.word(addr + f["typedesclen"])
            md.itaboffset = image.word(addr + f["itaboffset"])
            md.itabsize = image.word(addr + f["itabsize"])
        else:
            md.typelinks = image.slice(addr + f["typelinks"])
            md.itablinks = image.slice(addr + f["itablinks"])
    except BadInputError:
        return None
    return md


class Functions:
    """The functions of a binary, by name and by address."""

    def __init__(self, functions: list[Function]):
        self.all = functions

    @cached_property
    def by_name(self) -> dict[str, Function]:
        """One function per name: the ABIInternal body where an ABI0 wrapper shares
        its name (the wrapper is generated code; the body is what Go code calls)."""
        out: dict[str, Function] = {}
        for f in self.all:
            known = out.get(f.name)
            if known is None or (known.wrapper and not f.wrapper):
                out[f.name] = f
        return out

    def get(self, name: str) -> Function | None:
        return self.by_name.get(name)

    def __len__(self) -> int:
        return len(self.by_name)
