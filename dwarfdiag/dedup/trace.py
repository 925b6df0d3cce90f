"""Trace events of a replay, streamed as JSON lines.

The driver and the phases call ``state.emit(ev=..., ...)``; with no tracer
that costs one attribute check. Events (all carry ``phase``):

* ``phase``: ``status`` start/end;
* ``type``: one type processed: ``id``, ``kind``, ``name``, ``hash``, the
  ``candidates`` tried in order, ``canonical`` chosen; in the struct phase
  also ``equiv``, one entry per candidate checked with its ``result`` and
  the hypothetical pairs (canonical id, candidate id) that decided it;
* ``enter``: the reference phase starts resolving ``id`` (``kind``, ``name``)
  at ``depth`` on its depth-first walk (1: a top-level type);
* ``fwd``: a FWD resolved by name; ``remap``: a kept type's old ``id`` and
  ``new`` id after compaction; ``compact``: types in and out;
* ``error``/``failed``: the errno and its detail (``cycle``, ``stack``);
* ``note``: libbpf's pr_debug-level remarks (depth limit, not-equivalent
  members).

Events are written as they happen, so a trace of any size needs constant
memory.
"""

from __future__ import annotations

import json
from typing import IO, Iterable


class JsonlTracer:
    """Write every event as one JSON line; count them."""

    def __init__(self, out: IO[str], focus: Iterable[int] | None = None):
        self.out = out
        self.focus = set(focus) if focus is not None else None
        self.count = 0

    def __call__(self, event: dict) -> None:
        if self.focus is not None and event.get("ev") != "phase" and \
                not involves(event, self.focus):
            return
        self.out.write(json.dumps(event, separators=(",", ":")) + "\n")
        self.count += 1


def involves(event: dict, ids: set[int]) -> bool:
    """Does ``event`` name one of ``ids`` (as the type, a candidate, a canonical, a
    hypothetical pair or on a cycle)?"""
    named = [event.get("id"), event.get("canonical"), event.get("canon"), event.get("new")]
    named += event.get("candidates") or []
    for check in event.get("equiv") or []:
        named += [x for pair in check["hypot"] for x in pair]
    detail = event.get("detail") or {}
    named += detail.get("cycle") or []
    return any(i in ids for i in named if isinstance(i, int))
