"""Routing incoming messages: access rules → per-user limits → one ordered queue per conversation.

Contract:
- :meth:`Router.deliver` never waits on a turn: it checks the rules, enqueues and returns, so a
  platform's receive loop is never blocked.
- Messages of one conversation are handled in order, one at a time; different conversations run
  concurrently. A conversation's worker task exists only while it has work. (Across processes on a
  shared store, order comes from the shared inbox: :mod:`bridge.consume`.)
- Urgent messages (``urgent(msg)`` is true: a ``stop`` command) bypass the queue so they can act
  on the running turn.
- Refusals and limit messages are sent through ``notify`` (a polite reply), never raised.
- An admitted message is handed to ``record`` (the durable inbox) before :meth:`Router.deliver`
  returns: :attr:`Verdict.HERE` queues it, :attr:`Verdict.ELSEWHERE` leaves it to the shared inbox
  (the process holding its partition queues it with :meth:`Router.resume`), :attr:`Verdict.DUPLICATE`
  drops it (a redelivery of a message already recorded), a text refuses it with that note.
  :meth:`Router.resume` queues a message an earlier run recorded but did not answer (or one the
  shared inbox hands this process), without checking rules or limits again.
"""

from __future__ import annotations

import asyncio
import contextlib
import enum
import time
from collections import defaultdict, deque
from collections.abc import Awaitable, Callable, Iterable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

import structlog

from bridge.metrics import MESSAGES, REFUSED
from bridge.model import ConversationKey, Incoming

if TYPE_CHECKING:
    from bridge.adapterconfig import AdapterConfig

log = structlog.get_logger(__name__)
Handler = Callable[[Incoming], Awaitable[None]]
Notify = Callable[[Incoming, str], Awaitable[None]]


class Verdict(enum.Enum):
    """Where a recorded message is handled (see the module docstring)."""

    HERE = "here"
    ELSEWHERE = "elsewhere"
    DUPLICATE = "duplicate"


Record = Callable[[Incoming], Awaitable[Verdict | str]]


async def _keep_all(_: Incoming) -> Verdict:
    return Verdict.HERE


@dataclass(frozen=True, slots=True)
class AccessRules:
    """Allow/block lists of user ids or names and chat ids; an empty allow list admits everyone."""

    allow_users: frozenset[str] = frozenset()
    block_users: frozenset[str] = frozenset()
    allow_chats: frozenset[str] = frozenset()
    block_chats: frozenset[str] = frozenset()
    refusal: str | None = "Sorry, you are not allowed to use this bot."
    refuse_shared: bool = True  # False: no refusal where others read it (``Incoming.shared``)

    @classmethod
    def of(cls, cfg: AdapterConfig) -> AccessRules:
        """The rules of an ``[adapters.NAME]`` table (an adapter may check a press with them too)."""
        return cls(
            allow_users=frozenset(cfg.allow_users),
            block_users=frozenset(cfg.block_users),
            allow_chats=frozenset(cfg.allow_chats),
            block_chats=frozenset(cfg.block_chats),
            refuse_shared=cfg.refuse_in_groups,
        )

    def admits(self, msg: Incoming) -> bool:
        """True when the author and the chat pass the lists."""
        who = {msg.author.id, *(n for n in (msg.author.name, *msg.author.names) if n)}
        who |= {n.lstrip("@") for n in who}
        if who & self.block_users or msg.key.chat in self.block_chats:
            return False
        if self.allow_users and not who & self.allow_users:
            return False
        return not (self.allow_chats and msg.key.chat not in self.allow_chats)


@dataclass(frozen=True, slots=True)
class UserLimits:
    """Per-user limits: turns queued or running at once, and turns started per minute (0 = no limit)."""

    max_in_flight: int = 2
    per_minute: int = 10


@dataclass
class _Conversation:
    queue: deque[Incoming] = field(default_factory=deque)
    worker: asyncio.Task[None] | None = None


