"""Split Markdown into chunks that each fit a platform's message length limit.

:func:`split_markdown` cuts each chunk at the last paragraph boundary that fits (a blank line, or
just before or after a fenced code block), else the last line boundary, else the last word
boundary, else a hard cut between two grapheme clusters (``regex``'s ``\\X``). Boundaries in the
second half of the room win over better boundaries in the first half, so chunks stay reasonably
full. A cut inside a fenced code block closes the chunk with the fence's marker and reopens the
fence in the next chunk with its opening line (language included); these markers count toward the
limit. No cut splits a grapheme cluster, unless a single cluster does not fit on its own.

A caller may mark :class:`Section` values in the text (the core's thoughts, :mod:`bridge.textsplit`): a
chunk that starts inside one begins with the section's ``head`` (its first line again, marked as
continued), counted toward the limit like a reopened fence, and no cut falls in a section's first line
or just after it (which would leave the section empty in the chunk before).

The limit is measured by ``length``: ``len``, UTF-16 code units, or how long the chunk is once an
adapter has rendered it (``Capabilities.text_length``). Every character is taken to count at least
1 (so a chunk holds at most ``max_len`` characters, plus trailing whitespace when it is the last);
a measure in which characters count less (rendering drops markup) only leaves room to spare. Every
chunk fits by the measure, unless a single character does not.

Nothing else is added or dropped: the ``body`` of the :class:`Piece` values joins back to the text.
A cut depends only on the text before it (and the character after it), so when ``length`` grows as
text is appended (``len``, UTF-16 units) the complete chunks of a growing text stay the same; the
streamer relies on this to leave sent messages alone. A rendered measure can shrink when markup
closes (``**bold`` → ``bold``), so a complete chunk may then be cut again (the streamer edits it).
"""

from __future__ import annotations

import re
from bisect import bisect_right
from collections.abc import Callable, Sequence
from dataclasses import dataclass

import regex

from bridge.blocks import Blocks

Length = Callable[[str], int]

_SPACE = re.compile(r"[ \t\n]")
_CLUSTER = regex.compile(r"\X")
_ENTITY = re.compile(r"&#?[0-9A-Za-z]{0,31}\Z")
_WORD, _LINE, _PARA = 1, 2, 3
_TRIES = 32  # hard cuts measured per chunk: the latest fit at once unless the measure is erratic


@dataclass(frozen=True, slots=True)
class Section:
    """A region of the text a chunk starting inside it must reopen with ``head``.

    ``start`` is the offset of its first line, ``body`` just after that line, ``end`` where the
    region ends (the offset after its last line). A chunk starting at ``body <= p < end`` begins with
    ``head``; no cut falls at ``start < p <= body``.
    """

    start: int
    body: int
    end: int
    head: str


@dataclass(frozen=True, slots=True)
class Piece:
    """A chunk: ``head`` + ``body`` (a slice of the text) + ``tail`` (a fence's close, when cut inside).

    ``head`` is what the chunk continues: a reopened :class:`Section`'s head, then what
    :meth:`bridge.blocks.Blocks.head` says (a reopened fence, the quote markers or list item marker of
    a line cut in two).
    """

    head: str
    body: str
    tail: str

    @property
    def text(self) -> str:
        """The chunk as sent."""
        return self.head + self.body + self.tail


def split_markdown(text: str, max_len: int, length: Length = len) -> list[str]:
    """Chunks of ``text``, each at most ``max_len`` by ``length`` (never empty; ``[]`` for "")."""
    return [piece.text for piece in split_pieces(text, max_len, length)]


def split_pieces(
    text: str, max_len: int, length: Length = len, sections: Sequence[Section] = ()
) -> list[Piece]:
    """Like :func:`split_markdown`, keeping apart what was added (fence markers, section heads) from
    the text; ``sections`` must not overlap."""
    if max_len < 1:
        raise ValueError(f"max_len must be at least 1, not {max_len}")
    return _Splitter(text, max_len, length, sections).run()


def splits_cluster(text: str, p: int) -> bool:
    """Whether cutting ``text`` before ``text[p]`` would split a grapheme cluster or a surrogate pair.

    Clusters are extended grapheme clusters (Unicode's, as ``regex``'s ``\\X`` finds them): an
    emoji with its ZWJ sequence, skin tone or tags, a flag, a letter with its combining marks, a
    Hangul syllable, CR LF. Offsets ``0`` and ``len(text)`` (and beyond) never split anything.
    """
    if p <= 0 or p >= len(text):
        return False
    before, after = text[p - 1], text[p]
    if "\ud800" <= before <= "\udbff" and "\udc00" <= after <= "\udfff":
        return True  # a surrogate pair (\X sees two code points)
    if before == "\n" or (before < "\x80" and after < "\x80"):  # a boundary, but inside CR LF
        return before == "\r" and after == "\n"
    return p not in _cluster_ends(text, text.rfind("\n", 0, p - 1) + 1, p)


def _cluster_ends(text: str, start: int, end: int) -> list[int]:
    """The cluster boundaries in ``(start, end]``, ``start`` being one (a line start always is)."""
    ends: list[int] = []
    for match in _CLUSTER.finditer(text, start):
        if match.end() > end:
            break
        ends.append(match.end())
    return ends


