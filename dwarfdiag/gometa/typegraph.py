"""A TypeGraph made from runtime type descriptors, as gc's linker makes DWARF from them.

gc's linker builds every DWARF type it writes from the type's descriptor
(``cmd/link/internal/ld/dwarf.go``: ``newtype``, then ``synthesizestringtypes``,
``...slicetypes``, ``...maptypes``, ``...chantypes``). This module does the same
from the descriptors a stripped binary kept, so that everything downstream of
the TypeGraph (the encoder, the final BTF, the kernel profile, the header,
diff, probe) reads a stripped binary as it reads DWARF:

* a bool, number or string kind is a base type; a string a struct
  ``{str *uint8; len int}``; ``unsafe.Pointer`` an untyped pointer;
* a named array, func, interface, pointer, slice or struct type gets a typedef
  of its name in front of its definition, as ``dotypedef`` does (never for
  ``*T``, ``[]T``, ``[N]T``, ``map[...]``, ``chan ...`` or ``struct {...}``);
* a struct its fields (name, offset, type, embedded); an array its element and
  count; a slice the struct ``{array *T; len int; cap int}``; a func type its
  parameters, then ``...`` and its results as variable parameters;
* an interface a typedef of ``runtime.iface`` (``runtime.eface`` with no method),
  each a struct of two pointers, the Go ABI's layout of an interface value;
* a map a pointer to ``map<K,V>`` (with ``table<K,V>`` and
  ``groupReference<K,V>``; before Swiss tables ``hash<K,V>`` and
  ``bucket<K,V>``), a chan a pointer to ``hchan<T>`` (with ``waitq<T>`` and
  ``sudog<T>``): the linker's own synthesised types, each a copy of the
  runtime's struct (``internal/runtime/maps.Map``, ``runtime.hmap``,
  ``runtime.hchan`` ...) with the members that point at keys, values and
  elements retyped, where the binary kept the runtime struct's descriptor, and a
  declaration without a layout where it did not (never a guess);
* each method whose signature the linker kept (``mtyp``) a subprogram at its
  code, named as the pclntab names that code, with the receiver and the
  signature's parameters and results (named ``~p0``, ``~r0``: the descriptor
  keeps types, not names).

Every type DIE carries ``DW_AT_go_runtime_type`` (its descriptor's offset from
the types region), so provenance says "runtime descriptor at 0x...", and the
twin test matches it to the unstripped build's DWARF by that attribute.
"""

from __future__ import annotations

from dataclasses import dataclass

from dwarfdiag.dwarf.constants import (ATE_boolean, ATE_complex_float, ATE_float, ATE_signed,
                                       ATE_unsigned, At, Tag)
from dwarfdiag.dwarf.typegraph import CompileUnit, Die, TypeGraph, link_children
from dwarfdiag.gometa.descriptors import Descriptor
from dwarfdiag.gometa.layouts import (ARRAY, BOOL, CHAN, COMPLEX64, COMPLEX128, FLOAT32,
                                      FLOAT64, FUNC, INT, INT8, INT16, INT32, INT64, INTERFACE,
                                      MAP, POINTER, SLICE, STRING, STRUCT, UINT, UINT8, UINT16,
                                      UINT32, UINT64, UINTPTR, UNSAFE_POINTER, Layout)
from dwarfdiag.gometa.names import Namer

ENCODING = {BOOL: ATE_boolean, **{k: ATE_signed for k in (INT, INT8, INT16, INT32, INT64)},
            **{k: ATE_unsigned for k in (UINT, UINT8, UINT16, UINT32, UINT64, UINTPTR)},
            FLOAT32: ATE_float, FLOAT64: ATE_float, COMPLEX64: ATE_complex_float,
            COMPLEX128: ATE_complex_float}
# the predeclared types a synthesised part needs, by the Go spec (sizes on amd64/arm64)
PREDECLARED = {"int": (INT, 8), "uint8": (UINT8, 1), "uintptr": (UINTPTR, 8)}
DW_LANG_GO = 0x16
RUNTIME_UNIT = "runtime"
# the linker's synthesised map internals (synthesizemaptypes): with Swiss tables
SWISS_MAP, SWISS_TABLE, SWISS_GROUPS = ("internal/runtime/maps.Map", "internal/runtime/maps.table",
                                        "internal/runtime/maps.groupsReference")
