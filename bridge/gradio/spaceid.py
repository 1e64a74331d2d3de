"""Whether an app source is a Hugging Face Space id; pure, so the config loader can use it cheaply."""

from __future__ import annotations

import re

_SPACE_ID = re.compile(r"^[A-Za-z0-9][\w.-]*/[\w.-]+$")


def is_space_id(src: str) -> bool:
    """True for ``owner/name``; False for URLs."""
    return "://" not in src and bool(_SPACE_ID.match(src))
