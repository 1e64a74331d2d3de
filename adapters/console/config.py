"""The console adapter's ``[adapters.NAME]`` table (``type = "console"``).

The config room of every adapter: one pydantic model, the class attribute ``Config`` of the
adapter, validated by the bridge when the file is loaded. It imports only ``bridge``'s public
names, so checking a config file loads no terminal code (nor the relay, nor httpx).
"""

from __future__ import annotations

from typing import Literal

from pydantic import NonNegativeInt, PositiveInt

from bridge import AdapterConfig


class ConsoleConfig(AdapterConfig):
    """A terminal chat: one person typing on stdin, replies on stdout; the common keys apply too.

    ``message`` makes it one-shot (what ``bridge ask`` configures): that message, with the files
    named by ``attach``, is sent as if typed, stdin is not read, and the input ends once it is
    delivered, so the bridge exits after its reply.
    """

    type: Literal["console"] = "console"
    prompt: str = "> "  # shown before each input line on a terminal
    user: str = "you"  # the user id and name the console speaks as (allow_users/block_users see it)
    redraw: bool = True  # redraw the streaming reply in place on a TTY; line mode when stdin is not a TTY
    files_dir: str = "bridge-out"  # where files the app returns are saved
    message: str | None = None  # one-shot: send this message instead of reading stdin, then end
    attach: list[str] = []  # one-shot: paths of files sent with ``message``
    # One trusted person at a keyboard (or a script piping many lines): no per-user limits by default.
    max_in_flight_per_user: PositiveInt = 10_000
    turns_per_minute: NonNegativeInt = 0
