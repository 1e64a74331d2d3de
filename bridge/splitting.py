"""Split Markdown into chunks that each fit a platform's message length limit.

:func:`split_markdown` cuts each chunk at the last paragraph boundary that fits (a blank line, or
just before or after a fenced code block), else the last line boundary, else the last word
boundary, else a hard cut that avoids splitting a grapheme cluster. Boundaries in the second half
of the room win over better boundaries in the first half, so chunks stay reasonably full. A cut
inside a fenced code block closes the chunk with the fence's marker and reopens the fence in the
next chunk with its opening line (language included); these markers count toward the limit.

Nothing else is added or dropped: the ``body`` of the :class:`Piece` values joins back to the text.
A cut depends only on the text before it (and the character after it), so the complete chunks of
a growing text stay the same as text is appended; the streamer relies on this to leave sent
messages alone.
"""

from __future__ import annotations

import re
import unicodedata
from bisect import bisect_right
from collections.abc import Callable
from dataclasses import dataclass

Length = Callable[[str], int]

_FENCE = re.compile(r"( {0,3})(`{3,}|~{3,})(.*)")
_SPACE = re.compile(r"[ \t\n]")
_WORD, _LINE, _PARA = 1, 2, 3
_JOINERS = frozenset("\u200d\ufe0e\ufe0f")


@dataclass(frozen=True, slots=True)
class Piece:
    """A chunk: ``head`` (a reopened fence) + ``body`` (a slice of the text) + ``tail`` (a fence close)."""

    head: str
    body: str
    tail: str

    @property
    def text(self) -> str:
        """The chunk as sent."""
        return self.head + self.body + self.tail


@dataclass(frozen=True, slots=True)
class _Fence:
    start: int  # offset of the opening line
    body: int  # offset just after the opening line
    end: int  # offset of the closing line (len(text) when unclosed)
    after: int  # offset just after the closing line
    line: str  # the opening line, reopened in the next chunk
    marker: str  # what closes it


def split_markdown(text: str, max_len: int, length: Length = len) -> list[str]:
    """Chunks of ``text``, each at most ``max_len`` by ``length`` (never empty; ``[]`` for "")."""
    return [piece.text for piece in split_pieces(text, max_len, length)]


def split_pieces(text: str, max_len: int, length: Length = len) -> list[Piece]:
    """Like :func:`split_markdown`, keeping apart what was added (fence markers) from the text."""
    if max_len < 1:
        raise ValueError(f"max_len must be at least 1, not {max_len}")
    return _Splitter(text, max_len, length).run()


def _fences(text: str) -> list[_Fence]:
    """The fenced code blocks of ``text`` (CommonMark rules, top level only)."""
    fences: list[_Fence] = []
    opened: tuple[int, int, str, str] | None = None
    pos = 0
    while pos < len(text):
        newline = text.find("\n", pos)
        end = len(text) if newline < 0 else newline + 1
        line = text[pos : len(text) if newline < 0 else newline].rstrip("\r")
        if opened is None:
            match = _FENCE.fullmatch(line)
            if match and not (match[2][0] == "`" and "`" in match[3]):
                opened = (pos, end, line, match[2])
        else:
            bare = line.lstrip(" ").rstrip(" \t")
            marker = opened[3]
            if (
                len(line) - len(line.lstrip(" ")) <= 3
                and len(bare) >= len(marker)
                and bare == marker[0] * len(bare)
            ):
                fences.append(_Fence(opened[0], opened[1], pos, end, opened[2], marker))
                opened = None
        pos = end
    if opened is not None:
        fences.append(_Fence(opened[0], opened[1], len(text), len(text), opened[2], opened[3]))
    return fences


