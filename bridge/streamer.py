"""Stream a growing reply into platform messages: throttled, newest text wins, split, final once.

:class:`StreamPolicy` is pure (no I/O, no asyncio; time is passed in): told the newest texts and
the outcome of each call, it answers what to do now (an :class:`Action`), when to ask again, or
``None``. :class:`Streamer` runs it against an adapter in a writer task with an injected
:class:`Clock`; its ``status`` and ``update`` only record the newest value and never wait. Rules:

* The first call posts a placeholder (or the status, or the text if known), replying to the user.
* Then at most one call per ``min_edit_interval_s`` for the whole stream, with the newest text
  (others are dropped, never queued); a status shows only while there is no reply text; a
  message is never sent the text and stage (``status``/``partial``/``final``) it shows. Text
  longer than ``max_text_len`` continues in new messages (:func:`split_markdown`), earlier ones
  edited to their chunk first; surplus messages (the text shrank) get the placeholder.
* ``RateLimited(retry_after)`` postpones every call until ``retry_after`` has passed; another
  ``PlatformError`` drops an intermediate call (its text is not tried again).
* The final text ignores the throttle but not back-offs, reaches every message exactly once (with
  stage ``final``), and is retried until ``max_attempts`` calls in a row failed; then it raises.
* Without ``can_edit``, nothing is posted before the final text (no placeholder, no status).
"""

from __future__ import annotations

import asyncio
import math
import time
from dataclasses import dataclass
from typing import Protocol

from bridge.adapter import Capabilities, Stage
from bridge.errors import PlatformError, RateLimited
from bridge.metrics import PLATFORM_CALLS
from bridge.model import ConversationKey, MessageRef
from bridge.splitting import Length, split_markdown


@dataclass(frozen=True, slots=True)
class Action:
    """A platform call: post message number ``index`` (``ref`` is None) or edit it (``ref``)."""

    index: int
    text: str
    stage: Stage
    ref: MessageRef | None = None

    @property
    def final(self) -> bool:
        """It carries (part of) the final text."""
        return self.stage == "final"


