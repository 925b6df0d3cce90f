"""Go reproducers for minimal failing sets: same type shapes, verified by real pahole.

The failing subset's BTF is turned back into Go declarations:

* a TYPEDEF becomes a named Go type (``type stateFn func(...)``), named
  after the original's last component;
* PTR ``*T``, ARRAY ``[n]T``, FUNC_PROTO ``func(...)`` (gc lists results as
  parameters in DWARF, so they come back as parameters: the shape, and the
  cycle, stay the same), CONST/VOLATILE/RESTRICT are transparent;
* a STRUCT/UNION becomes a named struct (a stub keeps its size as a byte
  array), an INT its Go basic type by name or size.

Go only allows recursion through named types; a cycle with no named type on
it (which gc never emits, only an inconsistent encoder) cannot be written
in Go, and the reproducer says so. Every type gets a package-level variable
that ``main`` passes to a ``//go:noinline`` sink, so the linker keeps the
types and their DWARF.

The program is built with the original's compiler family through the corpus
builder (cached by source), and each verification toolchain's real pahole
runs on it.
"""

from __future__ import annotations

import re
from dataclasses import asdict, dataclass, field
from pathlib import Path

from dwarfdiag.btf.model import Btf, BtfKind, IntEncoding

K = BtfKind
GO_BASIC = {"int", "int8", "int16", "int32", "int64", "uint", "uint8", "uint16", "uint32",
            "uint64", "uintptr", "bool", "float32", "float64", "complex64", "complex128",
            "byte", "rune"}
TRANSPARENT = (K.CONST, K.VOLATILE, K.RESTRICT, K.TYPE_TAG)


class NotExpressible(Exception):
    """The type graph has a shape Go cannot declare."""


@dataclass
class Reproducer:
    directory: str
    source: str
    verdicts: dict[str, str] = field(default_factory=dict)  # toolchain -> encodes/fails/...
    build: str = ""  # "built", or why not
    note: str = ""

    def as_dict(self) -> dict:
        return asdict(self)


def go_source(btf: Btf) -> str:
    """A main package declaring every type of ``btf`` (may raise NotExpressible)."""
    return _Synth(btf).source()


class _Synth:
    def __init__(self, btf: Btf):
        self.btf = btf
        self.names: dict[int, str] = {}  # type id -> declared Go name
        self.decls: list[str] = []
        self.used_names: set[str] = set()
        self.needs_unsafe = False
        for type_id, t in btf.iter_types():
            if t.kind in (K.TYPEDEF, K.STRUCT, K.UNION, K.FWD):
                base = _go_ident(btf.name_of(t)) or f"T{type_id}"
                if t.kind != K.TYPEDEF:
                    base = f"{base}_{t.kind.name.lower()}"
                self.names[type_id] = self._unique(base)

    def _unique(self, base: str) -> str:
        name, n = base, 2
        while name in self.used_names or name in GO_BASIC or name in ("main", "sink", "use"):
            name, n = f"{base}_{n}", n + 1
        self.used_names.add(name)
        return name

    def expr(self, type_id: int, visiting: tuple = ()) -> str:
        if type_id == 0:
            self.needs_unsafe = True
            return "unsafe.Pointer"
        if type_id in self.names:
            return self.names[type_id]
        if type_id in visiting:
            raise NotExpressible(f"type [{type_id}] is on a cycle with no named type; "
                                 f"Go cannot declare it")
        t = self.btf.type_by_id(type_id)
        inner = visiting + (type_id,)
        if t.kind == K.PTR:
            if t.type == 0:
                self.needs_unsafe = True
                return "unsafe.Pointer"
            return "*" + self.expr(t.type, inner)
        if t.kind == K.ARRAY:
            return f"[{t.array.nelems}]" + self.expr(t.array.type, inner)
        if t.kind in TRANSPARENT:
            return self.expr(t.type, inner)
        if t.kind == K.FUNC_PROTO:
            params = [self.expr(p.type, inner) for p in t.params if p.type != 0]
            ret = f" {self.expr(t.type, inner)}" if t.type else ""
            return f"func({', '.join(params)}){ret}"
        if t.kind == K.INT:
            return _int_type(self.btf.name_of(t), t.size, t.int_encoding)
        if t.kind == K.FLOAT:
            return "float32" if t.size <= 4 else "float64"
        if t.kind in (K.ENUM, K.ENUM64):
            return "int32" if t.size <= 4 else "int64"
        return "struct{}"

    def source(self) -> str:
        for type_id, name in sorted(self.names.items()):
            t = self.btf.type_by_id(type_id)
            if t.kind == K.TYPEDEF:
                body = self.expr(t.type) if t.type else "struct{}"
                if body == name:  # a typedef of itself cannot be declared
                    body = "struct{}"
            elif t.kind in (K.STRUCT, K.UNION):
                body = self._struct(t)
            else:  # FWD
                body = "struct{}"
            original = self.btf.name_of(t) or "(anon)"
            self.decls.append(f"// {t.kind.name} {original!r}\ntype {name} {body}\n")
        variables = [f"var v{i} {name}" for i, name in enumerate(sorted(self.names.values()))]
        uses = "\n".join(f"\tsink(&v{i})" for i in range(len(variables)))
        imports = 'import "unsafe"\n\n' if self.needs_unsafe else ""
        return ("// Code generated by dwarfdiag bisect: the shapes of one minimal failing type\n"
                "// set, for pahole to encode. Build it and run pahole --btf_encode_detached.\n"
                "package main\n\n" + imports + "\n".join(self.decls) + "\n"
                + "\n".join(variables) + "\n\n//go:noinline\nfunc sink(v interface{}) { _ = v }\n\n"
                "func main() {\n" + uses + "\n}\n")

    def _struct(self, t) -> str:
        if not t.members:
            return f"struct{{ _ [{t.size}]byte }}" if t.size else "struct{}"
        fields = []
        for i, m in enumerate(t.members):
            fields.append(f"\tF{i} {self.expr(m.type)}")
        return "struct {\n" + "\n".join(fields) + "\n}"


