"""DWARF to BTF the way pahole 1.30/1.32 does it, keeping each type's provenance.

pahole (``acmel/dwarves``: ``dwarf_loader.c`` reads DIEs into per-CU type
tables, ``btf_encoder.c`` turns each table entry into one ``btf__add_*``
call) is modelled as follows. The model follows dwarves v1.32 as Debian
ships it (1.32-1); the tests check it against that very binary, both on
the BTF it hands to ``btf__dedup`` (captured) and after dedup by libbpf 1.7:

* compile units are encoded in ``.debug_info`` order, and inside a unit every
  type DIE in DIE order (types nested in subprograms included), one BTF type
  per DIE, so a reference is "id of the DIE it names";
* base types become INT (floats too: without ``--btf_features`` pahole does
  not emit FLOAT); a size that is not a power of two becomes pahole's
  ``__SANITIZED_FAKE_INT__``; DW_ATE_signed gives SIGNED, boolean BOOL;
* structs/classes/unions with their DW_TAG_member children (bit offsets from
  DW_AT_data_member_location, DW_AT_data_bit_offset or DWARF 2's
  DW_AT_bit_offset; DW_AT_bit_size makes a bitfield), declarations become
  FWD; enums become ENUM (ENUM64 above 4 bytes);
* pointers (and C++ references) PTR, const/volatile/restrict their BTF kind,
  typedefs TYPEDEF, arrays one ARRAY over all dimensions, indexed by the
  first base type named ``int`` (any size) or else by a 4-byte signed
  ``int`` that pahole adds after the first unit that needs one;
* DW_TAG_subroutine_type becomes FUNC_PROTO (formal parameters in order,
  DW_TAG_unspecified_parameters as a trailing vararg); gc lists results as
  parameters too, and so does pahole;
* DW_TAG_unspecified_type (gc's ``unsafe.Pointer`` target) is void;
  DW_TAG_constant and variables are not encoded;
* functions: the subprograms pahole 1.32 encodes (:mod:`dwarfdiag.btf.functions`:
  one ELF symbol filed under the name, parameters where the System V ABI
  puts them) become FUNC_PROTO + FUNC (static linkage), one per name,
  sorted by name after all types.
"""

from __future__ import annotations

from collections import Counter
from contextlib import nullcontext
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field
from functools import cached_property

from dwarfdiag.btf.build import BtfBuilder
from dwarfdiag.btf.model import Btf, FuncLinkage, IntEncoding
from dwarfdiag.dwarf.constants import (ATE_boolean, ATE_signed, ATE_signed_char, At, Tag,
                                       tag_name)
from dwarfdiag.dwarf.typegraph import Die, TypeGraph
from dwarfdiag.fork import OnSecondCore
from dwarfdiag.heap import bulk_build

VOID_TAGS = frozenset({Tag.unspecified_type})
# Type tags pahole does not encode: references to them become void, with one
# warning per tag (not per DIE).
UNSUPPORTED_TAGS = frozenset({Tag.ptr_to_member_type, Tag.atomic_type})
DW_OP_plus_uconst = 0x23
DW_OP_constu = 0x10
# Plain ints for what pass 2 reads once per DIE or member: IntEnum members cost a
# descriptor call each on Python 3.11 (a tenth of an encoding).
_MEMBER, _AT_DECLARATION, _AT_EXTERNAL, _AT_BIT_SIZE, _AT_BYTE_SIZE = (
    int(Tag.member), int(At.declaration), int(At.external), int(At.bit_size),
    int(At.byte_size))
_AT_DATA_BIT_OFFSET, _AT_DATA_MEMBER_LOCATION, _AT_BIT_OFFSET = (
    int(At.data_bit_offset), int(At.data_member_location), int(At.bit_offset))


