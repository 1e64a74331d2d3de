"""Telegram's parse modes for the fake Bot API: ``HTML``, ``MarkdownV2`` and legacy ``Markdown`` turned into
plain text + entities (offsets in UTF-16 code units), rejecting what Telegram rejects with its wording
(raised as :class:`ParseError`; the caller prefixes "Bad Request: can't parse entities: ").
The parsers are rough: they follow the documented syntax, not every corner of Telegram's parser.
"""

from __future__ import annotations

import html
import re
from collections.abc import Callable
from typing import Any


class ParseError(ValueError):
    """The text does not parse in its parse mode; ``str(exc)`` is Telegram's description."""


def u16(text: str) -> int:
    """Length of ``text`` in UTF-16 code units (Telegram's unit for limits and entity offsets)."""
    return len(text.encode("utf-16-le")) // 2


class _Out:
    """Plain-text builder that tracks the UTF-16 offset, for the parse-mode parsers."""

    def __init__(self) -> None:
        self.parts: list[str] = []
        self.pos = 0
        self.entities: list[dict[str, Any]] = []

    def add(self, s: str) -> None:
        self.parts.append(s)
        self.pos += u16(s)

    def entity(self, start: int, kind: str, **extra: Any) -> None:
        if self.pos > start:
            self.entities.append({"type": kind, "offset": start, "length": self.pos - start, **extra})

    def result(self) -> tuple[str, list[dict[str, Any]]]:
        return "".join(self.parts), sorted(self.entities, key=lambda e: (e["offset"], -e["length"]))


def _byte(text: str, i: int) -> int:
    return len(text[:i].encode())


# ------------------------------------------------------------------------------------------------- HTML
_HTML_TAGS = dict(
    pair.split("=")
    for pair in frozenset(
        str.split(
            "b=bold strong=bold i=italic em=italic u=underline ins=underline s=strikethrough "
            "strike=strikethrough del=strikethrough tg-spoiler=spoiler span=spoiler a=text_link code=code "
            "pre=pre blockquote=blockquote tg-emoji=custom_emoji"
        )
    )
)
_TAG = re.compile(
    r"<(/?)([a-zA-Z][a-zA-Z0-9-]*)((?:\s+[a-zA-Z-]+(?:\s*=\s*(?:\"[^\"]*\"|'[^']*'|[^\s>]+))?)*)\s*>"
)
_ATTR = re.compile(r"([a-zA-Z-]+)(?:\s*=\s*(?:\"([^\"]*)\"|'([^']*)'|([^\s>]+)))?")


def parse_html(text: str) -> tuple[str, list[dict[str, Any]]]:
    out, i = _Out(), 0
    stack: list[tuple[str, int, dict[str, str]]] = []  # open tags: (name, start offset, attributes)
    while i < len(text):
        c = text[i]
        if c == "&":
            m = re.match(r"&(#\d+|#x[0-9a-fA-F]+|lt|gt|amp|quot);", text[i:])
            out.add(html.unescape(m.group(0)) if m else "&")
            i += len(m.group(0)) if m else 1
            continue
        if c != "<":
            out.add(c)
            i += 1
            continue
        m = _TAG.match(text, i)
        name = m.group(2).lower() if m else ""
        if not m or name not in _HTML_TAGS:
            word = re.match(r"</?([^\s>]*)", text[i:])
            raise ParseError(
                f'Unsupported start tag "{word.group(1) if word else ""}" at byte offset {_byte(text, i)}'
            )
        if m.group(1):
            if not stack:
                raise ParseError(f"Unexpected end tag at byte offset {_byte(text, i)}")
            if stack[-1][0] != name:
                raise ParseError(
                    f'Unmatched end tag at byte offset {_byte(text, i)}, expected "</{stack[-1][0]}>", '
                    f'found "</{name}>"'
                )
            _, start, attrs = stack.pop()
            _close_html(out, name, start, attrs, stack)
        else:
            attrs = {
                a.group(1).lower(): a.group(2) or a.group(3) or a.group(4) or ""
                for a in _ATTR.finditer(m.group(3))
            }
            if name == "span" and attrs.get("class") != "tg-spoiler":
                raise ParseError('Tag "span" must have class "tg-spoiler"')
            stack.append((name, out.pos, attrs))
        i = m.end()
    if stack:
        raise ParseError(f'Can\'t find end tag corresponding to start tag "{stack[-1][0]}"')
    return out.result()


def _close_html(out: _Out, name: str, start: int, attrs: dict[str, str], stack: list[Any]) -> None:
    if name == "code" and stack and stack[-1][0] == "pre" and attrs.get("class", "").startswith("language-"):
        stack[-1][2]["language"] = attrs["class"].removeprefix("language-")
        return
    kind, extra = _HTML_TAGS[name], {}
    if name == "a":
        extra = {"url": attrs.get("href", "")}
    elif name == "pre" and attrs.get("language"):
        extra = {"language": attrs["language"]}
    elif name == "tg-emoji":
        extra = {"custom_emoji_id": attrs.get("emoji-id", "")}
    elif name == "blockquote" and "expandable" in attrs:
        kind = "expandable_blockquote"
    out.entity(start, kind, **extra)


