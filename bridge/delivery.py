"""Sending a whole message (a command reply, a refusal, a note) with the streamer's guarantees.

A plain ``adapter.send`` would lose the text on a rate limit and fail on text longer than the
platform allows. :func:`send_text` goes through the streamer instead: split into continuation
messages, back-off on ``RateLimited``, delivered exactly once (or PlatformError after retries).
"""

from __future__ import annotations

from collections.abc import Sequence

import structlog

from bridge.adapter import Adapter
from bridge.errors import BridgeError
from bridge.model import Choice, ConversationKey, MessageRef
from bridge.retrying import RetryPolicy
from bridge.streamer import Streamer

log = structlog.get_logger(__name__)


async def send_text(
    adapter: Adapter,
    to: ConversationKey,
    text: str,
    reply_to: MessageRef | None = None,
    retry: RetryPolicy | None = None,
) -> list[MessageRef]:
    """Deliver ``text`` (Markdown) as final text; returns the messages it took."""
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
