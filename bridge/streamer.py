"""Stream a growing reply into platform messages: throttled, newest text wins, split, final once.

:class:`StreamPolicy` is pure (no I/O, no asyncio; time and randomness are passed in): told the
newest texts and the outcome of each call, it answers what to do now (an :class:`Action`), when to
ask again, or ``None``. :class:`Streamer` runs it against an adapter in a writer task with an
injected :class:`Clock`; its ``status`` and ``update`` only record the newest value and never wait.
Rules:

* The first call posts a placeholder (or the status, or the text if known), replying to the user.
  A streamer may instead adopt the messages an earlier attempt posted (``refs``: a reply resumed
  after a restart); it then edits them, never posting a second answer.
* Then at most one call per ``min_edit_interval_s`` for the whole stream, with the newest text
  (others are dropped, never queued); a status shows only while there is no reply text; a
  message is never sent the text and stage (``status``/``partial``/``final``) it shows. Text
  longer than ``max_text_len`` (measured by ``Capabilities.text_length``) continues in new messages
  (:func:`~bridge.textsplit.split_text`; a thought cut in two is a thought in both messages), earlier
  ones edited to their chunk first; surplus messages (the text
  shrank) get the placeholder. ``on_ref`` hears of every message the reply posts (or that an
  edit turned into another message), so the caller can record it.
* ``RateLimited(retry_after)`` postpones every call until ``retry_after`` has passed; it is a wait,
  never a failure. Other transient errors (network, 5xx) back off with jitter; an intermediate call
  that fails is dropped (a newer text goes later); a permanently refused intermediate text is not
  tried again. ``MessageGone`` (someone deleted the message) posts that piece anew.
* The final text ignores the throttle but not back-offs, reaches every message exactly once (with
  stage ``final``), and is retried through transient failures until ``retry.deadline_s`` has
  passed since its first failure; a permanent refusal, or the deadline, raises ``PlatformError``.
* Without ``can_edit``, nothing is posted before the final text (no placeholder, no status).
"""

from __future__ import annotations

import asyncio
import random
import time
from collections.abc import Callable, Sequence
from typing import Protocol

from bridge.adapter import Capabilities, Stage
from bridge.errors import PlatformError, RateLimited
from bridge.metrics import PLATFORM_CALLS
from bridge.model import ConversationKey, MessageRef
from bridge.retrying import RetryPolicy
from bridge.streampolicy import Action, StreamPolicy
from bridge.text import Text, TextLength

__all__ = ["Action", "Clock", "MonotonicClock", "OnRef", "Sink", "StreamPolicy", "Streamer"]

OnRef = Callable[[list[MessageRef]], None]


class Clock(Protocol):
    """Monotonic seconds and a cancellable sleep, injected so that tests run on virtual time."""

    def now(self) -> float: ...

    async def sleep(self, seconds: float) -> None: ...


class MonotonicClock:
    """The real clock: ``time.monotonic`` and ``asyncio.sleep``."""

    def now(self) -> float:
        return time.monotonic()

    async def sleep(self, seconds: float) -> None:
        await asyncio.sleep(max(seconds, 0.0))


class Sink(Protocol):
    """Where a reply goes: the two methods of the adapter contract the streamer uses."""

    async def send(
        self, to: ConversationKey, text: Text, reply_to: MessageRef | None = None, *, stage: Stage = "final"
    ) -> MessageRef: ...

    async def edit(self, ref: MessageRef, text: Text, *, stage: Stage = "final") -> MessageRef: ...


