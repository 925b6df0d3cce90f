"""A failure's chain of types drawn as evidence: boxes sized to their labels, top to
bottom, each arrow labelled with how one type refers to the next (``member next``,
``param 1``, ``return type``, ``points to``, ``names``), and for a cycle the arrow
back from the last type to the first.

The geometry is computed here, in character cells of a monospace font, so the
template only places what it is given; text is never measured by a browser.
"""

from __future__ import annotations

from dataclasses import dataclass

from dwarfdiag.findings.common import TypeRef

CHAR = 7.3  # px per character at the drawing's 12 px monospace
SMALL = 6.1  # px per character of the 10 px second line
BOX_H = 40
GAP = 34  # vertical room for an arrow and its label
PAD = 10
MARGIN = 12
MAX_LABEL = 90  # characters; the full name is in the node's tooltip and the table


@dataclass
class Box:
    id: int
    x: float
    y: float
    w: float
    title: str  # [812] TYPEDEF main.stateFn
    detail: str  # package text/template/parse · DIE 0x19ec96
    tooltip: str


@dataclass
class Arrow:
    path: str
    label: str
    label_x: float
    label_y: float
    anchor: str = "start"


@dataclass
class Drawing:
    width: float
    height: float
    boxes: list[Box]
    arrows: list[Arrow]
    cycle: bool


def _clip(text: str, n: int = MAX_LABEL) -> str:
    return text if len(text) <= n else text[:n - 1] + "…"


def draw_chain(chain: list[TypeRef]) -> Drawing:
    """The drawing of ``chain`` (a cycle repeats its first type at the end)."""
    cycle = len(chain) > 1 and chain[0].id == chain[-1].id
    ring = chain[:-1] if cycle else chain
    if len(chain) == 1:
        cycle = False
    titles = [f"[{t.id}] {t.kind} {t.name or '(anon)'}" for t in ring]
    details = []
    for t in ring:
        p = t.provenance
        parts = [p.package and f"package {p.package}",
                 p.die_offset is not None and f"DIE {p.die_offset:#x}",
                 p.file and f"{p.file.rsplit('/', 1)[-1]}:{p.line}"]
        details.append(" · ".join(x for x in parts if x))
    w = max(max(len(_clip(s)) * CHAR, len(_clip(d)) * SMALL) for s, d in zip(titles, details))
    w = round(w + 2 * PAD, 1)
    boxes = [Box(t.id, MARGIN, MARGIN + i * (BOX_H + GAP), w, _clip(title), _clip(detail),
                 f"{title}\n{detail}" if detail else title)
             for i, (t, title, detail) in enumerate(zip(ring, titles, details))]
    arrows: list[Arrow] = []
    cx = MARGIN + w / 2
    for i in range(len(boxes) - 1):
        top = boxes[i].y + BOX_H
        bottom = boxes[i + 1].y - 2
        arrows.append(Arrow(f"M {cx} {top} L {cx} {bottom}", _clip(ring[i].via or "", 40),
                            cx + 8, (top + bottom) / 2 + 4))
    labels = [len(a.label) * SMALL for a in arrows]
    width = max(MARGIN + w + 16 + max(labels, default=0), MARGIN + w)
    if cycle:
        first, last = boxes[0], boxes[-1]
        right = MARGIN + w
        out = right + 36
        via = _clip(ring[-1].via or "", 40)
        if len(boxes) == 1:  # a type that refers to itself
            y = first.y + BOX_H / 2
            path = (f"M {right} {y + 8} C {out} {y + 28}, {out} {y - 28}, {right + 2} {y - 8}")
            arrows.append(Arrow(path, via, out + 6, y + 4))
        else:
            y1, y2 = first.y + BOX_H / 2, last.y + BOX_H / 2
            path = f"M {right} {y2} L {out} {y2} L {out} {y1} L {right + 2} {y1}"
            arrows.append(Arrow(path, via, out + 6, (y1 + y2) / 2 + 4))
        width = max(width, out + 8 + len(via) * SMALL)
    height = MARGIN * 2 + len(boxes) * BOX_H + (len(boxes) - 1) * GAP
    return Drawing(round(width + MARGIN, 1), round(height, 1), boxes, arrows, cycle)
