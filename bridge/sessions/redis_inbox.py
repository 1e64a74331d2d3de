"""The Redis store's inbox (:class:`~bridge.sessions.inbox.Inbox`), shared by every process on a prefix.

It uses the store's client, connection slots and error mapping. With ``P`` the store's prefix::

    P inbox:e:ID      hash     a pending entry: ``entry`` (its JSON as added, with seq 0), ``seq``,
                               ``attempts``, ``progress`` (JSON) and ``fixed`` (the bytes of the
                               entry's JSON less those of seq, attempts and progress)
    P inbox:pending   zset     ID → seq: the pending entries in order
    P inbox:done:ID   string   a finished ID: when its dedup window ends, by the store's clock
    P inbox:seq       counter  the last seq handed out, shared by every process on this prefix
    P inbox:q:NS:K    stream   partition K of namespace NS (the id's part before ``:``, the bot):
                               one entry ``id`` per added message, in the order they were added
                               (consumer group ``bridge``; see :mod:`bridge.sessions.redis_queue`)

A conversation's messages all go to one partition (a hash of the conversation's key), and the
entry hash keeps where (``q``, ``sid``), so ``finish`` acknowledges and deletes the stream entry.

``add``, ``begin``, ``update`` and ``finish`` each run as one Lua script, so they are atomic across
processes: of two processes adding one id, exactly one gets an entry, and seqs never repeat. The
bound ``max_value_bytes`` holds for the entry's whole JSON, counted from ``fixed`` by the scripts.
``pending`` is one script too; it drops index entries whose hash Redis lost (``maxmemory``).

The dedup window follows the store's clock, like values' expiry: ``add`` compares the stored end
with the caller's clock, so every store behaves alike and replicas need synchronised clocks (a
window kept by Redis' TTL alone would not, but would end by Redis' clock). Redis drops a finished
id by itself ``dedup_ttl`` plus ``expiry_grace`` seconds after the finish (PEXPIRE), so finished ids
cost no memory once their window is over. Pending entries never expire.
"""

from __future__ import annotations

import math
import time
from collections.abc import Awaitable, Callable
from typing import Any, Protocol, TypeVar

from redis.asyncio import Redis

from bridge.sessions.base import ValueTooLarge, decode
from bridge.sessions.inbox import (
    DEDUP_TTL,
    InboxEntry,
    check_dedup_ttl,
    damaged,
    entry_text,
    json_text,
)
from bridge.sessions.redis_db import EXPIRY_GRACE, GROUP, MAX_PX, Arg, stream_name, stream_of

T = TypeVar("T")

# Every script derives its key names from the prefix in ARGV[1] and the id in ARGV[2]. A script
# that would make an entry too large changes nothing and returns minus the entry's size.
# ARGV: prefix, id, the entry's JSON (seq 0), its fixed size, max_value_bytes, now, the stream,
# the consumer group
_ADD = """
local p, id, text, now, q, g = ARGV[1], ARGV[2], ARGV[3], ARGV[6], ARGV[7], ARGV[8]
local fixed, max = tonumber(ARGV[4]), tonumber(ARGV[5])
local e, done = p .. 'inbox:e:' .. id, p .. 'inbox:done:' .. id
if redis.call('EXISTS', e) == 1 then return 0 end
local until_ = redis.call('GET', done)
if until_ and tonumber(until_) > tonumber(now) then return 0 end
local seq = (tonumber(redis.call('GET', p .. 'inbox:seq')) or 0) + 1
local size = fixed + #tostring(seq) + 3  -- attempts '0' and progress '{}'
if size > max then return -size end
seq = redis.call('INCR', p .. 'inbox:seq')
redis.call('HSET', e, 'entry', text, 'seq', seq, 'attempts', 0, 'progress', '{}', 'fixed', fixed)
if q ~= '' then  -- '' : not queued (the caller handles it)
  if redis.call('EXISTS', q) == 0 then redis.call('XGROUP', 'CREATE', q, g, '0', 'MKSTREAM') end
  redis.call('HSET', e, 'q', q, 'sid', redis.call('XADD', q, '*', 'id', id))
end
redis.call('ZADD', p .. 'inbox:pending', seq, id)
redis.call('DEL', done)
return seq
"""
# ARGV: prefix, id prefix
_PENDING = """
local p, want = ARGV[1], ARGV[2]
local found = {}
for _, id in ipairs(redis.call('ZRANGE', p .. 'inbox:pending', 0, -1)) do
  if string.sub(id, 1, #want) == want then
    local f = redis.call('HMGET', p .. 'inbox:e:' .. id, 'entry', 'seq', 'attempts', 'progress')
    if f[1] then found[#found + 1] = f else redis.call('ZREM', p .. 'inbox:pending', id) end
  end
end
return found
"""
# ARGV: prefix, id, max_value_bytes
_BEGIN = """
local e = ARGV[1] .. 'inbox:e:' .. ARGV[2]
local f = redis.call('HMGET', e, 'fixed', 'seq', 'attempts', 'progress')
if not f[1] then return 0 end
local attempts = tonumber(f[3]) + 1
local size = tonumber(f[1]) + #f[2] + #tostring(attempts) + #f[4]
if size > tonumber(ARGV[3]) then return -size end
redis.call('HSET', e, 'attempts', attempts)
return attempts
"""
# ARGV: prefix, id, progress JSON, max_value_bytes
_UPDATE = """
local e = ARGV[1] .. 'inbox:e:' .. ARGV[2]
local f = redis.call('HMGET', e, 'fixed', 'seq', 'attempts')
if not f[1] then return 0 end
local size = tonumber(f[1]) + #f[2] + #f[3] + #ARGV[3]
if size > tonumber(ARGV[4]) then return -size end
redis.call('HSET', e, 'progress', ARGV[3])
return 0
"""
# ARGV: prefix, id, end of the dedup window, the finished id's Redis TTL in ms, the consumer group
_FINISH = """
local p, id = ARGV[1], ARGV[2]
local where = redis.call('HMGET', p .. 'inbox:e:' .. id, 'q', 'sid')
if where[1] then
  redis.call('XACK', where[1], ARGV[5], where[2])
  redis.call('XDEL', where[1], where[2])
end
if redis.call('DEL', p .. 'inbox:e:' .. id) == 1 then
  redis.call('ZREM', p .. 'inbox:pending', id)
  redis.call('SET', p .. 'inbox:done:' .. id, ARGV[3], 'PX', ARGV[4])
end
return 0
"""


