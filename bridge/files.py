"""Files both ways for one adapter: the limits, the fetching, the batching, and what users are told.

* **A user's files** (:meth:`Files.incoming`): adapters hand over references (``Attachment.source``),
  so the receive loop never downloads; the turn checks the count and sizes here (a file over the
  limit is never fetched), then fetches them through ``adapter.fetch``.
* **The app's files** (:meth:`Files.send_reply`): downloaded from the app within the limits, then
  attached on the platform in batches of ``max_files``. A file over the limit, or one the app will not
  serve, becomes a line of a note instead; a failure to attach is logged and answered with a note.

The limits are the adapter's (``max_attachments``, ``max_attachment_bytes``), the Space's
(``max_download_bytes``) and the platform's (:class:`~bridge.adapter.Capabilities`); the sentences
are :mod:`bridge.wording`'s. Nothing here raises a platform's or the app's error to the turn.
"""

from __future__ import annotations

import contextlib
import tempfile
from dataclasses import dataclass
from pathlib import Path

import structlog

from bridge import wording
from bridge.adapter import Adapter
from bridge.delivery import send_text
from bridge.errors import BridgeError, FileTooLarge
from bridge.gradio.client import GradioClient
from bridge.model import Attachment, ConversationKey, FilePart, Incoming, LocalFile, MessageRef
from bridge.spaces import SpaceHandle
from bridge.text import Text

log = structlog.get_logger(__name__)


@dataclass(frozen=True, slots=True)
class FileLimits:
    """How many user files a message may carry and how large each may be; how large an app's file
    the bridge downloads to pass on."""

    max_attachments: int = 4
    max_attachment_bytes: int = 20 * 1024 * 1024
    max_download_bytes: int = 50 * 1024 * 1024


class Files:
    """One adapter's files, to and from ``space``, within ``limits``."""

    def __init__(self, adapter: Adapter, space: SpaceHandle, limits: FileLimits) -> None:
        self.adapter = adapter
        self.space = space
        self.limits = limits

    async def incoming(self, msg: Incoming) -> list[Attachment] | str:
        """The message's files, checked and fetched; or what to tell the user instead."""
        problem = self.problem(msg)
        if problem:
            return problem
        try:
            return [a if a.fetched else await self.adapter.fetch(a) for a in msg.attachments]
        except BridgeError as exc:
            return wording.FILE_UNFETCHED.format(error=exc)

    def problem(self, msg: Incoming) -> str | None:
        """Why the message's files cannot be taken (too many, too large), or None."""
        limits = self.limits
        if len(msg.attachments) > limits.max_attachments:
            return wording.TOO_MANY_FILES.format(limit=limits.max_attachments)
        platform = self.adapter.capabilities.max_incoming_bytes or limits.max_attachment_bytes
        limit = min(limits.max_attachment_bytes, platform)
        for att in msg.attachments:
            if att.size > limit:
                return wording.error_reply(FileTooLarge(att.name, limit, att.size))
        return None

    async def send_reply(
        self, key: ConversationKey, parts: tuple[FilePart, ...], reply_to: MessageRef | None
    ) -> None:
        """Attach ``parts`` (the app's files) to the conversation, replying to ``reply_to``."""
        if not parts:
            return
        try:
            await self._send(await self.space.client(), key, parts, reply_to)
        except BridgeError as exc:
            log.warning("sending files failed", conversation=str(key), error=str(exc))
            with contextlib.suppress(BridgeError):
                note = Text.of(wording.REPLY_FILES_UNSENT.format(error=exc))
                await send_text(self.adapter, key, note, reply_to)

    async def _send(
        self,
        client: GradioClient,
        key: ConversationKey,
        parts: tuple[FilePart, ...],
        reply_to: MessageRef | None,
    ) -> None:
        caps = self.adapter.capabilities
        limit = min(self.limits.max_download_bytes, caps.max_file_bytes)
        notes: list[str] = []
        with tempfile.TemporaryDirectory(prefix="bridge-files-") as tmp:
            files: list[LocalFile] = []
            for part in parts:
                try:
                    got = await client.download(part, Path(tmp), limit)
                except FileTooLarge:
                    notes.append(wording.REPLY_FILE_TOO_LARGE.format(name=part.name, limit_mb=limit / 1e6))
                    continue
                except BridgeError as exc:
                    notes.append(wording.REPLY_FILE_UNFETCHED.format(name=part.name, error=exc))
                    continue
                mime = got.mime_type or part.mime_type
                files.append(LocalFile(got.path, got.name, mime, got.size, part.kind))
            batch = max(1, caps.max_files)
            for i in range(0, len(files), batch):
                await self.adapter.send_files(key, files[i : i + batch], reply_to)
        if notes:
            await send_text(self.adapter, key, Text.of("\n".join(notes)), reply_to)