OLD_MAP, OLD_BUCKET = "runtime.hmap", "runtime.bmap"  # before them (bucket<K,V>, hash<K,V>)
BUCKET_SIZE, MAX_KEY_SIZE, MAX_VAL_SIZE = 8, 128, 128  # cmd/link's BucketSize, MaxKeySize ...
CHAN_PARTS = ("runtime.hchan", "runtime.waitq", "runtime.sudog")  # synthesizechantypes


@dataclass(frozen=True)
class MethodCode:
    """A method whose signature survived: where its code is and what it takes."""

    name: str  # as the pclntab names the code
    entry: int
    end: int
    receiver: int  # the descriptor of the receiver's type (T or *T)
    signature: int  # the descriptor of its func type, without the receiver


_AT = {name: int(value) for name, value in At.__members__.items()}  # DW_AT_ by name
_AT_NAME, _AT_TYPE, _AT_RESULT = _AT["name"], _AT["type"], _AT["variable_parameter"]


class _Builder:
    def __init__(self, descriptors: dict[int, Descriptor], namer: Namer, types_base: int,
                 layout: Layout, release: tuple[int, int]):
        self.descriptors, self.namer, self.base = descriptors, namer, types_base
        self.swiss_maps = layout.swiss_maps
        self.release = release
        self.results_marked = layout.func_results_marked
        self.dies: dict[int, Die] = {}
        self.ref: dict[int, int] = {}  # descriptor -> the DIE references to it point at
        self.by_name: dict[str, int] = {}  # a synthesised helper DIE by name
        self.next = 1
        self.by_full_name = {namer.name(a): d for a, d in descriptors.items()}

    # --- DIEs ---------------------------------------------------------------------------
    def die(self, tag: int, parent: int = 0, **attrs) -> Die:
        offset = self.next
        self.next += 1
        d = Die(offset, int(tag), parent, 0, {_AT[k]: v for k, v in attrs.items()
                                              if v is not None})
        self.dies[offset] = d
        return d

    def runtime_type(self, d: Descriptor) -> int:
        return d.address - self.base

    def type_of(self, addr: int) -> int:
        """The DIE a reference to descriptor ``addr`` points at (every descriptor is
        declared before any is completed, so it is there: no recursion, however deep
        the types nest)."""
        return self.ref[addr]

    def predeclared(self, name: str) -> int:
        found = self.by_full_name.get(name)
        if found is not None:
            return self.type_of(found.address)
        if name not in self.by_name:
            kind, size = PREDECLARED[name]
            self.by_name[name] = self.die(Tag.base_type, name=name, encoding=ENCODING[kind],
                                          byte_size=size, go_kind=kind).offset
        return self.by_name[name]

    def pointer_to(self, target: int, name: str) -> int:
        """``*T`` for a DIE (``defptrto``): the binary's own descriptor of it if it has
        one, else a pointer made here, once per name."""
        found = self.by_full_name.get(name)
        if found is not None and found.kind == POINTER:
            return self.type_of(found.address)
        if name not in self.by_name:
            self.by_name[name] = self.die(Tag.pointer_type, name=name, type=target,
                                          go_kind=POINTER).offset
        return self.by_name[name]

    def ptr(self, target: int) -> int:
        """``defptrto``: ``*T`` of a DIE, by its name."""
        return self.pointer_to(target, "*" + self.dies[target].name)

    def internal(self, name: str, prototype: str, substitutes: dict[str, int],
                 go_kind: int | None = None) -> int:
        """``mkinternaltype``: a struct named ``name`` (``hchan<T>``, ``map<K,V>``), made
        once, holding the members of the runtime's ``prototype`` struct with the types
        of those named in ``substitutes`` replaced (``copychildren``, then
        ``substitutetype``); a declaration without a layout where the binary kept no
        descriptor of the prototype."""
        if name in self.by_name:
            return self.by_name[name]
        source = self.by_full_name.get(prototype)
        if source is None or source.kind != STRUCT:
            s = self.die(Tag.structure_type, name=name, declaration=True)
        else:
            s = self.die(Tag.structure_type, name=name, byte_size=source.size, go_kind=go_kind)
            self.members(s, source, substitutes)
        self.by_name[name] = s.offset
        return s.offset

    def members(self, parent: Die, d: Descriptor, substitutes: dict[str, int] | None = None,
                skip: str = "") -> None:
        for f in d.fields:
            if f.name == skip:
                continue
            self.die(Tag.member, parent.offset, name=f.name, data_member_location=f.offset,
                     type=(substitutes or {}).get(f.name) or self.type_of(f.type),
                     go_embedded_field=f.embedded)

    def map_type(self, d: Descriptor) -> int:
        """The pointer a map's DWARF type stands for (``synthesizemaptypes``). (The
        linker's ``walksymtypedef(defgotype(T))`` of a key, value or group is T's DIE
        as every reference has it: its typedef where it has one.)"""
        k, v = self.namer.name(d.key), self.namer.name(d.elem)
        if self.swiss_maps:
            groups = self.internal(f"groupReference<{k},{v}>", SWISS_GROUPS,
                                   {"data": self.ptr(self.type_of(d.group))}, STRUCT)
            table = self.internal(f"table<{k},{v}>", SWISS_TABLE, {"groups": groups}, STRUCT)
            header = self.internal(f"map<{k},{v}>", SWISS_MAP,
                                   {"dirPtr": self.ptr(self.ptr(table))}, STRUCT)
            return self.ptr(header)
        bucket = self.bucket(d, k, v)
        header = self.internal(f"hash<{k},{v}>", OLD_MAP,
                               {"buckets": self.ptr(bucket), "oldbuckets": self.ptr(bucket)})
        return self.ptr(header)

    def bucket(self, d: Descriptor, k: str, v: str) -> int:
        """``bucket<K,V>`` before Swiss tables: the runtime's bmap (its tophash), then
        eight keys, eight values and the overflow pointer, a key or value of more
        than 128 bytes held by pointer."""
        name = f"bucket<{k},{v}>"
        if name in self.by_name:
            return self.by_name[name]
        bmap = self.by_full_name.get(OLD_BUCKET)
        if bmap is None or bmap.kind != STRUCT:
            self.by_name[name] = self.die(Tag.structure_type, name=name,
                                          declaration=True).offset
            return self.by_name[name]
        arrays = []
        for word, addr, limit in (("key", d.key, MAX_KEY_SIZE), ("val", d.elem, MAX_VAL_SIZE)):
            size, element = self.descriptors[addr].size, self.type_of(addr)
            if size > limit:
                size, element = 8, self.ptr(element)
            array_name = f"[]{word}<{self.namer.name(addr)}>"
            if array_name not in self.by_name:
                array = self.die(Tag.array_type, name=array_name,
                                 byte_size=BUCKET_SIZE * size, type=element)
                self.die(Tag.subrange_type, array.offset, type=self.predeclared("uintptr"),
                         count=BUCKET_SIZE)
                self.by_name[array_name] = array.offset
            arrays.append((size, self.by_name[array_name]))
        (key_size, keys), (val_size, values) = arrays
        s = self.die(Tag.structure_type, name=name,
                     byte_size=BUCKET_SIZE * (1 + key_size + val_size) + 8)
        self.by_name[name] = s.offset
        self.members(s, bmap, skip="data")  # copychildrenexcept(..., "data")
        at = BUCKET_SIZE
        for field_name, field_type, size in (("keys", keys, key_size),
                                             ("values", values, val_size),
                                             ("overflow", self.ptr(s.offset), 0)):
            self.die(Tag.member, s.offset, name=field_name, data_member_location=at,
                     type=field_type, go_embedded_field=False)
            at += BUCKET_SIZE * size
        return s.offset

    def chan_type(self, d: Descriptor) -> int:
        """The pointer a chan's DWARF type stands for (``synthesizechantypes``)."""
        e = self.namer.name(d.elem)
        hchan, waitq, sudog = CHAN_PARTS
        parked = self.internal(f"sudog<{e}>", sudog, {"elem": self.ptr(self.type_of(d.elem))})
        queue = self.internal(f"waitq<{e}>", waitq,
                              {"first": self.ptr(parked), "last": self.ptr(parked)})
        return self.ptr(self.internal(f"hchan<{e}>", hchan, {"recvq": queue, "sendq": queue}))

    def typedef(self, name: str, target: Die) -> int:
        """``dotypedef``: a typedef of a real name in front of ``target``."""
        if name.startswith(("map[", "struct {", "noalg.struct {", "chan ", "[", "*")):
            return target.offset
        return self.die(Tag.typedef, name=name, type=target.offset).offset

    def interface_value(self, with_methods: bool) -> int:
        """``runtime.iface`` / ``runtime.eface`` (the binary's own, or two pointers, the
        Go ABI's interface value): ``tab *runtime.itab`` (``*internal/abi.ITab`` from
        Go 1.23, when itab became an alias of it), ``_type *runtime._type``
        (``*internal/abi.Type`` from Go 1.21), then ``data``."""
        name = "runtime.iface" if with_methods else "runtime.eface"
        own = self.by_full_name.get(name)
        if own is not None and own.kind == STRUCT:
            return self.type_of(own.address)
        if name not in self.by_name:
            struct = self.die(Tag.structure_type, name=name, byte_size=16)
            if with_methods:
                first = ("tab", "runtime.itab" if self.release < (1, 23) else "internal/abi.ITab")
            else:
                first = ("_type", "runtime._type" if self.release < (1, 21)
                         else "internal/abi.Type")
            target = self.by_full_name.get(first[1])
            pointee = self.type_of(target.address) if target else \
                self.die(Tag.structure_type, name=first[1], declaration=True).offset
            self.die(Tag.member, struct.offset, name=first[0], data_member_location=0,
                     type=self.pointer_to(pointee, "*" + first[1]), go_embedded_field=False)
            self.die(Tag.member, struct.offset, name="data", data_member_location=8,
                     type=self.unsafe_pointer(), go_embedded_field=False)
            self.by_name[name] = self.die(Tag.typedef, name=name, type=struct.offset).offset
        return self.by_name[name]

    def unsafe_pointer(self) -> int:
        found = self.by_full_name.get("unsafe.Pointer")
        if found is not None:
            return self.type_of(found.address)
        if "unsafe.Pointer" not in self.by_name:
            self.by_name["unsafe.Pointer"] = self.die(Tag.pointer_type,
                                                      name="unsafe.Pointer").offset
        return self.by_name["unsafe.Pointer"]

    # --- one type: declared (its DIE, and the typedef in front), then completed -----------
    MAIN_TAG = {STRING: Tag.structure_type, POINTER: Tag.pointer_type,
                STRUCT: Tag.structure_type, ARRAY: Tag.array_type, SLICE: Tag.structure_type,
                FUNC: Tag.subroutine_type, INTERFACE: Tag.typedef, MAP: Tag.typedef,
                CHAN: Tag.typedef, UNSAFE_POINTER: Tag.pointer_type}

    def declare(self, d: Descriptor) -> Die:
        name = self.namer.name(d.address)
        attrs = dict(go_kind=d.kind, go_runtime_type=self.runtime_type(d))
        if d.kind in ENCODING:
            main = self.die(Tag.base_type, name=name, encoding=ENCODING[d.kind],
                            byte_size=d.size, **attrs)
        elif d.kind == UNSAFE_POINTER:
            main = self.die(Tag.pointer_type, name=name,
                            go_runtime_type=attrs["go_runtime_type"])
        else:
            sized = d.kind in (STRING, STRUCT, ARRAY, SLICE, FUNC)
            main = self.die(self.MAIN_TAG[d.kind], name=name,
                            byte_size=d.size if sized else None, **attrs)
        # newtype's dotypedef: a named array, func, interface, pointer, slice or struct
        named_in_front = d.kind in (STRUCT, ARRAY, FUNC, INTERFACE, POINTER, SLICE)
        self.ref[d.address] = self.typedef(name, main) if named_in_front else main.offset
        return main

    def complete(self, d: Descriptor, main: Die) -> None:
        k, attrs = d.kind, main.attrs
        if k == STRING:
            self.die(Tag.member, main.offset, name="str", data_member_location=0,
                     type=self.pointer_to(self.predeclared("uint8"), "*uint8"),
                     go_embedded_field=False)
            self.die(Tag.member, main.offset, name="len", data_member_location=8,
                     type=self.predeclared("int"), go_embedded_field=False)
        elif k == POINTER:
            attrs[int(At.type)] = self.type_of(d.elem)
        elif k == STRUCT:
            self.members(main, d)
        elif k == ARRAY:
            attrs[int(At.type)] = self.type_of(d.elem)
            self.die(Tag.subrange_type, main.offset, type=self.predeclared("uintptr"),
                     count=d.length)
        elif k == SLICE:
            elem = attrs[int(At.go_elem)] = self.type_of(d.elem)
            self.die(Tag.member, main.offset, name="array", data_member_location=0,
                     type=self.pointer_to(elem, "*" + self.namer.name(d.elem)),
                     go_embedded_field=False)
            for i, field_name in ((1, "len"), (2, "cap")):
                self.die(Tag.member, main.offset, name=field_name, data_member_location=8 * i,
                         type=self.predeclared("int"), go_embedded_field=False)
        elif k == FUNC:
            for p in d.params:
                self.die(Tag.formal_parameter, main.offset, type=self.type_of(p))
            if d.variadic:
                self.die(Tag.unspecified_parameters, main.offset)
            for r in d.results:
                if self.results_marked:
                    self.die(Tag.formal_parameter, main.offset, type=self.type_of(r),
                             variable_parameter=True)
                else:  # Go before 1.24: a parameter pointing at the result
                    self.die(Tag.formal_parameter, main.offset, type=self.pointer_to(
                        self.type_of(r), "*" + self.namer.name(r)))
        elif k == INTERFACE:
            attrs[int(At.type)] = self.interface_value(bool(d.imethods))
        elif k == MAP:
            attrs[int(At.go_key)] = self.type_of(d.key)
            attrs[int(At.go_elem)] = self.type_of(d.elem)
            attrs[int(At.type)] = self.map_type(d)
        elif k == CHAN:
            attrs[int(At.go_elem)] = self.type_of(d.elem)
            attrs[int(At.type)] = self.chan_type(d)

    def method(self, m: MethodCode) -> None:
        sig = self.descriptors[m.signature]
        fn = self.die(Tag.subprogram, name=m.name, low_pc=m.entry, high_pc=m.end,
                      external=True)
        # (the DIEs made here directly: every method has a few, and the kept
        # signatures of a large program number tens of thousands)
        dies, ref, parent, tag = self.dies, self.ref, fn.offset, int(Tag.formal_parameter)
        for i, p in enumerate([m.receiver, *sig.params]):
            dies[self.next] = Die(self.next, tag, parent, 0, {_AT_NAME: f"~p{i}",
                                                               _AT_TYPE: ref[p]})
            self.next += 1
        for i, r in enumerate(sig.results):
            dies[self.next] = Die(self.next, tag, parent, 0, {_AT_NAME: f"~r{i}",
                                                               _AT_TYPE: ref[r],
                                                               _AT_RESULT: True})
            self.next += 1


