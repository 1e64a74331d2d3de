"""The core's :class:`~bridge.Text` as Telegram plain text plus entities, and how long a message it makes.

Telegram gets ``text`` and an ``entities`` list, never a ``parse_mode``: nothing is escaped, so no text
(partial while streaming, unbalanced, hostile) can fail to parse. Each block is rendered by its type
(:func:`render`): prose as Markdown, a thought collapsed. Pure; the sending room turns each
:class:`Entity` into a ``telegram.MessageEntity``. Long replies are split by the core before rendering,
measured with :func:`text_length` (the UTF-16 length of what :func:`message` makes of a chunk), so every
chunk renders within :data:`MAX_LEN`; text rendered as a whole is cut here (:func:`split_rendered`).

Contract of the entity lists returned here: offsets and lengths count UTF-16 code units (as the Bot API
does); every entity is non-empty and inside the text; any two are disjoint or one contains the other;
``code`` and ``pre`` contain nothing, quotes never nest, ``text_link`` contains only bold/italic/
underline/strikethrough/spoiler; at most :data:`MAX_ENTITIES` per message; sorted by offset, outer first.
"""

from __future__ import annotations

import functools
import re
from bisect import bisect_left, bisect_right
from dataclasses import dataclass
from itertools import accumulate

from markdown_it import MarkdownIt
from markdown_it.token import Token

from bridge import Text, Thought, splits_cluster

MAX_LEN = 4096  # UTF-16 code units of text per message
MAX_ENTITIES = 100  # Telegram ignores entities beyond about 100 per message
BLANK = "…"  # what a chunk of only whitespace shows: Telegram refuses blank text
_RENDERS = 512  # chunks (each about MAX_LEN at most) whose render is kept: the core measures them often
_FORMAT = frozenset({"bold", "italic", "underline", "strikethrough", "spoiler"})
_QUOTES = frozenset({"blockquote", "expandable_blockquote"})
_LEAVES = frozenset({"code", "pre"})
_INLINE = {"strong": "bold", "em": "italic", "s": "strikethrough"}
# Telegram can reject a whole message over a text_link it finds invalid ("Wrong HTTP URL": user info,
# a host without a dot, …), so only links that plainly pass become entities; the rest stay plain text.
_URL = re.compile(
    r"https?://[a-z0-9-]+(?:\.[a-z0-9-]+)+\.?(?::\d{1,5})?(?:[/?#]\S*)?|tg://[a-z0-9_]+(?:[/?#]\S*)?",
    re.IGNORECASE,
)
# CommonMark as LLMs write it, plus ~~strikethrough~~; raw HTML stays literal text.
_MD = MarkdownIt("commonmark", {"html": False}).enable("strikethrough")
_PARA, _LINE, _WORD = re.compile(r"\n\n+"), re.compile(r"\n"), re.compile(r"[ \t]\S")  # where to cut

# A span in code points: (start, -end, order opened, type, language, url); sorts outer first.
Span = tuple[int, int, int, str, str | None, str | None]


@dataclass(frozen=True, slots=True)
class Entity:
    """A Bot API ``MessageEntity``; ``offset`` and ``length`` in UTF-16 code units."""

    type: str
    offset: int
    length: int
    language: str | None = None
    url: str | None = None

    def to_dict(self) -> dict[str, str | int]:
        """The Bot API shape: ``type``, ``offset``, ``length``, plus ``language``/``url`` when set."""
        shape: dict[str, str | int] = {"type": self.type, "offset": self.offset, "length": self.length}
        return shape | {k: v for k, v in (("language", self.language), ("url", self.url)) if v is not None}


def utf16_len(text: str) -> int:
    """The length of ``text`` in UTF-16 code units, the unit of Telegram's limits and offsets."""
    return len(text.encode("utf-16-le", "surrogatepass")) // 2


