"""One chat turn for one incoming message, end to end.

load the conversation → check attachments → stream from the app (status before text: queue
position, progress, "waking up the Space") → final text exactly once → files → save.
Every failure becomes a readable reply and the conversation goes on; a turn cancelled by
shutdown keeps its partial reply, marked as interrupted.
"""

from __future__ import annotations

import asyncio
import contextlib
import tempfile
import time
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import structlog

from bridge import conversation, render
from bridge.adapter import Adapter
from bridge.control import StopRelay
from bridge.delivery import send_text
from bridge.errors import AppUnreachable, BridgeError, FileTooLarge
from bridge.gradio.chat import ChatTurn, ReplyUpdate, TurnDone
from bridge.gradio.client import GradioClient
from bridge.gradio.events import Log, ProgressUpdate, Queued, SpaceStatus, Started
from bridge.metrics import FIRST_TEXT_SECONDS, TURN_SECONDS, TURNS, TURNS_RUNNING
from bridge.model import Attachment, ConversationKey, FilePart, Incoming, LocalFile, MessageRef
from bridge.sessions import SessionStore
from bridge.spaces import SpaceHandle
from bridge.streamer import Streamer

_FINISH_TIMEOUT_S = 30.0
log = structlog.get_logger(__name__)


@dataclass(frozen=True, slots=True)
class TurnSettings:
    """Per-adapter turn policy, from the config."""

    show_thoughts: bool = True
    max_attachments: int = 4
    max_attachment_bytes: int = 20 * 1024 * 1024
    max_download_bytes: int = 50 * 1024 * 1024
    history_turns: int = 50
    session_ttl_s: float | None = 30 * 86400
    params: Mapping[str, Any] = field(default_factory=dict)


@dataclass(slots=True)
class _Shown:
    """The reply text shown so far (kept when a turn fails or is interrupted)."""

    text: str = ""
    started: float = field(default_factory=time.monotonic)


