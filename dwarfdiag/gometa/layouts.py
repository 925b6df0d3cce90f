"""The layouts of the Go runtime's metadata, one table per range of Go versions.

Read from each version's own sources (``src/runtime/symtab.go`` for the
``moduledata`` and ``pcHeader``, ``src/runtime/runtime2.go`` for ``_func``,
``src/internal/abi/type.go`` and ``map*.go`` for the type descriptors; before
1.21 ``src/runtime/type.go``), Go 1.20.14 to 1.27.3, 64-bit targets. The reader
chooses one :class:`Layout` from the binary's own Go version (its buildinfo)
and decodes with it; nothing else in :mod:`dwarfdiag.gometa` asks which
version it reads.

What changes across these versions, and what does not:

* ``moduledata``: ``typedesclen``, ``itaboffset`` and ``itabsize`` replace the
  ``typelinks`` and ``itablinks`` slices in 1.27; ``epclntab`` appears in 1.26;
  ``inittasks`` in 1.21; ``bad`` moves in 1.23 (after the fields read here);
* ``pcHeader``: ``textStart`` (the base of function entries) is no longer
  stored from 1.26 on: the moduledata's ``text`` is the base;
* ``_func.funcID`` of generated code (``FuncIDWrapper``, which marks the ABI0
  wrappers of ABIInternal functions among others) is 21 up to 1.21, 22 in
  1.22-1.24 and 23 from 1.25 on: new special functions were numbered before it;
* the type descriptor's 48-byte header, its kinds and the struct, array,
  slice, pointer, chan, func, interface and uncommon parts are the same; the
  map descriptor is 88 bytes up to 1.23 (buckets), 112 in 1.24-1.26 and 136 in
  1.27 (Swiss tables), its key and element always right after the header;
* type descriptors are listed by ``typelinks`` (offsets from ``types``) and
  ``itablinks`` up to 1.26; in 1.27 the listed descriptors are laid out first,
  one after another, over ``typedesclen`` bytes from ``types`` plus a pointer,
  and the itabs over ``itabsize`` bytes from ``types + itaboffset``.
"""

from __future__ import annotations

from dataclasses import dataclass, replace

from dwarfdiag.errors import UnsupportedError

PCLNTAB_MAGIC = 0xFFFFFFF1  # Go 1.20 and later (1.18-1.19 wrote 0xfffffff0)
OLDEST, NEWEST = (1, 20), (1, 27)

# moduledata fields in order, with their sizes on a 64-bit target (a slice is
# pointer, length, capacity; a string pointer and length)
_HEAD = (("pcHeader", 8), ("funcnametab", 24), ("cutab", 24), ("filetab", 24),
         ("pctab", 24), ("pclntable", 24), ("ftab", 24), ("findfunctab", 8), ("minpc", 8),
         ("maxpc", 8), ("text", 8), ("etext", 8), ("noptrdata", 8), ("enoptrdata", 8),
         ("data", 8), ("edata", 8), ("bss", 8), ("ebss", 8), ("noptrbss", 8),
         ("enoptrbss", 8), ("covctrs", 8), ("ecovctrs", 8), ("end", 8), ("gcdata", 8),
         ("gcbss", 8))
_UP_TO_125 = (("types", 8), ("etypes", 8), ("rodata", 8), ("gofunc", 8),
              ("textsectmap", 24), ("typelinks", 24), ("itablinks", 24))
_126 = (("types", 8), ("etypes", 8), ("rodata", 8), ("gofunc", 8), ("epclntab", 8),
        ("textsectmap", 24), ("typelinks", 24), ("itablinks", 24))
_127 = (("types", 8), ("typedesclen", 8), ("etypes", 8), ("itaboffset", 8), ("itabsize", 8),
        ("rodata", 8), ("gofunc", 8), ("epclntab", 8), ("textsectmap", 24))


def _offsets(fields: tuple[tuple[str, int], ...]) -> dict[str, int]:
    out, at = {}, 0
    for name, size in fields:
        out[name] = at
        at += size
    return out


@dataclass(frozen=True)
class Layout:
    first: tuple[int, int]  # the oldest Go release this layout describes
    last: tuple[int, int]  # the newest
    moduledata: dict[str, int]  # field -> offset
    text_in_pcheader: bool  # pcHeader.textStart is the base of entry offsets
    listed_in_typedesc: bool  # 1.27's typedesclen/itaboffset instead of typelinks
    map_descriptor: int  # bytes of the map descriptor: where its uncommon part starts
    swiss_maps: bool  # maps are Swiss tables (their header is internal/runtime/maps.Map)
    funcid_wrapper: int  # the _func.funcID of generated code (ABI wrappers among it)
    # gc's DWARF gives a func type's results as DW_AT_variable_parameter of their type
    # from 1.24 on; before, as parameters of a pointer to their type
    func_results_marked: bool = True

    def moduledata_field(self, name: str) -> int:
        return self.moduledata[name]


