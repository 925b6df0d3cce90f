"""Records every document shares: where a type comes from, and a type named by id."""

from __future__ import annotations

from dataclasses import dataclass, field, fields


_FIELDS: dict[type, frozenset[str]] = {}  # a record class -> its field names

@dataclass
class Provenance:
    """Where a BTF type comes from in the DWARF (all optional: raw BTF has none)."""

    die_offset: int | None = None
    tag: str | None = None  # DW_TAG_* of the DIE
    name: str | None = None  # the DIE's own name, as the compiler wrote it
    go_name: str | None = None  # in gc's spelling (gccgo's ".main.T" -> "main.T")
    package: str | None = None  # the Go package the type belongs to
    cu: str | None = None  # the compile unit holding the DIE (gc: always "runtime")
    compiler: str | None = None  # gc, gccgo or c
    file: str | None = None
    line: int | None = None
    go_kind: int | None = None  # DW_AT_go_kind
    role: str | None = None  # what the encoder made of the DIE ("member type", ...)
    owner: str | None = None  # for an anonymous type: the named type it belongs to
    descriptor: int | None = None  # read without DWARF: the runtime type descriptor's address

    @classmethod
    def of(cls, data: dict | None) -> "Provenance":
        """From the encoder's provenance dict, keeping the keys this record knows."""
        if not data:
            return cls()
        known = _FIELDS.get(cls)
        if known is None:  # worked out once per class: a check makes tens of thousands
            known = _FIELDS[cls] = frozenset(f.name for f in fields(cls))
        return cls(**{k: v for k, v in data.items() if k in known})

    def where(self) -> str:
        """``DIE 0x1a2, package main, main.go:9``, or "" when nothing is known."""
        parts = []
        if self.descriptor is not None:  # its DIE was made from this, not read
            parts.append(f"runtime descriptor at {self.descriptor:#x}")
        elif self.die_offset is not None:
            parts.append(f"DIE {self.die_offset:#x}")
        if self.package:
            parts.append(f"package {self.package}")
        if self.file:
            parts.append(f"{self.file}:{self.line if self.line is not None else '?'}")
        return ", ".join(parts)


@dataclass
class TypeRef:
    """One BTF type named by id, kind and name, with its provenance."""

    id: int
    kind: str
    name: str
    provenance: Provenance = field(default_factory=Provenance)
    via: str | None = None  # in a chain: how this type refers to the next ("member next")

    def describe(self) -> str:
        where = self.provenance.where()
        return f"[{self.id}] {self.kind} '{self.name or '(anon)'}'" + (f" ({where})" if where else "")