def runtime_typegraph(source: str, key: str, go_version: str,
                      descriptors: dict[int, Descriptor], namer: Namer, types_base: int,
                      layout: Layout, methods: list[MethodCode]) -> TypeGraph:
    """The TypeGraph of ``descriptors`` (and of the ``methods`` whose code and
    signature are known), as gc's DWARF of that Go version would have it."""
    b = _Builder(descriptors, namer, types_base, layout, _release(go_version))
    unit = b.die(Tag.compile_unit, name=RUNTIME_UNIT, language=DW_LANG_GO)
    declared = [(descriptors[a], b.declare(descriptors[a])) for a in sorted(descriptors)]
    for d, main in declared:
        b.complete(d, main)
    for m in methods:
        b.method(m)
    for d in b.dies.values():
        if d.offset != unit.offset and d.parent == 0:
            d.parent = unit.offset
    link_children(b.dies)
    producer = f"Go cmd/compile {go_version}; the runtime type descriptors, read by dwarfdiag"
    cu = CompileUnit(unit.offset, RUNTIME_UNIT, producer, DW_LANG_GO, 0, [], RUNTIME_UNIT)
    stats = {"types_from": "runtime", "types_base": types_base, "descriptors": len(descriptors),
             "dies_by_tag": {}, "dwarf_versions": [], "unit_count": 1}
    functions = tuple(sorted(m.name for m in methods))
    return TypeGraph(source, key, [cu], b.dies, functions, len(b.dies), False, stats)


def _release(go_version: str) -> tuple[int, int]:
    """``go1.22.10`` -> (1, 22)."""
    parts = go_version.removeprefix("go").split(".")
    try:
        return int(parts[0]), int(parts[1].split("-")[0].split("rc")[0])
    except (IndexError, ValueError):
        return (1, 27)
