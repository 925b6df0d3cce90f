"""Building large acyclic data without paying the cycle collector for it.

Reading a Go binary's DWARF makes a few million small objects (a dict per
DIE, its strings, tuples); encoding and replaying dedup make hundreds of
thousands more. CPython's cycle collector keeps walking every tracked object
it has not yet promoted while they pile up: on a big binary a large share of
the read time. These structures have no reference cycles, so the
collector has nothing to find in them. :func:`bulk_build` pauses it while
they are built (reference counting still frees everything as usual).

``freeze=True`` then moves everything alive into the permanent generation
(``gc.freeze``), so later passes skip it too. Only for data that lives as
long as the process, such as the TypeGraph: a cycle frozen now is never
collected, so steps run many times (replays in bisect) do not freeze.
"""

from __future__ import annotations

import gc
from contextlib import contextmanager
from typing import Iterator


@contextmanager
def bulk_build(freeze: bool = False) -> Iterator[None]:
    """Pause the cycle collector for one allocation-heavy step; nests."""
    was_enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if freeze:  # also inside another pause: the graph read while a check compares
            gc.freeze()
        if was_enabled:
            gc.enable()
