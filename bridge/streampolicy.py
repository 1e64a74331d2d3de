"""The pure decisions of one streamed reply: :class:`StreamPolicy` (rules in :mod:`bridge.streamer`).

No I/O and no asyncio: the policy is told the newest texts and the outcome of each call, with the
time (and a random source for jitter) passed in, and answers what to do next. Texts are
:class:`~bridge.text.Text` values throughout; :func:`~bridge.textsplit.split_text` cuts them into
the pieces the actions carry.
"""

from __future__ import annotations

import math
import random
from collections.abc import Callable, Sequence
from dataclasses import dataclass

from bridge.adapter import Capabilities, Stage
from bridge.errors import MessageGone, PlatformError, RateLimited
from bridge.model import MessageRef
from bridge.retrying import Backoff, RetryPolicy
from bridge.text import Text, TextLength
from bridge.textsplit import split_text


@dataclass(frozen=True, slots=True)
class Action:
    """A platform call: post message number ``index`` (``ref`` is None) or edit it (``ref``)."""

    index: int
    text: Text
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
        self,
        caps: Capabilities,
        placeholder: str = "…",
        *,
        length: TextLength | None = None,
        retry: RetryPolicy | None = None,
        refs: Sequence[MessageRef] = (),
        rand: Callable[[], float] = random.random,
    ) -> None:
        if not placeholder.strip():
            raise ValueError("the placeholder must be visible text, such as '…'")
        self._caps, self._placeholder = caps, Text.of(placeholder)
        self._length: TextLength = length or caps.text_length
        self._interval = caps.min_edit_interval_s
        self._retry = retry or RetryPolicy()
        self._backoff = Backoff(self._retry.base_s, self._retry.cap_s, rand)
        self._status: str | None = None
        self._text = Text()
        self._final: Text | None = None
        self._refs: list[MessageRef] = list(refs)  # the reply's messages
        self._shown: list[tuple[Text, Stage] | None] = [None] * len(self._refs)  # None: not known
        self._gone: set[int] = set()  # messages deleted under us: post them anew
        self._refused: dict[int, Text] = {}  # message index → text refused for good (intermediate)
        self._in_flight: Action | None = None
        self._last_call = -math.inf
        self._resume_at = -math.inf  # end of the current back-off
        self._failing_since: float | None = None  # first failure of the final text in a row
        self._cache: tuple[Text, list[Text]] = (Text(), [])
        self.delivered = False
        self.error: PlatformError | None = None
        self.changed_refs = False  # the message list changed since the caller last looked

    def status(self, text: str) -> None:
        """Show ``text`` (a line of Markdown, e.g. "⏳ queued #3 of 5") while there is no reply text."""
        self._status = text

    def update(self, text: Text) -> None:
        """The whole reply text so far; replaces any text not shown yet."""
        self._text = text

    def finish(self, text: Text) -> None:
        """The final text (markers such as "stopped" appended by the caller); a later call supersedes it."""
        self._final, self._failing_since, self.delivered, self.error = text, None, False, None

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
        """``action`` went through; a send reports the new message's ``ref``, an edit the handle to
        use from now on (another one when a draft became a message)."""
        self._in_flight, self._failing_since = None, None
        self._backoff.reset()
        self._refused.pop(action.index, None)
        if action.ref is None:
            assert ref is not None, "a successful send reports the new message's ref"
            if action.index < len(self._refs):  # a message that was gone, posted anew
                self._refs[action.index] = ref
                self._shown[action.index] = (action.text, action.stage)
                self._gone.discard(action.index)
            else:
                self._refs.append(ref)
                self._shown.append((action.text, action.stage))
            self.changed_refs = True
            return
        self._shown[action.index] = (action.text, action.stage)
        if ref is not None and ref != self._refs[action.index]:
            self._refs[action.index] = ref
            self.changed_refs = True

    def failed(self, action: Action, error: PlatformError, now: float) -> None:
        """``action`` was refused at time ``now``."""
        self._in_flight = None
        if isinstance(error, MessageGone) and action.ref is not None:
            self._gone.add(action.index)
            return
        if isinstance(error, RateLimited):
            self._resume_at = max(self._resume_at, now + error.retry_after)
        elif not error.permanent:
            self._resume_at = max(self._resume_at, now + self._backoff.next())
        if not action.final:
            if error.permanent and not isinstance(error, RateLimited):
                self._refused[action.index] = action.text
            return
        if isinstance(error, RateLimited):
            return  # a wait the platform asked for, however long: not a failure
        if self._failing_since is None:
            self._failing_since = now
        if error.permanent:
            self.error = PlatformError(f"the platform refused the reply ({error})", permanent=True)
        elif now - self._failing_since >= self._retry.deadline_s:
            waited = f"{now - self._failing_since:.0f} s"
            self.error = PlatformError(f"the platform could not take the reply for {waited} ({error})")
        if self.error is not None:
            self.error.__cause__ = error

    def _split(self, text: Text) -> list[Text]:
        text = self._placeholder if text.blank else text  # platforms refuse blank messages
        if self._cache[0] != text:
            self._cache = (text, split_text(text, self._caps.max_text_len, self._length))
        return self._cache[1]

    def _targets(self) -> tuple[list[Text], Stage]:
        if self._final is not None:
            return self._split(self._final), "final"
        if not self._caps.can_edit:
            return [], "partial"
        if not self._text.blank:
            return self._split(self._text), "partial"
        return self._split(Text.of(self._status or "")), "status"

    def _wanted(self) -> Action | None:
        targets, stage = self._targets()
        surplus = [self._placeholder] * (len(self._refs) - len(targets))
        for i, text in enumerate(targets + surplus):
            refused = stage != "final" and self._refused.get(i) == text
            if i == len(self._refs) or i in self._gone:
                return None if refused else Action(i, text, stage)
            if self._shown[i] != (text, stage) and not refused:
                return Action(i, text, stage, self._refs[i])
        return None