def splits_cluster(text: str, p: int) -> bool:
    """Whether cutting before ``text[p]`` would split a surrogate pair or a common grapheme cluster."""
    before, after = text[p - 1], text[p]
    return (
        "\ud800" <= before <= "\udbff"
        or before == "\u200d"
        or after in _JOINERS
        or unicodedata.combining(after) != 0
        or "\U0001f3fb" <= after <= "\U0001f3ff"  # skin tone modifiers
        or "\U000e0020" <= after <= "\U000e007f"  # emoji tag sequences
        or ("\U0001f1e6" <= before <= "\U0001f1ff" and "\U0001f1e6" <= after <= "\U0001f1ff")  # flags
        or (before == "\r" and after == "\n")
    )


class _Splitter:
    def __init__(self, text: str, max_len: int, length: Length) -> None:
        self.text, self.max_len, self.length = text, max_len, length
        self.fences = _fences(text)
        self.starts = [f.start for f in self.fences]
        self.edges = {f.start for f in self.fences} | {f.after for f in self.fences if f.after < len(text)}

    def run(self) -> list[Piece]:
        pieces: list[Piece] = []
        start = 0
        while start < len(self.text):
            fence = self.fence_at(start)
            head = fence.line + "\n" if fence is not None and fence.body <= start <= fence.end else ""
            rest = Piece(head, self.text[start:], "")
            piece = rest if self.length(rest.text) <= self.max_len else self.cut(start, head)
            pieces.append(piece)
            start += len(piece.body)
        return pieces

    def fence_at(self, p: int) -> _Fence | None:
        """The fence whose lines or content ``p`` falls in (not counting its start and after)."""
        i = bisect_right(self.starts, p) - 1
        if i >= 0 and self.fences[i].start < p < self.fences[i].after:
            return self.fences[i]
        return None

    def room(self, start: int, head: str) -> int:
        """The largest end offset such that ``head + text[start:end]`` fits."""
        if self.length is len:
            return min(len(self.text), start + self.max_len - len(head))
        lo, hi = start, min(len(self.text), start + self.max_len)  # every character counts at least 1
        while lo < hi:
            mid = (lo + hi + 1) // 2
            if self.length(head + self.text[start:mid]) <= self.max_len:
                lo = mid
            else:
                hi = mid - 1
        return lo

    def piece(self, start: int, p: int, head: str) -> Piece | None:
        """The chunk ``text[start:p]`` with its fence markers if it fits and ``p`` is a fair cut."""
        tail = ""
        fence = self.fence_at(p)
        if fence is not None:
            if not fence.body < p < fence.end:  # inside a fence line, or an empty block either side
                return None
            tail = fence.marker if self.text[p - 1] == "\n" else "\n" + fence.marker
        piece = Piece(head, self.text[start:p], tail)
        return piece if self.length(piece.text) <= self.max_len else None

    def level(self, p: int) -> int:
        """How good a boundary offset ``p`` is: paragraph, line, word, or 0 (none)."""
        text = self.text
        if text[p - 1] != "\n":
            return _WORD if text[p - 1] in " \t" and not text[p].isspace() else 0
        if p in self.edges:
            return _PARA
        line_start = text.rfind("\n", 0, p - 1) + 1
        return _PARA if not text[line_start : p - 1].strip() else _LINE

    def cut(self, start: int, head: str) -> Piece:
        end = self.room(start, head)
        if end > start:
            half = start + (end - start) // 2
            candidates = [m.end() for m in _SPACE.finditer(self.text, start, end)]
            levels = [(p, self.level(p)) for p in candidates[::-1] if p > start]
            for wanted, floor in ((_PARA, half), (_LINE, half), (_WORD, half), (_LINE, 0), (_WORD, 0)):
                for p, level in levels:
                    if p < floor:
                        break
                    piece = self.piece(start, p, head) if level >= wanted else None
                    if piece is not None:
                        return piece
            for p in range(end, start, -1):
                piece = None if splits_cluster(self.text, p) else self.piece(start, p, head)
                if piece is not None:
                    return piece
        # No room for the fence markers (a tiny limit): cut the text alone, at least one character.
        end = max(self.room(start, ""), start + 1)
        while end - 1 > start and end < len(self.text) and splits_cluster(self.text, end):
            end -= 1
        return Piece("", self.text[start:end], "")
