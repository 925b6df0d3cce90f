"""``dwarfdiag inspect``: what a binary offers to read its types and functions from.

For one target: the compiler and (for a Go binary) the Go version, main module,
dependencies and build settings from its build information; whether it has
DWARF, and where (in itself, or the debug file found, and how); and what each
source gives: the types and the function signatures DWARF describes, and the
functions (pclntab), type descriptors and method signatures the Go runtime's
own metadata keeps, which is all a stripped build has.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field

from dwarfdiag.dwarf.constants import At, Tag
from dwarfdiag.target import Target

TYPE_TAGS = (Tag.structure_type, Tag.union_type, Tag.typedef, Tag.base_type,
             Tag.enumeration_type)


@dataclass
class Inspection:
    binary: str
    arch: str
    compiler: str
    go_version: str | None  # from the build information
    main_module: str | None
    path: str | None  # the main package
    dependencies: list[dict] = field(default_factory=list)
    settings: dict[str, str] = field(default_factory=dict)
    pie: bool = False
    dwarf: str | None = None  # the file the DWARF is in, or None
    dwarf_from: str = ""
    types_from: str = "dwarf"  # what dwarfdiag reads by default
    dwarf_types: int | None = None  # named types in DWARF
    dwarf_functions: int | None = None  # subprograms with code in DWARF
    pclntab_functions: int | None = None
    descriptors: int | None = None
    descriptors_by_root: dict[str, int] = field(default_factory=dict)
    named_descriptors: int | None = None
    method_signatures: int | None = None  # functions whose signature the descriptors keep
    notes: list[str] = field(default_factory=list)

    def lines(self) -> list[str]:
        out = [f"{self.binary}: {self.arch}, {self.compiler}"
               + (f" ({self.go_version})" if self.go_version else "")]
        if self.path or self.main_module:
            out.append(f"  main package {self.path or '?'}, module {self.main_module or '?'}, "
                       f"{len(self.dependencies)} dependencies")
        shown = {k: v for k, v in self.settings.items()
                 if k in ("-ldflags", "-gcflags", "CGO_ENABLED", "GOEXPERIMENT", "-buildmode")}
        if shown:
            out.append("  built with " + ", ".join(f"{k}={v}" for k, v in shown.items()))
        if self.dwarf:
            out.append(f"  DWARF: {self.dwarf} ({self.dwarf_from}): {self.dwarf_types} named "
                       f"types, {self.dwarf_functions} functions with code")
        else:
            out.append("  DWARF: none (no .debug_info, no debug file found)")
        if self.pclntab_functions is not None:
            out.append(f"  Go runtime metadata: {self.pclntab_functions} functions (pclntab), "
                       f"{self.descriptors} type descriptors ({self.named_descriptors} named; "
                       + ", ".join(f"{n} {how}" for how, n in
                                   sorted(self.descriptors_by_root.items()))
                       + f"), {self.method_signatures} functions with a signature (methods "
                         f"whose func type the linker kept)")
        out.append(f"  types read from: {self.types_from}"
                   + ("" if self.types_from == "dwarf" else
                      " (the runtime's descriptors; --signature supplies a function's "
                      "signature where none was kept)"))
        out += [f"  note: {n}" for n in self.notes]
        return out


def inspect(target: Target) -> Inspection:
    elf = target.elf
    family, version = target.compiler
    out = Inspection(str(target.binary), elf.arch, family, None, None, None,
                     dwarf=str(target.dwarf) if target.dwarf else None,
                     dwarf_from=target.dwarf_from if target.dwarf else "",
                     types_from=target.types_from, pie=elf.type == 3)
    from dwarfdiag.gometa import has_runtime_metadata

    if has_runtime_metadata(elf):
        runtime = target.runtime
        info = runtime.buildinfo
        out.go_version, out.path = info.go_version, info.path
        out.main_module = f"{info.main.path}@{info.main.version}" if info.main else None
        out.dependencies = [{"path": d.path, "version": d.version} for d in info.deps]
        out.settings = dict(info.settings)
        out.pclntab_functions = len(runtime.functions)
        descriptors = runtime.descriptors
        out.descriptors = len(descriptors)
        out.named_descriptors = sum(1 for d in descriptors.values() if d.named)
        out.descriptors_by_root = dict(Counter(d.found_by for d in descriptors.values()))
        out.method_signatures = len(runtime.methods())
        if out.pie:
            out.notes.append("position-independent (PIE): pointers read through its "
                             "relative relocations")
        if elf.section(".interp") is not None:
            out.notes.append("dynamically linked (cgo, or -linkmode=external): its C "
                             "functions have no Go metadata; only DWARF describes them")
    if target.dwarf is not None:
        from dwarfdiag.dwarf.loader import load_typegraph

        g = load_typegraph(target.dwarf, function_bodies=False)
        out.dwarf_types = sum(1 for d in g if d.name and d.tag in TYPE_TAGS
                              and not d.attrs.get(At.declaration))
        out.dwarf_functions = sum(1 for d in g if d.tag == Tag.subprogram
                                  and d.attrs.get(At.low_pc))
    return out