class TurnRunner:
    """Runs chat turns of one adapter against one Space; knows the running turn of each conversation."""

    def __init__(
        self, adapter: Adapter, space: SpaceHandle, store: SessionStore, settings: TurnSettings
    ) -> None:
        self.adapter = adapter
        self.space = space
        self.store = store
        self.settings = settings
        self._running: dict[ConversationKey, ChatTurn] = {}
        self.relay: StopRelay | None = None  # set by ``bridge serve`` when processes share a store

    async def stop(self, key: ConversationKey) -> bool:
        """Cancel the running turn of ``key``; False when nothing runs here."""
        turn = self._running.get(key)
        if turn is None:
            return False
        await turn.cancel()
        return True

    async def stop_anywhere(self, key: ConversationKey) -> bool:
        """Cancel ``key``'s running turn here or, through the relay, in another process."""
        return await self.stop(key) or (self.relay is not None and await self.relay.stop_elsewhere(key))

    async def chat(self, msg: Incoming, text: str | None = None) -> None:
        """Answer ``msg`` (or re-ask ``text`` for /retry) in its conversation."""
        text = msg.text if text is None else text
        state = await conversation.load(self.store, msg.key)
        attachments = await self._attachments(msg)
        if isinstance(attachments, str):
            await send_text(self.adapter, msg.key, attachments, msg.reply_to)
            return
        streamer = Streamer(self.adapter, msg.key, self.adapter.capabilities, reply_to=msg.reply_to)
        shown = _Shown()
        name = msg.key.adapter
        TURNS_RUNNING.inc(name)
        try:
            await streamer.start()
            client = await self.space.client(on_status=lambda s: streamer.status(s.message))
            turn = ChatTurn(
                client,
                state.session,
                text,
                attachments,
                {**self.settings.params, **state.params, **msg.params},
                upload_limit=self.settings.max_attachment_bytes,
                max_turns=self.settings.history_turns,
            )
            self._running[msg.key] = turn
            async with self.adapter.typing(msg.key):
                done = await self._stream(turn, streamer, shown)
            refs = await streamer.finish(self._final_text(done))
            TURNS.inc(name, "stopped" if done.cancelled else "done")
            TURN_SECONDS.observe(time.monotonic() - shown.started, name)
            state.last_text = text
            await conversation.save(self.store, msg.key, state, self.settings.session_ttl_s)
            log.info(
                "turn done",
                conversation=str(msg.key),
                cancelled=done.cancelled,
                chars=len(done.reply.text),
                files=len(done.reply.files),
            )
        except BridgeError as exc:
            log.info("turn failed", conversation=str(msg.key), error=type(exc).__name__)
            TURNS.inc(name, "failed")
            if isinstance(exc, AppUnreachable):
                await self.space.invalidate()
            state.last_text = text
            await conversation.save(self.store, msg.key, state, self.settings.session_ttl_s)
            await streamer.finish(_join(shown.text, render.error_reply(exc)))
            return
        except asyncio.CancelledError:
            TURNS.inc(name, "interrupted")
            with contextlib.suppress(BridgeError, TimeoutError):
                async with asyncio.timeout(_FINISH_TIMEOUT_S):
                    await asyncio.shield(streamer.finish(_join(shown.text, render.INTERRUPTED)))
            raise
        finally:
            TURNS_RUNNING.dec(name)
            self._running.pop(msg.key, None)
            await streamer.aclose()
        try:
            await self._send_files(client, msg.key, done.reply.files, refs[-1] if refs else msg.reply_to)
        except BridgeError as exc:
            log.warning("sending files failed", conversation=str(msg.key), error=str(exc))
            with contextlib.suppress(BridgeError):
                await send_text(
                    self.adapter, msg.key, f"📎 The files could not be sent here: {exc}", msg.reply_to
                )

    async def _stream(self, turn: ChatTurn, streamer: Streamer, shown: _Shown) -> TurnDone:
        """Feed the turn's events to the streamer: status until text arrives, then the newest text."""
        async for event in turn:
            if isinstance(event, ReplyUpdate):
                first = not shown.text
                shown.text = render.reply_markdown(event.reply, self.settings.show_thoughts)
                if first and shown.text:
                    FIRST_TEXT_SECONDS.observe(time.monotonic() - shown.started, self.adapter.name)
                if shown.text:
                    streamer.update(shown.text)
            elif isinstance(event, TurnDone):
                return event
            elif not shown.text and (status := _status(event)):
                streamer.status(status)
        raise AssertionError("a chat turn always ends with TurnDone")

    async def _attachments(self, msg: Incoming) -> list[Attachment] | str:
        """The message's files, checked against the limits and fetched; or what to tell the user."""
        problem = self._check_attachments(msg)
        if problem:
            return problem
        try:
            return [a if a.fetched else await self.adapter.fetch(a) for a in msg.attachments]
        except BridgeError as exc:
            return f"📎 Your file could not be fetched: {exc}"

    def _check_attachments(self, msg: Incoming) -> str | None:
        s = self.settings
        if len(msg.attachments) > s.max_attachments:
            return f"📎 Please send at most {s.max_attachments} files at once."
        limit = min(
            s.max_attachment_bytes, self.adapter.capabilities.max_incoming_bytes or s.max_attachment_bytes
        )
        for att in msg.attachments:
            if att.size > limit:
                return render.error_reply(FileTooLarge(att.name, limit, att.size))
        return None

    def _final_text(self, done: TurnDone) -> str:
        text = render.reply_markdown(done.reply, self.settings.show_thoughts)
        if done.context_reset:
            text = _join(render.CONTEXT_RESET, text)
        if done.cancelled:
            return _join(text, render.STOPPED)
        if not text:
            return "📎" if done.reply.files else "_(The app returned an empty reply.)_"
        return text

    async def _send_files(
        self,
        client: GradioClient,
        key: ConversationKey,
        parts: tuple[FilePart, ...],
        reply_to: MessageRef | None,
    ) -> None:
        if not parts:
            return
        caps = self.adapter.capabilities
        limit = min(self.settings.max_download_bytes, caps.max_file_bytes)
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
                files.append(
                    LocalFile(got.path, got.name, got.mime_type or part.mime_type, got.size, part.kind)
                )
            for i in range(0, len(files), max(1, caps.max_files)):
                await self.adapter.send_files(key, files[i : i + max(1, caps.max_files)], reply_to)
        if notes:
            await send_text(self.adapter, key, "\n".join(notes), reply_to)


def _status(event: object) -> str | None:
    if isinstance(event, Queued):
        return render.queued_status(event)
    if isinstance(event, ProgressUpdate):
        return render.progress_status(event)
    if isinstance(event, Started):
        return "✍️ Generating…"
    if isinstance(event, SpaceStatus):
        return event.message
    if isinstance(event, Log):
        return f"{'⚠️' if event.level == 'warning' else '💬'} {event.message}"
    return None


def _join(*parts: str) -> str:
    return "\n\n".join(p for p in parts if p)