# ------------------------------------------------------------------------------------------- MarkdownV2
_V2_RESERVED = set("_*[]()~`>#+-=|{}.!\\")
_V2_MARKS = {"*": "bold", "__": "underline", "_": "italic", "~": "strikethrough", "||": "spoiler"}


def _v2_name(kind: str) -> str:
    return "TextUrl" if kind == "text_link" else kind.capitalize()


def parse_markdown_v2(text: str) -> tuple[str, list[dict[str, Any]]]:
    out, stack, i, quote = _Out(), [], 0, None  # stack: (kind, start16, start_byte)
    while i < len(text):
        c = text[i]
        if c == "\\":
            if i + 1 >= len(text) or not 0 < ord(text[i + 1]) < 127:
                raise ParseError("Character '\\' is reserved and must be escaped with the preceding '\\'")
            out.add(text[i + 1])
            i += 2
        elif c == "`":
            i = _v2_code(text, i, out)
        elif c == ">" and (i == 0 or text[i - 1] == "\n"):
            quote = out.pos if quote is None else quote
            i += 1
        elif c == "\n" and quote is not None and not text.startswith(">", i + 1):
            out.entity(quote, "blockquote")
            quote = None
            out.add(c)
            i += 1
        elif c == "[":
            stack.append(("text_link", out.pos, _byte(text, i)))
            i += 1
        elif c == "]" and stack and stack[-1][0] == "text_link":
            m = re.match(r"\(((?:\\.|[^)\\])*)\)", text[i + 1 :])
            if not m:
                raise ParseError(f"Can't find end of TextUrl entity at byte offset {stack[-1][2]}")
            out.entity(stack.pop()[1], "text_link", url=re.sub(r"\\(.)", r"\1", m.group(1)))
            i += 1 + m.end()
        elif (
            mark := next((m for m in ("||", "__", "*", "_", "~") if text.startswith(m, i)), None)
        ) is not None:
            kind = _V2_MARKS[mark]
            if stack and stack[-1][0] == kind:
                out.entity(stack.pop()[1], kind)
            elif any(s[0] == kind for s in stack):
                raise ParseError(
                    f"Can't find end of {_v2_name(stack[-1][0])} entity at byte offset {stack[-1][2]}"
                )
            else:
                stack.append((kind, out.pos, _byte(text, i)))
            i += len(mark)
        elif c in _V2_RESERVED:
            raise ParseError(f"Character '{c}' is reserved and must be escaped with the preceding '\\'")
        else:
            out.add(c)
            i += 1
    if stack:
        raise ParseError(f"Can't find end of {_v2_name(stack[-1][0])} entity at byte offset {stack[-1][2]}")
    if quote is not None:
        out.entity(quote, "blockquote")
    return out.result()


def _v2_code(text: str, i: int, out: _Out) -> int:
    """Inline code or a ``` pre block starting at ``i``; inside, only ` is reserved (\\ still escapes)."""
    fence = "```" if text.startswith("```", i) else "`"
    j, buf, lang = i + len(fence), [], ""
    if fence == "```" and (m := re.match(r"([^\s`\\]+)\n", text[j:])):
        lang, j = m.group(1), j + m.end()
    while j < len(text) and not text.startswith(fence, j):
        if text[j] == "\\" and j + 1 < len(text) and 0 < ord(text[j + 1]) < 127:
            j += 1
        buf.append(text[j])
        j += 1
    if j >= len(text):
        raise ParseError(
            f"Can't find end of {'Pre' if fence == '```' else 'Code'} entity at byte offset {_byte(text, i)}"
        )
    start = out.pos
    out.add("".join(buf))
    out.entity(start, "pre" if fence == "```" else "code", **({"language": lang} if lang else {}))
    return j + len(fence)


def parse_markdown(text: str) -> tuple[str, list[dict[str, Any]]]:
    """Legacy ``Markdown``: *bold* _italic_ `code` ```pre``` [text](url); no nesting; \\ escapes _*`[."""
    out, i = _Out(), 0
    kinds = {"*": "bold", "_": "italic", "`": "code"}
    while i < len(text):
        c = text[i]
        if c == "\\" and text[i + 1 : i + 2] in ("_", "*", "`", "["):
            out.add(text[i + 1])
            i += 2
            continue
        if c not in "*_`[":
            out.add(c)
            i += 1
            continue
        fence = "```" if text.startswith("```", i) else c
        close = "](" if c == "[" else fence
        end = text.find(close, i + len(fence))
        url_end = text.find(")", end) if c == "[" and end >= 0 else end
        if end < 0 or url_end < 0:
            raise ParseError(f"Can't find end of the entity starting at byte offset {_byte(text, i)}")
        start = out.pos
        out.add(text[i + len(fence) : end])
        if c == "[":
            out.entity(start, "text_link", url=text[end + 2 : url_end])
        else:
            out.entity(start, "pre" if fence == "```" else kinds[c])
        i = url_end + (1 if c == "[" else len(fence))
    return out.result()


PARSERS: dict[str, Callable[[str], tuple[str, list[dict[str, Any]]]]] = {
    "html": parse_html,
    "markdownv2": parse_markdown_v2,
    "markdown": parse_markdown,
}
