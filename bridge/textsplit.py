"""A :class:`~bridge.text.Text` cut into messages that each fit a platform's limit: :func:`split_text`.

The splitter (:mod:`bridge.splitting`) cuts one Markdown string, so a text goes to it in an encoding
private to this module: prose as it is, and each thought as a quote whose first line is its title line,
``"> " + OPEN + flags + title``, then its Markdown, each line quoted. ``OPEN`` (U+FDD0) and the flags
character (U+FDE0 + tool 1, pending 2, continued 4) are Unicode noncharacters, reserved for a program's
internal use: they are removed from every block's text before encoding, so no app text, however it
reads (``> 💭 **x**``), can become a thought. Blocks are a blank line apart, which ends a thought's
quote; a prose block followed by another block has a fence it left open closed, so that it cannot run
on into the next block.

Each thought is a :class:`~bridge.splitting.Section`: a chunk that starts inside it begins with its
title line marked continued (counted toward the limit), and no chunk ends in a title line. Each chunk
is decoded (:func:`decode`, the one place that reads the encoding) into the :class:`Text` the adapter
is then given, and measured as that very text: every piece fits ``max_len`` by ``text_length`` of
exactly what is sent. What :mod:`bridge.splitting` promises holds of the encoded text.
"""

from __future__ import annotations

import re

from bridge.blocks import Blocks
from bridge.splitting import Section, split_pieces
from bridge.text import Block, Prose, Text, TextLength, Thought

OPEN = "\ufdd0"
_FLAGS = 0xFDE0
_TOOL, _PENDING, _CONTINUED = 1, 2, 4
_RESERVED = re.compile("[\ufdd0-\ufdef]")  # noncharacters: the encoding's, never the app's
_TITLE = re.compile(f"> {OPEN}([\ufde0-\ufde7])([^\n]*)\n?")  # a title line, at a line's start


def split_text(text: Text, max_len: int, length: TextLength) -> list[Text]:
    """The messages showing ``text``, each at most ``max_len`` by ``length``, in order.

    Never empty pieces; ``[]`` for a text with no block. A thought cut in two arrives as a thought in
    both messages, the second :attr:`~bridge.text.Thought.continued`.
    """
    encoded = encode(text)
    pieces = split_pieces(encoded, max_len, lambda chunk: length(decode(chunk)), sections(encoded))
    return [decode(piece.text) for piece in pieces]


def encode(text: Text) -> str:
    """``text`` as one string in this module's encoding (see the module docstring)."""
    parts: list[str] = []
    for n, block in enumerate(text.blocks):
        if isinstance(block, Prose):
            markdown = _RESERVED.sub("", block.markdown)
            parts.append(_closed(markdown) if n < len(text.blocks) - 1 else markdown)
            continue
        flags = _TOOL * block.tool | _PENDING * block.pending | _CONTINUED * block.continued
        title = " ".join(_RESERVED.sub("", block.title).splitlines())
        lines = [f"> {OPEN}{chr(_FLAGS + flags)}{title}"]
        if block.markdown:
            body = _RESERVED.sub("", block.markdown).split("\n")
            lines.extend(f"> {line}" if line else ">" for line in body)
        parts.append("\n".join(lines))
    return "\n\n".join(part for part in parts if part)


def sections(encoded: str) -> list[Section]:
    """The thoughts of an encoded text, as sections reopened by their title line marked continued."""
    found: list[Section] = []
    pos = 0
    while (match := _TITLE.search(encoded, pos)) is not None:
        start, body = match.start(), match.end()
        if start > 0 and encoded[start - 1] != "\n":  # not at a line's start: text, not a title
            pos = start + 1
            continue
        end = body
        while end < len(encoded) and encoded[end] == ">":
            end = encoded.find("\n", end) + 1 or len(encoded)
        flags = ord(match[1]) - _FLAGS | _CONTINUED
        found.append(Section(start, body, end, f"> {OPEN}{chr(_FLAGS + flags)}{match[2]}\n"))
        pos = max(end, start + 1)
    return found


def decode(encoded: str) -> Text:
    """The :class:`Text` an encoded string (a whole text, or a chunk of one) shows; any string decodes.

    A string without title lines is one prose block, exactly as it is. Otherwise each title line and
    the quoted lines after it are a thought (one level of quote removed), and the rest is prose, less
    the newlines that set it apart from the thoughts.
    """
    if OPEN not in encoded:
        return Text.of(_RESERVED.sub("", encoded))
    blocks: list[Block] = []
    prose: list[str] = []
    lines = encoded.split("\n")
    i = 0
    while i < len(lines):
        title = _TITLE.fullmatch(lines[i])
        if title is None:
            prose.append(lines[i])
            i += 1
            continue
        _flush(prose, blocks)
        body: list[str] = []
        i += 1
        while i < len(lines) and lines[i].startswith(">"):
            body.append(lines[i][2:] if lines[i].startswith("> ") else lines[i][1:])
            i += 1
        flags = ord(title[1]) - _FLAGS
        markdown = _RESERVED.sub("", "\n".join(body))
        tool, pending, continued = (bool(flags & f) for f in (_TOOL, _PENDING, _CONTINUED))
        blocks.append(Thought(title[2], markdown, tool, pending, continued))
    _flush(prose, blocks)
    return Text(tuple(blocks))


def _flush(lines: list[str], blocks: list[Block]) -> None:
    """The prose lines gathered (if they show anything but the newlines between blocks) as a block."""
    markdown = _RESERVED.sub("", "\n".join(lines))
    markdown = markdown.rstrip("\n") if not blocks else markdown.strip("\n")
    if markdown:
        blocks.append(Prose(markdown))
    lines.clear()


def _closed(markdown: str) -> str:
    """``markdown`` with a top-level fence it leaves open closed (another block follows it)."""
    fences = Blocks(markdown).fences if "```" in markdown or "~~~" in markdown else []
    last = fences[-1] if fences else None
    if last is None or last.end < len(markdown) or last.quote:
        return markdown
    return markdown + ("" if markdown.endswith("\n") else "\n") + last.marker
