"""Final BTF made usable: by the kernel's BTF checks, by C, by bpftool and by libbpf 1.1.

``--for kernel`` takes the final BTF (:mod:`dwarfdiag.usable.final`) and

* renames every type, member, parameter and function to a C identifier
  (:mod:`dwarfdiag.usable.names`), keeping each Go name in the names map;
* renames Go's predeclared types, every Go name without a package (``int``,
  ``uint8``, ``string``, ``error``), to ``go_<name>``: Go's ``int`` is 8 bytes
  and must not share a name with C's 4-byte ``int``, nor ``uint`` with the
  kernel's (floats stay 4- and 8-byte integers, as pahole encodes them: BPF
  has no floating point anyway); and
  prefixes the types of C units (cgo) with ``c_`` (``struct c_timespec``), so a
  header of them can follow ``vmlinux.h`` without clashing with the kernel's;
* turns an array larger than the kernel's limit (4 GiB; Go declares
  ``[1 << 32 / 3]T`` types to slice raw memory through a pointer) into a
  flexible array ``[0]T``, which is only ever behind a pointer anyway;
* gives func values their real size: gc writes a Go func type as a typedef
  of a subroutine type, which has no size, so a struct member of that type
  breaks the kernel's checks and ``btf_dump``'s layout (bpftool dies of
  SIGFPE). A Go func value is one pointer (to its closure), so the typedef
  now names a pointer to the prototype, as does a member of an unnamed func
  type;

* names each anonymous struct a typedef names after the typedef (gccgo's
  ``typedef struct {...} T``), and every other one a pointer or a func
  prototype refers to ``anon_struct_ID``, so C can declare it ahead of its
  definition;
* rewrites every reference-only cycle through a struct of the same layout
  (:mod:`dwarfdiag.usable.compat`): the loops of pointers, typedefs and arrays
  the kernel refuses ("Loop detected", ``type P *P``), and those through a func
  prototype (``type stateFn func(*lexer) stateFn``), which the kernel accepts
  but C cannot spell, libbpf before 1.7 rejects, and libbpf's ``btf_dump``
  (bpftool 7.1's ``format c``) follows until its stack overflows: it marks
  only structs and unions as being ordered, so a typedef -> pointer ->
  prototype -> typedef loop recurses for ever.

The profile is thus also what ``--compat 1.1`` (libbpf 1.1, 1.5, 1.6) asks
for. Every change is listed.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from dwarfdiag.btf.edit import EditableBtf, Node
from dwarfdiag.btf.model import Btf, BtfKind
from dwarfdiag.usable.names import Namer, unique_fields

K = BtfKind
TAG_KINDS = (K.STRUCT, K.UNION, K.ENUM, K.ENUM64, K.FWD)  # C's struct/union/enum tags
GO_COMPILERS = ("gc", "gccgo")


@dataclass
class UsableBtf:
    btf: Btf
    names: dict[str, str]  # C name -> Go name, for every renamed type and function
    changes: list[str] = field(default_factory=list)  # what was rewritten, in words
    provenance: dict[int, dict] = field(default_factory=dict)


def _is_go(provenance: dict[int, dict], type_id: int) -> bool:
    return provenance.get(type_id, {}).get("compiler") in GO_COMPILERS


def _is_c(provenance: dict[int, dict], type_id: int) -> bool:
    return provenance.get(type_id, {}).get("compiler") == "c"


def for_kernel(btf: Btf, provenance: dict[int, dict], compat: str | None = None) -> UsableBtf:
    """The kernel profile of final BTF (see the module docstring)."""
    edit = EditableBtf.from_btf(btf)
    changes: list[str] = []
    _pointer_sized_funcs(edit, provenance, changes)
    _flexible_huge_arrays(edit, changes)
    from dwarfdiag.usable.compat import break_cycles, check_version

    if compat is not None:
        check_version(compat)
    changes += break_cycles(edit)
    _tag_typedefed_structs(edit, changes)
    _name_anonymous_pointees(edit, changes)
    names = _rename(edit, provenance)
    return UsableBtf(edit.to_btf(), names, changes,
                     {i: p for i, p in provenance.items() if i < len(edit.nodes)})


def _pointer_sized_funcs(edit: EditableBtf, provenance: dict[int, dict],
                         changes: list[str]) -> None:
    pointers: dict[int, int] = {}  # FUNC_PROTO id -> the PTR made for it

    def pointer_to(proto: int) -> int:
        if proto not in pointers:
            pointers[proto] = edit.add(Node(K.PTR, ref=proto))
        return pointers[proto]

    nodes = edit.nodes
    retyped = 0
    for type_id, n in list(edit):
        # without provenance (BTF given as a file) a typedef of a prototype is taken for a
        # Go func type: C never holds a function by value either
        go = _is_go(provenance, type_id) or type_id not in provenance
        if n.kind == K.TYPEDEF and nodes[n.ref].kind == K.FUNC_PROTO and go:
            n.ref = pointer_to(n.ref)
            retyped += 1
        elif n.kind in (K.STRUCT, K.UNION):
            for member in n.members:
                if nodes[member[1]].kind == K.FUNC_PROTO:
                    member[1] = pointer_to(member[1])
                    retyped += 1
        elif n.kind == K.ARRAY and nodes[n.array[0]].kind == K.FUNC_PROTO:
            n.array[0] = pointer_to(n.array[0])
            retyped += 1
    if retyped:
        changes.append(f"{retyped} Go func types and members now point to their prototype "
                       f"(a func value is one pointer)")


U32_MAX = (1 << 32) - 1


def _flexible_huge_arrays(edit: EditableBtf, changes: list[str]) -> None:
    from dwarfdiag.usable.compat import size_of

    shrunk = []
    for type_id, n in edit:
        if n.kind == K.ARRAY and n.array[2] * max(size_of(edit, n.array[0]), 1) > U32_MAX:
            shrunk.append(f"[{type_id}] [{n.array[2]}]")
            n.array[2] = 0
    if shrunk:
        changes.append(f"{len(shrunk)} arrays larger than 4 GiB are now flexible arrays "
                       f"[0]T: {', '.join(shrunk[:5])}")


def _tag_typedefed_structs(edit: EditableBtf, changes: list[str]) -> None:
    """Name each anonymous struct or union a typedef names after that typedef.

    gccgo writes every named Go struct as ``typedef struct { ... } T``. C cannot
    declare an anonymous struct ahead of its definition, so a pointer cycle
    through two such typedefs (``_type`` -> ``uncommonType`` -> ``method`` ->
    ``*_type``) has no C spelling, and bpftool's ``format c`` gives up
    ("unsatisfiable type cycle"). Tagged, ``struct T`` can be declared first.
    """
    tagged = 0
    for _, n in edit:
        target = edit.nodes[n.ref] if n.kind == K.TYPEDEF and n.ref else None
        if target is not None and target.kind in (K.STRUCT, K.UNION) and not target.name:
            target.name = n.name
            tagged += 1
    if tagged:
        changes.append(f"{tagged} anonymous structs and unions named after their typedef "
                       f"('typedef struct {{...}} T', as gccgo writes every Go struct), so C can declare them ahead")


def _name_anonymous_pointees(edit: EditableBtf, changes: list[str]) -> None:
    """Name each anonymous struct or union that a pointer or a func prototype refers
    to (``anon_struct_ID``).

    C declares a named struct ahead of its definition, an anonymous one only where
    it is defined. libbpf's ``btf_dump`` orders types that way, so a loop that passes
    through a pointer is satisfiable only if the pointee has a name: gccgo writes an
    interface as ``{ methods *struct {...}; object *void }`` and returns several
    results as an anonymous struct, so ``reflect.Type``'s method table, whose
    ``FieldByName`` returns ``struct { StructField; bool }`` holding a ``Type`` by
    value, has no C spelling ("unsatisfiable type cycle") until both have a name.
    """
    wanted: set[int] = set()
    for _, n in edit:
        refs = [n.ref] if n.kind == K.PTR else \
            [n.ref, *(p[1] for p in n.params)] if n.kind == K.FUNC_PROTO else []
        wanted.update(r for r in refs if r and edit.nodes[r].kind in (K.STRUCT, K.UNION)
                      and not edit.nodes[r].name)
    for type_id in sorted(wanted):
        node = edit.nodes[type_id]
        node.name = f"anon_{node.kind.name.lower()}_{type_id}"
    if wanted:
        changes.append(f"{len(wanted)} anonymous structs and unions behind a pointer or in a "
                       f"func prototype named anon_struct_ID, so C can declare them ahead")


def _rename(edit: EditableBtf, provenance: dict[int, dict]) -> dict[str, str]:
    tags, ordinary = Namer(), Namer()
    names: dict[str, str] = {}
    for type_id, n in edit:
        if n.name and n.kind not in (K.PTR, K.FUNC_PROTO, K.ARRAY):
            # gccgo's names (".main.T", or "T" for its own package) in gc's spelling
            original = provenance.get(type_id, {}).get("go_name") or n.name
            go_name = original
            bare = "." not in original.lstrip(".")  # a builtin (int, uint, string, error)
            if _is_go(provenance, type_id) and bare:
                go_name = "go_" + original.lstrip(".")
            elif _is_c(provenance, type_id) and n.kind != K.FUNC:
                go_name = "c_" + n.name
            c_name = (tags if n.kind in TAG_KINDS else ordinary).name(go_name, type_id)
            if c_name != original:
                names[c_name] = original
            n.name = c_name
        if n.members:
            for member, field_name in zip(n.members, unique_fields([m[0] for m in n.members])):
                member[0] = field_name
        if n.params:
            for param, field_name in zip(n.params, unique_fields([p[0] for p in n.params])):
                param[0] = field_name
        if n.values:
            for value in n.values:
                value[0] = ordinary.name(value[0])
    return names