class TypeProvenance(Mapping):
    """BTF id -> the provenance of the DIE it was made from (plus its role), each
    worked out the first time it is asked for.

    A Mapping like the dict it replaces; most runs ask for a few types (the ones
    in a failing cycle), and making all of them up front was a fifth of the
    encoder's time.
    """

    def __init__(self, graph: TypeGraph):
        self._graph = graph
        self._entries: dict[int, dict | tuple[Die, str]] = {}  # ready, or (DIE, role)

    def note(self, type_id: int, die: Die, role: str) -> None:
        self._entries[type_id] = (die, role)

    def put(self, type_id: int, value: dict) -> None:
        self._entries[type_id] = value

    def __getitem__(self, type_id: int) -> dict:
        entry = self._entries[type_id]
        if isinstance(entry, tuple):
            entry = self._entries[type_id] = self._work_out(entry)
        return entry

    def _work_out(self, entry: tuple[Die, str]) -> dict:
        die, role = entry
        return {**self._graph.provenance(die), "role": role}

    def runs(self, size: int) -> Iterator[dict[int, dict]]:
        """Every entry, ``size`` types at a time, worked out but not kept: writing
        them all out need not hold them all."""
        ids = sorted(self._entries)  # ascending, as the cache's index of pieces says
        for start in range(0, len(ids), size):
            yield {i: (e if isinstance(e := self._entries[i], dict) else self._work_out(e))
                   for i in ids[start:start + size]}

    def die_offset(self, type_id: int) -> int | None:
        """The offset of the type's DIE, without working the entry out."""
        entry = self._entries.get(type_id)
        if isinstance(entry, tuple):
            return entry[0].offset
        return entry.get("die_offset") if entry is not None else None

    def __contains__(self, type_id: object) -> bool:
        return type_id in self._entries  # without working the entry out

    def __iter__(self) -> Iterator[int]:
        return iter(self._entries)

    def __len__(self) -> int:
        return len(self._entries)


@dataclass
class Encoded:
    """An encoder run: the pre-dedup BTF, and for every id where it came from."""

    btf: Btf
    provenance: Mapping[int, dict]  # BTF id -> DIE provenance plus the role of the type
    warnings: dict[str, int] = field(default_factory=dict)  # unsupported tag -> DIE count
    source: str = ""
    skipped: dict[str, str] = field(default_factory=dict)  # function pahole leaves out -> why
    # each compile unit's offset, ascending: the unit a DIE offset lies in, without the DIEs
    units: list[int] = field(default_factory=list)

    def die_offset(self, type_id: int) -> int | None:
        """The offset of the DIE type ``type_id`` was made from (None: none)."""
        return self.die_offsets()(type_id)

    def die_offsets(self) -> Callable[[int], int | None]:
        """:meth:`die_offset` as one function, for loops over every type: the
        encoder's and the cache's mappings know it without a whole entry."""
        known = getattr(self.provenance, "die_offset", None)
        if known is not None:
            return known
        return lambda type_id: self.provenance.get(type_id, {}).get("die_offset")

    def unit_of(self, die_offset: int) -> int:
        """The index of the compile unit holding the DIE at ``die_offset``."""
        from bisect import bisect_right

        return bisect_right(self.units, die_offset) - 1

    @cached_property
    def unit_by_type(self) -> list[int]:
        """Per type id (0, void, included), the index of the compile unit holding its
        DIE, -1 for none: worked out once for all (a check asks it twice per wrong
        reference, 78k of them in pahole 1.24's BTF of podman-remote)."""
        from bisect import bisect_right

        units, die_offset = self.units, self.die_offsets()
        by_type = [-1] * (self.btf.start_id + len(self.btf.types))
        for type_id in range(self.btf.start_id, len(by_type)):
            at = die_offset(type_id)
            if at is not None:
                by_type[type_id] = bisect_right(units, at) - 1
        return by_type


def encode(graph: TypeGraph, funcs: bool = True) -> Encoded:
    with bulk_build():
        return _Encoder(graph).run(funcs)