LAYOUTS = (
    Layout((1, 20), (1, 21), _offsets(_HEAD + _UP_TO_125), True, False, 88, False, 21, False),
    Layout((1, 22), (1, 23), _offsets(_HEAD + _UP_TO_125), True, False, 88, False, 22, False),
    Layout((1, 24), (1, 24), _offsets(_HEAD + _UP_TO_125), True, False, 112, True, 22),
    Layout((1, 25), (1, 25), _offsets(_HEAD + _UP_TO_125), True, False, 112, True, 23),
    Layout((1, 26), (1, 26), _offsets(_HEAD + _126), False, False, 112, True, 23),
    Layout((1, 27), (1, 27), _offsets(_HEAD + _127), False, True, 136, True, 23),
)


def layout_for(version: tuple[int, int], where: str,
               experiments: tuple[str, ...] = ()) -> Layout:
    """The layout of Go ``version`` (major, minor) built with ``experiments``
    (``GOEXPERIMENT``: 1.24 and 1.25 still build bucket maps under ``noswissmap``),
    or one line saying which Go versions dwarfdiag reads."""
    for layout in LAYOUTS:
        if layout.first <= version <= layout.last:
            if layout.swiss_maps and "noswissmap" in experiments and version < (1, 26):
                return replace(layout, map_descriptor=88, swiss_maps=False)
            return layout
    shown = f"go{version[0]}.{version[1]}"
    raise UnsupportedError(f"{where}: built by {shown}; dwarfdiag reads the runtime metadata "
                           f"of Go {OLDEST[0]}.{OLDEST[1]} to {NEWEST[0]}.{NEWEST[1]}: give "
                           f"its DWARF (an unstripped build, or --debug-file) instead")


# --- type descriptors ---------------------------------------------------------------
HEADER = 48  # size, ptrdata, hash, tflag, align, fieldalign, kind, equal, gcdata, str, ptrToThis
KIND_MASK = 0x1F
TFLAG_UNCOMMON, TFLAG_EXTRA_STAR, TFLAG_NAMED = 1, 2, 4

# kinds (internal/abi.Kind)
(BOOL, INT, INT8, INT16, INT32, INT64, UINT, UINT8, UINT16, UINT32, UINT64, UINTPTR, FLOAT32,
 FLOAT64, COMPLEX64, COMPLEX128, ARRAY, CHAN, FUNC, INTERFACE, MAP, POINTER, SLICE, STRING,
 STRUCT, UNSAFE_POINTER) = range(1, 27)
KIND_NAMES = {BOOL: "bool", INT: "int", INT8: "int8", INT16: "int16", INT32: "int32",
              INT64: "int64", UINT: "uint", UINT8: "uint8", UINT16: "uint16", UINT32: "uint32",
              UINT64: "uint64", UINTPTR: "uintptr", FLOAT32: "float32", FLOAT64: "float64",
              COMPLEX64: "complex64", COMPLEX128: "complex128", ARRAY: "array", CHAN: "chan",
              FUNC: "func", INTERFACE: "interface", MAP: "map", POINTER: "ptr",
              SLICE: "slice", STRING: "string", STRUCT: "struct",
              UNSAFE_POINTER: "unsafe.Pointer"}
BASIC = frozenset(range(BOOL, COMPLEX128 + 1)) | {STRING, UNSAFE_POINTER}


def kind_part(kind: int, layout: Layout) -> int:
    """Bytes of a descriptor of ``kind`` before its uncommon part."""
    return {ARRAY: 72, CHAN: 64, FUNC: 56, INTERFACE: 80, MAP: layout.map_descriptor,
            POINTER: 56, SLICE: 56, STRUCT: 80}.get(kind, HEADER)


UNCOMMON = 16  # pkgpath nameOff, mcount, xcount, moff, unused
METHOD = 16  # name nameOff, mtyp typeOff, ifn textOff, tfn textOff
IMETHOD = 8  # name nameOff, typ typeOff
STRUCT_FIELD = 24  # name *byte, typ *Type, offset uintptr
ITAB_TYPE = 8  # the offset of an itab's dynamic type (after its interface type)

# name flag bits (the first byte of an encoded name)
NAME_EXPORTED, NAME_HAS_TAG, NAME_HAS_PKGPATH, NAME_EMBEDDED = 1, 2, 4, 8
