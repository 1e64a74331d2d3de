"""The core's :class:`~bridge.Text` made Discord-safe Markdown: :func:`to_discord`.

Discord renders bold, italics, strikethrough, inline and fenced code (backtick fences only), headings
``#`` to ``###``, lists, blockquotes (a space after ``>``; no nesting), masked links and spoilers. The
rest is rewritten: deeper headings become bold lines, GFM tables go into a code block (aligned when
it fits), images become links, ``<br>`` a line break, thematic breaks ``———``, ``~~~`` and longer
fences plain ``````` fences (unless their content holds a backtick fence line) and ``__x__`` (Discord's
underline) ``**x**``. The content of fenced code is never touched (its fence lines may be normalised),
and a fence left open (a streamed, partial text) is closed so Discord shows it as code.

Blocks are rendered by type: prose as above (its quotes stay quotes, whatever they say); a thought or
tool note as a quote of its heading and text, or (``spoiler`` mode) its heading line, then its text a
paragraph per spoiler (code blocks stay outside, where Discord can show them; ``||`` inside gets a
zero-width space). Mentions are left as they are: the adapter neutralises pings with
``allowed_mentions``. What a message carries (never blank) and how long it is: :mod:`adapters.discord.send`.
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass
from typing import Literal

from bridge import Text, Thought

# Worst-case growth: len(to_discord(t)) <= len(t.markdown) + MAX_GROWTH, whatever t is. Rewrites that add
# characters (closing fences, table fences and alignment, spoilers, "> " for blank quote lines) are
# dropped, alignment first, when they would add more; the others never lengthen the text.
MAX_GROWTH = 100
_PASSES = 4  # real replies settle in one or two; the cap only bounds contrived input

_QUOTE = re.compile(r"(?: {0,3}> ?)+")
_ONE_QUOTE = re.compile(r" {0,3}> ?")
_FENCE = re.compile(r"( *)(`{3,}|~{3,})(.*)")
_LANG = re.compile(r"[A-Za-z0-9_+\-.#]+")
_HEADING = re.compile(r" {0,3}(#{1,6})(?:[ \t]+(.*?))??(?:[ \t]+#+)?[ \t]*")
_RULE = re.compile(r" {0,3}([-*_])(?:[ \t]*\1){2,}[ \t]*")
_DELIMITER = re.compile(r"\s*\|?\s*:?-+:?\s*(?:\|\s*:?-+:?\s*)*\|?\s*")
_CELL_SPLIT = re.compile(r"(?<!\\)\|")
_TICKS = re.compile(r"`+")
_TICK_FENCE = re.compile(r"\s*`{3,}\s*")
_BR = re.compile(r"<br\s*/?>", re.IGNORECASE)
_LINKED_IMAGE = re.compile(r"\[!\[([^\[\]\n]*)\]\((?:<[^>\n]*>|[^()\s]*)(?:\s+\"[^\"\n]*\")?\)\]\(")
_IMAGE = re.compile(r"(?<![!\\])!\[([^\[\]\n]*)\]\((<[^>\n]*>|[^()\s]*)((?:\s+\"[^\"\n]*\")?)\)")
_UNDERLINE = re.compile(r"(?<![\w\\])__(?=[^\s_])(.+?)(?<=[^\s_])__(?!\w)")
_Line = tuple[bool, str]  # (part of a code block, the line)


@dataclass(frozen=True, slots=True)
class _Options:
    spoiler: bool
    grow: bool  # allowed to add characters
    align: bool  # pad table columns


def to_discord(text: Text, thoughts: Literal["quote", "spoiler"] = "quote") -> str:
    """``text`` rendered for a Discord message; never raises, never longer than its Markdown + MAX_GROWTH.

    Pure and deterministic. Idempotent on what it made (``to_discord(Text.of(out)) == out``) when no
    rewrite had to be dropped for length, i.e. whenever every rewrite fits in ``MAX_GROWTH`` (a reply
    chunk of the core's always does unless it holds many tables); contrived input may need more passes
    than are made. A streamed prefix shows at worst a partial table or code block as code, closed early."""
    markdown = _newlines(text.markdown)
    limit = len(markdown) + MAX_GROWTH
    for options in (
        _Options(thoughts == "spoiler", grow=True, align=True),
        _Options(thoughts == "spoiler", grow=True, align=False),
        _Options(spoiler=False, grow=False, align=False),
    ):
        try:
            out = _settle(_blocks(text, options), options)
        except Exception:  # a rewrite bug must cost the formatting, never the message
            break
        if len(out) <= limit:
            return out
    return markdown


def _newlines(markdown: str) -> str:  # the lines of every rendering end with \n alone
    return markdown.replace("\r\n", "\n").replace("\r", "\n")


def _blocks(text: Text, opts: _Options) -> str:
    """The first pass: each block by its type (a thought as a quote, or spoilered), a blank line apart."""
    parts = []
    for block in text.blocks:
        if isinstance(block, Thought) and opts.spoiler:
            parts.append(_spoiler(block, opts))
        elif markdown := _newlines(block.quote if isinstance(block, Thought) else block.markdown):
            parts.append(_render(markdown.split("\n"), opts))
    return "\n\n".join("\n".join(line for _, line in lines) for lines in parts)


def _settle(markdown: str, options: _Options) -> str:
    """Render until nothing changes (at most ``_PASSES`` more times): a rewrite can make a new construct
    (a ``<br>`` split that starts a fence, a table whose rows were joined by ``<br>``); one more pass
    renders it too, which is what makes :func:`to_discord` idempotent."""
    text = markdown
    for _ in range(_PASSES):
        again = "\n".join(line for _, line in _render(text.split("\n"), options))
        if again == text:
            break
        text = again
    return text


def _render(lines: list[str], opts: _Options) -> list[_Line]:
    """One pass over ``lines``: fenced code, tables and other lines, in order."""
    out: list[_Line] = []
    lines = list(lines)
    i = 0
    while i < len(lines):
        prefix, rest = _split_quote(lines[i])
        depth = prefix.count(">")
        fence = _FENCE.fullmatch(rest)
        if fence and not (fence[2][0] == "`" and "`" in fence[3]):
            i = _code(lines, i, prefix, fence, opts, out)
        elif depth == 0 and (end := _table_end(lines, i)):
            out += [(True, line) for line in _table(lines[i:end], opts)]
            i = end
        else:
            pieces = _split_breaks(rest)
            room = len(rest) - sum(map(len, pieces)) >= (len(pieces) - 1) * (len(prefix) + 1)
            if len(pieces) > 1 and (opts.grow or room):
                lines[i : i + 1] = [prefix + piece for piece in pieces]
                continue  # each piece is a line of its own now, maybe a heading or a fence
            if len(pieces) > 1:
                rest = " ".join(pieces)
            text = _line(rest)
            if not text and prefix.endswith(">") and opts.grow:
                prefix += " "  # Discord needs the space to keep an empty line inside the quote
            out.append((False, prefix + text))
            i += 1
    return out


def _split_quote(line: str) -> tuple[str, str]:
    match = _QUOTE.match(line)
    size = match.end() if match else 0
    return line[:size], line[size:]


def _code(
    lines: list[str], i: int, prefix: str, fence: re.Match[str], opts: _Options, out: list[_Line]
) -> int:
    """Copy the fenced block opened at ``lines[i]`` to ``out``; the index of the line after it."""
    depth, marker = prefix.count(">"), fence[2]
    end, closed = i + 1, False
    while end < len(lines):
        inner = _strip_quotes(lines[end], depth)
        if inner is None:  # the enclosing quote ended, which ends the block (CommonMark)
            break
        bare = inner.strip()
        if bare and bare == marker[0] * len(bare) and len(bare) >= len(marker):
            closed = True
            break
        end += 1
    body = lines[i + 1 : end]
    # Plain ``` unless the content holds a line that would close it (a Markdown example in code).
    plain = not any(_TICK_FENCE.fullmatch(_strip_quotes(b, depth) or "") for b in body)
    words = fence[3].split()
    lang = words[0] if words and _LANG.fullmatch(words[0]) else ""
    mark = "```" if plain else marker
    out.append((True, prefix + fence[1] + mark + (lang if plain else fence[3])))
    out += [(True, line) for line in body]
    if closed:
        close_prefix, close_rest = _split_quote(lines[end])
        indent = close_rest[: len(close_rest) - len(close_rest.lstrip())]
        out.append((True, close_prefix + indent + mark if plain else lines[end]))
        return end + 1
    if opts.grow:
        last = _strip_quotes(out[-1][1], depth) or "" if body else ""
        at_end = end == len(lines) and body
        if at_end and (not last.strip() or set(last.strip()) == {marker[0]}):
            out.pop()  # an empty last line, or a closing fence still being typed, becomes the fence
        out.append((True, prefix + fence[1] + mark))
    return end


def _strip_quotes(line: str, depth: int) -> str | None:
    """``line`` without ``depth`` quote markers, or None when it has fewer."""
    for _ in range(depth):
        match = _ONE_QUOTE.match(line)
        if match is None:
            return None
        line = line[match.end() :]
    return line


def _table_end(lines: list[str], i: int) -> int:
    """The index after the GFM table starting at ``lines[i]``, or 0 when none starts there."""
    if i + 1 >= len(lines) or "|" not in lines[i] or _FENCE.fullmatch(lines[i].lstrip()):
        return 0
    delimiter = lines[i + 1]
    if "|" not in delimiter or not _DELIMITER.fullmatch(delimiter):
        return 0
    header, columns = len(_cells(lines[i])), len(_cells(delimiter))
    # While a reply streams, the delimiter row may still be growing at the very end of the text.
    if header != columns and not (i + 2 == len(lines) and columns < header):
        return 0
    end = i + 2
    while end < len(lines) and lines[end].strip() and "|" in lines[end]:
        if _FENCE.fullmatch(lines[end].lstrip()) or _QUOTE.match(lines[end]):
            break
        end += 1
    return end


def _cells(row: str) -> list[str]:
    row = row.strip()
    row = row[1:] if row.startswith("|") else row
    row = row[:-1] if row.endswith("|") and not row.endswith("\\|") else row
    return [cell.strip() for cell in _CELL_SPLIT.split(row)]


def _table(rows: list[str], opts: _Options) -> list[str]:
    """A table as a code block: columns padded to line up when ``opts.align``, else its rows as sent."""
    if not opts.grow:
        return rows
    if not opts.align:
        return ["```", *map(_clean, rows), "```"]
    cells = [[_clean(c) for c in _cells(row)] for n, row in enumerate(rows) if n != 1]
    count = max(len(row) for row in cells)
    cells = [row + [""] * (count - len(row)) for row in cells]
    widths = [max(_width(row[k]) for row in cells) for k in range(count)]
    lines = [" | ".join(c + " " * (w - _width(c)) for c, w in zip(row, widths, strict=True)) for row in cells]
    rule = "-+-".join("-" * w for w in widths)
    return ["```", lines[0].rstrip(), rule, *(line.rstrip() for line in lines[1:]), "```"]


def _clean(text: str) -> str:
    # Inside a code block Markdown shows literally, and a backtick run could end the block early.
    return " ".join(_BR.sub(" ", text).replace("**", "").replace("`", "").split())


def _width(text: str) -> int:
    return sum(2 if unicodedata.east_asian_width(ch) in "WF" else 1 for ch in text)


def _spoiler(thought: Thought, opts: _Options) -> list[_Line]:
    """A thought as its heading line, then its text a paragraph per spoiler, code left outside."""
    out = _render([thought.heading], opts)
    body = _render(_newlines(thought.markdown).split("\n") if thought.markdown else [], opts)
    start = None
    for n, (code, line) in enumerate([*body, (True, "")]):
        if not code and line.strip():
            start = n if start is None else start
            continue
        if start is not None:
            para = [text.replace("||", "|\u200b|") for _, text in body[start:n]]
            para[0] = "||" + para[0]
            para[-1] += ("\u200b" if para[-1].endswith("|") else "") + "||"
            out += [(False, text) for text in para]
            start = None
        if n < len(body):
            out.append((code, line))
    return out


def _split_breaks(rest: str) -> list[str]:
    """``rest`` cut at each ``<br>`` outside code spans."""
    pieces = [""]
    for is_code, text in _spans(rest):
        parts = [text] if is_code else _BR.split(text)
        pieces[-1] += parts[0]
        pieces += parts[1:]
    return pieces


def _line(rest: str) -> str:
    """One line outside code, after its quote markers."""
    if _RULE.fullmatch(rest):
        return "———"
    heading = _HEADING.fullmatch(rest)
    if heading:
        level, content = len(heading[1]), _inline(heading[2] or "", heading=True)
        if not content:
            return ""
        return f"{heading[1]} {content}" if level <= 3 else f"**{content}**"
    return _inline(rest)


def _inline(text: str, heading: bool = False) -> str:
    out = []
    for is_code, part in _spans(text):
        if is_code:
            out.append(part)
            continue
        plain = _LINKED_IMAGE.sub(lambda m: f"[{m[1] or 'image'}](", part)
        plain = _UNDERLINE.sub(r"**\1**", _IMAGE.sub(_image, plain))
        out.append(plain.replace("**", "") if heading else plain)  # a heading becomes bold as a whole
    return "".join(out)


def _image(match: re.Match[str]) -> str:
    alt, url, title = match[1], match[2], match[3]
    bare = url.strip("<>")
    if alt:
        return f"[{alt}]({url}{title})"
    # Without alt text the bare URL is the best link: Discord shows it and previews the image.
    return bare if not any(ch.isspace() for ch in bare) else f"[🖼]({url}{title})"


def _spans(text: str) -> list[tuple[bool, str]]:
    """``text`` as (is code span, text) parts; a backtick run without an equal closing run is text."""
    parts: list[tuple[bool, str]] = []
    runs = list(_TICKS.finditer(text))
    pos = k = 0
    while k < len(runs):
        opening = runs[k]
        close = next((n for n in range(k + 1, len(runs)) if len(runs[n][0]) == len(opening[0])), None)
        if close is None:
            k += 1
            continue
        parts += [(False, text[pos : opening.start()]), (True, text[opening.start() : runs[close].end()])]
        pos, k = runs[close].end(), close + 1
    parts.append((False, text[pos:]))
    return parts
