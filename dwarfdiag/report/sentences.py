"""Replay trace events as sentences, for the report's stepper.

Each event of :mod:`dwarfdiag.dedup.trace` becomes one line a reader can
follow ("resolving [812] TYPEDEF main.stateFn (depth 1)", "[813] PTR: no
earlier type is equal; it stays canonical", "ELOOP: [812] is met again while
it is still being resolved"), with the raw event kept beside it.
"""

from __future__ import annotations

import json
from dataclasses import dataclass


@dataclass
class Step:
    text: str
    raw: str  # the event as JSON
    on_chain: bool  # it names a type of the failure's chain


def _type(event: dict, key: str = "id") -> str:
    name = event.get("name")
    kind = event.get("kind")
    label = f"[{event.get(key)}]"
    if kind:
        label += f" {kind}"
    if name and key == "id":
        label += f" {name}"
    return label


def _errno(value) -> str:
    from dwarfdiag.findings.explain import errno_name

    return errno_name(value) if isinstance(value, int) else str(value)


def sentence(event: dict) -> str:
    ev = event.get("ev")
    if ev == "enter":
        return f"resolving {_type(event)} (walk depth {event.get('depth')})"
    if ev == "type":
        tried = event.get("candidates") or []
        canonical = event.get("canonical")
        if canonical == event.get("id"):
            how = (f"none of {len(tried)} candidates with hash {event.get('hash'):#x} is "
                   f"equal; it stays canonical" if tried and isinstance(event.get("hash"), int)
                   else "no earlier type is equal; it stays canonical")
        else:
            how = f"equal to [{canonical}] after {len(tried)} candidate(s); merged into it"
        checks = event.get("equiv") or []
        failed = [c for c in checks if not c.get("result")]
        extra = f" ({len(failed)} candidate(s) not equivalent)" if failed else ""
        return f"{_type(event)}: {how}{extra}"
    if ev == "error":
        detail = event.get("detail") or {}
        cycle = detail.get("cycle") or []
        errno = _errno(event.get("errno"))
        if cycle:
            path = " → ".join(f"[{i}]" for i in cycle)
            return (f"error {errno}: [{event.get('id')}] is met again while it is still "
                    f"being resolved: {path}")
        return f"error {errno} at [{event.get('id')}]: {detail.get('reason', '')}".rstrip(": ")
    if ev == "failed":
        return f"btf__dedup fails with {_errno(event.get('errno'))} at [{event.get('id')}]"
    if ev == "fwd":
        return f"forward declaration [{event.get('id')}] {event.get('name')} resolved to " \
               f"[{event.get('canonical')}]"
    if ev == "remap":
        return f"[{event.get('id')}] kept as [{event.get('new')}]"
    if ev == "note":
        return f"note: {event.get('text')}"
    if ev == "phase":
        return f"phase {event.get('phase')} {event.get('status')}s"
    return json.dumps(event)[:200]


def steps_of(trace: list, chain_ids: set[int]) -> list[Step]:
    """The stepper's lines for a failure's trace events."""
    from dwarfdiag.dedup.trace import involves

    out = []
    for event in trace:
        if not isinstance(event, dict):
            continue
        text = sentence(event)
        phase = event.get("phase")
        out.append(Step(f"{phase}: {text}" if phase and event.get("ev") != "phase" else text,
                        json.dumps(event, separators=(", ", ": ")),
                        involves(event, chain_ids)))
    return out
