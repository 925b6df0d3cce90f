"""The bisect search: ddmin over units, then types, round after round.

Round k finds one 1-minimal set of seed types whose closure still fails the
way the whole BTF does (same errno). The types of that closure whose
removal alone makes it pass (the seeds, and the cycle they reach) are then
*banned* (references to them become void), which breaks that failure and
leaves types it merely shares (an ``int``, a struct stub) available; the
next round looks for another failure, as Go's ``cmd/bisect`` keeps going
after its first culprit. It stops when the BTF with everything found so far
banned no longer fails, or when ``max_calls``/``timeout`` run out (the best
sets so far are kept, marked unverified).

Oracle verdicts are cached by the exact kept id set; uncached subsets of
one ddmin step run in parallel over ``workers`` processes.
"""

from __future__ import annotations

import hashlib
import multiprocessing
import time
from concurrent.futures import ProcessPoolExecutor
from typing import Callable

from dwarfdiag.bisect.ddmin import ddmin
from dwarfdiag.bisect.oracles import OracleSpec, make_oracle
from dwarfdiag.bisect.subset import Universe
from dwarfdiag.btf.raw import parse_btf, write_btf
from dwarfdiag.findings.bisect import MinimalSet, SearchResult


class BudgetExhausted(Exception):
    def __init__(self, why: str):
        super().__init__(why)
        self.why = why


# --- worker side: one Universe and oracle per process ------------------------------
_W: dict = {}


def _init_worker(raw: bytes | None, provenance: dict | None, spec: OracleSpec) -> None:
    if raw is not None:  # not forked from the Bisector: rebuild the universe here
        _W["universe"] = Universe(parse_btf(raw), provenance)
    _W["oracle"] = make_oracle(spec)


def _run_subset(kept: list[int]) -> int:
    universe: Universe = _W["universe"]
    return _W["oracle"](universe.build(kept))


