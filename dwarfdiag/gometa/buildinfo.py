"""``.go.buildinfo``: the Go version and the modules a binary was built from.

The same record ``go version -m BINARY`` prints (``debug/buildinfo`` and
``runtime/debug.ParseBuildInfo`` of Go 1.27 are the reference): a 32-byte
header (``"\\xff Go buildinf:"``, the pointer size, flags), then, since Go 1.18,
the version and the module information as two length-prefixed strings. The
module information is lines of tab-separated fields between two 16-byte
sentinels: ``path`` (the main package), ``mod`` (the main module), ``dep``
(each dependency), ``=>`` (the replacement of the line above) and ``build``
(settings such as ``GOEXPERIMENT``, ``-ldflags``, ``CGO_ENABLED``).
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from dwarfdiag.elf import ElfFile
from dwarfdiag.errors import BadInputError, UnsupportedError

MAGIC = b"\xff Go buildinf:"
FLAG_BIG_ENDIAN, FLAG_INLINE_STRINGS = 1, 2
HEADER = 32
MAX_STRING = 1 << 24  # a module list past this is corrupt


@dataclass(frozen=True)
class Module:
    path: str
    version: str
    sum: str = ""
    replaced_by: "Module | None" = None


@dataclass
class BuildInfo:
    go_version: str  # "go1.27.3", as the binary says it
    path: str = ""  # the main package's import path
    main: Module | None = None
    deps: list[Module] = field(default_factory=list)
    settings: dict[str, str] = field(default_factory=dict)  # build settings, in order

    @property
    def release(self) -> tuple[int, int]:
        """(major, minor) of the Go that built it: go1.27.3 -> (1, 27)."""
        m = re.match(r"go(\d+)\.(\d+)", self.go_version)
        if not m:
            raise UnsupportedError(f"Go version {self.go_version!r} is not goN.M; a "
                                   f"development build of Go is not read")
        return int(m[1]), int(m[2])

    @property
    def experiments(self) -> tuple[str, ...]:
        return tuple(x for x in self.settings.get("GOEXPERIMENT", "").split(",") if x)

    def as_dict(self) -> dict:
        def mod(m: Module | None) -> dict | None:
            if m is None:
                return None
            return {"path": m.path, "version": m.version, "sum": m.sum,
                    "replaced_by": mod(m.replaced_by)}

        return {"go_version": self.go_version, "path": self.path, "main": mod(self.main),
                "deps": [mod(d) for d in self.deps], "settings": dict(self.settings)}


def _uvarint(data: bytes, at: int, where: str) -> tuple[int, int]:
    value = shift = 0
    for i in range(10):
        if at + i >= len(data):
            break
        byte = data[at + i]
        value |= (byte & 0x7F) << shift
        if byte < 0x80:
            return value, at + i + 1
        shift += 7
    raise BadInputError(f"{where}: .go.buildinfo: a string length is truncated or corrupt")


def _string(data: bytes, at: int, where: str) -> tuple[str, int]:
    length, at = _uvarint(data, at, where)
    if length > MAX_STRING or at + length > len(data):
        raise BadInputError(f"{where}: .go.buildinfo: a string of {length} bytes at {at:#x} "
                            f"runs past the section ({len(data)} bytes)")
    return data[at:at + length].decode("utf-8", "replace"), at + length


def read_buildinfo(elf: ElfFile) -> BuildInfo | None:
    """The build information of a Go binary, or None if it has none (not built by
    gc, or by a Go too old to record it this way)."""
    where = str(elf.path)
    data = elf.contents(".go.buildinfo")
    if not data or not data.startswith(MAGIC):
        return None
    if len(data) < HEADER:
        raise BadInputError(f"{where}: .go.buildinfo is truncated ({len(data)} bytes)")
    flags = data[15]
    if not flags & FLAG_INLINE_STRINGS:
        raise UnsupportedError(f"{where}: built by a Go older than 1.18 (its buildinfo "
                               f"points at its strings); dwarfdiag reads Go 1.20 and later")
    version, at = _string(data, HEADER, where)
    modinfo, _ = _string(data, at, where)
    info = BuildInfo(version)
    # the module information sits between two 16-byte sentinels
    if len(modinfo) >= 33 and modinfo[-17] == "\n":
        modinfo = modinfo[16:-16]
    last: Module | None = None
    for line in modinfo.splitlines():
        parts = line.split("\t")
        kind = parts[0]
        if kind == "path" and len(parts) > 1:
            info.path = parts[1]
        elif kind in ("mod", "dep") and len(parts) >= 3:
            last = Module(parts[1], parts[2], parts[3] if len(parts) > 3 else "")
            if kind == "mod":
                info.main = last
            else:
                info.deps.append(last)
        elif kind == "=>" and len(parts) >= 3 and last is not None:
            replaced = Module(last.path, last.version, last.sum,
                              Module(parts[1], parts[2], parts[3] if len(parts) > 3 else ""))
            if info.main is last:
                info.main = replaced
            elif info.deps and info.deps[-1] is last:
                info.deps[-1] = replaced
        elif kind == "build" and len(parts) > 1:
            key, _, value = parts[1].partition("=")
            info.settings[key] = value
    return info
