"""The durable inbox of one bot: record each message before it is acknowledged, finish it when answered.

:class:`Intake` sits between an adapter and its router:

- :meth:`Intake.record` (the router's ``record`` hook, awaited before the adapter's ``deliver``
  returns, so before the platform is told the message arrived) adds the message to the store's
  inbox; a message id seen before is a redelivery and is dropped. Records of one bot are made one
  at a time, in arrival order, so the order of a conversation's messages is the order they came.
- :meth:`Intake.handle` (the router's handler) hands each message with its :class:`Journal` to the
  commands, then finishes the entry once the handler is done — answered, or told why not. A
  handler cancelled by a shutdown leaves its entry, so the next start resumes it.
- :meth:`Intake.load` reads what an earlier run left unanswered; :meth:`Intake.take_resumable`
  gives those messages back (oldest first) for the router to queue before new ones. In a store
  several processes share (``shared``), a recorded message is handled where its conversation's
  partition is held (:mod:`bridge.consume`, which gives it back with :meth:`Intake.adopt`).
- While the store is down, messages are held in memory (at most ``buffer_max``, then refused with
  a note) and written when it is back; a held message waits for that (at most ``hold_s``, then it
  is handled from memory), so nothing is posted that a restart could not find again, and
  :meth:`held` tells the adapter not to confirm it yet (a platform that redelivers has it again).
- A handler that fails unexpectedly (a bug) has its user told that something went wrong, unless
  the answer was complete already (it was being delivered: a note would be a second reply).

A :class:`Journal` (:mod:`bridge.journal`) records what handling did, so a resumed message is
answered once.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections import OrderedDict
from collections.abc import Awaitable, Callable
from typing import Any

import structlog

from bridge import wording
from bridge.errors import BridgeError
from bridge.health import StoreHealth
from bridge.journal import FinalAnswer, Journal, journal_of
from bridge.metrics import INBOX
from bridge.model import Incoming
from bridge.router import Verdict
from bridge.serialize import FILES_LOST, decode_incoming, encode_incoming
from bridge.sessions import SessionStore, StoreError, ValueTooLarge
from bridge.sessions.inbox import InboxEntry

__all__ = ["FinalAnswer", "Intake", "Journal", "StoreHealth"]

log = structlog.get_logger(__name__)
Handler = Callable[[Incoming, "Journal"], Awaitable[None]]
MAX_ATTEMPTS = 3  # a message the bridge died on this many times is given up (a poisoned message)
_STORE_TIMEOUT_S, _RECENT_IDS, _FAILED = 5.0, 10_000, object()
Held = tuple[str, dict[str, Any], int | None]  # a message to write: conversation, JSON, partition


class Intake:
    """One bot's durable inbox; see the module docstring."""

    def __init__(
        self,
        store: SessionStore,
        adapter: str,
        handler: Handler,
        notify: Callable[[Incoming, str], Awaitable[None]],
        health: StoreHealth,
        *,
        durable: bool = True,
        buffer_max: int = 1000,
        hold_s: float = 120.0,
        shared: bool = False,
    ) -> None:
        self._inbox = store.inbox
        self._store = store
        self.adapter = adapter
        self._handler, self._notify, self.health = handler, notify, health
        self.durable, self.buffer_max, self.hold_s = durable, buffer_max, hold_s
        self.shared = shared  # recorded messages go to the shared inbox, not to this process's router
        self.on_settled: Callable[[str], None] = lambda _: None  # an entry handled here is done or cancelled
        self._order = asyncio.Lock()
        self._journals: dict[str, Journal] = {}
        self._recent: OrderedDict[str, None] = OrderedDict()  # ids recorded by this process
        self._unsaved: dict[str, Held] = {}  # what only memory holds, by id
        self._written: dict[str, asyncio.Event] = {}  # held id → set once it is in the store
        self._unfinished: set[str] = set()  # finished while the store was down
        self._local, self._writing = set[str](), set[str]()  # held ids handled from memory; being written
        self._resumable: list[InboxEntry] = []
        self._flusher: asyncio.Task[None] | None = None

    def entry_id(self, msg: Incoming) -> str:
        """The inbox id of ``msg`` (its platform id, within this bot)."""
        return f"{self.adapter}:{msg.id}"

    # -- start-up --------------------------------------------------------------------------
    async def load(self) -> int:
        """Read the entries an earlier run left unanswered; how many (shared: none, the partitions'
        holders take them over)."""
        if self.shared:
            return 0
        self._resumable = await self._inbox.pending(prefix=self.adapter + ":")
        if self._resumable:
            log.info("resuming unanswered messages", adapter=self.adapter, count=len(self._resumable))
        return len(self._resumable)

    def take_resumable(self) -> list[Incoming]:
        """The loaded messages (once), oldest first, each with its journal ready for :meth:`handle`."""
        out = [msg for msg in map(self.adopt, self._resumable) if msg is not None]
        INBOX.inc(self.adapter, "resumed", by=len(out))
        self._resumable = []
        return out

    def adopt(self, entry: InboxEntry) -> Incoming | None:
        """The message of a stored entry, its journal ready for :meth:`handle` (None: unreadable, dropped)."""
        try:
            msg = decode_incoming(entry.message)
        except (KeyError, TypeError, ValueError) as exc:
            log.error("dropping an unreadable inbox entry", entry=entry.id, error=type(exc).__name__)
            self._spawn(self._finish(entry.id))
            return None
        self._journals[entry.id] = journal_of(entry, self.update, self.durable)
        self._remember(entry.id)
        return msg

    # -- the router's hooks ----------------------------------------------------------------
    async def record(self, msg: Incoming) -> Verdict | str:
        """Record ``msg``: where to handle it, DUPLICATE for a redelivery, a refusal note when it
        cannot be kept. In a shared inbox a stored message is handled by its partition's holder."""
        entry_id = self.entry_id(msg)
        async with self._order:
            added = False if entry_id in self._recent else await self._add(entry_id, msg)
            event = "refused" if isinstance(added, str) else "recorded" if added else "duplicate"
            INBOX.inc(self.adapter, event)
            if isinstance(added, str):
                return added
            if not added:
                return Verdict.DUPLICATE
            self._remember(entry_id)
            queued = self.shared and entry_id not in self._unsaved
            return Verdict.ELSEWHERE if queued else Verdict.HERE

    def redelivered(self, msg: Incoming) -> bool:
        """True (and counted) when this process has taken ``msg`` in already: drop it."""
        if self.entry_id(msg) not in self._recent:
            return False
        INBOX.inc(self.adapter, "duplicate")
        return True

    def held(self, msg: Incoming) -> bool:
        """True while ``msg`` was taken in but is only in memory (the store is down)."""
        return self.entry_id(msg) in self._unsaved

    async def handle(self, msg: Incoming) -> None:
        """Run the handler with the message's journal; finish the entry unless cancelled.

        A held message waits (at most ``hold_s``) until it is written to the store."""
        entry_id = self.entry_id(msg)
        written = self._written.get(entry_id)
        if written is not None:
            with contextlib.suppress(TimeoutError):
                async with asyncio.timeout(self.hold_s):
                    await written.wait()
            if entry_id in self._writing:  # being written as we speak: wait for where it went
                await written.wait()
            if self.shared and entry_id not in self._unsaved and entry_id not in self._local:
                return  # written to the shared inbox: its partition's holder answers it
            self._local.add(entry_id)
        try:
            await self._handle(msg, entry_id)
        finally:
            self.on_settled(entry_id)

    async def _handle(self, msg: Incoming, entry_id: str) -> None:
        journal = self._journals.pop(entry_id, None)
        if journal is None:  # not recorded (a stop command): nothing to finish
            await self._handler(msg, Journal())
            return
        try:
            journal.attempt = await self._begin(entry_id, journal.attempt)
            if journal.attempt > MAX_ATTEMPTS:
                log.error("giving up a message the bridge stopped on repeatedly", entry=entry_id)
                await self._notify(msg, wording.GAVE_UP.format(n=journal.attempt - 1))
            else:
                await self._handler(msg, journal)
        except asyncio.CancelledError:
            with contextlib.suppress(BaseException):
                await asyncio.shield(journal.flush())
            raise  # left in the inbox: the next start resumes it
        except Exception as exc:  # a bug: the user still hears why there is no answer
            log.exception("handling a message failed; it is not retried", entry=entry_id)
            if journal.final is None:  # with a final answer, it was being delivered: no second reply
                with contextlib.suppress(Exception):
                    await self._notify(msg, wording.error_reply(exc))
        await journal.flush()
        await self._finish(entry_id)

    # -- store operations that survive outages ---------------------------------------------
    async def _add(self, entry_id: str, msg: Incoming) -> bool | str:
        held = (str(msg.key), encode_incoming(msg), msg.partition)
        if self.health.ok:
            try:
                entry = await self._op(self._add_whole(entry_id, held))
            except (StoreError, TimeoutError) as exc:
                self.health.failed(exc)
            else:
                if entry is None:
                    return False
                if not self.shared:  # (shared: the holder of its partition builds the journal)
                    self._journals[entry_id] = journal_of(entry, self.update, self.durable)
                return True
        if len(self._unsaved) >= self.buffer_max:
            return wording.STORE_BUSY
        INBOX.inc(self.adapter, "buffered")
        self._unsaved[entry_id] = held
        self._written[entry_id] = asyncio.Event()
        self._journals[entry_id] = Journal(entry_id, durable=False, _writer=self.update)
        self._start_flusher()
        return True

    async def _add_whole(self, entry_id: str, held: Held, queue: bool = True) -> InboxEntry | None:
        conversation, data, partition = held
        try:
            return await self._inbox.add(entry_id, conversation, data, queue=queue, partition=partition)
        except ValueTooLarge:  # attachments given as bytes: record the message without them
            kept = [a for a in data["attachments"] if "data" not in a]
            lighter = {**data, "attachments": kept, FILES_LOST: True}
            return await self._inbox.add(entry_id, conversation, lighter, queue=queue, partition=partition)

    async def _begin(self, entry_id: str, attempt: int) -> int:
        counted = await self._try(entry_id, self._inbox.begin)
        return counted if isinstance(counted, int) and counted else attempt

    async def update(self, entry_id: str, progress: dict[str, Any]) -> None:
        """Write a journal's progress (best effort: it only matters if the process dies)."""
        await self._try(entry_id, lambda i: self._inbox.update(i, progress))

    async def _finish(self, entry_id: str) -> None:
        if await self._try(entry_id, self._inbox.finish) is _FAILED:
            self._unfinished.add(entry_id)  # written once the store is back

    async def _try(self, entry_id: str, op: Callable[[str], Awaitable[Any]]) -> Any:
        """``op(entry_id)`` on the store, or _FAILED (not tried: the store is down, or the entry only
        in memory; or it failed now) with the writer started that catches up once it is back."""
        if entry_id not in self._unsaved and self.health.ok:
            try:
                return await self._op(op(entry_id))
            except (StoreError, TimeoutError) as exc:
                self.health.failed(exc)
        self._start_flusher()
        return _FAILED

    async def _op(self, op: Awaitable[Any]) -> Any:
        async with asyncio.timeout(_STORE_TIMEOUT_S):
            result = await op
        self.health.worked()
        return result

    def _start_flusher(self) -> None:
        if self._flusher is None or self._flusher.done():
            self._flusher = asyncio.create_task(self._flush_when_back(), name=f"{self.adapter} inbox flush")

    async def _flush_when_back(self) -> None:
        """Until the store answers, probe it; then write what only memory held."""
        delay = 0.5
        while self._unsaved or self._unfinished or not self.health.ok:
            try:
                await self._op(self._store.ping())
                for entry_id, held in list(self._unsaved.items()):
                    queue = entry_id not in self._local  # (shared: not yet started here, so queued)
                    self._writing.add(entry_id)
                    try:
                        entry = await self._op(self._add_whole(entry_id, held, queue))
                    finally:
                        self._writing.discard(entry_id)
                    del self._unsaved[entry_id]
                    self._release(entry_id)
                    journal = self._journals.get(entry_id)
                    if entry is not None and journal is not None:  # still running: it is durable now
                        journal.durable = self.durable
                        await self.update(entry_id, journal.progress())
                for entry_id in list(self._unfinished):
                    await self._op(self._inbox.finish(entry_id))
                    self._unfinished.discard(entry_id)
            except (StoreError, TimeoutError) as exc:
                self.health.failed(exc)
                await asyncio.sleep(delay)
                delay = min(5.0, delay * 2)
            except BridgeError as exc:  # a value the store refuses for good: keep going without it
                log.error("an inbox entry could not be written", error=str(exc))
                for entry_id in list(self._unsaved):
                    self._release(entry_id)
                self._unsaved.clear()
        log.info("inbox entries kept in memory are written to the store", adapter=self.adapter)

    async def aclose(self) -> None:
        """Stop the background writer (what it still held stays only in memory)."""
        if self._flusher is not None:
            self._flusher.cancel()
            await asyncio.wait({self._flusher})
            if lost := len(self._unsaved):
                log.error("messages kept in memory during a store outage were not written", count=lost)

    def _release(self, entry_id: str) -> None:
        written = self._written.pop(entry_id, None)
        if written is not None:
            written.set()

    def _remember(self, entry_id: str) -> None:
        self._recent[entry_id] = None
        while len(self._recent) > _RECENT_IDS:
            self._recent.popitem(last=False)

    def _spawn(self, coro: Awaitable[None]) -> None:
        asyncio.ensure_future(coro).add_done_callback(lambda t: t.cancelled() or t.exception())
