"""A user's files for a turn: checked against the limits, then fetched through the adapter.

Adapters hand over references (``Attachment.source``), so the receive loop never downloads; the
turn fetches them here, after checking the count and sizes (a file over the limit is never
fetched), and turns every problem into the sentence the user reads.
"""

from __future__ import annotations

from typing import Protocol

from bridge import render
from bridge.adapter import Adapter
from bridge.errors import BridgeError, FileTooLarge
from bridge.model import Attachment, Incoming


class FileLimits(Protocol):
    """The limits on a user's files (an adapter's ``max_attachments`` and ``max_attachment_bytes``)."""

    @property
    def max_attachments(self) -> int: ...

    @property
    def max_attachment_bytes(self) -> int: ...


async def fetch_attachments(adapter: Adapter, msg: Incoming, settings: FileLimits) -> list[Attachment] | str:
    """The message's files, checked and fetched; or what to tell the user instead."""
    problem = check(adapter, msg, settings)
    if problem:
        return problem
    try:
        return [a if a.fetched else await adapter.fetch(a) for a in msg.attachments]
    except BridgeError as exc:
        return f"📎 Your file could not be fetched: {exc}"


def check(adapter: Adapter, msg: Incoming, settings: FileLimits) -> str | None:
    """Why the message's files cannot be taken (too many, too large), or None."""
    if len(msg.attachments) > settings.max_attachments:
        return f"📎 Please send at most {settings.max_attachments} files at once."
    platform = adapter.capabilities.max_incoming_bytes or settings.max_attachment_bytes
    limit = min(settings.max_attachment_bytes, platform)
    for att in msg.attachments:
        if att.size > limit:
            return render.error_reply(FileTooLarge(att.name, limit, att.size))
    return None