def render(text: Text) -> tuple[str, list[Entity]]:
    """``text`` as plain text and entities for one message; never raises.

    Supported: ``**bold**``/``__bold__``, ``*italic*``/``_italic_``, ``~~strike~~``, ```code```, fenced
    and indented code blocks (``pre``, with the fence's language; an unclosed fence runs to the end),
    ``[text](url)`` and images (``text_link`` for http/https/tg URLs, plain text otherwise), headings
    (a bold line), lists (``• item``, ``1. item``, nested lists indented), ``---`` (``———``), and
    blockquotes (``blockquote``). A thought is an ``expandable_blockquote`` of its heading and its
    Markdown (quotes in it are its text: quotes never nest). Blocks are a blank line apart. Anything
    else, including unbalanced markup and HTML, is literal text (CommonMark rules). Non-empty input
    never gives a blank text: its Markdown is returned without entities."""
    body, entities = render_all(text)
    return body, entities[:MAX_ENTITIES]


def message(text: Text) -> tuple[str, list[Entity]]:
    """The message showing one chunk of a reply: :func:`render`, but whitespace only (or nothing)
    shows as :data:`BLANK`. Pure; recent results are cached."""
    body, entities = _message(text)
    return body, list(entities)


def text_length(text: Text) -> int:
    """How long the message :func:`message` makes of ``text`` is, in UTF-16 code units."""
    return utf16_len(_message(text)[0])


@functools.lru_cache(maxsize=_RENDERS)
def _message(text: Text) -> tuple[str, tuple[Entity, ...]]:
    body, entities = render(text)
    return (body, tuple(entities)) if body.strip() else (BLANK, ())


def utf16_offsets(text: str) -> list[int]:
    """UTF-16 offset of each code point index of ``text`` (one more entry than characters)."""
    return list(accumulate((2 if ord(c) > 0xFFFF else 1 for c in text), initial=0))


def entities_at(spans: list[Span], units: list[int], base: int = 0) -> list[Entity]:
    """Spans (code point offsets) as entities (UTF-16 offsets, relative to ``base``)."""
    return [
        Entity(k, units[s] - units[base], units[-e] - units[s], lang, url) for s, e, _, k, lang, url in spans
    ]


def render_all(text: Text) -> tuple[str, list[Entity]]:
    """Text and all entities, uncapped; the text's Markdown when rendering gives nothing (or fails)."""
    try:
        renderer = _Renderer()
        for block in text.blocks:
            renderer.sep = "\n\n"  # written only between blocks that show something
            # A thought is a quote of its heading and text, collapsed: it is there to be looked into.
            renderer.quote = "expandable_blockquote" if isinstance(block, Thought) else "blockquote"
            renderer.blocks(_MD.parse(_paired(block.quote if isinstance(block, Thought) else block.markdown)))
        body = "".join(renderer.out)
    except Exception:  # a parser bug must cost the formatting, never the message
        body = ""
    if not body.strip():
        return _paired(text.markdown), []
    return body, entities_at(sorted(renderer.spans), utf16_offsets(body))


def _paired(markdown: str) -> str:  # lone surrogates (bad JSON upstream) would fail the UTF-8 request
    return markdown.encode("utf-16-le", "surrogatepass").decode("utf-16-le", "replace")


def render_chunks(text: Text, limit: int = MAX_LEN) -> list[tuple[str, list[Entity]]]:
    """``text`` rendered, then :func:`split_rendered`; the entity cap applies to each message."""
    return split_rendered(*render_all(text), limit=limit)


def split_rendered(text: str, entities: list[Entity], limit: int = MAX_LEN) -> list[tuple[str, list[Entity]]]:
    """``text`` cut into parts of at most ``limit`` UTF-16 units, with the entities of each part.

    A cut goes at the last paragraph boundary (blank line) in the second half of the room, else the last
    line, else word boundary there, else the last line or word boundary anywhere, else as late as
    possible between two grapheme clusters (:func:`bridge.splits_cluster`; a cluster longer than
    ``limit`` is cut, at least one character per part). An entity crossing a cut is clipped into both
    parts (a ``pre`` keeps its language); offsets are rebased per part; each part keeps at most
    :data:`MAX_ENTITIES` (the latest, innermost dropped). No part is empty.

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


def _fits(child: str, parents: list[str]) -> bool:
    """Telegram's nesting rules (see the module docstring); a repeated type would be redundant."""
    for parent in parents:
        if parent == child or parent in _LEAVES or (parent in _QUOTES and child in _QUOTES):
            return False
        if child not in _FORMAT and parent not in _FORMAT | _QUOTES:
            return False
    return True


