"""From a binary (or a BTF file) to the usable outputs the CLI writes.

One place that chains the steps, so that ``btf final`` and ``btf header``
(and probe's snippets) make the same BTF the same way: the final BTF of a
binary (:mod:`dwarfdiag.usable.final`), optionally its kernel profile
(:mod:`dwarfdiag.usable.kernel`), and the C header of chosen types
(:mod:`dwarfdiag.usable.header`).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable

from dwarfdiag.analysis import BinaryAnalysis
from dwarfdiag.btf.model import Btf
from dwarfdiag.dwarf.typegraph import TypeGraph
from dwarfdiag.target import Target

PROFILES = ("pahole", "kernel")


@dataclass
class Made:
    btf: Btf
    provenance: Mapping[int, dict]
    names: dict[str, str] = field(default_factory=dict)  # C name -> Go name
    changes: list[str] = field(default_factory=list)
    dropped: list[tuple[str, str]] = field(default_factory=list)  # functions pahole leaves out
    analysis: BinaryAnalysis | None = None  # the binary's, when the BTF is made from a binary
    types_from: str = "btf"  # dwarf, runtime (a binary's type descriptors) or btf (a file)

    @property
    def graph(self) -> TypeGraph | None:
        """The binary's TypeGraph, read (or taken from the cache) when first asked for:
        the header and probe want its DIEs, ``btf final`` with a cached encoding none."""
        return self.analysis.graph if self.analysis is not None else None


def make_btf(given: Target | Path, profile: str = "pahole", compat: str | None = None,
             libbpf: str = "1.7", progress: Callable[[str], None] | None = None,
             function_bodies: bool = False) -> Made:
    """The final BTF of a target (from its DWARF), or the BTF in a file, in
    ``profile``. ``function_bodies``: the caller wants every function's DIEs from
    ``made.graph`` (a probe's parameters); the header wants types only."""
    from dwarfdiag.errors import BadInputError

    say = progress or (lambda text: None)
    if profile not in PROFILES:
        raise BadInputError(f"--for {profile}: choose {' or '.join(PROFILES)}")
    if compat is not None and profile != "kernel":
        raise BadInputError("--compat rewrites the kernel profile: give --for kernel too")
    if isinstance(given, Target):
        from dwarfdiag.usable.final import final_btf

        analysis = BinaryAnalysis(given, function_bodies=function_bodies)
        say(f"reading {given.types_file} and encoding it")
        analysis.encoded
        say(f"deduplicating as libbpf {libbpf}")
        final = final_btf(analysis, libbpf)
        made = Made(final.btf, final.provenance, dropped=final.dropped, analysis=analysis,
                    types_from=given.types_from)
    else:
        from dwarfdiag.btf.files import load_btf

        btf = load_btf(given)
        made = Made(btf, _go_provenance(btf))
    if profile == "kernel":
        from dwarfdiag.usable.kernel import for_kernel

        say("making the kernel profile")
        usable = for_kernel(made.btf, made.provenance, compat)
        made.btf, made.names, made.changes = usable.btf, usable.names, usable.changes
        made.provenance = usable.provenance
    return made


def make_header(given: Target | Path, types: list[str] | None,
                progress: Callable[[str], None] | None = None):
    """The C header of ``types`` (all named types when None) of a target or BTF file."""
    from dwarfdiag.usable.header import c_header

    made = make_btf(given, "kernel", "1.1", progress=progress)
    binary = given.binary if isinstance(given, Target) else Path(given)
    return c_header(made.btf, made.names, made.provenance, made.graph, types, binary.name,
                    str(binary))


# a package-qualified Go type name: runtime.g, internal/abi.Type, k8s.io/api/core/v1.Pod
_GO_QUALIFIED = __import__("re").compile(r"^[\w.-]+(/[\w.-]+)*\.[\w]+")


def _go_provenance(btf: Btf) -> dict[int, dict]:
    """Provenance for BTF read from a file, which has none: if its names are Go's
    (package-qualified, as no C type is), every type is taken to be Go's, so Go's
    predeclared types get their go_ names in the kernel profile as they do from DWARF."""
    names = [btf.name_of(t) for _, t in btf.iter_types() if t.name_off]
    if not any(_GO_QUALIFIED.match(n) and "." in n for n in names[:5000]):
        return {}
    return {type_id: {"compiler": "gc"} for type_id, _ in btf.iter_types()}
