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

Per endpoint kind:
- chain: the app's own event chain (:mod:`bridge.gradio.chain`), run step by step over the
  conversation's component values (:mod:`bridge.gradio.values`), as the browser runs it. A seed
  step first writes the stored history into the app's State (ChatInterface 5/6: always, so an app
  restart or eviction loses nothing). Every step that writes the Chatbot is streamed; the reply is
  the Chatbot's newest turn, then the extra outputs the chain wrote, then the offered options.
  A failed step ends the turn with its error (``.then`` steps after it are not run).
- public: one call; history stays in the app's State (it cannot be restored after a restart).
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import structlog

from bridge.errors import AppError, InvalidParam, ProtocolError, Unsupported
from bridge.gradio.appinfo import ChatEndpoint, Step
from bridge.gradio.client import GradioClient
from bridge.gradio.events import Cancelled, Completed, Failed, JobEvent, Output
from bridge.gradio.extras import chain_reply
from bridge.gradio.messages import reply_from_output
from bridge.gradio.session import ChatSession, text_only
from bridge.gradio.streams import Job
from bridge.gradio.values import apply_output, kept_values, start_values, step_inputs
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
        show_outputs: bool = True,
    ) -> None:
        self.client = client
        self.session = session
        self.text = text
        self.attachments = list(attachments)
        self.endpoint = client.chat
        self.params = resolve_params(self.endpoint, params or {})
        self.upload_limit = upload_limit
        self.max_turns = max_turns
        self.show_outputs = show_outputs
        self._job: Job | None = None
        self._cancelled = False
        self._values: dict[int, Any] | None = None  # chain: the component values of this turn
        self._wrote_chat = False  # chain: a step of this turn wrote the Chatbot (a stop keeps it)
        self._last_public: list[Any] | None = None  # public: the newest output
        self._context_reset = False
        if self.attachments and not self.endpoint.multimodal:
            raise Unsupported("this app takes text only, so attachments cannot be sent to it")

    @property
    def repeatable(self) -> bool:
        """Running this turn again from the start is safe: the bridge holds the history it sends
        (a ``gr.State`` the app carries between turns may see a repeated turn twice)."""
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
        done = TurnDone(Reply(), cancelled=True, context_reset=self._context_reset)
        if self.endpoint.kind == "chain" and self._values is not None:
            done = self._finish(self._values)
        elif self._last_public is not None:
            done = TurnDone(self._public_reply(self._last_public), cancelled=True)
            self.session.turns += 1
        if self._job is not None and not self._job.done:
            task = asyncio.create_task(self._cancel_quietly(self._job))
            _BACKGROUND.add(task)
            task.add_done_callback(_BACKGROUND.discard)
        return done

    @staticmethod
    async def _cancel_quietly(job: Job) -> None:
        try:
            await job.cancel()
        except Exception as exc:  # the turn has ended; a cancel the app refuses changes nothing
            log.debug("cancelling an ended turn's job failed", error=type(exc).__name__)

    def __aiter__(self) -> AsyncIterator[TurnEvent]:
        return self._run_chain() if self.endpoint.kind == "chain" else self._run_public()

    async def _run_chain(self) -> AsyncIterator[TurnEvent]:
        ep = self.endpoint
        message = await self._message()
        if ep.seed is not None and self.session.history:
            self._context_reset = not await self._seed(ep.seed.id, self.session.history)
        values = self._values = start_values(
            ep, self.session.values, self.session.history, message, self.params
        )
        last = Reply()
        for step in ep.steps:
            if self._cancelled:
                break
            data = step_inputs(self.client.app, step, values)
            if not (step.generator or step.queued):
                result = self._completed(
                    step, await self.client.run(step.id, data, self.session.session_hash)
                )
                apply_output(self.client.app, step, result, values)
                self._wrote_chat = self._wrote_chat or ep.chatbot in step.outputs
            else:
                async for event in self._stream(step, data):
                    if isinstance(event, Output):
                        apply_output(self.client.app, step, event.data, values)
                        if ep.chatbot in step.outputs:
                            self._wrote_chat = True
                            reply = chain_reply(self.client.app, ep, values, final=False)
                            if reply != last:
                                last = reply
                                yield ReplyUpdate(reply)
                    else:
                        yield event
        yield self._finish(values)

    async def _stream(self, step: Step, data: list[Any]) -> AsyncIterator[JobEvent]:
        """A queued step's events; its final (or cancelled partial) output comes as an Output."""
        self._job = await self.client.submit(step.id, data, self.session.session_hash)
        if self._cancelled:
            await self._job.cancel()
        async for event in self._job:
            if isinstance(event, Completed):
                yield Output(data=self._completed(step, event))
            elif isinstance(event, Cancelled):
                self._cancelled = True
                if event.last is not None:
                    yield Output(data=event.last)
            elif isinstance(event, Failed):
                raise self._failure(step, event)
            else:
                yield event
        self._job = None

    def _completed(self, step: Step, result: JobEvent) -> list[Any]:
        if isinstance(result, Failed):
            raise self._failure(step, result)
        if not isinstance(result, Completed):
            raise ProtocolError(f"the app's step {step.name or step.id} ended without output")
        return result.data

    def _failure(self, step: Step, failed: Failed) -> Exception:
        """The error for a failed step; a request the app could not read is the bridge's limitation."""
        text = failed.message or ""
        if "input values" in text and "received" in text:  # gradio's "didn't receive enough input values"
            return Unsupported(
                f"this app's event chain is not supported: step {step.name or step.id}: {text}"
            )
        if not text and step.id != self.endpoint.fn_index:
            return AppError(None, f"step {step.name or step.id}" if step.name else None)
        return AppError(failed.message, failed.title)

    def _finish(self, values: dict[int, Any]) -> TurnDone:
        ep = self.endpoint
        # Until a step of this turn writes the Chatbot, its newest turn is the last turn's answer.
        now = values if self._wrote_chat else {c: v for c, v in values.items() if c != ep.chatbot}
        reply = chain_reply(self.client.app, ep, now, final=True, show_outputs=self.show_outputs)
        if not self._cancelled or self._wrote_chat:
            self._commit(values)
        return TurnDone(reply, cancelled=self._cancelled, context_reset=self._context_reset)

    def _commit(self, values: dict[int, Any]) -> None:
        ep = self.endpoint
        history = values.get(ep.chatbot) if ep.chatbot is not None else None
        if isinstance(history, list):
            self.session.keep(history, ep.history_format, self.max_turns)
        self.session.values = kept_values(ep, values)
        self.session.turns += 1

    async def _run_public(self) -> AsyncIterator[TurnEvent]:
        ep = self.endpoint
        data: list[Any] = []
        message = await self._message()
        for slot, kind in enumerate(ep.slots):
            data.append(message if kind == "message" else self.params.get(slot) if kind == "param" else None)
        if self._cancelled:
            yield TurnDone(Reply(), cancelled=True)
            return
        self._job = await self.client.submit(ep.fn_index, data, self.session.session_hash)
        if self._cancelled:
            await self._job.cancel()
        last = Reply()
        async for event in self._job:
            if isinstance(event, Output | Completed | Cancelled):
                out = event.last if isinstance(event, Cancelled) else event.data
                reply = self._public_reply(out) if out is not None else last
                if isinstance(event, Output):
                    self._last_public = out
                    if reply != last:
                        last = reply
                        yield ReplyUpdate(reply)
                    continue
                self.session.turns += 1
                yield TurnDone(reply, cancelled=isinstance(event, Cancelled))
            elif isinstance(event, Failed):
                raise AppError(event.message, event.title)
            else:
                yield event

    def _public_reply(self, data: list[Any]) -> Reply:
        ep = self.endpoint
        return reply_from_output(
            self.client.app, data[ep.output_index] if ep.output_index < len(data) else None
        )

    async def _message(self) -> Any:
        if not self.endpoint.multimodal:
            return self.text
        files = await self.client.upload(self.attachments, self.upload_limit) if self.attachments else []
        return {"text": self.text, "files": files}

    async def _seed(self, seed_id: int, history: list[Any]) -> bool:
        """Write the stored history into the app's session; False when it had to start empty."""
        fmt = self.endpoint.history_format
        for candidate in (history, text_only(history, fmt), []):
            result = await self.client.run(seed_id, [candidate], self.session.session_hash)
            if isinstance(result, Completed):
                if candidate is not history:
                    self.session.history = list(candidate)
                return bool(candidate)
        return False
