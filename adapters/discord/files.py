"""Discord's file rules: what a user's file is to the bridge, and how large an upload may be where.

* **Files users send** (a message's attachments, a slash command's ``file`` option) become
  :class:`~bridge.Attachment` references: name, type, the size Discord declares and the CDN URL in
  ``source``. Nothing is downloaded here: the turn fetches them (``adapter.fetch``) when they are
  within the limits, never the receive loop.
* **Upload limits** differ per place: a guild's own (boosts raise it), 10 MiB in DMs, or what an
  interaction reports for its channel (``attachment_size_limit``), which :class:`UploadLimits`
  remembers per channel and which wins when known. Files over the limit are not sent; the user is
  told their names (:func:`too_big_note`).
* **Batches**: at most 10 files and ``max(limit, 25 MiB)`` bytes per message (:func:`batches`).

Pure: the uploads themselves are :mod:`adapters.discord.send`'s.
"""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Mapping, Sequence
from typing import Any

from adapters.discord.commands import FILE
from bridge import Attachment, LocalFile

DM_UPLOAD_LIMIT = 10 * 1024 * 1024
REQUEST_BYTES = 25 * 1024 * 1024  # what one request may carry, whatever the per-file limit
PER_MESSAGE = 10
_REMEMBER = 10_000  # channels whose reported limit is kept


def attachment(name: str, size: int, mime: str | None, url: str) -> Attachment:
    """A user's file, fetched from the CDN by the turn (``adapter.fetch``) if it is within the limits."""
    return Attachment(name=name, mime_type=mime, declared_size=size, source=(("url", url),))


def resolved_files(data: Mapping[str, Any], options: Sequence[Mapping[str, Any]]) -> list[Attachment]:
    """The files of a slash command's ``file`` options, as references to fetch later."""
    resolved = (data.get("resolved") or {}).get("attachments") or {}
    out = []
    for option in options:
        if option.get("name") != FILE or str(option.get("value")) not in resolved:
            continue
        item = resolved[str(option["value"])]
        out.append(
            attachment(
                str(item.get("filename", "file")),
                int(item.get("size", 0)),
                item.get("content_type"),
                str(item["url"]),
            )
        )
    return out


class UploadLimits:
    """The upload limit per channel, as interactions report it (the most recent ones' channels)."""

    def __init__(self) -> None:
        self._reported: OrderedDict[str, int] = OrderedDict()  # channel id → bytes

    def note(self, channel_id: str, limit: int) -> None:
        """Remember the limit an interaction reported for its channel."""
        self._reported[channel_id] = limit
        while len(self._reported) > _REMEMBER:
            self._reported.popitem(last=False)

    def of(self, channel: Any, chat: str) -> int:
        """The limit in ``channel`` (or a thread of ``chat``): reported, else the guild's, else a DM's."""
        guild = getattr(channel, "guild", None)
        return (
            self._reported.get(str(channel.id))
            or self._reported.get(chat)
            or (guild.filesize_limit if guild is not None else DM_UPLOAD_LIMIT)
        )


def batches(files: Sequence[LocalFile], limit: int) -> list[list[LocalFile]]:
    """At most :data:`PER_MESSAGE` files and ``max(limit, 25 MiB)`` bytes per message."""
    budget = max(limit, REQUEST_BYTES)
    out: list[list[LocalFile]] = []
    for f in files:
        if not out or len(out[-1]) == PER_MESSAGE or sum(x.size for x in out[-1]) + f.size > budget:
            out.append([])
        out[-1].append(f)
    return out


def too_big_note(names: Sequence[str]) -> str:
    """What the user is told about files over the upload limit."""
    return f"📎 Too large to upload here: {', '.join(names)} (over this server's upload limit)."