class _Encoder:
    def __init__(self, graph: TypeGraph):
        self.g = graph
        self.b = BtfBuilder()
        self.ids: dict[int, int] = {}  # DIE offset -> BTF id
        self.prov = TypeProvenance(graph)
        self.warnings: Counter = Counter()
        self.skipped: dict[str, str] = {}  # functions pahole 1.32 leaves out, and why

    def run(self, funcs: bool) -> Encoded:
        # which functions pahole encodes, on the second core while the types are
        # emitted here (reading cgo's location lists: a quarter of podman-remote's)
        with OnSecondCore(lambda: _functions_chosen(self.g)) if funcs else \
                nullcontext() as functions:
            plan = self._assign_ids()
            for kind, die, extra in plan:
                if kind == "die":
                    self._emit(die, extra)
                else:  # the array index type pahole adds when no "int" came first
                    self.b.add_int("int", 4, IntEncoding.SIGNED)
            if funcs:
                chosen, self.skipped = functions.result()  # type: ignore[union-attr]
                self._emit_functions({name: self.g.dies[at] for name, at in chosen.items()})
        return Encoded(self.b.btf(), self.prov, dict(self.warnings), self.g.source,
                       dict(self.skipped), [cu.offset for cu in self.g.cus])

    # -- pass 1: ids in pahole's order -----------------------------------
    def _assign_ids(self) -> list:
        plan: list = []
        next_id = 1
        by_unit: dict[int, list[Die]] = {}
        for die in self.g:
            if die.tag in _ENCODED_TAGS:
                by_unit.setdefault(die.cu, []).append(die)
            elif die.tag in UNSUPPORTED_TAGS:
                self.warnings[tag_name(die.tag)] += 1
        # pahole's encoder-wide array index type: the first unit that has a
        # base type named "int" (any size) fixes it for good; until then a
        # unit with arrays but no "int" appends its own 4-byte signed "int".
        index_id = None
        for unit, dies in by_unit.items():
            unit_index = index_id
            needs_index = False
            for die in dies:
                self.ids[die.offset] = next_id
                self.prov.note(next_id, die, "type")
                if unit_index is None and die.tag == Tag.base_type and die.name == "int":
                    unit_index = next_id
                needs_index |= die.tag == Tag.array_type
                next_id += 1
            add_index = needs_index and unit_index is None
            if add_index:
                unit_index = next_id
                self.prov.put(next_id, {"role": "array index type (int added by the encoder)",
                                        "cu": self.g.cus[unit].name})
                next_id += 1
            plan.extend(("die", d, unit_index) for d in dies)
            if add_index:
                plan.append(("index", None, None))
            index_id = unit_index
        return plan

    def ref(self, die: Die, offset: int | None = None) -> int:
        """The BTF id a DW_AT_type names (void when absent or not encoded)."""
        target = die.type if offset is None else offset
        seen = 0
        while target is not None:
            found = self.ids.get(target)
            if found is not None:
                return found
            t = self.g.die(target)
            if t is None or t.tag in VOID_TAGS or t.tag in UNSUPPORTED_TAGS or seen > 64:
                if t is None:
                    self.warnings["reference to a DIE that is not a type"] += 1
                return 0
            target, seen = t.type, seen + 1
        return 0

    # -- pass 2: one btf__add_* per DIE ------------------------------------
    def _emit(self, die: Die, index_id: int | None) -> None:
        self._emitters[die.tag](self, die, index_id)

    def _base_type(self, die: Die, index_id: int | None) -> None:
        a = die.attrs
        size = a.get(_AT_BYTE_SIZE, 0)
        enc = a.get(At.encoding)
        encoding = (IntEncoding.SIGNED if enc in (ATE_signed, ATE_signed_char)
                    else IntEncoding.BOOL if enc == ATE_boolean else IntEncoding.NONE)
        name = die.name or ""
        if size <= 0 or size & (size - 1) or size > 16:
            name, size = "__SANITIZED_FAKE_INT__", 4
        self.b.add_int(name, size, encoding)

    def _pointer(self, die: Die, index_id: int | None) -> None:
        self.b.add_ptr(self.ref(die))

    def _const(self, die: Die, index_id: int | None) -> None:
        self.b.add_const(self.ref(die))

    def _volatile(self, die: Die, index_id: int | None) -> None:
        self.b.add_volatile(self.ref(die))

    def _restrict(self, die: Die, index_id: int | None) -> None:
        self.b.add_restrict(self.ref(die))

    def _typedef(self, die: Die, index_id: int | None) -> None:
        self.b.add_typedef(die.name or "", self.ref(die))

    def _aggregate(self, die: Die, index_id: int | None) -> None:
        union = die.tag == Tag.union_type
        if die.attrs.get(_AT_DECLARATION):
            self.b.add_fwd(die.name or "", union)
        else:
            members, bitfields = self._members(die)
            self.b.add_struct(die.name, die.attrs.get(_AT_BYTE_SIZE, 0), members, union=union,
                              bitfields=bitfields)

    def _enumeration(self, die: Die, index_id: int | None) -> None:
        self._enum(die)

    def _array(self, die: Die, index_id: int | None) -> None:
        self.b.add_array(self.ref(die), index_id or 0, self._nelems(die))

    def _subroutine(self, die: Die, index_id: int | None) -> None:
        self.b.add_func_proto(self.ref(die), self._params(die))

    _emitters = {  # the tags pahole encodes, each with its btf__add_*
        Tag.base_type: _base_type, Tag.pointer_type: _pointer, Tag.reference_type: _pointer,
        Tag.rvalue_reference_type: _pointer, Tag.const_type: _const,
        Tag.volatile_type: _volatile, Tag.restrict_type: _restrict, Tag.typedef: _typedef,
        Tag.structure_type: _aggregate, Tag.class_type: _aggregate,
        Tag.union_type: _aggregate, Tag.enumeration_type: _enumeration,
        Tag.array_type: _array, Tag.subroutine_type: _subroutine,
    }

    def _members(self, die: Die) -> tuple[list, bool]:
        out, bitfields, dies, ref = [], False, self.g.dies, self.ref
        for child in die.children:
            m = dies[child]
            a = m.attrs
            if m.tag != _MEMBER or a.get(_AT_DECLARATION) or a.get(_AT_EXTERNAL):
                continue
            offset = self._bit_offset(m)
            bits = a.get(_AT_BIT_SIZE, 0)
            if bits:
                bitfields = True
                offset |= bits << 24
            out.append((m.name, ref(m), offset))
        return out, bitfields

    def _bit_offset(self, m: Die) -> int:
        a = m.attrs
        if _AT_DATA_BIT_OFFSET in a:
            return a[_AT_DATA_BIT_OFFSET]
        loc = a.get(_AT_DATA_MEMBER_LOCATION, 0)
        byte_offset = _location_offset(loc) if isinstance(loc, bytes) else loc
        if _AT_BIT_OFFSET in a and _AT_BIT_SIZE in a:
            # DWARF 2/3 numbers bits from the storage unit's most significant
            # end; BTF (and DWARF 4's data_bit_offset) from the least on LE.
            storage = a.get(_AT_BYTE_SIZE) or self._size_of(m.type) or 0
            return byte_offset * 8 + storage * 8 - a[_AT_BIT_OFFSET] - a[_AT_BIT_SIZE]
        return byte_offset * 8

    def _size_of(self, offset: int | None) -> int | None:
        for _ in range(64):
            t = self.g.die(offset) if offset is not None else None
            if t is None:
                return None
            if At.byte_size in t.attrs:
                return t.attrs[At.byte_size]
            offset = t.type
        return None

    def _enum(self, die: Die) -> None:
        values = [(e.name or "", _as_signed(e.attrs.get(At.const_value, 0)))
                  for e in self.g.children(die) if e.tag == Tag.enumerator]
        size = die.attrs.get(At.byte_size, 4)
        signed = any(v < 0 for _, v in values)
        if size > 4:
            self.b.add_enum64(die.name, size, values, signed=signed)
        else:
            self.b.add_enum(die.name, size, values, signed=signed)

    def _nelems(self, die: Die) -> int:
        total = 1
        for s in self.g.children(die):
            if s.tag != Tag.subrange_type:
                continue
            if At.count in s.attrs:
                n = s.attrs[At.count]
            elif At.upper_bound in s.attrs:
                n = s.attrs[At.upper_bound] + 1
            else:
                n = 0  # flexible array
            total *= n if isinstance(n, int) else 0
        return total & 0xFFFFFFFF

    def _params(self, die: Die) -> list[tuple[str | None, int]]:
        """Formal parameters in order; pahole records DW_TAG_unspecified_parameters
        as a flag and appends the vararg last, even where gc puts it between
        a variadic parameter and the results."""
        out, vararg = [], False
        for p in self.g.children(die):
            if p.tag == Tag.formal_parameter:
                out.append((p.name, self.ref(p)))
            elif p.tag == Tag.unspecified_parameters:
                vararg = True
        if vararg:
            out.append((None, 0))
        return out

    def _emit_functions(self, chosen: dict[str, Die]) -> None:
        for name in sorted(chosen):
            die = chosen[name]
            proto = self.b.add_func_proto(self.ref(die), self._params(die))
            self.prov.note(proto, die, "func_proto of subprogram")
            fid = self.b.add_func(name, proto, FuncLinkage.STATIC)
            self.prov.note(fid, die, "func")