def _tight(tokens: list[Token], i: int) -> bool:
    """Whether the list opened by ``tokens[i]`` is tight (its paragraphs are hidden)."""
    level = tokens[i].level
    for token in tokens[i + 1 :]:
        if token.level <= level:
            break
        if token.type == "paragraph_open" and token.level == level + 2:
            return token.hidden
    return True


class _Renderer:
    """Walks markdown-it tokens, writing text and recording spans; separators are written lazily."""

    def __init__(self) -> None:
        self.out: list[str] = []
        self.pos = 0  # code points written
        self.sep = ""  # what goes before the next text, if any text precedes it
        self.spans: list[Span] = []
        self.stack: list[tuple[str | None, int, int, str | None, str | None]] = []  # None: refused
        self.lists: list[bool] = []  # tightness of the enclosing lists
        self.opened = 0
        self.quote = "blockquote"  # the kind of the block's quotes (a thought's is expandable)

    def flush(self) -> None:
        if self.sep and self.pos:
            self.out.append(self.sep)
            self.pos += len(self.sep)
        self.sep = ""

    def write(self, text: str) -> None:
        if text:
            self.flush()
            self.out.append(text)
            self.pos += len(text)

    def gap(self) -> str:
        return "\n" if self.lists and self.lists[-1] else "\n\n"

    def open(self, kind: str, language: str | None = None, url: str | None = None) -> None:
        self.flush()
        parents = [k for k, *_ in self.stack if k is not None]
        ok = _fits(kind, parents) and (kind != "text_link" or url is not None)
        self.stack.append((kind if ok else None, self.pos, self.opened, language, url))
        self.opened += 1

    def close(self) -> None:
        kind, start, order, language, url = self.stack.pop()
        if kind is not None and self.pos > start:
            self.spans.append((start, -self.pos, order, kind, language, url))

    def leaf(self, kind: str, text: str, language: str | None = None) -> None:
        self.open(kind, language)
        self.write(text)
        self.close()

    def blocks(self, tokens: list[Token]) -> None:
        for i, token in enumerate(tokens):
            kind = token.type
            if kind == "inline":
                self.inline(token.children or [])
            elif kind == "paragraph_open":
                self.flush()
            elif kind in ("heading_open", "blockquote_open"):
                self.open("bold" if kind == "heading_open" else self.quote)
            elif kind in ("paragraph_close", "heading_close", "blockquote_close"):
                if kind != "paragraph_close":
                    self.close()
                self.sep = "\n" if token.hidden else self.gap()
            elif kind in ("fence", "code_block"):
                words = token.info.split()
                self.leaf("pre", token.content.rstrip("\n"), words[0] if words else None)
                self.sep = self.gap()
            elif kind == "hr":
                self.write("———")
                self.sep = self.gap()
            elif kind in ("bullet_list_open", "ordered_list_open"):
                self.lists.append(_tight(tokens, i))
            elif kind in ("bullet_list_close", "ordered_list_close"):
                self.lists.pop()
                self.sep = self.gap()
            elif kind == "list_item_open":
                marker = f"{token.info}{token.markup} " if token.info else "• "
                self.write("   " * (len(self.lists) - 1) + marker)

    def inline(self, tokens: list[Token]) -> None:
        for token in tokens:
            kind = token.type
            if kind in ("softbreak", "hardbreak"):
                self.write("\n")
            elif kind == "code_inline":
                self.leaf("code", token.content)
            elif kind.endswith("_open") and kind[:-5] in _INLINE:
                self.open(_INLINE[kind[:-5]])
            elif kind in ("link_open", "image"):
                href = str(token.attrs.get("href" if kind == "link_open" else "src", ""))
                self.open("text_link", url=href if _URL.fullmatch(href) else None)
                if kind == "image":
                    self.inline(token.children or [])
                    self.close()
            elif kind.endswith("_close"):
                self.close()
            else:  # text, and anything unexpected: its literal content
                self.write(token.content)
