"""BTF that libbpf before 1.7 dedups: reference-only cycles rewritten through a struct.

libbpf resolves reference types (pointers, typedefs, func prototypes, arrays)
recursively and, before v1.7.0 (37027144), rejects a cycle of them with
``-ELOOP``: ``type stateFn func(*lexer) stateFn`` and ``type P *P`` are such
cycles. A cycle through a struct is fine for every libbpf: the struct phase
compares graphs. gccgo shows one way out (a func value is a pointer to its
descriptor struct); this module takes the general one:

for each reference-only cycle, the link out of its typedef (or, with no
typedef on it, out of its first pointer) now goes to a struct named after
the typedef (``main.P.cycle``) with one member ``v`` of the type the link
went to. The struct has that type's size and alignment, so a reader of the
typedef, or of the pointer, finds the same bytes at the same offsets.
"""

from __future__ import annotations

from dwarfdiag.btf.cycles import reference_cycles
from dwarfdiag.btf.edit import EditableBtf, Node
from dwarfdiag.btf.model import BtfKind
from dwarfdiag.errors import UnsupportedError

K = BtfKind
COMPAT_VERSIONS = ("1.1", "1.5", "1.6")  # every libbpf without 37027144
SIZED = (K.INT, K.FLOAT, K.STRUCT, K.UNION, K.ENUM, K.ENUM64)
TRANSPARENT = (K.TYPEDEF, K.CONST, K.VOLATILE, K.RESTRICT, K.TYPE_TAG)
POINTER_SIZE = 8


def size_of(edit: EditableBtf, type_id: int, depth: int = 0) -> int:
    n = edit.nodes[type_id]
    if type_id == 0 or depth > 64:
        return 0
    if n.kind in SIZED:
        return n.size
    if n.kind == K.PTR:
        return POINTER_SIZE
    if n.kind in TRANSPARENT:
        return size_of(edit, n.ref, depth + 1)
    if n.kind == K.ARRAY:
        return n.array[2] * size_of(edit, n.array[0], depth + 1)
    return 0


def check_version(version: str) -> str:
    if version not in COMPAT_VERSIONS:
        raise UnsupportedError(f"--compat {version}: give the libbpf to stay compatible with, "
                               f"one of {', '.join(COMPAT_VERSIONS)} (1.7 and later need no "
                               f"rewrite)")
    return version


def break_cycles(edit: EditableBtf) -> list[str]:
    """Rewrite every reference-only cycle (see the module docstring). Returns what
    changed, in words."""
    changes: list[str] = []
    for _ in range(16):  # a rewrite can expose a cycle that shared a link with another
        cycles = reference_cycles(edit.to_btf())
        if not cycles:
            return changes
        for cycle in cycles:
            nodes = [edit.nodes[i] for i in cycle]
            if any(n.kind in (K.STRUCT, K.UNION) for n in nodes):
                continue  # an earlier rewrite already broke it
            at = next((i for i in cycle if edit.nodes[i].kind == K.TYPEDEF),
                      next((i for i in cycle if edit.nodes[i].kind == K.PTR), None))
            if at is None:
                raise UnsupportedError(f"a reference-only cycle without a typedef or pointer "
                                       f"({', '.join(f'[{i}]' for i in cycle)}); cannot "
                                       f"rewrite it")
            link = edit.nodes[at]
            target = link.ref
            wrapper_name = (link.name or f"anon{at}") + ".cycle"
            size = size_of(edit, target) if target else 0
            link.ref = edit.add(Node(K.STRUCT, wrapper_name, size=size,
                                     members=[["v", target, 0]]))
            shown = " -> ".join(f"{edit.nodes[i].kind.name} {edit.nodes[i].name or '(anon)'}"
                                for i in cycle)
            changes.append(f"cycle {shown}: {link.kind.name} {link.name or f'[{at}]'} now "
                           f"names struct {wrapper_name} {{ v; }} ({size} bytes)")
    raise UnsupportedError("reference-only cycles remain after 16 rounds of rewriting")