_ENCODED_TAGS = frozenset(_Encoder._emitters)  # the DIEs that get a BTF type


def _functions_chosen(graph: TypeGraph) -> tuple[dict[str, int], dict[str, str]]:
    """:func:`~dwarfdiag.btf.functions.select_functions` as plain data (a child's
    value): each chosen function's DIE offset, and those left out with why."""
    from dwarfdiag.btf.functions import select_functions

    chosen, skipped = select_functions(graph)
    return {name: die.offset for name, die in chosen.items()}, skipped


def _location_offset(expr: bytes) -> int:
    """DW_AT_data_member_location as an expression: DW_OP_plus_uconst N (or constu)."""
    if expr and expr[0] in (DW_OP_plus_uconst, DW_OP_constu):
        value = shift = 0
        for b in expr[1:]:
            value |= (b & 0x7F) << shift
            shift += 7
            if b < 0x80:
                break
        return value
    return 0


def _as_signed(value) -> int:
    return value if isinstance(value, int) else 0


def function_btf(graph: TypeGraph, die: Die) -> tuple[Btf, int]:
    """The BTF our encoder gives one subprogram: all types, plus its FUNC_PROTO
    and FUNC (static) appended whatever pahole's function rule says. Returns
    the BTF and the FUNC's id."""
    enc = _Encoder(graph)
    enc.run(funcs=False)
    proto = enc.b.add_func_proto(enc.ref(die), enc._params(die))
    fid = enc.b.add_func(die.name or "", proto, FuncLinkage.STATIC)
    return enc.b.btf(), fid


def pahole_emits_func(graph: TypeGraph, die: Die) -> str | None:
    """Why pahole 1.32 emits no FUNC for this subprogram, or None if it does."""
    from dwarfdiag.btf.functions import filed_symbols, unexpected_register

    name = die.name or ""
    if not name:
        return "it has no name"
    if "." in name:
        return ("pahole 1.30+ files ELF functions under the name up to the first '.', so a "
                "package-qualified Go name never matches one symbol")
    if len(filed_symbols(graph).get(name, [])) != 1:
        return "the ELF symbol table has no single symbol filed under that name"
    why = unexpected_register(graph, die)
    return f"pahole leaves it out: {why}" if why else None
