"""One chat turn against a discovered chat endpoint, streamed as events.

``async for event in ChatTurn(...)`` yields the job's status events (Queued, Started,
ProgressUpdate, Log, Heartbeat), :class:`ReplyUpdate` whenever the visible reply changes, and
finally :class:`TurnDone`. An app error raises :class:`~bridge.errors.AppError` after the partial
updates; the session is then left as it was before the turn (the failed turn is not remembered).
A cancelled turn keeps its partial reply in the history, as the browser does. :meth:`ChatTurn.end_now`
ends a turn at once (a stop, a timeout), whether or not the app answers its cancel: the cancel goes
out in the background. A turn is ``repeatable`` when running it again from the start is safe
(the bridge holds the history: chain and blocks endpoints), so a turn cut off by a dropped
connection or a restart can simply be asked again.

Per endpoint kind (PROTOCOL.md §13.9):
- chain, gradio 5/6: S seeds the stored history (always: the bridge owns it, so an app restart
  or eviction loses nothing), R saves the message, G streams the Chatbot.
- chain, gradio 4: R, then A appends the message to the stored history, then G streams.
- blocks: one call with the message and the stored history; the returned Chatbot is stored.
- public: one call; history stays in the app's State (it cannot be restored after a restart).
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import structlog

from bridge.errors import AppError, InvalidParam, ProtocolError, Unsupported
from bridge.gradio.appinfo import ChatEndpoint
from bridge.gradio.client import GradioClient
from bridge.gradio.events import Cancelled, Completed, Failed, JobEvent, Output
from bridge.gradio.messages import reply_from_chatbot, reply_from_output
from bridge.gradio.session import ChatSession, text_only, trim_history
from bridge.gradio.streams import Job
from bridge.model import Attachment, Reply


@dataclass(frozen=True, slots=True)
class ReplyUpdate:
    """The reply so far (the whole reply, not a delta)."""

    reply: Reply


@dataclass(frozen=True, slots=True)
class TurnDone:
    """The turn ended: ``reply`` is final (or partial when ``cancelled``).

    ``context_reset`` is True when the stored history could not be restored into the app, so the
    app answered without the earlier context.
    """

    reply: Reply
    cancelled: bool = False
    context_reset: bool = False


TurnEvent = JobEvent | ReplyUpdate | TurnDone
log = structlog.get_logger(__name__)
_BACKGROUND: set[asyncio.Task[None]] = set()  # cancels in flight, kept from garbage collection


def resolve_params(endpoint: ChatEndpoint, values: Mapping[str, Any]) -> dict[int, Any]:
    """Validate ``values`` (by parameter name or label) → {slot: value}, defaults filled in."""
    slots = {p.slot: p.default for p in endpoint.params}
    for key, value in values.items():
        param = next((p for p in endpoint.params if p.matches(key)), None)
        if param is None:
            known = ", ".join(p.name for p in endpoint.params) or "none"
            raise InvalidParam(key, f"the app has no such input (inputs: {known})")
        slots[param.slot] = param.coerce(value)
    return slots


class ChatTurn:
    """A turn in ``session``; iterate it once. ``cancel()`` may be called from another task."""

    def __init__(
        self,
        client: GradioClient,
        session: ChatSession,
        text: str,
        attachments: Sequence[Attachment] = (),
        params: Mapping[str, Any] | None = None,
        *,
        upload_limit: int | None = None,
        max_turns: int | None = None,
    ) -> None:
        self.client = client
        self.session = session
        self.text = text
        self.attachments = list(attachments)
        self.endpoint = client.chat
        self.params = resolve_params(self.endpoint, params or {})
        self.upload_limit = upload_limit
        self.max_turns = max_turns
        self._job: Job | None = None
        self._cancelled = False
        self._last_data: list[Any] | None = None  # the newest output of the streaming step
        self._context_reset = False
        if self.attachments and not self.endpoint.multimodal:
            raise Unsupported("this app takes text only, so attachments cannot be sent to it")

    @property
    def repeatable(self) -> bool:
        """Running this turn again from the start is safe: the bridge holds the history it sends."""
        return self.endpoint.kind != "public"

    async def cancel(self) -> None:
        """Stop the turn; the reply so far is kept and the turn ends with ``cancelled=True``."""
        self._cancelled = True
        if self._job is not None:
            await self._job.cancel()

    def end_now(self) -> TurnDone:
        """End the turn at once with the reply so far (the caller stops iterating it).

        The partial reply is kept in the history, as a cancel would; the app's job is cancelled in
        the background (a stuck worker may never answer the cancel; nobody waits for it).
        """
        self._cancelled = True
        reply = Reply()
        if self._last_data is not None:
            reply = self._reply(self._last_data)
            self._commit(self._last_data)
        if self._job is not None and not self._job.done:
            task = asyncio.create_task(self._cancel_quietly(self._job))
            _BACKGROUND.add(task)
            task.add_done_callback(_BACKGROUND.discard)
        return TurnDone(reply, cancelled=True, context_reset=self._context_reset)

    @staticmethod
    async def _cancel_quietly(job: Job) -> None:
        try:
            await job.cancel()
        except Exception as exc:  # the turn has ended; a cancel the app refuses changes nothing
            log.debug("cancelling an ended turn's job failed", error=type(exc).__name__)

    def __aiter__(self) -> AsyncIterator[TurnEvent]:
        return self._run()

    async def _run(self) -> AsyncIterator[TurnEvent]:
        ep = self.endpoint
        message = await self._message()
        context_reset = False
        history = self.session.history
        if ep.kind == "chain":
            if ep.sync_id is not None and history:
                context_reset = self._context_reset = not await self._seed(ep.sync_id, history)
            await self._step(ep.root_id, [message])
            if ep.sync_id is None and ep.append_id is not None:
                appended = await self._step(ep.append_id, [None, history])
                history = appended[0] if isinstance(appended[0], list) else history
        data = self._data(message, history)
        if self._cancelled:
            yield TurnDone(Reply(), cancelled=True, context_reset=context_reset)
            return
        self._job = await self.client.submit(ep.fn_index, data, self.session.session_hash)
        if self._cancelled:
            await self._job.cancel()
        last = Reply()
        async for event in self._job:
            if isinstance(event, Output):
                self._last_data = event.data
                reply = self._reply(event.data)
                if reply != last:
                    last = reply
                    yield ReplyUpdate(reply)
            elif isinstance(event, Completed):
                reply = self._reply(event.data)
                self._commit(event.data)
                yield TurnDone(reply, context_reset=context_reset)
            elif isinstance(event, Cancelled):
                if event.last is not None:
                    last = self._reply(event.last)
                    self._commit(event.last)
                yield TurnDone(last, cancelled=True, context_reset=context_reset)
            elif isinstance(event, Failed):
                raise AppError(event.message, event.title)
            else:
                yield event

    async def _message(self) -> Any:
        if not self.endpoint.multimodal:
            return self.text
        files = await self.client.upload(self.attachments, self.upload_limit) if self.attachments else []
        return {"text": self.text, "files": files}

    async def _step(self, fn_index: int | None, data: list[Any]) -> list[Any]:
        if fn_index is None:
            raise ProtocolError("the app's chat chain is incomplete")
        result = await self.client.run(fn_index, data, self.session.session_hash)
        if isinstance(result, Failed):
            raise AppError(result.message, result.title)
        if not isinstance(result, Completed):
            raise ProtocolError("a chat step ended without output")
        return result.data

    async def _seed(self, sync_id: int, history: list[Any]) -> bool:
        """Write the stored history into the app's session; False when it had to start empty."""
        fmt = self.endpoint.history_format
        for candidate in (history, text_only(history, fmt), []):
            result = await self.client.run(sync_id, [candidate], self.session.session_hash)
            if isinstance(result, Completed):
                if candidate is not history:
                    self.session.history = list(candidate)
                return bool(candidate)
        return False

    def _data(self, message: Any, history: list[Any]) -> list[Any]:
        data: list[Any] = []
        for slot, kind in enumerate(self.endpoint.slots):
            if kind == "message":
                data.append(message)
            elif kind == "history":
                data.append(history)
            elif kind == "param":
                data.append(self.params.get(slot))
            else:
                data.append(None)
        return data

    def _reply(self, data: list[Any]) -> Reply:
        ep = self.endpoint
        value = data[ep.output_index] if ep.output_index < len(data) else None
        if ep.kind == "public":
            return reply_from_output(self.client.app, value)
        return reply_from_chatbot(self.client.app, value, ep.history_format)

    def _commit(self, data: list[Any]) -> None:
        ep = self.endpoint
        value = data[ep.output_index] if ep.output_index < len(data) else None
        if ep.kind != "public" and isinstance(value, list):
            self.session.history = trim_history(value, ep.history_format, self.max_turns)
        self.session.turns += 1