class Runner(Protocol):
    """The store's ``_run``: awaits ``op`` in a connection slot, redis-py's errors as StoreError."""

    def __call__(self, op: Callable[[], Awaitable[T]]) -> Awaitable[T]: ...


class RedisInbox:
    """:class:`~bridge.sessions.inbox.Inbox` under a Redis store's prefix (see the module docstring)."""

    def __init__(
        self,
        client: Redis,
        run: Runner,
        prefix: str,
        *,
        max_value_bytes: int = 1_000_000,
        dedup_ttl: float = DEDUP_TTL,
        expiry_grace: float = EXPIRY_GRACE,
        clock: Callable[[], float] = time.time,
        partitions: int = 16,
    ) -> None:
        check_dedup_ttl(dedup_ttl)
        self._run = run
        self.prefix = prefix
        self.partitions = partitions
        self.max_value_bytes = max_value_bytes
        self.dedup_ttl = dedup_ttl
        self._done_px = min(MAX_PX, math.ceil((dedup_ttl + expiry_grace) * 1000))
        self._clock = clock
        self._add = client.register_script(_ADD)
        self._pending = client.register_script(_PENDING)
        self._begin = client.register_script(_BEGIN)
        self._update = client.register_script(_UPDATE)
        self._finish = client.register_script(_FINISH)

    async def add(
        self,
        id: str,
        conversation: str,
        message: dict[str, Any],
        *,
        queue: bool = True,
        partition: int | None = None,
    ) -> InboxEntry | None:
        """See :meth:`~bridge.sessions.inbox.Inbox.add`; the dedup check, the insert and the stream
        entry of its partition (unless not ``queue``) are one script."""
        json_text(id, message, self.max_value_bytes)  # a dict of JSON, or StoreError
        now = self._clock()
        # Refused here before anything is sent when too large even with seq 0, the shortest.
        text = entry_text(InboxEntry(id, conversation, 0, message, now), self.max_value_bytes)
        fixed = len(text.encode()) - 4  # less seq '0', attempts '0' and progress '{}'
        if not queue:
            stream = ""
        elif partition is not None:
            stream = stream_name(self.prefix, id.partition(":")[0], partition)
        else:
            stream = stream_of(self.prefix, id, conversation, self.partitions)
        args: list[Arg] = [self.prefix, id, text, fixed, self.max_value_bytes, repr(now), stream, GROUP]
        seq = int(await self._run(lambda: self._add(args=args)))
        if seq == 0:
            return None
        self._check_size(id, seq)
        return entry_of_row([text, seq, 0, "{}"])

    async def pending(self, prefix: str = "") -> list[InboxEntry]:
        """See :meth:`~bridge.sessions.inbox.Inbox.pending`."""
        args: list[Arg] = [self.prefix, prefix]
        rows = await self._run(lambda: self._pending(args=args))
        return [entry_of_row(row) for row in rows]

    async def begin(self, id: str) -> int:
        """See :meth:`~bridge.sessions.inbox.Inbox.begin`."""
        args: list[Arg] = [self.prefix, id, self.max_value_bytes]
        attempts = int(await self._run(lambda: self._begin(args=args)))
        self._check_size(id, attempts)
        return attempts

    async def update(self, id: str, progress: dict[str, Any]) -> None:
        """See :meth:`~bridge.sessions.inbox.Inbox.update`."""
        text = json_text(id, progress, self.max_value_bytes)
        args: list[Arg] = [self.prefix, id, text, self.max_value_bytes]
        self._check_size(id, int(await self._run(lambda: self._update(args=args))))

    async def finish(self, id: str) -> None:
        """See :meth:`~bridge.sessions.inbox.Inbox.finish`."""
        args: list[Arg] = [self.prefix, id, repr(self._clock() + self.dedup_ttl), self._done_px, GROUP]
        await self._run(lambda: self._finish(args=args))

    def _check_size(self, id: str, result: int) -> None:
        if result < 0:  # a script's refusal: minus the size the entry would have had
            raise ValueTooLarge(f"inbox {id}", -result, self.max_value_bytes)


def entry_of_row(row: list[Any]) -> InboxEntry:
    """The entry from a hash's ``entry``, ``seq``, ``attempts`` and ``progress``."""
    try:
        text, seq, attempts, progress = row
        data = decode(text) | {"seq": int(seq), "attempts": int(attempts), "progress": decode(progress)}
        return InboxEntry.from_dict(data)
    except (KeyError, TypeError, ValueError) as exc:  # something else wrote under the prefix
        raise damaged(exc) from exc
