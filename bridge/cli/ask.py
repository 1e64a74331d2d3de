"""``bridge ask SRC MESSAGE``: one message to an app, its reply on stdout, then exit.

This is the main job on an embedded config, as ``bridge demo`` is: a memory store, one Space (SRC)
and one console bot, one-shot (its ``message`` configured), answered through the same router,
inbox and turn runner as ``bridge serve``. So the status lines and the error notes are the
core's own words (:mod:`bridge.wording`); nothing here runs a turn.

1. The app is connected first, through the bot's own Space handle, so an app that cannot be used
   fails at once with the reason (exit 3) rather than as a turn tried again for ``app_wait_s``:
   unreachable, a Space asleep too long, a chain the bridge cannot drive.
2. The bot runs until the console's one message is answered.
3. The exit code says how that turn ended (:class:`Outcome`; :mod:`bridge.cli.common`).

Output: on a terminal the reply streams, redrawn in place. Otherwise stdout gets exactly the final
reply, once, or nothing when the turn failed: the core's note then goes to stderr. Status lines
(queue, progress, waking the Space) and saved files go to stderr; thoughts are left out of the
answer. Ctrl-C stops the reply as ``/stop`` does (the app's job is cancelled, the reply so far is
printed, marked stopped) and exits 130; a second Ctrl-C cancels at once.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import io
import signal
import sys
from pathlib import Path
from typing import Any

from bridge.app import build_spaces, run_bot
from bridge.bot import Bot, build_bot
from bridge.cli.common import INTERRUPTED, Commands, add_source, credentials, exit_code
from bridge.config import Config, parse_config
from bridge.errors import DiscoveryError, InvalidParam
from bridge.gradio.events import SpaceStatus
from bridge.gradio.spaceid import is_space_id
from bridge.observability import setup_logging
from bridge.sessions import SessionStore, open_store
from bridge.turn import TurnEnd

DEFAULT_MAX_DOWNLOAD = 100 * 1024 * 1024
NAME = "ask"  # the bot's name, and the Space's: ``[adapters.ask]``, ``[spaces.ask]``
_CANCEL_WAIT_S = 5.0  # after a stop: how long the app's job may take to be cancelled


def add(commands: Commands) -> None:
    """Declare ``ask`` on the ``bridge`` parser's sub-commands."""
    sp = commands.add_parser("ask", help="send one message and stream the reply to stdout")
    add_source(sp)
    sp.add_argument("message", help="the message to send")
    sp.add_argument("--file", action="append", default=[], type=Path, help="attach a file (repeatable)")
    sp.add_argument(
        "--param",
        action="append",
        default=[],
        metavar="NAME=VALUE",
        help="set an additional input of the app (repeatable)",
    )
    sp.add_argument("--out", type=Path, default=Path("."), help="folder for files the app returns")
    sp.add_argument(
        "--max-download", type=int, default=DEFAULT_MAX_DOWNLOAD, help="largest file to download, in bytes"
    )
    sp.set_defaults(run=run)


async def run(args: argparse.Namespace) -> int:
    """Ask, print, and return the exit code (see the module docstring)."""
    config = _config(args)
    setup_logging(config.bridge.log_format, config.bridge.log_level)
    outcome = Outcome()
    store = open_store(config.bridge.state)
    space = build_spaces(config)[NAME]
    # Piped, the answer is held until the turn's end says where it belongs (stdout, or stderr).
    answer = None if sys.stdout.isatty() else io.StringIO()
    try:
        _ = (await space.client(on_status=_status)).chat  # DiscoveryError: no chat the bridge can drive
        with contextlib.redirect_stdout(answer) if answer is not None else contextlib.nullcontext():
            # the console prints here, so the answer is caught until the turn says where it goes
            bot = build_bot(NAME, config.adapters[NAME], config, space, store, on_end=outcome)
        interrupted, crashed = await _run(bot, store)
    finally:
        await space.aclose()
        await store.close()
    code = INTERRUPTED if interrupted else 1 if crashed else outcome.exit_code()
    if answer is not None:
        (sys.stderr if code not in (0, INTERRUPTED) else sys.stdout).write(answer.getvalue())
    return code


