"""Sending a whole message (a command reply, a refusal, a note) with the streamer's guarantees.

A plain ``adapter.send`` would lose the text on a rate limit and fail on text longer than the
platform allows. :func:`send_text` goes through the streamer instead: split into continuation
messages, back-off on ``RateLimited``, delivered exactly once (or PlatformError after retries).
"""

from __future__ import annotations

from bridge.adapter import Adapter
from bridge.model import ConversationKey, MessageRef
from bridge.retrying import RetryPolicy
from bridge.streamer import Streamer


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
