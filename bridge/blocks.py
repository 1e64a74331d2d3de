"""Where a Markdown text's blocks are, as far as the splitter (:mod:`bridge.splitting`) must know.

A chunk that starts inside a block would be read differently on its own: the rest of a code block
as text, the rest of a quoted line outside the quote, a deeply nested list item as code, the rest
of an inline code span as Markdown. :class:`Blocks` finds fenced code (at top level and inside
quotes, CommonMark rules), quote markers, list items and inline code spans, and says what a chunk
starting at an offset must begin with (:meth:`Blocks.head`) to be read as the text is there.

What it says about an offset depends only on the text before it (and, at a line's start, on that
line's first characters), so it stays true as a streamed text grows.
"""

from __future__ import annotations

import re
from bisect import bisect_right
from collections.abc import Callable
from dataclasses import dataclass

_FENCE = re.compile(r"( {0,3})(`{3,}|~{3,})(.*)")
_QUOTE = re.compile(r"(?: {0,3}> ?)+")
_ONE_QUOTE = re.compile(r" {0,3}> ?")
_TICKS = re.compile(r"(\\*)(`+)")  # a backtick run with the backslashes before it
_BLOCK = re.compile(r" {0,3}(?:```|~~~|#{1,6}(?:[ \t]|$)|[-+*][ \t]|1[.)][ \t])")  # starts a block
_ITEM = re.compile(r"( *)([-+*]|\d{1,9}[.)])( {1,4}(?=\S)| +$|$)")  # indent, marker, gap
_SPACES = re.compile(" *")
_RULE = re.compile(r" {0,3}([-*_])(?:[ \t]*\1){2,}[ \t]*")

_Item = tuple[int, str]  # a list item: its indentation, its marker
_Items = tuple[tuple[_Item, ...], bool]  # the items a line is in, and whether it starts the last


@dataclass(frozen=True, slots=True)
class Fence:
    """A fenced code block."""

    start: int  # offset of the opening line
    body: int  # offset just after the opening line
    end: int  # offset of the closing line (where the block ends when unclosed)
    after: int  # offset just after the closing line
    line: str  # the opening line, reopened in the next chunk
    marker: str  # what closes it
    quote: str  # the quote markers it sits in ("" at top level)


class Blocks:
    """The blocks of one text."""

    def __init__(self, text: str) -> None:
        self.text = text
        self.fences = _fences(text)
        self._starts = [f.start for f in self.fences]
        self.edges = {f.start for f in self.fences} | {f.after for f in self.fences if f.after < len(text)}
        self.code = _inline_code(text, self.fences)
        self._lines, self._items = _list_items(text, self.fence_at)

    def fence_at(self, p: int) -> Fence | None:
        """The fence whose lines or content ``p`` falls in (not counting its start and after)."""
        i = bisect_right(self._starts, p) - 1
        if i >= 0 and self.fences[i].start < p < self.fences[i].after:
            return self.fences[i]
        return None

    def head(self, p: int) -> str:
        """What a chunk starting at ``p`` begins with, so that it reads as the text does there.

        Inside a fenced block: its opening line (and its quote markers, mid-line). Mid-line in a
        quote: the quote markers; in a list item: the item's marker (and the enclosing items, as
        empty items, when it is indented as code). At a line indented as code inside a list: the
        enclosing items, as empty items. Otherwise nothing.
        """
        text, mid = self.text, p > 0 and self.text[p - 1] != "\n"
        fence = self.fence_at(p)
        if fence is not None:
            return fence.line + "\n" + (fence.quote if mid else "") if fence.body <= p <= fence.end else ""
        line_start = text.rfind("\n", 0, p) + 1
        quote = _QUOTE.match(text, line_start)
        if quote:
            return text[line_start : min(p, quote.end())] if mid else ""
        at = bisect_right(self._lines, line_start) - 1
        items, starts = self._items[at] if at >= 0 else ((), False)
        if not mid:
            spaces = _SPACES.match(text, line_start)
            indent = spaces.end() - line_start if spaces else 0
            outer = items[:-1] if starts else items
            return "".join(" " * i + marker + "\n" for i, marker in outer) if indent >= 4 else ""
        if not items:
            return ""
        indent, marker = items[-1]
        lines = "".join(" " * i + m + "\n" for i, m in items[:-1]) if indent >= 4 else ""
        return lines + " " * indent + marker + " "


