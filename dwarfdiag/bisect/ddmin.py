"""Zeller's delta debugging (ddmin), with candidate tests run a few at a time.

``ddmin(items, fails)`` returns a 1-minimal sublist of ``items`` for which
``fails`` still holds: removing any single element makes it pass. ``fails``
must hold for ``items`` itself. At each granularity the candidate subsets
(then their complements) are tested in order; ``parallel`` evaluates them in
batches (the first failing candidate *in order* wins, so the result does not
depend on which worker finishes first).
"""

from __future__ import annotations

from typing import Callable, Sequence, TypeVar

T = TypeVar("T")
BatchTest = Callable[[list[list]], list[bool]]


def _split(items: list, n: int) -> list[list]:
    size, extra = divmod(len(items), n)
    out, start = [], 0
    for i in range(n):
        end = start + size + (1 if i < extra else 0)
        out.append(items[start:end])
        start = end
    return [c for c in out if c]


def _first_failing(candidates: list[list], batch: BatchTest, width: int) -> list | None:
    for i in range(0, len(candidates), width):
        group = candidates[i:i + width]
        for cand, failed in zip(group, batch(group)):
            if failed:
                return cand
    return None


def ddmin(items: Sequence[T], fails: Callable[[list[T]], bool] | None = None,
          batch: BatchTest | None = None, width: int = 1,
          shrunk: Callable[[list[T]], None] | None = None) -> list[T]:
    """A 1-minimal failing sublist of ``items`` (order preserved).

    Give either ``fails`` (one subset at a time) or ``batch`` (a list of
    subsets in, one verdict each out) with ``width`` subsets per batch.
    ``shrunk`` hears of every smaller failing list found, so a caller that
    runs out of budget still has the best one.
    """
    if batch is None:
        assert fails is not None
        batch = lambda group: [fails(c) for c in group]  # noqa: E731
    current = list(items)
    n = 2
    while len(current) >= 2:
        chunks = _split(current, n)
        found = _first_failing(chunks, batch, width)
        if found is not None:
            current, n = found, 2
            if shrunk:
                shrunk(current)
            continue
        if n > 2 or len(chunks) > 2:
            complements = [[x for j, c in enumerate(chunks) if j != i for x in c]
                           for i in range(len(chunks))]
        else:
            complements = []  # with two chunks the complements are the chunks
        found = _first_failing(complements, batch, width)
        if found is not None:
            current, n = found, max(n - 1, 2)
            if shrunk:
                shrunk(current)
            continue
        if n >= len(current):
            break
        n = min(len(current), 2 * n)
    return current
