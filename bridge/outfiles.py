"""The files of a reply: downloaded from the app (within the limits), then attached on the platform.

A file over the limit, or one the app will not serve, becomes a line of a note instead; a failure
to attach is logged and answered with a short note. Nothing here raises.
"""

from __future__ import annotations

import contextlib
import tempfile
from pathlib import Path

import structlog

from bridge.adapter import Adapter
from bridge.delivery import send_text
from bridge.errors import BridgeError, FileTooLarge
from bridge.gradio.client import GradioClient
from bridge.model import ConversationKey, FilePart, LocalFile, MessageRef
from bridge.spaces import SpaceHandle

log = structlog.get_logger(__name__)


async def send_reply_files(
    adapter: Adapter,
    space: SpaceHandle,
    key: ConversationKey,
    parts: tuple[FilePart, ...],
    reply_to: MessageRef | None,
    max_download_bytes: int,
) -> None:
    """Attach ``parts`` (the app's files) to the conversation, replying to ``reply_to``."""
    if not parts:
        return
    try:
        client = await space.client()
        await _send(adapter, client, key, parts, reply_to, max_download_bytes)
    except BridgeError as exc:
        log.warning("sending files failed", conversation=str(key), error=str(exc))
        with contextlib.suppress(BridgeError):
            await send_text(adapter, key, f"📎 The files could not be sent here: {exc}", reply_to)


async def _send(
    adapter: Adapter,
    client: GradioClient,
    key: ConversationKey,
    parts: tuple[FilePart, ...],
    reply_to: MessageRef | None,
    max_download_bytes: int,
) -> None:
    caps = adapter.capabilities
    limit = min(max_download_bytes, caps.max_file_bytes)
    notes: list[str] = []
    with tempfile.TemporaryDirectory(prefix="bridge-files-") as tmp:
        files: list[LocalFile] = []
        for part in parts:
            try:
                got = await client.download(part, Path(tmp), limit)
            except FileTooLarge:
                notes.append(f"📎 {part.name} is too large to send here (limit {limit / 1e6:.0f} MB).")
                continue
            except BridgeError as exc:
                notes.append(f"📎 {part.name} could not be fetched from the app: {exc}")
                continue
            files.append(LocalFile(got.path, got.name, got.mime_type or part.mime_type, got.size, part.kind))
        batch = max(1, caps.max_files)
        for i in range(0, len(files), batch):
            await adapter.send_files(key, files[i : i + batch], reply_to)
    if notes:
        await send_text(adapter, key, "\n".join(notes), reply_to)
