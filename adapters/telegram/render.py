"""The app's Markdown as Telegram plain text plus message entities, and how long a message it makes.

Telegram gets ``text`` and an ``entities`` list, never a ``parse_mode``: nothing is escaped, so no text
(partial while streaming, unbalanced, hostile) can fail to parse. This module is pure; the adapter turns
each :class:`Entity` into a ``telegram.MessageEntity`` with :meth:`Entity.to_dict`.

Long replies are split by the core before rendering, measured with :func:`text_length` (the UTF-16
length of what :func:`message` makes of a chunk), so every chunk renders within :data:`MAX_LEN`.
(:mod:`adapters.telegram.split` splits text that is already rendered.)

Contract of the entity lists returned here: offsets and lengths count UTF-16 code units (as the Bot API
does); every entity is non-empty and inside the text; any two are disjoint or one contains the other;
``code`` and ``pre`` contain nothing, quotes never nest, ``text_link`` contains only bold/italic/
underline/strikethrough/spoiler; at most :data:`MAX_ENTITIES` per message; sorted by offset, outer first.
"""

from __future__ import annotations

import functools
import re
from dataclasses import dataclass
from itertools import accumulate

from markdown_it import MarkdownIt
from markdown_it.token import Token

MAX_LEN = 4096  # UTF-16 code units of text per message
MAX_ENTITIES = 100  # Telegram ignores entities beyond about 100 per message
BLANK = "…"  # what a chunk of only whitespace shows: Telegram refuses blank text
# Renders remembered: the core's splitter measures the same chunk prefixes on every streamed update of
# a long reply. Each entry holds a chunk (at most about MAX_LEN characters).
_RENDERS = 512
_FORMAT = frozenset({"bold", "italic", "underline", "strikethrough", "spoiler"})
_QUOTES = frozenset({"blockquote", "expandable_blockquote"})
_LEAVES = frozenset({"code", "pre"})
_INLINE = {"strong": "bold", "em": "italic", "s": "strikethrough"}
_EXPANDABLE = ("💭 ", "🔧 ")  # how the core marks thoughts and tool notes (bridge.render)
# Telegram can reject a whole message over a text_link it finds invalid ("Wrong HTTP URL": user info,
# a host without a dot, …), so only links that plainly pass become entities; the rest stay plain text.
_URL = re.compile(
    r"https?://[a-z0-9-]+(?:\.[a-z0-9-]+)+\.?(?::\d{1,5})?(?:[/?#]\S*)?|tg://[a-z0-9_]+(?:[/?#]\S*)?",
    re.IGNORECASE,
)
# CommonMark as LLMs write it, plus ~~strikethrough~~; raw HTML stays literal text.
_MD = MarkdownIt("commonmark", {"html": False}).enable("strikethrough")

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
        if self.language is not None:
            shape["language"] = self.language
        if self.url is not None:
            shape["url"] = self.url
        return shape


def utf16_len(text: str) -> int:
    """The length of ``text`` in UTF-16 code units, the unit of Telegram's limits and offsets."""
    return len(text.encode("utf-16-le", "surrogatepass")) // 2


def render(markdown: str) -> tuple[str, list[Entity]]:
    """``markdown`` as plain text and entities for one message; never raises.

    Supported: ``**bold**``/``__bold__``, ``*italic*``/``_italic_``, ``~~strike~~``, ```code```, fenced
    and indented code blocks (``pre``, with the fence's language; an unclosed fence runs to the end),
    ``[text](url)`` and images (``text_link`` for http/https/tg URLs, plain text otherwise), headings
    (a bold line), lists (``• item``, ``1. item``, nested lists indented), ``---`` (``———``), and
    blockquotes (``blockquote``; ``expandable_blockquote`` when the quote starts with ``💭 `` or ``🔧 ``).
    Anything else, including unbalanced markup and HTML, is kept as literal text (CommonMark rules).
    Non-empty input never gives an empty (or blank) text: the raw input is returned without entities.
    """
    text, entities = render_all(markdown)
    return text, entities[:MAX_ENTITIES]


def message(markdown: str) -> tuple[str, list[Entity]]:
    """The text and entities of the message showing one chunk of a reply: :func:`render`, never blank.

    Whitespace only (or nothing) shows as :data:`BLANK`. Pure; recent results are cached.
    """
    text, entities = _message(markdown)
    return text, list(entities)


def text_length(markdown: str) -> int:
    """How long the message :func:`message` makes of ``markdown`` is, in UTF-16 code units."""
    return utf16_len(_message(markdown)[0])


@functools.lru_cache(maxsize=_RENDERS)
def _message(markdown: str) -> tuple[str, tuple[Entity, ...]]:
    text, entities = render(markdown)
    return (text, tuple(entities)) if text.strip() else (BLANK, ())


def utf16_offsets(text: str) -> list[int]:
    """UTF-16 offset of each code point index of ``text`` (one more entry than characters)."""
    return list(accumulate((2 if ord(c) > 0xFFFF else 1 for c in text), initial=0))


def entities_at(spans: list[Span], units: list[int], base: int = 0) -> list[Entity]:
    """Spans (code point offsets) as entities (UTF-16 offsets, relative to ``base``)."""
    return [
        Entity(k, units[s] - units[base], units[-e] - units[s], lang, url) for s, e, _, k, lang, url in spans
    ]


def render_all(markdown: str) -> tuple[str, list[Entity]]:
    """Text and all entities, uncapped; the raw input when rendering gives nothing (or fails)."""
    # Lone surrogates (from bad JSON upstream) would fail the request's UTF-8 encoding; pairs are joined.
    markdown = markdown.encode("utf-16-le", "surrogatepass").decode("utf-16-le", "replace")
    try:
        renderer = _Renderer()
        renderer.blocks(_MD.parse(markdown))
    except Exception:  # a parser bug must cost the formatting, never the message
        return markdown, []
    text = "".join(renderer.out)
    if not text.strip():
        return markdown, []
    spans = sorted(
        (
            s,
            e,
            n,
            "expandable_blockquote" if k == "blockquote" and text.startswith(_EXPANDABLE, s) else k,
            lang,
            url,
        )
        for s, e, n, k, lang, url in renderer.spans
    )
    return text, entities_at(spans, utf16_offsets(text))


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
                self.open("bold" if kind == "heading_open" else "blockquote")
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