def _fences(text: str) -> list[Fence]:
    """The fenced code blocks of ``text``, at top level or inside blockquotes.

    A fence inside a quote holds the lines with at least its quote markers, and ends with the quote.
    """
    fences: list[Fence] = []
    opened: tuple[int, int, str, str, str] | None = None  # start, body, line, marker, quote prefix
    pos = 0
    while pos < len(text):
        newline = text.find("\n", pos)
        end = len(text) if newline < 0 else newline + 1
        line = text[pos : len(text) if newline < 0 else newline].rstrip("\r")
        if opened is not None:
            rest = _unquote(line, opened[4].count(">"))
            if rest is None:  # the quote ended, and the block with it
                fences.append(Fence(opened[0], opened[1], pos, pos, *opened[2:]))
                opened = None
            else:
                bare, marker = rest.lstrip(" ").rstrip(" \t"), opened[3]
                indent = len(rest) - len(rest.lstrip(" "))
                if indent <= 3 and len(bare) >= len(marker) and bare == marker[0] * len(bare):
                    fences.append(Fence(opened[0], opened[1], pos, end, *opened[2:]))
                    opened = None
                pos = end
                continue
        quote = _QUOTE.match(line)
        prefix = quote[0] if quote else ""
        match = _FENCE.fullmatch(line, len(prefix))
        if match and not (match[2][0] == "`" and "`" in match[3]):
            opened = (pos, end, line, match[2], prefix)
        pos = end
    if opened is not None:
        fences.append(Fence(opened[0], opened[1], len(text), len(text), *opened[2:]))
    return fences


def _unquote(line: str, depth: int) -> str | None:
    """``line`` without ``depth`` quote markers, or None when it has fewer."""
    for _ in range(depth):
        match = _ONE_QUOTE.match(line)
        if match is None:
            return None
        line = line[match.end() :]
    return line


def _list_items(text: str, fence_at: Callable[[int], Fence | None]) -> tuple[list[int], list[_Items]]:
    """The list items each line is in (outermost first), top-level lists only, by line start.

    CommonMark's rules, simplified: an item holds the lines indented to its content (and lazy
    continuation lines of its paragraphs); a blank line followed by a less indented line ends it.
    """
    lines: list[int] = []
    found: list[_Items] = []
    stack: list[tuple[int, str, int]] = []  # indentation, marker, content column
    blank, pos = True, 0
    while pos < len(text):
        end = text.find("\n", pos) + 1 or len(text)
        line = text[pos:end].rstrip("\r\n")
        fence = fence_at(pos)
        if (fence is None or fence.body > pos) and line.strip():
            indent = len(line) - len(line.lstrip(" "))
            item = None if _RULE.fullmatch(line) or _QUOTE.match(line) else _ITEM.match(line)
            while stack and indent < stack[-1][2]:
                if not blank and item is None and not _BLOCK.match(line):
                    break  # a lazy continuation line
                stack.pop()
            base = stack[-1][2] if stack else 0
            starts = item is not None and base <= indent <= base + 3
            if item is not None and starts:
                gap = len(item[3]) if line[item.end() :].strip() else 1  # an empty item: 1
                stack.append((indent, item[2], indent + len(item[2]) + gap))
            blank = False
        else:
            starts, blank = False, blank or not line.strip()
        lines.append(pos)
        found.append((tuple((i, m) for i, m, _ in stack), starts))
        pos = end
    return lines, found


def _inline_code(text: str, fences: list[Fence]) -> bytearray:
    """Per offset, 1 where an inline code span is open before it (closed later or not at all).

    Spans are matched as CommonMark does (a run of backticks closed by the next run of the same
    length; a backslash escapes the first backtick outside a span) within a paragraph, which ends
    at a blank line or where a block starts (a fence, heading, list item, deeper quote). An opening
    run that never closes marks the rest of its paragraph: only the text before an offset may decide
    a cut there, and until the run closes it may.
    """
    marks = bytearray(len(text) + 1)
    opened, width, depth, pos = -1, 0, 0, 0  # opened: where the open span's backticks end
    blocks = iter(fences)
    fence = next(blocks, None)
    while pos < len(text):
        end = text.find("\n", pos) + 1 or len(text)
        while fence is not None and fence.after <= pos and fence.after < len(text):
            fence = next(blocks, None)
        code = fence is not None and fence.start <= pos < max(fence.after, fence.start + 1)
        quote = _QUOTE.match(text, pos, end)
        rest = text[quote.end() if quote else pos : end]
        level = quote[0].count(">") if quote else 0
        if code or level > depth or not rest.strip() or _BLOCK.match(rest):
            if opened >= 0:  # the paragraph ends before this line (the line's start is not known yet)
                marks[opened + 1 : pos + 1] = b"\x01" * (pos - opened)
            opened = -1
        depth = level
        for match in () if code else _TICKS.finditer(text, end - len(rest), end):
            ticks = len(match[2]) - (opened < 0 and len(match[1]) % 2)
            if opened < 0 and ticks:
                opened, width = match.end() - ticks, ticks
            elif opened >= 0 and ticks == width:
                marks[opened + 1 : match.end()] = b"\x01" * (match.end() - opened - 1)
                opened = -1
        pos = end
    if opened >= 0:
        marks[opened + 1 :] = b"\x01" * (len(text) - opened)
    return marks
