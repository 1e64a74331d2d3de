"""The Redis store's durable inbox (:mod:`bridge.sessions.inbox`), shared by every process on a prefix.

Keys, with ``P`` the store's prefix::

    P inbox:e:ID       string   the JSON of a pending entry
    P inbox:pending    zset     ID → seq: the pending entries in arrival order
    P inbox:seen:ID    string   "1": the id was added; no expiry while pending, then ``dedup_ttl``
    P inbox:seq        counter  the arrival order, shared by all processes

``add``, ``finish`` and the write of ``begin``/``update`` are each one Lua script, so two processes
adding the same id get exactly one entry, and a finished entry cannot be written back. The dedup
window ends by Redis' own expiry (no clock of a replica involved). ``begin`` and ``update`` read
the entry, change it here and write it back if it is still pending; two processes changing one
entry at once is for the lease layer that lets several processes consume the inbox.
"""

from __future__ import annotations

import math
import time
from collections.abc import Awaitable, Callable
from typing import Any, TypeVar

from redis.asyncio import Redis

from bridge.sessions.inbox import DEDUP_TTL, InboxEntry, entry_from_text, entry_text

T = TypeVar("T")
Run = Callable[[Callable[[], Awaitable[Any]]], Awaitable[Any]]
_SEQ_MARK = '"seq":0'  # the placeholder the add script replaces with the entry's seq

# ARGV: prefix, id, entry JSON with "seq":0. Returns the entry JSON with its seq, or nil.
_ADD = f"""
local p, id, text = ARGV[1], ARGV[2], ARGV[3]
if redis.call('EXISTS', p .. 'inbox:seen:' .. id) == 1 then return false end
local seq = redis.call('INCR', p .. 'inbox:seq')
local s, e = string.find(text, '{_SEQ_MARK}', 1, true)
text = string.sub(text, 1, s - 1) .. '"seq":' .. seq .. string.sub(text, e + 1)
redis.call('SET', p .. 'inbox:e:' .. id, text)
redis.call('ZADD', p .. 'inbox:pending', seq, id)
redis.call('SET', p .. 'inbox:seen:' .. id, '1')
return text
"""
# ARGV: prefix, id, new entry JSON. Writes only a pending entry; 1 when written.
_REPLACE = """
local key = ARGV[1] .. 'inbox:e:' .. ARGV[2]
if redis.call('EXISTS', key) == 0 then return 0 end
redis.call('SET', key, ARGV[3])
return 1
"""
# ARGV: prefix, id, dedup window in ms.
_FINISH = """
local p, id = ARGV[1], ARGV[2]
local seen = p .. 'inbox:seen:' .. id
redis.call('DEL', p .. 'inbox:e:' .. id)
if redis.call('ZREM', p .. 'inbox:pending', id) == 1 or redis.call('EXISTS', seen) == 1 then
  redis.call('SET', seen, '1', 'PX', ARGV[3])
end
return 0
"""


class RedisInbox:
    """:class:`~bridge.sessions.inbox.Inbox` on a :class:`~bridge.sessions.redis.RedisStore`.

    ``run`` is the store's way of running one operation (its connection slots and error mapping).
    """

    def __init__(
        self,
        client: Redis,
        prefix: str,
        run: Run,
        *,
        max_value_bytes: int,
        dedup_ttl: float = DEDUP_TTL,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self._client, self._prefix, self._run = client, prefix, run
        self.max_value_bytes = max_value_bytes
        self.dedup_ttl = dedup_ttl
        self._clock = clock
        self._add = client.register_script(_ADD)
        self._replace = client.register_script(_REPLACE)
        self._finish = client.register_script(_FINISH)

    async def add(self, id: str, conversation: str, message: dict[str, Any]) -> InboxEntry | None:
        """See :meth:`~bridge.sessions.inbox.Inbox.add`."""
        text = entry_text(InboxEntry(id, conversation, 0, message, self._clock()), self.max_value_bytes)
        added = await self._run(lambda: self._add(args=[self._prefix, id, text]))
        return None if added is None else entry_from_text(added)

    async def pending(self, prefix: str = "") -> list[InboxEntry]:
        """See :meth:`~bridge.sessions.inbox.Inbox.pending`."""
        ids: list[str] = await self._run(lambda: self._client.zrange(self._prefix + "inbox:pending", 0, -1))
        ids = [i for i in ids if i.startswith(prefix)]
        if not ids:
            return []
        keys = [self._prefix + "inbox:e:" + i for i in ids]
        texts: list[str | None] = await self._run(lambda: self._client.mget(keys))
        return [entry_from_text(t) for t in texts if t is not None]

    async def begin(self, id: str) -> int:
        """See :meth:`~bridge.sessions.inbox.Inbox.begin`."""
        return await self._change(id, lambda e: {"attempts": e.attempts + 1})

    async def update(self, id: str, progress: dict[str, Any]) -> None:
        """See :meth:`~bridge.sessions.inbox.Inbox.update`."""
        await self._change(id, lambda _: {"progress": progress})

    async def _change(self, id: str, changes: Callable[[InboxEntry], dict[str, Any]]) -> int:
        text = await self._run(lambda: self._client.get(self._prefix + "inbox:e:" + id))
        if text is None:
            return 0
        entry = entry_from_text(text)
        changed = InboxEntry.from_dict(entry.to_dict() | changes(entry))
        new = entry_text(changed, self.max_value_bytes)
        written = await self._run(lambda: self._replace(args=[self._prefix, id, new]))
        return changed.attempts if written else 0

    async def finish(self, id: str) -> None:
        """See :meth:`~bridge.sessions.inbox.Inbox.finish`."""
        window = max(1, math.ceil(self.dedup_ttl * 1000))
        await self._run(lambda: self._finish(args=[self._prefix, id, window]))
