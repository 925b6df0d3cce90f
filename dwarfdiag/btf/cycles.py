"""Reference-only cycles in BTF: the shape libbpf before 1.7 cannot dedup.

libbpf dedups STRUCT/UNION with a graph-equivalence check that tolerates
cycles, but resolves every other referring kind (PTR, TYPEDEF, CONST,
VOLATILE, RESTRICT, TYPE_TAG, ARRAY, FUNC_PROTO) recursively, and meeting a
type still in progress returns -ELOOP. A cycle that passes through no
struct or union (C cannot write one; Go can: ``type P *P``,
``type stateFn func(*lexer) stateFn``) therefore fails dedup. libbpf 1.7
moved TYPEDEF into the struct phase (commit 37027144), which breaks the
cycles that pass through a typedef.
"""

from __future__ import annotations

from collections.abc import Iterable

from dwarfdiag.btf.model import KIND_BY_VALUE, Btf, BtfKind, TypesOnDemand

REFERENCE_KINDS = frozenset({BtfKind.PTR, BtfKind.TYPEDEF, BtfKind.CONST, BtfKind.VOLATILE,
                             BtfKind.RESTRICT, BtfKind.TYPE_TAG, BtfKind.ARRAY,
                             BtfKind.FUNC_PROTO})


# per 5-bit kind value: a reference kind? one whose only reference is its head's type?
_IS_REFERENCE = tuple(k is not None and k in REFERENCE_KINDS for k in KIND_BY_VALUE)
_ONE_REFERENCE = tuple(k is not None and k in REFERENCE_KINDS
                       and k not in (BtfKind.ARRAY, BtfKind.FUNC_PROTO) for k in KIND_BY_VALUE)


def reference_cycles(btf: Btf) -> list[list[int]]:
    """Strongly connected groups of reference kinds that form a cycle, each as
    one cycle path (type ids in reference order), smallest id first."""
    start = btf.start_id
    types = btf.types
    _, infos, size_or_types = btf.heads()  # kinds and single references, undecoded
    count = len(infos)
    is_ref = [_IS_REFERENCE[(info >> 24) & 0x1F] for info in infos]
    # records decoded on demand: an array's or a prototype's references read from its
    # words (pahole 1.24's 46k prototypes of podman-remote: no object made for them)
    on_demand = types if isinstance(types, TypesOnDemand) else None
    array, proto = int(BtfKind.ARRAY), int(BtfKind.FUNC_PROTO)

    def referenced(at: int) -> Iterable[int]:
        """:meth:`~dwarfdiag.btf.model.BtfType.referenced_ids` of the record at ``at``."""
        value = (infos[at] >> 24) & 0x1F
        if _ONE_REFERENCE[value]:  # a pointer, typedef or qualifier: its head's type
            return (size_or_types[at],)
        if on_demand is not None:
            words, tail = on_demand.words, on_demand.places[at] + 3
            if value == array:  # type, index_type, nelems
                return words[tail], words[tail + 1]
            if value == proto:  # the return type, then (name_off, type) per parameter
                return (size_or_types[at], *words[tail + 1:tail + 2 * (infos[at] & 0xFFFF):2])
        return types[at].referenced_ids()

    out_edges: dict[int, list[int]] = {}  # each node's, worked out once

    def edges(i: int) -> list[int]:
        found = out_edges.get(i)
        if found is None:
            found = out_edges[i] = [r for r in referenced(i - start)
                                    if 0 <= r - start < count and is_ref[r - start]]
        return found

    nodes = [start + i for i, ref in enumerate(is_ref) if ref]
    # a node no reference type points at lies on no cycle, and is no root of one:
    # pahole 1.24's prototype of every function, pointed at by its FUNC only, is
    # half the nodes of a gc binary
    pointed_at: set[int] = set()
    for i in nodes:
        pointed_at.update(edges(i))
    components = _tarjan([i for i in nodes if i in pointed_at], edges)
    cycles = []
    for comp in components:
        if len(comp) == 1 and comp[0] not in edges(comp[0]):
            continue
        cycles.append(_one_cycle(min(comp), set(comp), edges))
    cycles.sort(key=lambda c: c[0])
    return cycles


def _tarjan(nodes: list[int], edges) -> list[list[int]]:
    """Iterative Tarjan SCC (Go types nest deeper than Python's recursion limit)."""
    index: dict[int, int] = {}
    low: dict[int, int] = {}
    on_stack: set[int] = set()
    stack: list[int] = []
    out: list[list[int]] = []
    counter = 0
    for root in nodes:
        if root in index:
            continue
        work = [(root, iter(edges(root)))]
        index[root] = low[root] = counter
        counter += 1
        stack.append(root)
        on_stack.add(root)
        while work:
            v, it = work[-1]
            advanced = False
            for w in it:
                if w not in index:
                    index[w] = low[w] = counter
                    counter += 1
                    stack.append(w)
                    on_stack.add(w)
                    work.append((w, iter(edges(w))))
                    advanced = True
                    break
                if w in on_stack:
                    low[v] = min(low[v], index[w])
            if advanced:
                continue
            work.pop()
            if work:
                low[work[-1][0]] = min(low[work[-1][0]], low[v])
            if low[v] == index[v]:
                comp = []
                while True:
                    w = stack.pop()
                    on_stack.discard(w)
                    comp.append(w)
                    if w == v:
                        break
                out.append(comp)
    return out


def _one_cycle(start: int, members: set[int], edges) -> list[int]:
    """A shortest path start -> ... -> start inside one component (BFS)."""
    parent = {start: None}
    frontier = [start]
    while frontier:
        nxt = []
        for v in frontier:
            for w in edges(v):
                if w not in members:
                    continue
                if w == start:
                    path = [v]
                    while parent[path[-1]] is not None:
                        path.append(parent[path[-1]])
                    return list(reversed(path))
                if w not in parent:
                    parent[w] = v
                    nxt.append(w)
        frontier = nxt
    return [start]
