"""Why dedup fails (or what it merged): the diagnosis behind ``dedup explain``.

It replays the chosen libbpf variant and reports, on failure, the first
failing type in libbpf's processing order with its phase and errno, the
whole cycle or chain, each type's provenance (DIE, Go name, package, file
and line where known) and a root-cause class; then every other independent
failure the first one hides (explore mode keeps going past a failure). On
success it summarises types in and out, merges per kind and the largest
equivalence classes. For every libbpf variant it predicts pahole's verdict.
"""

from __future__ import annotations

import errno as errno_mod
from collections import Counter
from typing import Callable

from dwarfdiag.btf.model import Btf, BtfKind
from dwarfdiag.dedup.driver import ReplayResult, replay
from dwarfdiag.dedup.inputs import DedupInput
from dwarfdiag.dedup.state import DedupError
from dwarfdiag.dedup.variants import VARIANTS, Variant
from dwarfdiag.findings.common import Provenance, TypeRef
from dwarfdiag.findings.explain import (EquivalenceClass, Explanation, Failure, Prediction,
                                        errno_name)
from dwarfdiag.fork import LOST, Forked, second_core

K = BtfKind
KIND_WORDS = {K.PTR: "pointer", K.TYPEDEF: "typedef", K.FUNC_PROTO: "func_proto",
              K.ARRAY: "array", K.CONST: "const", K.VOLATILE: "volatile",
              K.RESTRICT: "restrict", K.TYPE_TAG: "type_tag", K.FUNC: "func"}


def _link(btf: Btf, type_id: int, provenance: dict[int, dict]) -> TypeRef:
    if type_id == 0 or not (1 <= type_id < btf.type_cnt):
        return TypeRef(type_id, "VOID" if type_id == 0 else "?", "")
    t = btf.type_by_id(type_id)
    return TypeRef(type_id, t.kind.name, btf.name_of(t), Provenance.of(provenance.get(type_id)))


def _classify(btf: Btf, err: int, detail: dict, inp: DedupInput, hangs: bool) -> str:
    if hangs:
        return "libbpf would loop for ever comparing two identical reference-only cycles"
    cycle = detail.get("cycle") or []
    if err == -errno_mod.ELOOP and cycle:
        edges = list(zip(cycle, cycle[1:]))
        if inp.check is not None and _made_by_encoder(inp, edges):
            return ("encoder inconsistency: the cycle uses references that point elsewhere "
                    "than the DWARF says (see 'dwarfdiag check')")
        kinds = sorted({KIND_WORDS.get(btf.type_by_id(i).kind, btf.type_by_id(i).kind.name)
                        for i in cycle[:-1] if i})
        return f"reference cycle through {', '.join(kinds)} (no struct or union on it)"
    if detail.get("reason"):
        return detail["reason"]
    return f"{errno_name(err)} from {detail.get('phase', 'dedup')}"


def _made_by_encoder(inp: DedupInput, edges: list[tuple[int, int]]) -> bool:
    # the check's references that land elsewhere than the DWARF's (its bad edges),
    # without spelling out every inconsistency
    return any(e in inp.check.bad_edges for e in edges)


def _failure(btf: Btf, inp: DedupInput, err: int, phase: str, first_id, detail: dict,
             hangs: bool = False) -> Failure:
    ids = detail.get("cycle") or detail.get("stack") or [detail.get("at")]
    ids = [i for i in ids if i is not None]
    chain = [_link(btf, i, inp.provenance) for i in ids]
    for link, nxt in zip(chain, ids[1:]):
        if 1 <= link.id < btf.type_cnt:
            link.via = btf.link_role(link.id, nxt)
    return Failure(err, phase, first_id, detail.get("at"), chain,
                   _classify(btf, err, detail, inp, hangs))


def _from_error(btf: Btf, inp: DedupInput, e: DedupError) -> Failure:
    detail = {**e.detail, "at": e.type_id}
    return _failure(btf, inp, e.errno, e.phase, e.detail.get("first_id", e.type_id), detail)


def _why(result: ReplayResult, btf: Btf, inp: DedupInput) -> str:
    if result.ok:
        return "every reference chain reaches a struct, union" + \
            (" or typedef" if result.variant.typedef_in_struct_phase else "")
    f = _failure(btf, inp, result.error, result.phase or "", result.type_id, result.detail,
                 result.hangs)
    why = f.root_cause
    cycle_kinds = {link.kind for link in f.chain}
    if result.variant.typedef_in_struct_phase and "TYPEDEF" not in cycle_kinds \
            and result.error == -errno_mod.ELOOP:
        why += "; libbpf 1.7 breaks cycles only at typedefs and this one has none"
    return why + ": " + " -> ".join(f"[{link.id}] {link.kind}" for link in f.chain[:8])


