"""What a Discord message carries for one chunk of a reply, and how long that is.

The core splits long replies by :func:`content_length`, so every chunk's content fits Discord's 2,000
characters, counted in code points (Discord's API is Python and counts them with ``len``; see
discord-api-docs#1315).
"""

from __future__ import annotations

import functools
import re
import unicodedata
from typing import Literal

from adapters.discord.render import to_discord

BLANK = "…"  # what a chunk of only whitespace shows
# Contents remembered: the core's splitter measures the same chunk prefixes on every streamed update of
# a long reply. Each entry holds a chunk (at most about 2,000 characters).
_CONTENTS = 512
_MARKUP = re.compile(r"[!-/:-@\[-`{-~]")  # ASCII punctuation: Discord shows any of it escaped as itself


def message_content(markdown: str, thoughts: Literal["quote", "spoiler"] = "quote") -> str:
    """The content of the message showing one chunk of a reply: never blank.

    :func:`to_discord` without trailing whitespace (Discord drops it); when that shows nothing (``#``,
    an empty heading) the chunk's own Markdown with its markup escaped, so the user sees what the app
    wrote; :data:`BLANK` for whitespace only. Pure; recent results are cached.
    """
    return _content(markdown, thoughts)


def content_length(markdown: str, thoughts: Literal["quote", "spoiler"] = "quote") -> int:
    """The length of :func:`message_content` in Discord's unit (code points)."""
    return len(_content(markdown, thoughts))


@functools.lru_cache(maxsize=_CONTENTS)
def _content(markdown: str, thoughts: Literal["quote", "spoiler"]) -> str:
    content = to_discord(markdown, thoughts).rstrip()
    if not _shows_text(content):
        content = _MARKUP.sub(r"\\\g<0>", markdown.replace("\r", "")).strip()
    return content if _shows_text(content) else BLANK


def _shows_text(content: str) -> bool:
    return any(not c.isspace() and unicodedata.category(c) != "Cf" for c in content)