class Streamer:
    """Streams one reply to ``to``: ``start``; ``status``/``update`` freely; ``finish``; ``aclose``.

    A writer task makes the calls. The first message replies to ``reply_to``; continuations do not.
    ``refs`` are messages an earlier attempt of this reply posted (they are edited, not re-posted);
    ``on_ref`` is called with the reply's messages whenever that list changes.
    """

    def __init__(
        self,
        sink: Sink,
        to: ConversationKey,
        caps: Capabilities,
        clock: Clock | None = None,
        reply_to: MessageRef | None = None,
        placeholder: str = "…",
        *,
        length: TextLength | None = None,
        retry: RetryPolicy | None = None,
        refs: Sequence[MessageRef] = (),
        on_ref: OnRef | None = None,
        rand: Callable[[], float] = random.random,
    ) -> None:
        self._sink, self._to, self._reply_to = sink, to, reply_to
        self._clock: Clock = clock if clock is not None else MonotonicClock()
        self._policy = StreamPolicy(caps, placeholder, length=length, retry=retry, refs=refs, rand=rand)
        self._on_ref = on_ref
        self._wake = asyncio.Event()
        self._idle = True  # the writer waits for input (not for a deadline): updates must wake it
        self._task: asyncio.Task[list[MessageRef]] | None = None
        self._closed = False

    @property
    def refs(self) -> list[MessageRef]:
        """The reply's messages so far, in order."""
        return self._policy.refs

    async def start(self) -> None:
        """Start the writer (it posts the placeholder at once); returns without waiting for it."""
        if self._closed:
            raise RuntimeError("this Streamer was closed; make a new one for a new reply")
        if self._task is None:
            self._task = asyncio.create_task(self._write(), name=f"streamer {self._to}")

    def status(self, text: str) -> None:
        """Show a status line (a line of Markdown) while there is no reply text. Never waits."""
        self._policy.status(text)
        if self._idle:
            self._wake.set()

    def update(self, text: Text) -> None:
        """Record the whole reply text so far (the newest wins). Never waits."""
        self._policy.update(text)
        if self._idle:
            self._wake.set()

    async def finish(self, text: Text) -> list[MessageRef]:
        """Deliver the final ``text`` exactly once; the reply's messages, or :class:`PlatformError`.

        Cancelling the caller does not stop the delivery (``aclose`` does). Calling it again (say,
        with an error note after a failure) delivers the new text, touching only changed messages.
        """
        self._policy.finish(text)
        self._wake.set()
        if self._task is not None and self._task.done():
            _retrieve(self._task)
            self._task = None
        await self.start()
        assert self._task is not None
        return await asyncio.shield(self._task)

    async def aclose(self) -> None:
        """Cancel the writer (the final text, if not delivered yet, is abandoned). Idempotent."""
        self._closed = True
        task, self._task = self._task, None
        if task is None:
            return
        task.cancel()
        await asyncio.wait({task})
        _retrieve(task)

    async def _write(self) -> list[MessageRef]:
        policy = self._policy
        while True:
            step = policy.next_action(self._clock.now())
            if isinstance(step, Action):
                await self._perform(step)
            elif policy.done:
                break
            else:
                await self._wait(step)
        if policy.error is not None:
            raise policy.error
        return policy.refs

    async def _perform(self, action: Action) -> None:
        ref: MessageRef | None = None  # stays None only when the call failed
        try:
            if action.ref is not None:
                ref = await self._sink.edit(action.ref, action.text, stage=action.stage)
            else:
                reply_to = self._reply_to if action.index == 0 else None
                ref = await self._sink.send(self._to, action.text, reply_to, stage=action.stage)
        except PlatformError as exc:
            result = "rate_limited" if isinstance(exc, RateLimited) else "error"
            PLATFORM_CALLS.inc(self._to.adapter, "edit" if action.ref else "send", result)
            self._policy.failed(action, exc, self._clock.now())
        else:
            PLATFORM_CALLS.inc(self._to.adapter, "edit" if action.ref else "send", "ok")
            self._policy.succeeded(action, ref)
            if self._policy.changed_refs:
                self._policy.changed_refs = False
                if self._on_ref is not None:
                    self._on_ref(self._policy.refs)

    async def _wait(self, deadline: float | None) -> None:
        """Until ``deadline`` (updates do not wake it; finish does), or until new input."""
        self._idle = deadline is None
        waits: list[asyncio.Future[object]] = [asyncio.ensure_future(self._wake.wait())]
        if deadline is not None:
            waits.append(asyncio.ensure_future(self._clock.sleep(deadline - self._clock.now())))
        try:
            await asyncio.wait(waits, return_when=asyncio.FIRST_COMPLETED)
        finally:
            for waiting in waits:
                waiting.cancel()
            self._idle = False
        self._wake.clear()


def _retrieve(task: asyncio.Task[list[MessageRef]]) -> None:
    """Mark a finished writer's outcome as seen (finish() raised it already, or nobody waits for it)."""
    if not task.cancelled():
        task.exception()
