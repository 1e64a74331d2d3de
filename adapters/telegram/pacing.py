"""Telegram's flood budgets, kept on our side so the API rarely has to answer 429.

Token buckets per chat (about one message or edit per second, small bursts), per group (20 per
minute) and for the whole bot (30 per second). Drafts (``sendMessageDraft`` previews) have their own
per-chat bucket and do not use the message budgets. ``reserve`` takes a token when one is free and
otherwise says how long to wait;
the adapter then raises ``RateLimited`` for intermediate texts (the streamer drops them and
backs off) and waits for final ones. The numbers stay a little under Telegram's published guidance
(1 per second per chat, 20 per minute per group) so network jitter does not push a call over it.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass


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


class Pacer:
    """Budgets of one bot; ``clock`` is injectable for tests."""

    def __init__(
        self,
        per_chat_per_s: float = 0.9,
        burst: float = 2,
        per_group_per_min: float = 18,
        global_per_s: float = 27,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._chat = (burst, per_chat_per_s)
        self._group = (per_group_per_min, per_group_per_min / 60)
        self._global = (global_per_s, global_per_s)
        self._clock = clock
        self._buckets: dict[tuple[str, int], _Bucket] = {}

    def reserve(self, chat_id: int, *, draft: bool = False) -> float:
        """0 when a call to ``chat_id`` may go now (a token is taken); else seconds to wait."""
        now = self._clock()
        if draft:
            buckets = [self._bucket(("draft", chat_id), *self._chat, now)]
        else:
            buckets = [
                self._bucket(("chat", chat_id), *self._chat, now),
                self._bucket(("all", 0), *self._global, now),
            ]
            if chat_id < 0:
                buckets.append(self._bucket(("group", chat_id), *self._group, now))
        wait = max(b.wait(now) for b in buckets)
        if wait == 0:
            for b in buckets:
                b.tokens -= 1
        return wait

    def _bucket(self, key: tuple[str, int], capacity: float, rate: float, now: float) -> _Bucket:
        bucket = self._buckets.get(key)
        if bucket is None:
            bucket = self._buckets[key] = _Bucket(capacity, rate, capacity, now)
        return bucket
