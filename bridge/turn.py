"""One chat turn for one incoming message, end to end, answered exactly once.

placeholder → load the conversation (waiting out a store outage) → fetch and check attachments →
run the app's turn (:mod:`bridge.turnwatch`: status before text, stop, timeouts) → record the
answer in the message's journal → final text exactly once → files → save.

- Every failure of the app becomes a readable reply and the conversation goes on. A connection
  that breaks mid-turn is asked again (with back-off) when the turn is ``repeatable``.
- A resumed message (its journal says an earlier run began it) edits the messages that run
  posted; if that run had the complete answer it is delivered without asking the app again, and
  an app turn that cannot be repeated safely is answered with a note to send it again.
- A platform that refuses the final text for good gets one short note; outages and rate limits
  are waited out by the streamer (``delivery``). Nothing is appended to a delivered reply.
- A turn cancelled by shutdown keeps its partial reply, marked interrupted; with a durable store
  its message stays in the inbox and the next start answers it in the same messages.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any, Literal

import structlog

from bridge import wording
from bridge.adapter import Adapter
from bridge.conversation import Conversations, ConversationState
from bridge.delivery import Replies
from bridge.errors import AppUnreachable, BridgeError
from bridge.files import FileLimits, Files
from bridge.gradio.chat import ChatTurn, TurnDone
from bridge.journal import FinalAnswer, Journal
from bridge.metrics import TURN_SECONDS, TURNS, TURNS_RUNNING
from bridge.model import Attachment, ConversationKey, FilePart, Incoming, Reply
from bridge.retrying import Backoff, RetryPolicy
from bridge.spaces import SpaceHandle
from bridge.stops import Stops
from bridge.streamer import Streamer
from bridge.text import Text
from bridge.turnwatch import Ending, Running, Shown, unless_stopped, watch

_FINISH_TIMEOUT_S = 10.0  # to mark a reply interrupted at shutdown (it stays in a durable inbox)
_ENDINGS = {"stopped": wording.STOPPED, "idle": wording.IDLE, "deadline": wording.TOO_LONG}
log = structlog.get_logger(__name__)


@dataclass(frozen=True, slots=True)
class TurnSettings:
    """Per-adapter turn policy, from the config."""

    show_thoughts: bool = True
    show_outputs: bool = True
    files: FileLimits = field(default_factory=FileLimits)
    history_turns: int = 50
    session_ttl_s: float | None = 30 * 86400
    params: Mapping[str, Any] = field(default_factory=dict)
    idle_timeout_s: float = 60.0
    turn_timeout_s: float = 600.0
    app_wait_s: float = 60.0  # an app gone away (a restart) is tried again this long, for repeatable turns
    store_wait_s: float = 120.0
    delivery: RetryPolicy = field(default_factory=RetryPolicy)


@dataclass(frozen=True, slots=True)
class TurnEnd:
    """How one turn ended, for whoever watches turns (``bridge ask``'s exit code): ``error`` is the
    ``BridgeError`` the user was told about (``ending`` is then ``"failed"``), else None and
    ``ending`` says how the reply ended (``done``, ``stopped``, ``idle``, ``deadline``)."""

    key: ConversationKey
    ending: Ending | Literal["failed"]
    error: BaseException | None = None


OnEnd = Callable[[TurnEnd], None]


class TurnRunner:
    """Runs the chat turns of one adapter against one Space, each through its collaborators:
    ``conversations`` (stored state), ``stops`` (registers each running turn, so a stop ends it),
    ``replies`` (the streamer, the final text exactly once) and ``files`` (both ways). ``on_end``
    hears how each asked turn ended (not turns answered from the journal)."""

    def __init__(
        self,
        adapter: Adapter,
        space: SpaceHandle,
        settings: TurnSettings,
        *,
        conversations: Conversations,
        stops: Stops,
        replies: Replies,
        files: Files,
        on_end: OnEnd | None = None,
    ) -> None:
        self.adapter = adapter
        self.space = space
        self.settings = settings
        self.conversations = conversations
        self.stops = stops
        self.replies = replies
        self.files = files
        self._on_end = on_end

    async def chat(self, msg: Incoming, journal: Journal, text: str | None = None) -> None:
        """Answer ``msg`` (or re-ask ``text`` for /retry) in its conversation."""
        text = msg.text if text is None else text
        streamer = self.replies.streamer(msg, journal)
        try:
            if journal.final is not None:  # an earlier run had the answer: deliver it, ask nothing
                if await self.replies.deliver(streamer, msg, journal.final.text):
                    await self._files_of(msg, journal.final.files, streamer)
                return
            if journal.resumed and journal.files_lost:
                await self.replies.deliver(streamer, msg, Text.of(wording.FILES_LOST))
                return
            await streamer.start()
            await self._turn(msg, journal, text, streamer)
        finally:
            await streamer.aclose()

    async def _turn(self, msg: Incoming, journal: Journal, text: str, streamer: Streamer) -> None:
        name = msg.key.adapter
        shown = Shown()
        state: ConversationState | None = None
        run = self.stops.begin(msg.key)
        TURNS_RUNNING.inc(name)
        try:
            state = await self.conversations.load(
                msg.key, on_wait=lambda: streamer.status(wording.STORE_WAIT)
            )
            attachments = await self.files.incoming(msg)
            if isinstance(attachments, str):
                await self.replies.deliver(streamer, msg, Text.of(attachments))
                return
            done, ending = await self._ask(run, msg, journal, text, attachments, state, streamer, shown)
        except BridgeError as exc:
            log.info("turn failed", conversation=str(msg.key), error=type(exc).__name__)
            TURNS.inc(name, "failed")
            self._ended(TurnEnd(msg.key, "failed", exc))
            if isinstance(exc, AppUnreachable) and run.turn is not None:
                await self.space.invalidate(run.turn.client)
            note = shown.text + Text.of(wording.error_reply(exc))
            if state is not None:
                state.last_text = text
                with contextlib.suppress(BridgeError):
                    await self.conversations.save(msg.key, state)
            await journal.note_final(FinalAnswer(note))
            await self.replies.deliver(streamer, msg, note)
            return
        except asyncio.CancelledError:
            TURNS.inc(name, "interrupted")
            marker = wording.INTERRUPTED_DURABLE if journal.durable else wording.INTERRUPTED
            with contextlib.suppress(BridgeError, TimeoutError):
                async with asyncio.timeout(_FINISH_TIMEOUT_S):
                    await asyncio.shield(streamer.finish(shown.text + Text.of(marker)))
            raise
        finally:
            TURNS_RUNNING.dec(name)
            self.stops.end(msg.key, run)
        if done is None:  # answered already (a resumed turn that must not be repeated)
            return
        assert state is not None
        final = self._final_text(done, ending)
        TURNS.inc(name, "done" if ending == "done" and not done.cancelled else ending)
        TURN_SECONDS.observe(time.monotonic() - shown.started, name)
        state.last_text = text
        await asyncio.gather(
            self.conversations.save(msg.key, state), journal.note_final(FinalAnswer(final, done.reply.files))
        )
        log.info("turn done", conversation=str(msg.key), ending=ending, chars=len(done.reply.text))
        self._ended(TurnEnd(msg.key, ending))
        if await self.replies.deliver(streamer, msg, final, done.reply.choices):
            await self._files_of(msg, done.reply.files, streamer)

    async def _ask(
        self,
        run: Running,
        msg: Incoming,
        journal: Journal,
        text: str,
        attachments: list[Attachment],
        state: ConversationState,
        streamer: Streamer,
        shown: Shown,
    ) -> tuple[TurnDone | None, Ending]:
        """Run the app's turn, asking again after a broken connection when that is safe."""
        s = self.settings
        deadline = asyncio.get_running_loop().time() + s.turn_timeout_s
        backoff = Backoff(1.0, 8.0)
        give_up_at: float | None = None  # on the loop clock, from the first failure
        while True:
            turn: ChatTurn | None = None
            try:
                client = await unless_stopped(
                    run, self.space.client(on_status=lambda st: streamer.status(st.message))
                )
                if client is None:
                    return TurnDone(Reply(), cancelled=True), "stopped"
                run.turn = turn = ChatTurn(
                    client,
                    state.session,
                    text,
                    attachments,
                    {**s.params, **state.params, **msg.params},
                    upload_limit=s.files.max_attachment_bytes,
                    max_turns=s.history_turns,
                    show_outputs=s.show_outputs,
                )
                if journal.resumed and not turn.repeatable:
                    await self.replies.deliver(streamer, msg, Text.of(wording.RESUME_UNSAFE))
                    return None, "done"
                async with self.adapter.typing(msg.key):
                    return await watch(
                        run,
                        streamer,
                        shown,
                        show_thoughts=s.show_thoughts,
                        idle_timeout_s=s.idle_timeout_s,
                        deadline=deadline,
                        adapter=self.adapter.name,
                    )
            except AppUnreachable as exc:
                # Connecting is always safe to repeat; a turn only when the app cannot have run it twice.
                now = asyncio.get_running_loop().time()
                give_up_at = give_up_at if give_up_at is not None else now + s.app_wait_s
                pause = backoff.next()
                repeatable = turn is None or turn.repeatable
                if not repeatable or run.stop.is_set() or now + pause > min(give_up_at, deadline):
                    raise
                log.info("the app cannot be reached; trying again", conversation=str(msg.key), error=str(exc))
                if turn is not None:
                    await self.space.invalidate(turn.client)
                shown.text = Text()
                streamer.update(shown.text)
                streamer.status(wording.RETRYING)
                if await unless_stopped(run, asyncio.sleep(pause, result=True)) is None:
                    return TurnDone(Reply(), cancelled=True), "stopped"

    def _ended(self, end: TurnEnd) -> None:
        if self._on_end is not None:
            self._on_end(end)

    def _final_text(self, done: TurnDone, ending: Ending) -> Text:
        text = wording.reply_text(done.reply, self.settings.show_thoughts)
        if done.context_reset:
            text = Text.of(wording.CONTEXT_RESET) + text
        if ending in _ENDINGS:
            return text + Text.of(_ENDINGS[ending])
        if done.cancelled:
            return text + Text.of(wording.STOPPED)
        if not text.blocks:
            return Text.of("📎" if done.reply.files else "_(The app returned an empty reply.)_")
        return text

    async def _files_of(self, msg: Incoming, parts: tuple[FilePart, ...], streamer: Streamer) -> None:
        refs = streamer.refs
        await self.files.send_reply(msg.key, parts, refs[-1] if refs else msg.reply_to)
