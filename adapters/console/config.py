"""The console adapter's ``[adapters.NAME]`` table (``type = "console"``).

Kept apart from ``adapter.py`` so that validating a config file needs no terminal code.
"""

from __future__ import annotations

from typing import Literal

from pydantic import NonNegativeInt, PositiveInt

from bridge import AdapterConfig


class ConsoleConfig(AdapterConfig):
    """A terminal chat: one person typing on stdin, replies on stdout; the common keys apply too."""

    type: Literal["console"] = "console"
    prompt: str = "> "  # shown before each input line on a terminal
    user: str = "you"  # the user id and name the console speaks as (allow_users/block_users see it)
    redraw: bool = True  # redraw the streaming reply in place on a TTY; line mode when stdin is not a TTY
    files_dir: str = "bridge-out"  # where files the app returns are saved
    # One trusted person at a keyboard (or a script piping many lines): no per-user limits by default.
    max_in_flight_per_user: PositiveInt = 10_000
    turns_per_minute: NonNegativeInt = 0
