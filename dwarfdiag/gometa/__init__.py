"""A Go binary's runtime metadata, read without DWARF.

Every gc binary keeps what its runtime needs, stripped or not: ``.go.buildinfo``
(:mod:`~dwarfdiag.gometa.buildinfo`: the Go version, the modules), the pclntab
and the moduledata (:mod:`~dwarfdiag.gometa.pclntab`: every function's name,
entry and argument area, where the type descriptors are), and the type
descriptors themselves (:mod:`~dwarfdiag.gometa.descriptors`). Go 1.20 to 1.27,
64-bit (amd64 and arm64 decode alike), PIE and externally linked (cgo) builds;
the layouts per version are data (:mod:`~dwarfdiag.gometa.layouts`), chosen once
from the binary's own Go version.

:class:`GoRuntime` reads each part when first asked; :meth:`GoRuntime.typegraph`
turns the descriptors into the TypeGraph gc's linker would have written as
DWARF (:mod:`~dwarfdiag.gometa.typegraph`), for every stage after it.
"""

from __future__ import annotations

from functools import cached_property
from pathlib import Path

from dwarfdiag.elf import ElfFile
from dwarfdiag.errors import BadInputError
from dwarfdiag.gometa.buildinfo import BuildInfo, read_buildinfo
from dwarfdiag.gometa.descriptors import Descriptor, Descriptors
from dwarfdiag.gometa.image import Image
from dwarfdiag.gometa.layouts import Layout, layout_for
from dwarfdiag.gometa.names import Namer
from dwarfdiag.gometa.pclntab import Function, Functions, ModuleData, Pclntab, find_moduledata


def has_runtime_metadata(elf: ElfFile) -> bool:
    """Does this ELF carry gc's runtime metadata (a Go build info and a pclntab)?"""
    return bool(elf.section(".go.buildinfo")) and bool(
        elf.section(".gopclntab") or elf.section(".data.rel.ro.gopclntab"))


class GoRuntime:
    """The runtime metadata of one gc binary."""

    def __init__(self, path: Path, elf: ElfFile | None = None):
        self.path = Path(path)
        self.elf = elf or ElfFile(self.path)
        if not has_runtime_metadata(self.elf):
            raise BadInputError(f"{self.path}: no Go runtime metadata (.gopclntab and "
                                f".go.buildinfo): not a program built by gc")
        self.image = Image(self.elf)
        info = read_buildinfo(self.elf)
        if info is None:
            raise BadInputError(f"{self.path}: .go.buildinfo is not Go's build information")
        self.buildinfo: BuildInfo = info
        self.layout: Layout = layout_for(info.release, str(self.path), info.experiments)

    @cached_property
    def pclntab(self) -> Pclntab:
        return Pclntab(self.image, self.layout)

    @cached_property
    def moduledata(self) -> ModuleData:
        return find_moduledata(self.image, self.pclntab, self.layout)

    @cached_property
    def text_base(self) -> int:
        """What function entry offsets count from: pcHeader.textStart up to Go 1.25
        (zero in a PIE file, which relocates it), the moduledata's ``text`` after."""
        if self.layout.text_in_pcheader and self.pclntab.text_start:
            return self.pclntab.text_start
        return self.moduledata.text

    @cached_property
    def functions(self) -> Functions:
        md = self.moduledata
        return Functions(self.pclntab.functions(self.text_base, md.etext))

    @cached_property
    def descriptors(self) -> dict[int, Descriptor]:
        return Descriptors(self.image, self.layout, self.moduledata).read_all()

    @cached_property
    def namer(self) -> Namer:
        return Namer(self.descriptors, self.layout.swiss_maps, self.buildinfo.release)

    def type_name(self, addr: int) -> str:
        return self.namer.name(addr)

    def methods(self):
        """Every method whose signature the linker kept, at the code its receiver's
        method table names for direct calls (``tfn``), named as the pclntab names it."""
        from dwarfdiag.gometa.typegraph import MethodCode

        by_entry = {f.entry: f for f in self.functions.all}
        out, seen = [], set()
        for d in self.descriptors.values():
            for m in d.methods:
                code = by_entry.get(m.tfn) if m.tfn else None
                if code is None or not m.mtyp or code.entry in seen:
                    continue
                seen.add(code.entry)
                out.append(MethodCode(code.name, code.entry, code.end, d.address, m.mtyp))
        return out

    def typegraph(self, key: str = "", methods: bool = True):
        """The TypeGraph of the descriptors, as gc's DWARF would have it; with
        ``methods``, a subprogram for every method whose signature was kept (a probe
        wants them; the encoder makes no FUNC of a Go function, as pahole 1.30+)."""
        from dwarfdiag.gometa.typegraph import runtime_typegraph

        return runtime_typegraph(str(self.path), key, self.buildinfo.go_version,
                                 self.descriptors, self.namer, self.moduledata.types,
                                 self.layout, self.methods() if methods else [])

    def function(self, name: str) -> Function | None:
        return self.functions.get(name)


__all__ = ["GoRuntime", "has_runtime_metadata", "BuildInfo", "Function", "Descriptor"]