class Bisector:
    def __init__(self, universe: Universe, spec: OracleSpec, workers: int = 2,
                 max_calls: int | None = None, timeout: float | None = None,
                 progress: Callable[[str, int, int], None] | None = None):
        self.u, self.spec = universe, spec
        self.max_calls, self.timeout = max_calls, timeout
        self.progress = progress or (lambda stage, size, calls: None)
        self.cache: dict[str, int] = {}
        self.calls = self.hits = 0
        self.start = time.perf_counter()
        self.workers = max(1, workers)
        self.pool = None
        # forked workers find the universe in _W, as this process set it; others
        # (spawn) get it as bytes and rebuild it
        _W["universe"] = universe
        if self.workers > 1:
            forked = multiprocessing.get_start_method() == "fork"
            self.pool = ProcessPoolExecutor(
                self.workers, initializer=_init_worker,
                initargs=(None, None, spec) if forked else
                (write_btf(universe.btf), dict(universe.provenance), spec))
        else:
            _init_worker(None, None, spec)
        self.best: list[int] | None = None
        self.stage = ""

    def close(self) -> None:
        if self.pool is not None:
            self.pool.shutdown(cancel_futures=True)

    # -- oracle with cache and budget -------------------------------------------
    def errnos(self, kept_sets: list[list[int]]) -> list[int]:
        keys = [hashlib.sha1(repr(k).encode()).hexdigest() for k in kept_sets]
        todo = {key: kept for key, kept in zip(keys, kept_sets) if key not in self.cache}
        self.hits += len(keys) - len(todo)
        if todo:
            if self.max_calls is not None and self.calls + len(todo) > self.max_calls:
                raise BudgetExhausted("max-calls")
            if self.timeout is not None and time.perf_counter() - self.start > self.timeout:
                raise BudgetExhausted("timeout")
            items = list(todo.items())
            if self.pool is not None and len(items) > 1:
                results = list(self.pool.map(_run_subset, [kept for _, kept in items]))
            else:
                results = [self.pool.submit(_run_subset, kept).result() if self.pool
                           else _run_subset(kept) for _, kept in items]
            for (key, _), err in zip(items, results):
                self.cache[key] = err
            self.calls += len(items)
            self.progress(self.stage, max(len(k) for k in kept_sets), self.calls)
        return [self.cache[k] for k in keys]

    def _batch(self, to_ids: Callable[[list], list[int]], banned: frozenset, target: int):
        def batch(groups: list[list]) -> list[bool]:
            kept = [self.u.closure(to_ids(g), banned) for g in groups]
            return [err == target for err in self.errnos(kept)]
        return batch

    # -- the search ---------------------------------------------------------------
    def run(self) -> SearchResult:
        full = self.u.closure(self.u.all_ids)
        self.stage = "whole BTF"
        [target] = self.errnos([full])
        result = SearchResult(len(full), target, self.spec.label)
        if target == 0:
            result.stopped = "nothing-to-bisect"
            return self._finish(result)
        banned: frozenset = frozenset()
        try:
            while True:
                rest = [i for i in self.u.all_ids if i not in banned]
                self.stage = f"round {len(result.sets) + 1}: remaining BTF"
                if self.errnos([self.u.closure(rest, banned)])[0] != target:
                    break
                found = self._one_set(rest, banned, target)
                result.sets.append(found)
                banned = banned | frozenset(found.breakers or found.seeds)
        except BudgetExhausted as e:
            result.stopped = e.why
            if self.best:
                result.sets.append(MinimalSet(self.best, self.u.closure(self.best, banned),
                                              [], target, verified=False))
        except KeyboardInterrupt:
            result.stopped = "interrupted"
            if self.best:
                result.sets.append(MinimalSet(self.best, self.u.closure(self.best, banned),
                                              [], target, verified=False))
        return self._finish(result)

    def _one_set(self, rest: list[int], banned: frozenset, target: int) -> MinimalSet:
        by_unit: dict[str, list[int]] = {}
        for i in rest:
            by_unit.setdefault(self.u.unit_of(i), []).append(i)
        units = sorted(by_unit)
        self.stage = f"round: units ({len(units)})"
        self.best = rest
        to_ids = lambda names: [i for n in names for i in by_unit[n]]  # noqa: E731
        units = ddmin(units, batch=self._batch(to_ids, banned, target), width=self.workers,
                      shrunk=lambda cur: setattr(self, "best", to_ids(cur)))
        types = to_ids(units)
        self.stage = f"round: types ({len(types)})"
        self.best = types
        seeds = ddmin(types, batch=self._batch(lambda g: g, banned, target), width=self.workers,
                      shrunk=lambda cur: setattr(self, "best", list(cur)))
        closure = self.u.closure(seeds, banned)
        verified = self.errnos([closure])[0] == target
        self.stage = "round: what breaks the set"
        without = [self.u.closure(seeds, banned | {t}) for t in closure]
        breakers = [t for t, err in zip(closure, self.errnos(without)) if err != target]
        return MinimalSet(seeds, closure, units, target, verified,
                          _failing_chain(self.u, closure, self.spec), breakers)

    def _finish(self, result: SearchResult) -> SearchResult:
        result.calls, result.cache_hits = self.calls, self.hits
        result.seconds = round(time.perf_counter() - self.start, 2)
        _mark_duplicates(self.u, result.sets)
        self.close()
        return result


def _failing_chain(u: Universe, closure: list[int], spec: OracleSpec) -> list[int]:
    """The replay's failing chain inside the subset, as input ids (for display)."""
    from dwarfdiag.dedup.driver import replay
    from dwarfdiag.dedup.variants import variant

    result = replay(u.build(closure), variant(spec.replay_variant))
    chain = result.detail.get("cycle") or []
    return [closure[i - 1] for i in chain if 0 < i <= len(closure)]


def _mark_duplicates(u: Universe, sets: list[MinimalSet]) -> None:
    seen: dict[tuple, int] = {}
    for index, s in enumerate(sets):
        ids = s.cycle or s.closure
        key = tuple(sorted(u.btf.name_of(u.btf.type_by_id(i)) for i in ids))
        if key in seen:
            s.duplicate_of = seen[key]
        else:
            seen[key] = index
