"""How answers reach the platform with the streamer's guarantees: whole texts, final texts, notes.

A plain ``adapter.send`` would lose the text on a rate limit and fail on text longer than the
platform allows. Everything here goes through the streamer instead: split into continuation
messages, back-off on ``RateLimited``, delivered exactly once (or PlatformError after retries).
:class:`Replies` is one adapter's outbound side: a streamer per reply (adopting the messages a
journal recorded), the final text, the choices on it, and one short note when the platform refuses
a reply for good.
"""

from __future__ import annotations

import contextlib
from collections.abc import Sequence

import structlog

from bridge import wording
from bridge.adapter import Adapter
from bridge.errors import BridgeError, PlatformError
from bridge.journal import Journal
from bridge.metrics import TURNS
from bridge.model import Choice, ConversationKey, Incoming, MessageRef
from bridge.retrying import RetryPolicy
from bridge.streamer import Streamer
from bridge.text import Text

log = structlog.get_logger(__name__)
_NOTE_RETRY = RetryPolicy(deadline_s=60)  # a note about a refused reply is worth a minute, no more


class Replies:
    """Answers to one adapter's messages; ``retry`` is how long a final text is tried (delivery)."""

    def __init__(self, adapter: Adapter, retry: RetryPolicy) -> None:
        self.adapter = adapter
        self.retry = retry

    def streamer(self, msg: Incoming, journal: Journal) -> Streamer:
        """A streamer for the answer to ``msg``, in the messages ``journal`` recorded (if any)."""
        return Streamer(
            self.adapter,
            msg.key,
            self.adapter.capabilities,
            reply_to=msg.reply_to,
            retry=self.retry,
            refs=journal.refs,
            on_ref=journal.note_refs,
        )

    async def deliver(
        self, streamer: Streamer, msg: Incoming, text: Text, choices: Sequence[Choice] = ()
    ) -> bool:
        """The final ``text``, exactly once, then ``choices`` on it; False (logged, with one short
        note) when the text cannot be delivered."""
        try:
            refs = await streamer.finish(text)
        except PlatformError as exc:
            TURNS.inc(msg.key.adapter, "undelivered")
            log.warning("the reply could not be delivered", conversation=str(msg.key), error=str(exc))
            if exc.permanent:
                with contextlib.suppress(BridgeError):
                    note = Text.of(wording.UNDELIVERED.format(error=exc.__cause__ or exc))
                    await send_text(self.adapter, msg.key, note, None, _NOTE_RETRY)
            return False
        await offer_choices(self.adapter, refs, choices)
        return True

    async def reply(
        self, msg: Incoming, text: str, journal: Journal | None = None, choices: Sequence[Choice] = ()
    ) -> None:
        """Answer ``msg`` with ``text`` (a command's reply: Markdown, prose), in the journal's messages."""
        streamer = self.streamer(msg, journal or Journal())
        try:
            await self.deliver(streamer, msg, Text.of(text), choices)
        finally:
            await streamer.aclose()

    async def note(self, msg: Incoming, text: str) -> None:
        """Tell the sender of ``msg`` something outside any turn (a refusal, a limit: Markdown, prose)."""
        await send_text(self.adapter, msg.key, Text.of(text), msg.reply_to, self.retry)


async def send_text(
    adapter: Adapter,
    to: ConversationKey,
    text: Text,
    reply_to: MessageRef | None = None,
    retry: RetryPolicy | None = None,
) -> list[MessageRef]:
    """Deliver ``text`` as final text (split into messages as needed); returns the messages it took."""
    streamer = Streamer(adapter, to, adapter.capabilities, reply_to=reply_to, retry=retry)
    try:
        return await streamer.finish(text)
    finally:
        await streamer.aclose()


async def offer_choices(adapter: Adapter, refs: Sequence[MessageRef], choices: Sequence[Choice]) -> None:
    """Show ``choices`` on the last of a delivered reply's messages. Choices that cannot be shown (the
    platform refused, the store an adapter keeps long values in is down) are only logged: the answer
    itself has arrived, and each choice is also something the user can type."""
    if not choices or not refs:
        return
    try:
        await adapter.offer(refs[-1], choices)
    except BridgeError as exc:
        log.warning("the reply's choices could not be shown", chat=refs[-1].chat, error=str(exc))
