"""Telegram text that is already rendered, cut into messages of at most :data:`MAX_LEN` UTF-16 units.

The adapter does not need this for replies (the core splits their Markdown by
:func:`~adapters.telegram.render.text_length` before rendering); it is for text rendered as a whole.
"""

from __future__ import annotations

import re
from bisect import bisect_left, bisect_right

from adapters.telegram.render import (
    MAX_ENTITIES,
    MAX_LEN,
    Entity,
    Span,
    entities_at,
    render_all,
    utf16_offsets,
)
from bridge import splits_cluster

_PARA, _LINE, _WORD = re.compile(r"\n\n+"), re.compile(r"\n"), re.compile(r"[ \t]\S")


def render_chunks(markdown: str, limit: int = MAX_LEN) -> list[tuple[str, list[Entity]]]:
    """``markdown`` rendered, then :func:`split_rendered`; the entity cap applies to each message."""
    return split_rendered(*render_all(markdown), limit=limit)


def split_rendered(text: str, entities: list[Entity], limit: int = MAX_LEN) -> list[tuple[str, list[Entity]]]:
    """``text`` cut into parts of at most ``limit`` UTF-16 units, with the entities of each part.

    A cut goes at the last paragraph boundary (blank line) in the second half of the room, else the last
    line, else word boundary there, else the last line or word boundary anywhere, else as late as
    possible between two grapheme clusters (:func:`bridge.splits_cluster`; a cluster longer than
    ``limit`` is cut, at least one character per part). An entity crossing a cut
    is clipped into both parts (a ``pre`` keeps its language); offsets are rebased per part; each part
    keeps at most :data:`MAX_ENTITIES` (the latest, innermost dropped). No part is empty.

    Joining the parts gives ``text`` minus the whitespace at each cut: a part loses the spaces, tabs and
    newlines it would end with, the next part loses the newlines it would start with (never spaces, which
    may be code indentation), and a stretch of only whitespace longer than ``limit`` is dropped whole.
    Nothing else is dropped or added.
    """
    if limit < 2:
        raise ValueError(f"limit must be at least 2 UTF-16 units (one emoji), not {limit}")
    units = utf16_offsets(text)
    spans = sorted(
        (bisect_left(units, e.offset), -bisect_left(units, e.offset + e.length), i, e.type, e.language, e.url)
        for i, e in enumerate(entities)
    )
    parts: list[tuple[str, list[Entity]]] = []
    start, size = 0, len(text)
    while start < size:
        if units[size] - units[start] <= limit:
            cut = end = size
        else:
            cut = _cut(text, start, bisect_right(units, units[start] + limit) - 1)
            end = len(text[start:cut].rstrip(" \t\n")) + start
        if end > start:
            parts.append((text[start:end], _clip(spans, units, start, end)[:MAX_ENTITIES]))
        start = cut
        while start < size and text[start] == "\n":
            start += 1
    return parts


def _clip(spans: list[Span], units: list[int], start: int, end: int) -> list[Entity]:
    """The spans intersecting ``[start, end)``, clipped to it, as entities relative to ``start``."""
    clipped = [(max(s, start), -min(-e, end), n, k, lang, url) for s, e, n, k, lang, url in spans]
    return entities_at(sorted(c for c in clipped if -c[1] > c[0]), units, start)


def _cut(text: str, start: int, room: int) -> int:
    """Where to end a part that starts at ``start`` and may end at ``room`` at the latest."""
    half = start + (room - start) // 2
    lead = room - len(text[start:room].lstrip())  # a part must hold more than whitespace
    for pattern, floor in ((_PARA, half), (_LINE, half), (_WORD, half), (_LINE, start), (_WORD, start)):
        last = -1
        for match in pattern.finditer(text, start, room + (pattern is _WORD)):
            cut = match.end() if pattern is not _WORD else match.start() + 1
            # A space may carry a combining mark: cutting after it would split the pair.
            if floor <= cut <= room and cut > lead and not splits_cluster(text, cut):
                last = cut
        if last > 0:
            return last
    cut = room
    while cut - 1 > start and splits_cluster(text, cut):
        cut -= 1
    return max(cut, start + 1)
