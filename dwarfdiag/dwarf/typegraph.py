"""The TypeGraph: the DIEs BTF needs, with their provenance, as plain data.

A :class:`Die` keeps its DIE offset, tag, parent, compile unit and the
attributes the reader kept (``attrs``, keyed by DW_AT number; references are
absolute ``.debug_info`` offsets). Compile units carry the name gc gives
them (the Go package), the producer and the file table, so any DIE leads
back to its package, file and line. The graph serialises to ``marshal``
data for the on-disk cache (:mod:`dwarfdiag.dwarf.loader`).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from functools import cached_property
from typing import Callable, Iterable, Iterator

from dwarfdiag.dwarf import gonames
from dwarfdiag.dwarf.constants import At, Tag, tag_name
from dwarfdiag.dwarf.producers import GO_FAMILIES, compiler_of


# Plain ints for the two attributes every analysis reads millions of times:
# IntEnum member lookups cost a descriptor call each on Python 3.11.
_AT_NAME, _AT_TYPE = int(At.name), int(At.type)


class Die:
    __slots__ = ("offset", "tag", "parent", "cu", "attrs", "children")

    def __init__(self, offset: int, tag: int, parent: int, cu: int, attrs: dict):
        self.offset, self.tag, self.parent, self.cu, self.attrs = offset, tag, parent, cu, attrs
        # most DIEs have none: one shared empty tuple, a list from the first child on
        self.children: list[int] | tuple = ()

    @property
    def name(self) -> str | None:
        return self.attrs.get(_AT_NAME)

    @property
    def type(self) -> int | None:
        return self.attrs.get(_AT_TYPE)

    def __repr__(self) -> str:
        return f"<{tag_name(self.tag)} {self.name!r} at {self.offset:#x}>"


@dataclass
class CompileUnit:
    offset: int
    name: str  # gc: the Go package path; gccgo and C: the primary source file
    producer: str
    language: int
    version: int  # DWARF version of the unit
    files: list[str] = field(default_factory=list)
    # The Go package the unit compiles: gc names the unit after it; gccgo
    # names the unit after its source file and its own types unqualified,
    # so the loader takes the package most of the unit's functions carry.
    package: str | None = None

    @cached_property
    def compiler(self) -> str:  # cached: asked once per DIE by name matching
        """gc, gccgo, or c for every other compiler (its types are C's to BTF)."""
        family, _ = compiler_of(self.producer)
        return family if family in GO_FAMILIES else "c"


@dataclass
class TypeGraph:
    source: str  # path the graph was read from (for messages only)
    key: str  # content key: build-id or file hash plus the dwarfdiag version
    cus: list[CompileUnit]
    dies: dict[int, Die]  # by offset, in DIE order (dicts keep insertion order)
    functions: tuple[str, ...]  # STT_FUNC symbol names, sorted, duplicates kept
    die_count: int  # every DIE in .debug_info, kept or not
    compressed: bool
    # dwarf_versions, dies_by_tag (every DIE), attributes and forms (usage counts)
    stats: dict = field(default_factory=dict)
    # derived per-DIE values that analyses memoise (never serialised)
    memo: dict = field(default_factory=dict, repr=False, compare=False)
    cached: bool = field(default=False, compare=False)  # in the cache (read from it or written)
    # whether what lies inside functions is here (see FunctionBodies)
    function_bodies: bool = field(default=True, compare=False)
    # whether the bodies the encoder needs are (those of the functions pahole may
    # encode, see reader.pahole_may_encode): with all of them, or read for it alone
    encoder_bodies: bool = field(default=True, compare=False)

    def __iter__(self) -> Iterator[Die]:
        return iter(self.dies.values())

    def memo_table(self, name: str) -> dict:
        """The memo of one derived value, by DIE offset (made on first use)."""
        table = self.memo.get(name)
        if table is None:
            table = self.memo[name] = {}
        return table

    def die(self, offset: int) -> Die | None:
        return self.dies.get(offset)

    def children(self, die: Die) -> list[Die]:
        return [self.dies[c] for c in die.children]

    def unit(self, die: Die) -> CompileUnit:
        return self.cus[die.cu]

    def provenance(self, die: Die) -> dict:
        """Where a DIE comes from: offset, tag, names, package, file and line."""
        cu = self.cus[die.cu]
        raw = die.name
        name = gonames.normalise(raw, cu.compiler)
        package = gonames.package_of(name) if cu.compiler != "c" else None
        if package is None and name and "." not in name.lstrip("."):
            package = cu.package  # an unqualified name of the unit's own package
        out = {"die_offset": die.offset, "tag": tag_name(die.tag), "name": raw,
               "go_name": name if cu.compiler != "c" else None, "package": package,
               "cu": cu.name, "compiler": cu.compiler}
        if raw is None and cu.compiler != "c":
            owner = self.owner(die)
            if owner is not None:  # an anonymous type belongs to the named one it serves
                owner_name = gonames.normalise(owner.name, self.cus[owner.cu].compiler)
                out["owner"] = owner_name
                out["package"] = gonames.package_of(owner_name) or self.cus[owner.cu].package
        file_index = die.attrs.get(At.decl_file)
        if file_index is not None and 0 <= file_index < len(cu.files):
            out["file"] = cu.files[file_index]
        if At.decl_line in die.attrs:
            out["line"] = die.attrs[At.decl_line]
        if At.go_kind in die.attrs:
            out["go_kind"] = die.attrs[At.go_kind]
        if self.stats.get("types_from") == "runtime":
            # read from a descriptor, not from DWARF: its address is what to look at (a
            # named type's typedef, as gc's, has none: the type it names has)
            described = self.dies.get(die.type) if die.tag == Tag.typedef and die.type \
                else die
            if described is not None and At.go_runtime_type in described.attrs:
                out["descriptor"] = self.stats["types_base"] + \
                    described.attrs[At.go_runtime_type]
        return out

    def provenance_is_local(self, die: Die) -> bool:
        """Does :meth:`provenance` of ``die`` need no DIE but it and its unit (a Go
        type without a name takes its package from its owner)?"""
        return die.name is not None or self.cus[die.cu].compiler == "c"

    def owner(self, die: Die) -> Die | None:
        """The named type an anonymous type DIE belongs to.

        gc puts every type in the one unit ``runtime``, so the unit says nothing
        about where an anonymous type comes from. Its owner does: the typedef
        that names it (``type stateFn func(...)``: the subroutine type belongs
        to ``stateFn``), else the first named type that refers to it. None when
        nothing named refers to it.
        """
        owners = self.memo.get("owners")
        if owners is None:
            owners = self.memo["owners"] = self._owners()
        found = owners.get(die.offset)
        return self.dies.get(found) if found is not None else None

    def _owners(self) -> dict[int, int]:
        named_types = (Tag.typedef, Tag.structure_type, Tag.union_type, Tag.class_type,
                       Tag.enumeration_type)
        owners: dict[int, int] = {}
        anonymous_refs: list[tuple[int, int]] = []  # (anonymous referrer, anonymous target)
        for d in self:
            target = self.dies.get(d.type) if d.type is not None else None
            if target is None or target.name is not None:
                continue
            holder = d
            if d.tag in (Tag.member, Tag.formal_parameter):
                holder = self.dies.get(d.parent, d)
            if holder.name and holder.tag in named_types:
                # typedefs first: they are what names an anonymous Go type
                if d.tag == Tag.typedef or target.offset not in owners:
                    owners[target.offset] = holder.offset
            elif holder.name is None:
                anonymous_refs.append((holder.offset, target.offset))
        for _ in range(8):  # *func(), []*T ...: an owner reaches through anonymous chains
            changed = False
            for referrer, target in anonymous_refs:
                if referrer in owners and target not in owners:
                    owners[target] = owners[referrer]
                    changed = True
            if not changed:
                break
        return owners

    def drop_function_bodies(self) -> int:
        """Forget what lies inside functions and is no type (see :class:`FunctionBodies`);
        returns how many DIEs went. The graph is then no longer the whole DWARF (its
        statistics still describe the whole)."""
        bodies = FunctionBodies()
        dies = self.dies
        gone = [d.offset for d in dies.values() if bodies.drop(d.offset, d.tag, d.parent)]
        for offset in gone:
            del dies[offset]
        dropped = bodies.dropped
        for d in dies.values():
            if d.children and not dropped.isdisjoint(d.children):
                d.children = [c for c in d.children if c not in dropped] or ()
        self.memo.clear()
        self.function_bodies = self.encoder_bodies = False
        return len(gone)

    # --- serialisation for the cache ---------------------------------------
    # The cache stores the graph as a sequence of plain-data pieces, one marshal
    # blob each: a header, then the DIEs in runs of about CHUNK_DIES. Writing it
    # piece by piece never holds a second copy of the whole graph (one blob, and
    # marshal's table of every object in it).
    CHUNK_DIES = 32768

    def header_data(self) -> dict:
        return {
            "source": self.source, "key": self.key, "die_count": self.die_count,
            "compressed": self.compressed, "functions": list(self.functions),
            "stats": self.stats,
            "cus": [(c.offset, c.name, c.producer, c.language, c.version, c.files, c.package)
                    for c in self.cus],
        }

    def die_chunks(self) -> Iterator[list[tuple]]:
        """The DIEs in DIE order as ``(offset, tag, parent, cu, attrs)``, a run of
        CHUNK_DIES at a time."""
        run: list[tuple] = []
        for d in self.dies.values():
            run.append((d.offset, d.tag, d.parent, d.cu, d.attrs))
            if len(run) == self.CHUNK_DIES:
                yield run
                run = []
        if run:
            yield run

    def split_chunks(self, inside: Callable[[int, int, int], bool]
                     ) -> Iterator[tuple[list[tuple], list[tuple]]]:
        """:meth:`die_chunks`, each run split in two in one walk: the DIEs for which
        ``inside(offset, tag, parent)`` is false, and those for which it is true."""
        outside_run: list[tuple] = []
        inside_run: list[tuple] = []
        seen = 0
        for d in self.dies.values():
            offset, tag, parent = d.offset, d.tag, d.parent
            (inside_run if inside(offset, tag, parent) else outside_run).append(
                (offset, tag, parent, d.cu, d.attrs))
            seen += 1
            if seen == self.CHUNK_DIES:
                yield outside_run, inside_run
                outside_run, inside_run, seen = [], [], 0
        if seen:
            yield outside_run, inside_run

    def to_data(self) -> dict:
        """The whole graph as one plain-data document (tests compare graphs with it)."""
        return {**self.header_data(),
                "dies": [die for run in self.die_chunks() for die in run]}

    @classmethod
    def from_pieces(cls, header: dict, die_runs: Iterable[list]) -> "TypeGraph":
        """The graph :meth:`header_data` and :meth:`die_chunks` describe."""
        dies: dict[int, Die] = {}
        for run in die_runs:
            for offset, tag, parent, cu, attrs in run:
                dies[offset] = Die(offset, tag, parent, cu, attrs)
        link_children(dies)
        return cls(header["source"], header["key"], [CompileUnit(*c) for c in header["cus"]],
                   dies, tuple(header["functions"]), header["die_count"], header["compressed"],
                   header.get("stats", {}))


class FunctionBodies:
    """Which DIEs lie inside functions and are no type: parameters, variables,
    inlined calls and blocks, and all they hold but types (half a gc binary's DIEs).
    Analyses of types and function names (``diff``, ``check`` once the encoding is
    cached) keep the graph without them, in half the memory: never decoded when the
    DWARF is read for them (the reader applies this rule as it walks), never
    unpacked from the cache (an entry of their own), or dropped from a whole graph.
    Decided DIE by DIE in DIE order, parents before children.
    """

    def __init__(self) -> None:
        from dwarfdiag.dwarf.reader import BODY_SCOPES, KEPT_IN_BODIES

        self.kept = KEPT_IN_BODIES  # functions stay: their names are compared
        self.scope_tags = BODY_SCOPES
        self.scopes: set[int] = set()  # kept subprograms (and blocks outside functions)
        self.dropped: set[int] = set()

    def drop(self, offset: int, tag: int, parent: int) -> bool:
        if tag in self.kept or (parent not in self.scopes and parent not in self.dropped):
            if tag in self.scope_tags:
                self.scopes.add(offset)
            return False
        self.dropped.add(offset)
        return True


def link_children(dies: dict[int, Die]) -> None:
    for d in dies.values():
        parent = dies.get(d.parent)
        if parent is not None and parent is not d:
            if parent.children:
                parent.children.append(d.offset)  # type: ignore[union-attr]
            else:
                parent.children = [d.offset]