class StreamPolicy:
    """The decisions of one streamed reply; the rules are in the module docstring.

    Call :meth:`next_action`; carry out an action it returns and report :meth:`succeeded` or
    :meth:`failed` before asking again.
    """

    def __init__(
        self, caps: Capabilities, placeholder: str = "…", *, length: Length = len, max_attempts: int = 5
    ) -> None:
        if not placeholder.strip():
            raise ValueError("the placeholder must be visible text, such as '…'")
        self._caps, self._placeholder = caps, placeholder
        self._length = caps.text_length if length is len else length  # by default, the adapter's measure
        self._interval, self._max_attempts = caps.min_edit_interval_s, max_attempts
        self._status: str | None = None
        self._text = ""
        self._final: str | None = None
        self._refs: list[MessageRef] = []  # the reply's messages
        self._shown: list[tuple[str, Stage]] = []  # what each shows
        self._refused: dict[int, str] = {}  # message index → text an intermediate call failed with
        self._in_flight: Action | None = None
        self._last_call = -math.inf
        self._resume_at = -math.inf  # end of the current back-off
        self._failures = 0  # final-text calls failed in a row
        self._cache: tuple[str, list[str]] = ("", [])
        self.delivered = False
        self.error: PlatformError | None = None

    def status(self, text: str) -> None:
        """Show ``text`` (e.g. "⏳ queued #3 of 5") while there is no reply text."""
        self._status = text

    def update(self, text: str) -> None:
        """The whole reply text so far; replaces any text not shown yet."""
        self._text = text

    def finish(self, text: str) -> None:
        """The final text (markers such as "stopped" appended by the caller); a later call supersedes it."""
        self._final, self._failures, self.delivered, self.error = text, 0, False, None

    @property
    def done(self) -> bool:
        """The final text is delivered, or delivering it failed (``error``)."""
        return self.delivered or self.error is not None

    @property
    def refs(self) -> list[MessageRef]:
        """The messages of the reply so far, in order."""
        return list(self._refs)

    def next_action(self, now: float) -> Action | float | None:
        """The call to make now, the time to ask again, or ``None`` until new input arrives."""
        if self._in_flight is not None or self.done:
            return None
        action = self._wanted()
        if action is None:
            self.delivered = self._final is not None
            return None
        ready = self._resume_at if action.final else max(self._resume_at, self._last_call + self._interval)
        if now < ready:
            return ready
        self._in_flight, self._last_call = action, now
        return action

    def succeeded(self, action: Action, ref: MessageRef | None = None) -> None:
        """``action`` went through; a send reports the new message's ``ref``."""
        self._in_flight, self._failures = None, 0
        self._refused.pop(action.index, None)
        if action.ref is None:
            assert ref is not None, "a successful send reports the new message's ref"
            self._refs.append(ref)
            self._shown.append((action.text, action.stage))
        else:
            self._shown[action.index] = (action.text, action.stage)

    def failed(self, action: Action, error: PlatformError, now: float) -> None:
        """``action`` was refused at time ``now``."""
        self._in_flight = None
        if isinstance(error, RateLimited):
            self._resume_at = max(self._resume_at, now + error.retry_after)
        if not action.final:
            if not isinstance(error, RateLimited):
                self._refused[action.index] = action.text
            return
        self._failures += 1
        if self._failures >= self._max_attempts:
            problem = f"the platform refused the reply {self._failures} times in a row ({error})"
            self.error = PlatformError(f"{problem}; check the bot's permissions in this chat")
            self.error.__cause__ = error
        elif not isinstance(error, RateLimited):
            self._resume_at = max(self._resume_at, now + max(self._interval, 1.0) * self._failures)

    def _split(self, text: str) -> list[str]:
        text = text if text.strip() else self._placeholder  # platforms refuse blank messages
        if self._cache[0] != text:
            self._cache = (text, split_markdown(text, self._caps.max_text_len, self._length))
        return self._cache[1]

    def _targets(self) -> tuple[list[str], Stage]:
        if self._final is not None:
            return self._split(self._final), "final"
        if not self._caps.can_edit:
            return [], "partial"
        if self._text.strip():
            return self._split(self._text), "partial"
        return self._split(self._status or self._placeholder), "status"

    def _wanted(self) -> Action | None:
        targets, stage = self._targets()
        surplus = [self._placeholder] * (len(self._refs) - len(targets))
        for i, text in enumerate(targets + surplus):
            refused = stage != "final" and self._refused.get(i) == text
            if i == len(self._refs):
                return None if refused else Action(i, text, stage)
            if self._shown[i] != (text, stage) and not refused:
                return Action(i, text, stage, self._refs[i])
        return None


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
        self, to: ConversationKey, text: str, reply_to: MessageRef | None = None, *, stage: Stage = "final"
    ) -> MessageRef: ...

    async def edit(self, ref: MessageRef, text: str, *, stage: Stage = "final") -> None: ...


class Streamer:
    """Streams one reply to ``to``: ``start``; ``status``/``update`` freely; ``finish``; ``aclose``.

    A writer task makes the calls. The first message replies to ``reply_to``; continuations do not.
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
        length: Length = len,
        max_attempts: int = 5,
    ) -> None:
        self._sink, self._to, self._reply_to = sink, to, reply_to
        self._clock: Clock = clock if clock is not None else MonotonicClock()
        self._policy = StreamPolicy(caps, placeholder, length=length, max_attempts=max_attempts)
        self._wake = asyncio.Event()
        self._idle = True  # the writer waits for input (not for a deadline): updates must wake it
        self._task: asyncio.Task[list[MessageRef]] | None = None
        self._closed = False

    async def start(self) -> None:
        """Start the writer (it posts the placeholder at once); returns without waiting for it."""
        if self._closed:
            raise RuntimeError("this Streamer was closed; make a new one for a new reply")
        if self._task is None:
            self._task = asyncio.create_task(self._write(), name=f"streamer {self._to}")

    def status(self, text: str) -> None:
        """Show a status line while there is no reply text. Never waits."""
        self._policy.status(text)
        if self._idle:
            self._wake.set()

    def update(self, text: str) -> None:
        """Record the whole reply text so far (the newest wins). Never waits."""
        self._policy.update(text)
        if self._idle:
            self._wake.set()

    async def finish(self, text: str) -> list[MessageRef]:
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
        ref: MessageRef | None = None
        try:
            if action.ref is not None:
                await self._sink.edit(action.ref, action.text, stage=action.stage)
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