def _config(args: argparse.Namespace) -> Config:
    """The embedded config: a memory store, the app as ``[spaces.ask]``, a one-shot console bot."""
    if not (is_space_id(args.src) or args.src.startswith(("http://", "https://"))):  # as the client says
        raise DiscoveryError(f"{args.src!r} is neither a Space id (owner/name) nor an http(s) URL")
    for f in args.file:
        if not f.is_file():
            raise InvalidParam(str(f), "no such file")
    params: dict[str, str] = {}
    for item in args.param:
        name, sep, value = item.partition("=")
        if not sep or not name:
            raise InvalidParam(item, "write parameters as NAME=VALUE")
        params[name.strip()] = value
    token, auth = credentials(args)  # checked here, so a missing variable reads as before
    space: dict[str, Any] = {"src": args.src, "params": params, "max_download_bytes": args.max_download}
    if args.api_name:
        space["api_name"] = args.api_name
    if token:
        space["token_env"] = args.token_env
    if auth:
        space["auth_env"] = args.auth_env
    console = {
        "type": "console",
        "space": NAME,
        "message": args.message,
        "attach": [str(f) for f in args.file],
        "files_dir": str(args.out),
        "show_thoughts": False,  # stdout is the answer
        "max_attachments": max(4, len(args.file)),  # the person's own files: the app's limit applies
        "max_attachment_bytes": 1 << 40,
    }
    return parse_config(
        {
            "bridge": {"state": "memory://", "log_level": "warning"},
            "spaces": {NAME: space},
            "adapters": {NAME: console},
        },
        source="bridge ask",
    )


async def _run(bot: Bot, store: SessionStore) -> tuple[bool, bool]:
    """Run the bot until its one message is answered: (Ctrl-C interrupted it, the adapter crashed)."""
    loop = asyncio.get_running_loop()
    stopping = asyncio.Event()
    presses: list[asyncio.Task[None]] = []

    async def stop() -> None:
        stopped = False
        for key in bot.router.conversations():
            stopped = await bot.stops.stop(key) or stopped  # as /stop: the reply so far is kept
        if not stopped:
            stopping.set()  # nothing was running yet: cancel what is queued

    def interrupt() -> None:
        if presses:
            stopping.set()  # the second Ctrl-C: cancel now
        else:
            presses.append(loop.create_task(stop()))

    loop.add_signal_handler(signal.SIGINT, interrupt)
    try:
        crashed = await run_bot(bot, store, stopping, grace_s=0.0)
    finally:
        loop.remove_signal_handler(signal.SIGINT)
    if presses:  # a stopped job is cancelled at the app in the background: let that finish
        others = asyncio.all_tasks() - {asyncio.current_task()}
        if others:
            await asyncio.wait(others, timeout=_CANCEL_WAIT_S)
    return bool(presses), crashed


def _status(event: SpaceStatus) -> None:
    sys.stderr.write(f"[{event.message}]\n")
    sys.stderr.flush()


class Outcome:
    """How the asked turn ended, for the exit code: given to the turn runner as its ``on_end``.

    The core answers a failed turn with a note, never an exception; the note is the user's, and
    this is the exit code's: the error the turn ended with, or how its reply ended.
    """

    def __init__(self) -> None:
        self.end: TurnEnd | None = None

    def __call__(self, end: TurnEnd) -> None:
        self.end = end

    def exit_code(self) -> int:
        """0 when the app answered; else the code of the error (3 for an app that went silent)."""
        if self.end is None:
            return 0
        if self.end.error is not None:
            return exit_code(type(self.end.error))
        return 3 if self.end.ending in ("idle", "deadline") else 0