class Router:
    """Admits, limits and orders messages, then calls ``handler`` for each, per conversation."""

    def __init__(
        self,
        handler: Handler,
        notify: Notify,
        rules: AccessRules | None = None,
        limits: UserLimits | None = None,
        clock: Callable[[], float] = time.monotonic,
        urgent: Callable[[Incoming], bool] = lambda _: False,
        record: Record = _keep_all,
    ) -> None:
        self._handler = handler
        self._notify = notify
        self._rules = rules or AccessRules()
        self._limits = limits or UserLimits()
        self._clock = clock
        self._urgent = urgent
        self._record = record
        self._conversations: dict[ConversationKey, _Conversation] = {}
        self._in_flight: dict[str, int] = defaultdict(int)
        self._recent: dict[str, deque[float]] = defaultdict(deque)
        self._side_tasks: set[asyncio.Task[None]] = set()
        self._uncounted: set[int] = set()  # resumed messages (by object id) outside the limits

    async def deliver(self, msg: Incoming) -> None:
        """Take one message from an adapter; returns at once."""
        MESSAGES.inc(msg.key.adapter)
        if not self._rules.admits(msg):
            REFUSED.inc(msg.key.adapter, "access")
            if self._rules.refusal and (self._rules.refuse_shared or not msg.shared):
                self._spawn(self._notify(msg, self._rules.refusal))
            return
        if self._urgent(msg):
            self._spawn(self._handler(msg))
            return
        user = f"{msg.key.adapter}:{msg.author.id}"
        refusal = self._over_limit(user)
        if refusal:
            REFUSED.inc(msg.key.adapter, "limit")
            self._spawn(self._notify(msg, refusal))
            return
        self._in_flight[user] += 1  # counted before the record, which may wait: limits hold meanwhile
        self._recent[user].append(self._clock())
        verdict = await self._record(msg)
        if verdict is not Verdict.HERE:
            self._release(user)
            if isinstance(verdict, str):
                REFUSED.inc(msg.key.adapter, "store")
                self._spawn(self._notify(msg, verdict))
            return
        self._enqueue(msg)

    def resume(self, msg: Incoming) -> None:
        """Queue a message an earlier run recorded and did not answer (rules and limits were checked).

        It does not count toward its author's limits: the backlog a restart left is the bridge's
        doing, and the author's new messages must not be refused because of it.
        """
        self._uncounted.add(id(msg))
        self._enqueue(msg)

    def _enqueue(self, msg: Incoming) -> None:
        conv = self._conversations.setdefault(msg.key, _Conversation())
        conv.queue.append(msg)
        if conv.worker is None:
            conv.worker = asyncio.create_task(self._work(msg.key, conv), name=f"conversation {msg.key}")

    def _over_limit(self, user: str) -> str | None:
        limits = self._limits
        if limits.max_in_flight and self._in_flight[user] >= limits.max_in_flight:
            return (
                f"You already have {self._in_flight[user]} message(s) waiting for an answer; "
                "please wait for them to finish."
            )
        if limits.per_minute:
            recent = self._recent[user]
            now = self._clock()
            while recent and now - recent[0] >= 60:
                recent.popleft()
            if len(recent) >= limits.per_minute:
                wait = 60 - (now - recent[0])
                return f"You are sending messages too fast; please try again in {wait:.0f} s."
        return None

    async def _work(self, key: ConversationKey, conv: _Conversation) -> None:
        try:
            while conv.queue:
                msg = conv.queue[0]
                try:
                    await self._handler(msg)
                except Exception:
                    # A bug or a platform failure in one turn must not stop the conversation's queue.
                    log.exception("handling a message failed", conversation=str(key))
                finally:
                    conv.queue.popleft()
                    if id(msg) in self._uncounted:
                        self._uncounted.discard(id(msg))
                    else:
                        self._release(f"{msg.key.adapter}:{msg.author.id}")
        finally:
            conv.worker = None
            if not conv.queue:
                self._conversations.pop(key, None)

    def _release(self, user: str) -> None:
        self._in_flight[user] -= 1
        if self._in_flight[user] <= 0:
            del self._in_flight[user]

    def _spawn(self, coro: Awaitable[None]) -> None:
        async def run() -> None:
            try:
                await coro
            except Exception:
                log.exception("a side task failed")

        task = asyncio.create_task(run())
        self._side_tasks.add(task)
        task.add_done_callback(self._side_tasks.discard)

    def conversations(self) -> list[ConversationKey]:
        """The conversations with a message queued or being answered now."""
        return list(self._conversations)

    def pending(self) -> int:
        """Messages queued or running, over all conversations."""
        return sum(len(c.queue) for c in self._conversations.values())

    async def drain(self) -> None:
        """Wait until every queued message is handled (wrap in ``asyncio.timeout`` to bound it)."""
        while tasks := self._tasks():
            await asyncio.wait(tasks)

    async def cancel(self) -> None:
        """Cancel every worker (after a drain timed out, on shutdown)."""
        tasks = self._tasks()
        for task in tasks:
            task.cancel()
        for task in tasks:
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await task

    def _tasks(self) -> list[asyncio.Task[None]]:
        workers: Iterable[asyncio.Task[None] | None] = (c.worker for c in self._conversations.values())
        return [t for t in (*workers, *self._side_tasks) if t is not None and not t.done()]