class _Splitter:
    def __init__(self, text: str, max_len: int, length: Length, sections: Sequence[Section]) -> None:
        self.text, self.max_len, self.length = text, max_len, length
        self.blocks = Blocks(text)
        self.fence_at = self.blocks.fence_at
        self.sections = sorted(sections, key=lambda s: s.start)
        self._starts = [s.start for s in self.sections]

    def section_at(self, p: int) -> Section | None:
        """The section whose lines ``p`` falls in (its start excluded, its end included)."""
        i = bisect_right(self._starts, p - 1) - 1
        return self.sections[i] if i >= 0 and p <= self.sections[i].end else None

    def head(self, p: int) -> str:
        """What a chunk starting at ``p`` begins with: a section's head, then the blocks' own."""
        section = self.section_at(p)
        reopen = section.head if section is not None and section.body <= p < section.end else ""
        return reopen + self.blocks.head(p)

    def run(self) -> list[Piece]:
        pieces: list[Piece] = []
        start = 0
        while start < len(self.text):
            head = self.head(start)
            rest = Piece(head, self.text[start:], "")
            # Measured only when it may fit (every character counts at least 1): rendering a long
            # rest on every streamed update would cost more than all the other probes together.
            fits = len(rest.text.rstrip()) <= self.max_len and self.length(rest.text) <= self.max_len
            piece = rest if fits else self.cut(start, head)
            pieces.append(piece)
            start += len(piece.body)
        return pieces

    def room(self, start: int, head: str) -> int:
        """A late end offset such that ``head + text[start:end]`` fits (the latest one for ``len``).

        Other measures may be costly (a render per call): the end is found by interpolation, to
        within 1/64 of the room, in a handful of measurements.
        """
        text, max_len = self.text, self.max_len
        if self.length is len:
            return min(len(text), start + max_len - len(head))
        lo, hi = start, min(len(text), start + max_len)  # every character counts at least 1
        low, high = self.length(head), self.length(head + text[start:hi])
        if high <= max_len or low > max_len:
            return hi if high <= max_len else lo
        close = max(1, (hi - lo) // 64)
        while hi - lo > close:
            guess = lo + (max_len - low) * (hi - lo) // max(1, high - low)
            # Probe a step past the estimate when it is near an end, so the bracket closes on it.
            guess = (lo + hi) // 2 if hi - lo <= 2 * close else min(max(guess, lo + close), hi - close)
            size = self.length(head + text[start:guess])
            if size <= max_len:
                lo, low = guess, size
            else:
                hi, high = guess, size
        return lo

    def piece(self, start: int, p: int, head: str) -> Piece | None:
        """The chunk ``text[start:p]`` with its fence markers if it fits and ``p`` is a fair cut."""
        tail = ""
        section = self.section_at(p)
        if section is not None and p <= section.body:  # in its first line, or leaving it empty
            return None
        fence = self.fence_at(p)
        if fence is not None:
            if not fence.body < p < fence.end:  # inside a fence line, or an empty block either side
                return None
            tail = ("" if self.text[p - 1] == "\n" else "\n") + fence.quote + fence.marker
        piece = Piece(head, self.text[start:p], tail)
        return piece if self.length(piece.text) <= self.max_len else None

    def level(self, p: int) -> int:
        """How good a boundary offset ``p`` is: paragraph, line, word, or 0 (none)."""
        text = self.text
        if text[p - 1] != "\n":
            return _WORD if text[p - 1] in " \t" and not text[p].isspace() else 0
        if p in self.blocks.edges:
            return _PARA
        line_start = text.rfind("\n", 0, p - 1) + 1
        return _PARA if not text[line_start : p - 1].strip() else _LINE

    def fair(self, p: int) -> bool:
        """Whether the chunks either side of ``p`` read as the text does there (cuts elsewhere first).

        Not after a backslash (it would escape what starts the next chunk), inside what may be an
        entity (``&amp;``) or in an inline code span that may still be open (its content would be
        read as Markdown). Each depends on the text before ``p`` only.
        """
        text = self.text
        return not (text[p - 1] == "\\" or self.blocks.code[p] or _ENTITY.search(text, max(0, p - 34), p))

    def cut(self, start: int, head: str) -> Piece:
        text = self.text
        end = self.room(start, head)
        if end == len(text):  # the rest fits after all (its head did not count)
            return Piece(head, text[start:], "")
        if end > start:
            half = start + (end - start) // 2
            candidates = [m.end() for m in _SPACE.finditer(text, start, end)]
            levels = [(p, self.level(p)) for p in candidates[::-1] if p > start]
            clusters: list[int] | None = None  # found when a hard cut is needed
            for fair in (True, False):
                for wanted, floor in ((_PARA, half), (_LINE, half), (_WORD, half), (_LINE, 0), (_WORD, 0)):
                    for p, level in levels:
                        if p < floor:
                            break
                        if level < wanted or splits_cluster(text, p) or (fair and not self.fair(p)):
                            continue  # splits_cluster: a space before a combining mark
                        if (piece := self.piece(start, p, head)) is not None:
                            return piece
                clusters = _cluster_ends(text, start, end)[::-1] if clusters is None else clusters
                for p in [p for p in clusters if not fair or self.fair(p)][:_TRIES]:
                    if (piece := self.piece(start, p, head)) is not None:
                        return piece
        # No room for the fence markers (a tiny limit): cut the text alone.
        end = self.room(start, "")
        for p in _cluster_ends(text, start, end)[::-1][:_TRIES]:
            if self.length(text[start:p]) <= self.max_len:
                return Piece("", text[start:p], "")
        # Not one cluster fits (a limit smaller than a cluster): cut inside it, at least one character.
        return Piece("", text[start : max(end, start + 1)], "")