def _go_ident(name: str) -> str:
    """The last component of a Go name, as an identifier: main.stateFn -> stateFn."""
    if not name:
        return ""
    tail = re.split(r"[./]", name.strip("."))[-1]
    ident = re.sub(r"\W", "_", tail)
    if not ident or ident[0].isdigit():
        ident = "T_" + ident
    return ident


def _int_type(name: str, size: int, encoding: int) -> str:
    if name in GO_BASIC:
        return name
    if encoding == IntEncoding.BOOL:
        return "bool"
    bits = {1: 8, 2: 16, 4: 32, 8: 64}.get(size)
    if bits is None:
        return f"[{size}]byte"
    return f"int{bits}" if encoding == IntEncoding.SIGNED else f"uint{bits}"


def write_and_verify(btf: Btf, directory: Path, family: str,
                     toolchains: list[str]) -> Reproducer:
    """Write ``directory/main.go`` (+ meta), build it, and run each toolchain's pahole."""
    directory.mkdir(parents=True, exist_ok=True)
    try:
        source = go_source(btf)
    except NotExpressible as e:
        return Reproducer(str(directory), "", build="not expressible in Go", note=str(e))
    (directory / "main.go").write_text(source)
    (directory / "meta.toml").write_text(
        'level = 0\nfeatures = ["bisect reproducer"]\nmin_go = "1.17"\n'
        'description = "minimal failing type set found by dwarfdiag bisect"\n')
    (directory / "README").write_text(
        "Reproduce: go build -gcflags=all='-N -l' -o repro . && "
        "pahole --btf_encode_detached=repro.btf repro\n"
        "(or: dwarfdiag corpus matrix style, via dwarfdiag btf capture repro)\n")
    from dwarfdiag.toolchains.pahole import encode_detached
    from dwarfdiag.toolchains.suites import ensure
    from dwarfdiag.corpus.build import build
    from dwarfdiag.corpus.catalogue import load_program
    from dwarfdiag.toolchains.go import gc, gccgo

    compiler = gc() if family == "gc" else gccgo()
    built = build(load_program(directory), compiler)
    repro = Reproducer(str(directory), source, build=built.status)
    if built.status != "built":
        repro.note = built.message[-500:]
        return repro
    for name in toolchains:
        run = encode_detached(ensure(name).pahole_argv(), Path(built.binary))
        repro.verdicts[name] = "encodes" if run.encoded else "fails"
    return repro
