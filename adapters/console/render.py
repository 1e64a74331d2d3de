"""What the console prints: reply text, status lines, choices and saved files.

The render room of every adapter turns the core's :class:`~bridge.Text` into the platform's markup,
block by block. A terminal reads Markdown well as it is (``**bold**``, lists and code fences are plain
text made to be read), so prose is printed unchanged, and a thought or tool note as a Markdown quote:
its heading (the core's wording, :attr:`bridge.Thought.heading`), then its text, quoted. That is the
text's generic Markdown, :attr:`bridge.Text.markdown`. What this room decides is everything around
the reply:

- on a terminal that redraws, a status line is dimmed (the ``…`` placeholder too), and a block
  of text is measured in rows so the next edit can move the cursor back over it;
- in line mode a status line is ``[status]`` (on stderr, beside the answers on stdout);
- choices are listed numbered, ``[1] Yes  [2] No``; a saved file is ``[📎 image: saved PATH (N bytes)]``.

Pure functions of text: nothing here writes.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

from bridge import Choice, LocalFile, Text

DIM = "\x1b[2m"
PLAIN = "\x1b[0m"
CLEAR_LINE = "\r\x1b[K"  # back to the line's start and clear it: writes over the prompt
HELD = "[the bridge's storage is down: this message is kept in memory until it is back]"


def reply(text: Text) -> str:
    """A message's text as printed: its Markdown (thoughts as quotes), ending with one newline."""
    return text.markdown.rstrip("\n") + "\n"


def status(text: Text, *, redraw: bool) -> str | None:
    """A status line (``⏳ In queue: #2 of 5``); in line mode None for the placeholder (``…``),
    which only a redrawn block shows (it is replaced in place)."""
    line = text.markdown
    if redraw:
        return f"{DIM}{line}{PLAIN}\n"
    return f"[{line}]\n" if line.strip(" …") else None


def back_over(rows: int) -> str:
    """Move the cursor up ``rows`` rows to the start of a block, and clear from there to the end."""
    return f"\x1b[{rows}F\x1b[J"


def rows(text: str, width: int) -> int:
    """How many terminal rows ``text`` takes on a terminal ``width`` columns wide."""
    return sum(max(1, -(-len(line) // width)) for line in text.split("\n"))


def choices(offered: Sequence[Choice], *, tty: bool) -> str:
    """The choices, numbered; for a script (on stderr) with a hint."""
    listed = "  ".join(f"[{i}] {c.label}" for i, c in enumerate(offered, 1))
    return f"{listed}\n" if tty else f"[choices: {listed} (type the number)]\n"


def saved(file: LocalFile, dest: Path) -> str:
    """Where a file the app returned was saved."""
    return f"[📎 {file.kind}: saved {dest} ({file.size:,} bytes)]\n"
