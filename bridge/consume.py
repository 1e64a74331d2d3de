"""This process's share of a bot's shared inbox, fed to its router: in order, with takeover.

With a store several processes share (Redis), a message is not handled where it arrived. The
process that receives it records it (:meth:`~bridge.inbox.Intake.record`), which puts it in its
conversation's partition; the process holding that partition reads it here and queues it on its
router. One holder per partition, reading in order, keeps a conversation's messages in the order
they were received and one at a time, whichever replica the load balancer sent each to.

:class:`Consumer` contract:

- With ``pinned`` partitions (the adapter's own split, Discord's shards: this process receives
  exactly their messages) it claims those and no others; a process that takes a shard over after
  a crash takes its partition over too. Otherwise:
- It renews its leases every ``lease_s / 4`` and claims free partitions up to its fair share, so
  a replica that joins takes some over (an over-share one releases partitions it has nothing in
  flight for: a partition changes hands between two messages), and a replica that dies has its
  partitions claimed once its lease runs out (``lease_s``, 5 s by default).
- A newly held partition's unfinished entries (read by a holder that died or stopped mid-reply)
  are queued first, in order, each with its journal: the reply resumes where it was (edits the
  message already posted; an answer already complete is delivered, not asked again).
- :meth:`stop_reading` (shutdown) takes no new entries but keeps the leases until :meth:`aclose`,
  so no one takes over replies still finishing here; :meth:`aclose` releases them, and what was
  cancelled is taken over by another replica at once (or resumed by the next start).
- While the store cannot be reached it retries with back-off (the store's health says so);
  partitions whose lease ran out meanwhile are claimed again or taken over by another replica.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections import defaultdict
from collections.abc import Callable

import structlog

from bridge.health import StoreHealth
from bridge.inbox import Intake
from bridge.metrics import INBOX, INBOX_DEPTH, INBOX_PARTITIONS
from bridge.model import Incoming
from bridge.router import Verdict
from bridge.sessions import StoreError
from bridge.sessions.inbox import InboxEntry
from bridge.sessions.shared import SharedQueue

log = structlog.get_logger(__name__)
_RECORDED_MAX = 10_000


class Consumer:
    """Reads one bot's partitions held by this process and queues their messages (module docstring)."""

    def __init__(
        self,
        queue: SharedQueue,
        intake: Intake,
        health: StoreHealth,
        pinned: frozenset[int] | None = None,
    ) -> None:
        self._queue = queue
        self._pinned = pinned
        self._intake = intake
        self._enqueue: Callable[[Incoming], None] = lambda _: None
        self._health = health
        self.held: set[int] = set()
        self._in_flight: dict[int, set[str]] = defaultdict(set)  # partition → entry ids queued here
        self._where: dict[str, int] = {}  # entry id → its partition, while queued or running here
        self._recorded: dict[str, None] = {}  # ids this process recorded, maybe not answered yet
        self._reading = True
        self._task: asyncio.Task[None] | None = None
        self.consuming = asyncio.Event()  # set once partitions were balanced (for readiness)
        intake.on_settled = self._settled

    async def record(self, msg: Incoming) -> Verdict | str:
        """The intake's ``record``, remembering what this process recorded (for :meth:`answered`)."""
        verdict = await self._intake.record(msg)
        if verdict is Verdict.ELSEWHERE:
            self._recorded[self._intake.entry_id(msg)] = None
            if len(self._recorded) > _RECORDED_MAX:  # (only an input that ends reads them: bounded)
                del self._recorded[next(iter(self._recorded))]
        return verdict

    async def answered(self) -> bool:
        """Whether every message this process recorded is answered, by any process (False while
        the store cannot tell)."""
        if self._recorded:
            try:
                left = await self._queue.unfinished(set(self._recorded))
            except StoreError:
                return False
            self._recorded = {id: None for id in self._recorded if id in left}
        return not self._recorded

    def start(self, enqueue: Callable[[Incoming], None]) -> None:
        """Start reading in the background (once), queueing each message with ``enqueue`` (the
        router's ``resume``)."""
        if self._task is None:
            self._enqueue = enqueue
            self._task = asyncio.create_task(self._run(), name=f"inbox consumer {self._intake.adapter}")

    def stop_reading(self) -> None:
        """Take no new entries; keep the leases of what still runs here until :meth:`aclose`."""
        self._reading = False

    async def aclose(self) -> None:
        """Stop, and give up every partition (another replica takes over what did not finish)."""
        if self._task is not None:
            self._task.cancel()
            await asyncio.wait({self._task})
        with contextlib.suppress(StoreError, TimeoutError):
            async with asyncio.timeout(2.0):
                await self._queue.release(set(range(self._queue.partitions)), leave=True)
        self.held = set()

    async def _run(self) -> None:
        interval, delay, joined = self._queue.lease_s / 4, 0.5, False
        loop = asyncio.get_running_loop()
        while True:
            try:
                if not joined:
                    await self._queue.join()
                    joined = True
                await self._balance()
                self._health.worked()
                self.consuming.set()
                delay = 0.5
                deadline = loop.time() + interval
                while (left := deadline - loop.time()) > 0:
                    if not (self._reading and self.held):
                        await asyncio.sleep(left)
                        break
                    for partition, entry in await self._queue.read(self.held, min(left, 1.0)):
                        self._dispatch(partition, entry)
            except StoreError as exc:
                self.consuming.clear()
                self._health.failed(exc)
                joined = False  # (a Redis that lost its keys lost the consumer groups too)
                await asyncio.sleep(delay)
                delay = min(5.0, delay * 2)
            except Exception:  # a bug must not end the reading silently: no message would be answered
                log.exception("reading the shared inbox failed; trying again", adapter=self._intake.adapter)
                self.consuming.clear()
                joined = False
                await asyncio.sleep(delay)
                delay = min(5.0, delay * 2)

    async def _balance(self) -> None:
        share, held = await self._queue.balance(claim=self._reading, pinned=self._pinned)
        lost = self.held - held
        if lost:  # our lease ran out (a long pause or outage): another replica may answer them too
            log.error("inbox partitions were taken over by another process", partitions=sorted(lost))
        gained, self.held = held - self.held, held
        for partition in sorted(gained):
            taken = await self._queue.takeover(partition)
            fresh = [(k, e) for k, e in taken if e.id not in self._where]
            if fresh:
                log.info("taking over unanswered messages", partition=partition, count=len(fresh))
                INBOX.inc(self._intake.adapter, "taken_over", by=len(fresh))
            for k, entry in fresh:
                self._dispatch(k, entry)
        surplus = len(held) - share
        if surplus > 0 and self._reading and self._pinned is None:
            idle = sorted(k for k in held if not self._in_flight.get(k))[:surplus]
            if idle:
                await self._queue.release(set(idle))
                self.held -= set(idle)
        INBOX_PARTITIONS.set(len(self.held), self._intake.adapter)
        INBOX_DEPTH.set(await self._queue.depth(self.held), self._intake.adapter)

    def _dispatch(self, partition: int, entry: InboxEntry) -> None:
        if entry.id in self._where:  # ours already (a partition claimed back after an outage)
            return
        msg = self._intake.adopt(entry)
        if msg is None:
            return
        self._where[entry.id] = partition
        self._in_flight[partition].add(entry.id)
        self._enqueue(msg)

    def _settled(self, entry_id: str) -> None:
        partition = self._where.pop(entry_id, None)
        if partition is not None:
            self._in_flight[partition].discard(entry_id)
            if not self._in_flight[partition]:
                del self._in_flight[partition]
