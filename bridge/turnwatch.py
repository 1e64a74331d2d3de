"""Watching one running app turn: stream its events to the user, and end it when it must end.

:func:`watch` feeds a :class:`~bridge.gradio.ChatTurn`'s events to the streamer (status lines
until text arrives, then the newest reply text) and returns how the turn ended. A turn always
ends, whatever the app does:

- ``"done"``: the app finished (or confirmed a cancel);
- ``"stopped"``: the user pressed Stop or sent ``/stop`` — answered at once, without waiting for
  the app to confirm (a stuck worker never does); the cancel reaches the app in the background;
- ``"idle"``: once the reply has started (the app began work or sent text), nothing new — text,
  progress, a log line — came for ``idle_timeout_s`` (Gradio heartbeats do not count);
- ``"deadline"``: the turn ran past its deadline (``turn_timeout_s`` after it began), for apps
  that are slow before their first output.

In every case but ``"done"`` the reply so far is kept (:meth:`ChatTurn.end_now`).
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable
from dataclasses import dataclass, field
from typing import Literal, TypeVar

from bridge import wording
from bridge.gradio.chat import ChatTurn, ReplyUpdate, TurnDone
from bridge.gradio.events import Heartbeat, Log, ProgressUpdate, Queued, SpaceStatus, Started
from bridge.metrics import FIRST_TEXT_SECONDS
from bridge.streamer import Streamer
from bridge.text import Text

T = TypeVar("T")
Ending = Literal["done", "stopped", "idle", "deadline"]


@dataclass
class Running:
    """A turn in progress (``turn`` once the app is asked); ``stop`` asks it to end now."""

    turn: ChatTurn | None = None
    stop: asyncio.Event = field(default_factory=asyncio.Event)


@dataclass(slots=True)
class Shown:
    """The reply text shown so far (kept when a turn fails or is interrupted)."""

    text: Text = field(default_factory=Text)
    started: float = field(default_factory=time.monotonic)


@dataclass(slots=True)
class _Activity:
    last: float
    started: bool = False


async def watch(
    run: Running,
    streamer: Streamer,
    shown: Shown,
    *,
    show_thoughts: bool,
    idle_timeout_s: float,
    deadline: float,
    adapter: str,
) -> tuple[TurnDone, Ending]:
    """Stream ``run``'s turn until it ends (see the module docstring); ``deadline`` on the loop clock.

    App errors (``AppError``, ``AppUnreachable``…) propagate from the turn as they happen.
    """
    assert run.turn is not None, "watch a turn that was asked"
    turn = run.turn
    loop = asyncio.get_running_loop()
    activity = _Activity(loop.time())
    consumer = asyncio.create_task(_consume(turn, streamer, shown, activity, show_thoughts, adapter))
    stopper = asyncio.create_task(run.stop.wait())
    try:
        while True:
            # Before the reply starts, look again every idle_timeout_s: it may start meanwhile.
            idle_at = activity.last if activity.started else loop.time()
            wake = min(deadline, idle_at + idle_timeout_s)
            await asyncio.wait(
                {consumer, stopper}, timeout=max(0.0, wake - loop.time()), return_when=asyncio.FIRST_COMPLETED
            )
            ending: Ending | None = None
            if consumer.done():
                return consumer.result(), "done"
            if stopper.done():
                ending = "stopped"
            elif loop.time() >= deadline:
                ending = "deadline"
            elif activity.started and loop.time() >= activity.last + idle_timeout_s:
                ending = "idle"
            if ending is None:
                continue
            consumer.cancel()
            await asyncio.wait({consumer})
            if not consumer.cancelled() and consumer.exception() is None:
                return consumer.result(), "done"  # it finished in the meantime
            return turn.end_now(), ending
    finally:
        stopper.cancel()
        consumer.cancel()


async def _consume(
    turn: ChatTurn,
    streamer: Streamer,
    shown: Shown,
    activity: _Activity,
    show_thoughts: bool,
    adapter: str,
) -> TurnDone:
    loop = asyncio.get_running_loop()
    async for event in turn:
        if isinstance(event, Heartbeat):
            continue
        activity.last = loop.time()
        if isinstance(event, ReplyUpdate):
            activity.started = True
            first = not shown.text.blocks
            shown.text = wording.reply_text(event.reply, show_thoughts)
            if first and shown.text.blocks:
                FIRST_TEXT_SECONDS.observe(time.monotonic() - shown.started, adapter)
            if shown.text.blocks:
                streamer.update(shown.text)
        elif isinstance(event, TurnDone):
            return event
        else:
            activity.started = activity.started or isinstance(event, Started | ProgressUpdate)
            if not shown.text.blocks and (status := status_line(event)):
                streamer.status(status)
    raise AssertionError("a chat turn always ends with TurnDone")


def status_line(event: object) -> str | None:
    """The status line a job event shows while there is no reply text, or None."""
    if isinstance(event, Queued):
        return wording.queued_status(event)
    if isinstance(event, ProgressUpdate):
        return wording.progress_status(event)
    if isinstance(event, Started):
        return "✍️ Generating…"
    if isinstance(event, SpaceStatus):
        return event.message
    if isinstance(event, Log):
        return f"{'⚠️' if event.level == 'warning' else '💬'} {event.message}"
    return None


async def unless_stopped(run: Running, step: Awaitable[T]) -> T | None:
    """``step``'s result, or None (``step`` cancelled) when the turn is stopped first."""
    task = asyncio.ensure_future(step)
    stopper = asyncio.ensure_future(run.stop.wait())
    try:
        await asyncio.wait({task, stopper}, return_when=asyncio.FIRST_COMPLETED)
    finally:
        stopper.cancel()
    if task.done():
        return task.result()
    task.cancel()
    await asyncio.wait({task})
    return None