def explain(inp: DedupInput, variant: Variant, predict: bool = True,
            progress: Callable[[str], None] | None = None) -> Explanation:
    """Diagnose ``inp`` under ``variant``; ``predict`` also replays every other
    variant to predict pahole's verdict with each libbpf (one more replay per algorithm,
    shared between the two cores).
    ``progress`` hears which replay is running."""
    say = progress or (lambda text: None)
    btf = inp.btf
    # Every other algorithm's replay is needed for the predictions (1.1 and 1.5
    # always share one, master and 1.7 unless there is base BTF). The explore
    # replay's first failure is the one a plain replay stops at, so it answers for
    # its own algorithm. The later algorithms (1.7's success replays every phase,
    # the slowest) go to the second core; this process replays its own variant, then
    # the earlier ones, so both cores finish about together.
    own = _behaviour(variant, btf)
    others: dict[tuple, Variant] = {}
    for v in VARIANTS.values() if predict else ():
        others.setdefault(_behaviour(v, btf), v)
    others.pop(own, None)
    pending = list(others.items())
    mine, theirs = pending[:len(pending) // 2], pending[len(pending) // 2:]

    def replay_each(share: list) -> list:
        return [(list(b), _outcome(replay(btf, v), btf, inp)) for b, v in share]

    child = Forked(lambda: replay_each(theirs)) if theirs and second_core() else None
    if child is None:
        mine, theirs = pending, []
    try:
        say(f"replaying libbpf {variant.name} ({len(btf.types)} types)")
        result = replay(btf, variant, explore=True)
        outcomes = {own: _outcome(result, btf, inp)}
        for b, v in mine:
            say(f"predicting pahole with libbpf {v.name}")
            outcomes[b] = _outcome(replay(btf, v), btf, inp)
        if child is not None:
            say("predicting pahole with the other libbpf versions")
            found = child.result()
            if found is not LOST:
                outcomes.update((tuple(b), o) for b, o in found)  # type: ignore[union-attr]
    finally:
        if child is not None:
            child.stop()
    for b, v in theirs:  # the second core's share, when its child was lost
        if b not in outcomes:
            say(f"predicting pahole with libbpf {v.name}")
            outcomes[b] = _outcome(replay(btf, v), btf, inp)
    first = hidden = None
    if not result.ok:
        first = _failure(btf, inp, result.error, result.phase or "", result.type_id,
                         result.detail, result.hangs)
        hidden = [_from_error(btf, inp, e) for e in result.hidden_failures]
    merges: Counter = Counter()
    classes: Counter = Counter()
    if result.ok:
        for type_id in range(btf.start_id, btf.type_cnt):
            canon = _resolve(result.canonical, type_id)
            classes[canon] += 1
            if canon != type_id:
                merges[btf.type_by_id(type_id).kind.name] += 1
    largest = []
    for canon, size in classes.most_common(10):
        if size < 2:
            break
        t = btf.type_by_id(canon)
        largest.append(EquivalenceClass(canon, size, t.kind.name, btf.name_of(t),
                                        Provenance.of(inp.provenance.get(canon))))
    predictions = [Prediction(v.name, v.follows, v.verified_against,
                              *outcomes[_behaviour(v, btf)])
                   for v in VARIANTS.values() if predict]
    return Explanation(inp.producer, variant.name, len(btf.types),
                       len(result.kept) if result.ok else None, first, hidden or [],
                       dict(merges), largest, predictions, result.seconds, inp.binary)


def _outcome(r: ReplayResult, btf: Btf, inp: DedupInput) -> tuple:
    """What a prediction says of one replay (plain data: it may come from a child)."""
    return (r.ok, errno_name(r.error), r.type_id, _why(r, btf, inp))


def _behaviour(v: Variant, btf: Btf) -> tuple[bool, bool, bool]:
    """What decides a variant's output on ``btf``: master's one change (how base
    typedefs are hashed) matters only for split BTF."""
    from dwarfdiag.dedup.variants import algorithm

    identical, typedefs, base_hash = algorithm(v)
    return identical, typedefs, base_hash and btf.base is not None


def _resolve(canonical: list[int], type_id: int) -> int:
    while canonical[type_id] <= 0x7FFFFFFF and canonical[type_id] != type_id:
        type_id = canonical[type_id]
    return type_id


def focused_trace(btf: Btf, v: Variant, failure: Failure, limit: int = 60) -> list[dict]:
    """The replay's events on the path to ``failure``, for the report's stepper: the
    depth-first walk from the top-level type libbpf was processing (every type entered
    and settled on it), the events that name a type of the chain, and the error.
    The last ``limit`` of them."""
    from collections import deque

    from dwarfdiag.dedup.trace import involves

    focus = {link.id for link in failure.chain}
    kept: deque = deque(maxlen=limit)
    walking = False

    def on_event(event: dict) -> None:
        nonlocal walking
        ev = event.get("ev")
        if ev == "enter" and event.get("depth") == 1:
            walking = event.get("id") == failure.first_id
        if ev in ("error", "failed") or (walking and ev in ("enter", "type")) or \
                (ev != "phase" and involves(event, focus)):
            kept.append(event)

    replay(btf, v, trace=on_event)
    return list(kept)
