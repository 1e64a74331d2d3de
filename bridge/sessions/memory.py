"""A process-local session store: an LRU dict of JSON texts, lost when the process exits.

Every operation is synchronous inside its coroutine (no await), so operations never interleave and
need no lock. Meant for tests, demos and bridges whose state may be forgotten on restart.
"""

from __future__ import annotations

import time
from collections import OrderedDict
from collections.abc import Callable
from typing import Any

from bridge.sessions.base import PURGE_EVERY, StoreError, check_options, decode, encode, expiry, is_live
from bridge.sessions.inbox import DEDUP_TTL, Inbox, MemoryInbox


class MemoryStore:
    """:class:`~bridge.sessions.store.SessionStore` in memory; ``clock`` gives seconds (tests inject one)."""

    def __init__(
        self,
        *,
        default_ttl: float | None = None,
        max_entries: int = 100_000,
        max_value_bytes: int = 1_000_000,
        clock: Callable[[], float] = time.time,
        dedup_ttl: float = DEDUP_TTL,
    ) -> None:
        check_options(default_ttl, max_entries, max_value_bytes)
        self.default_ttl = default_ttl
        self.max_entries = max_entries
        self.max_value_bytes = max_value_bytes
        self._clock = clock
        # key → (JSON text, expires_at); order = least recently written first.
        self._data: OrderedDict[str, tuple[str, float | None]] = OrderedDict()
        self._writes = 0
        self._closed = False
        self.inbox: Inbox = MemoryInbox(
            is_open=self._check_open, max_value_bytes=max_value_bytes, dedup_ttl=dedup_ttl, clock=clock
        )

    def _check_open(self) -> None:
        if self._closed:
            raise StoreError("the in-memory session store is closed")

    def coordination(self) -> None:
        """None: only one process uses this store."""
        return None

    async def ping(self) -> None:
        """Nothing to reach; StoreError once closed."""
        self._check_open()

    async def get(self, key: str) -> dict[str, Any] | None:
        """The live value under ``key`` (a fresh copy), or None."""
        self._check_open()
        entry = self._data.get(key)
        if entry is None:
            return None
        if not is_live(entry[1], self._clock()):
            del self._data[key]
            return None
        return decode(entry[0])

    async def put(self, key: str, value: dict[str, Any], ttl: float | None = None) -> None:
        """Store ``value``; beyond ``max_entries`` the least-recently-written keys are evicted."""
        self._check_open()
        text = encode(key, value, self.max_value_bytes)
        now = self._clock()
        self._data[key] = (text, expiry(now, ttl, self.default_ttl))
        self._data.move_to_end(key)
        self._writes += 1
        if self._writes % PURGE_EVERY == 0:
            self._purge(now)
        while len(self._data) > self.max_entries:
            self._data.popitem(last=False)

    async def delete(self, key: str) -> None:
        """Forget ``key`` (missing keys are fine)."""
        self._check_open()
        self._data.pop(key, None)

    async def keys(self, prefix: str = "") -> list[str]:
        """The live keys starting with ``prefix``, sorted."""
        self._check_open()
        now = self._clock()
        return sorted(k for k, (_, exp) in self._data.items() if k.startswith(prefix) and is_live(exp, now))

    async def close(self) -> None:
        """Drop everything; later operations raise StoreError."""
        self._closed = True
        self._data.clear()

    def _purge(self, now: float) -> None:
        for key in [k for k, (_, exp) in self._data.items() if not is_live(exp, now)]:
            del self._data[key]
