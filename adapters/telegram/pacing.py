"""Telegram's flood budgets, kept on our side so the API rarely has to answer 429.

Three limits apply to every message and edit: per chat about one per second (a token bucket,
small bursts), per group 18 in any 60 s and for the whole bot 27 in any second (sliding windows:
a bucket refilled at the average rate would let twice the limit through at the edge of a window).
Drafts (``sendMessageDraft`` previews) have their own per-chat bucket and no other budget.

``reserve`` takes a slot when one is free and otherwise says how long to wait; the adapter then
raises ``RateLimited`` for intermediate texts (the streamer drops them and backs off) and waits for
final ones. Intermediate texts leave ``headroom`` of the bot-wide window to final ones, so under load
finished replies are not held up by previews. The numbers stay a little under Telegram's published
guidance (1/s per chat, 20/min per group, 30/s overall) so network jitter does not push a call over.

The bot-wide and per-group windows are the bot's, not this process's: :meth:`Pacer.share` takes them
from the host (``host.budget``), so every process serving the bot on a shared store (webhook replicas
behind a load balancer) counts in the same windows. The per-chat buckets stay local: a conversation
is answered by one process at a time.
"""

from __future__ import annotations

import functools
import time
from collections.abc import Callable
from dataclasses import dataclass

from bridge import Budget, BudgetSource, LocalBudget, reserve_all

_PRUNE_AT = 20_000  # chats tracked before idle ones are forgotten


@dataclass
class _Bucket:
    capacity: float
    rate: float  # tokens per second
    tokens: float
    stamp: float

    def wait(self, now: float) -> float:
        self.tokens = min(self.capacity, self.tokens + (now - self.stamp) * self.rate)
        self.stamp = now
        return 0.0 if self.tokens >= 1 else (1 - self.tokens) / self.rate

    def take(self) -> None:
        self.tokens -= 1

    def give_back(self) -> None:
        self.tokens += 1


class Pacer:
    """Budgets of one bot; ``clock`` (of the per-chat buckets) is injectable for tests, as is
    ``budgets``, where the bot-wide and per-group windows come from (local ones by default)."""

    def __init__(
        self,
        per_chat_per_s: float = 0.9,
        burst: float = 2,
        per_group_per_min: int = 18,
        global_per_s: int = 27,
        headroom: int = 5,
        clock: Callable[[], float] = time.monotonic,
        budgets: BudgetSource | None = None,
    ) -> None:
        self._chat = (burst, per_chat_per_s)
        self._per_group = per_group_per_min
        self._per_s = global_per_s
        self._headroom = headroom
        self._clock = clock
        self._buckets: dict[tuple[str, int], _Bucket] = {}
        self.share(budgets or functools.partial(LocalBudget, clock=clock))

    def share(self, budgets: BudgetSource) -> None:
        """Count the bot-wide and per-group windows in ``budgets`` from now on (``host.budget``)."""
        self._budgets = budgets
        self._global: Budget = budgets("global", self._per_s, 1.0)
        self._groups: dict[int, Budget] = {}

    async def reserve(self, chat_id: int, *, draft: bool = False, final: bool = True) -> float:
        """0 when a call to ``chat_id`` may go now (its slots are taken); else seconds to wait.

        ``final=False`` (an intermediate text) leaves ``headroom`` of the bot-wide window free. The
        chat's bucket, its group's window and the bot's are taken together or not at all.
        """
        now = self._clock()
        if len(self._buckets) + len(self._groups) > _PRUNE_AT:
            self._prune(now)
        bucket = self._bucket(("draft" if draft else "chat", chat_id), now)
        if (wait := bucket.wait(now)) > 0:
            return wait
        bucket.take()
        if draft:
            return 0.0
        claims = [(self._global, 0 if final else self._headroom)]
        if chat_id < 0:
            claims.append((self._group(chat_id), 0))
        wait = await reserve_all(claims)
        if wait > 0:
            bucket.give_back()
        return wait

    def _prune(self, now: float) -> None:
        """Forget chats whose budgets are back to full (idle ones), so memory stays bounded."""
        self._buckets = {k: b for k, b in self._buckets.items() if b.wait(now) > 0 or b.tokens < b.capacity}
        self._groups = {k: w for k, w in self._groups.items() if w.used()}

    def _bucket(self, key: tuple[str, int], now: float) -> _Bucket:
        bucket = self._buckets.get(key)
        if bucket is None:
            capacity, rate = self._chat
            bucket = self._buckets[key] = _Bucket(capacity, rate, capacity, now)
        return bucket

    def _group(self, chat_id: int) -> Budget:
        window = self._groups.get(chat_id)
        if window is None:
            window = self._groups[chat_id] = self._budgets(f"group:{chat_id}", self._per_group, 60.0)
        return window
