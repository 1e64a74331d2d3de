"""The consuming side of the Redis inbox: the processes serving one bot share its partitions by lease.

Every message :meth:`~bridge.sessions.redis_inbox.RedisInbox.add` records also goes to one stream,
the partition of its conversation (``P inbox:q:NS:K``, consumer group ``bridge``). Each partition
is read by one process at a time, the holder of its lease, so a conversation's messages are handed
out in the order they were added, whichever process received them. With ``P`` the prefix and
``NS`` the namespace (the bot)::

    P inbox:lease:NS:K   string  the consumer holding partition K (PX: the lease, renewed)
    P inbox:members:NS   zset    consumer → when its membership ends (ms, by Redis' clock)

:meth:`RedisQueue.balance` (every ``lease_s / 4`` or so) renews this consumer's membership and
leases, and claims free partitions up to its fair share (``partitions // live consumers``, one more
for the first ``partitions % live`` consumers by name: the shares add up to ``partitions``), so
consumers that join get work and the partitions of one that dies are claimed once its lease ends.
A consumer over its share releases partitions it has nothing in flight for (the caller decides,
:meth:`RedisQueue.release`), so a partition changes hands only between two messages.

A partition newly claimed may hold entries its last holder read and never finished (it died, or
stopped mid-reply): :meth:`RedisQueue.takeover` claims those (``XAUTOCLAIM``) to this consumer, in
their order, before :meth:`RedisQueue.read` gives the entries no one has read (``XREADGROUP >``).
Finishing an entry (``inbox.finish``) acknowledges and deletes its stream entry.

Times come from Redis (``TIME``), so processes' clocks need not agree for leases. The queue runs
on the store's coordination client, a connection pool of its own, so its blocking reads never take
a connection the store's own calls need.
"""

from __future__ import annotations

import functools
import math
from collections.abc import Awaitable, Callable
from typing import Any, Protocol, TypeVar

from redis.asyncio import Redis

from bridge.sessions.redis_db import GROUP, Arg, stream_name
from bridge.sessions.redis_inbox import entry_of_row
from bridge.sessions.shared import Taken

T = TypeVar("T")

# ARGV: prefix, namespace, consumer, partitions, lease ms, '1' to claim free partitions, where to
# start, then the pinned partitions (none: claim up to the fair share)
_BALANCE = """
local p, ns, me = ARGV[1], ARGV[2], ARGV[3]
local n, lease, claim, start = tonumber(ARGV[4]), tonumber(ARGV[5]), ARGV[6] == '1', tonumber(ARGV[7])
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
local members = p .. 'inbox:members:' .. ns
redis.call('ZREMRANGEBYSCORE', members, '-inf', now)
redis.call('ZADD', members, now + lease, me)
redis.call('PEXPIRE', members, lease * 4)
local live = redis.call('ZRANGE', members, 0, -1)
table.sort(live)
local rank = 0
for i, name in ipairs(live) do if name == me then rank = i - 1 end end
-- n // live each, and one more for the first n % live consumers by name: shares that add up to n
local share = math.floor(n / #live) + ((rank < n % #live) and 1 or 0)
if #ARGV > 7 then share = #ARGV - 7 end
local owned = {}
for k = 0, n - 1 do
  local key = p .. 'inbox:lease:' .. ns .. ':' .. k
  if redis.call('GET', key) == me then
    redis.call('PEXPIRE', key, lease)
    owned[#owned + 1] = k
  end
end
if claim and #ARGV > 7 then
  for i = 8, #ARGV do
    if redis.call('SET', p .. 'inbox:lease:' .. ns .. ':' .. ARGV[i], me, 'NX', 'PX', lease) then
      owned[#owned + 1] = tonumber(ARGV[i])
    end
  end
elseif claim then
  for i = 0, n - 1 do
    if #owned >= share then break end
    local k = (start + i) % n
    if redis.call('SET', p .. 'inbox:lease:' .. ns .. ':' .. k, me, 'NX', 'PX', lease) then
      owned[#owned + 1] = k
    end
  end
end
return {share, owned}
"""
# ARGV: prefix, namespace, consumer, '1' to leave the members too, then the partitions to release
_RELEASE = """
local p, ns, me = ARGV[1], ARGV[2], ARGV[3]
for i = 5, #ARGV do
  local key = p .. 'inbox:lease:' .. ns .. ':' .. ARGV[i]
  if redis.call('GET', key) == me then redis.call('DEL', key) end
end
if ARGV[4] == '1' then redis.call('ZREM', p .. 'inbox:members:' .. ns, me) end
return 0
"""
# ARGV: prefix, group, then triples of stream, stream entry id, inbox id. An entry whose hash is
# gone (finished meanwhile, or dropped by Redis) is acknowledged and deleted, and comes back false.
_ENTRIES = """
local p, g = ARGV[1], ARGV[2]
local found = {}
for i = 3, #ARGV, 3 do
  local f = redis.call('HMGET', p .. 'inbox:e:' .. ARGV[i + 2], 'entry', 'seq', 'attempts', 'progress')
  if f[1] then found[#found + 1] = f else
    redis.call('XACK', ARGV[i], g, ARGV[i + 1])
    redis.call('XDEL', ARGV[i], ARGV[i + 1])
    found[#found + 1] = false
  end
end
return found
"""
# ARGV: group, then the streams
_JOIN = """
for i = 2, #ARGV do
  if redis.call('EXISTS', ARGV[i]) == 0 then
    redis.call('XGROUP', 'CREATE', ARGV[i], ARGV[1], '0', 'MKSTREAM')
  end
end
return 0
"""


class Guard(Protocol):
    """Awaits ``op`` with redis-py's errors as :class:`~bridge.sessions.base.StoreError`."""

    def __call__(self, op: Callable[[], Awaitable[T]]) -> Awaitable[T]: ...


class RedisQueue:
    """One consumer of one namespace's partitioned inbox (see the module docstring)."""

    def __init__(
        self,
        client: Redis,
        guard: Guard,
        prefix: str,
        namespace: str,
        consumer: str,
        *,
        partitions: int,
        lease_s: float = 5.0,
    ) -> None:
        if partitions < 1:
            raise ValueError(f"an inbox needs at least one partition, got {partitions}")
        self._client = client
        self._guard = guard
        self.prefix, self.namespace, self.consumer = prefix, namespace, consumer
        self.partitions = partitions
        self.lease_s = lease_s
        self._start = sum(consumer.encode()) % partitions  # consumers start their claims apart
        self._balance = client.register_script(_BALANCE)
        self._release = client.register_script(_RELEASE)
        self._entries = client.register_script(_ENTRIES)
        self._join = client.register_script(_JOIN)

    def stream(self, partition: int) -> str:
        """The Redis key of ``partition``'s stream."""
        return stream_name(self.prefix, self.namespace, partition)

    async def join(self) -> None:
        """Make sure every partition's stream and consumer group exist."""
        args: list[Arg] = [GROUP, *(self.stream(k) for k in range(self.partitions))]
        await self._guard(lambda: self._join(args=args))

    async def balance(
        self, *, claim: bool = True, pinned: frozenset[int] | None = None
    ) -> tuple[int, set[int]]:
        """Renew membership and leases; with ``claim``, take free partitions up to the fair share
        (or the ``pinned`` ones, whatever the share).

        Returns (the fair share, the partitions this consumer holds now)."""
        lease_ms = max(1, math.ceil(self.lease_s * 1000))
        ns, me = self.namespace, self.consumer
        args: list[Arg] = [self.prefix, ns, me, self.partitions, lease_ms, "1" if claim else "0", self._start]
        args += sorted(pinned or ())
        share, owned = await self._guard(lambda: self._balance(args=args))
        return int(share), {int(k) for k in owned}

    async def release(self, partitions: set[int], *, leave: bool = False) -> None:
        """Give up ``partitions`` (those this consumer holds); with ``leave``, its membership too."""
        args: list[Arg] = [
            self.prefix,
            self.namespace,
            self.consumer,
            "1" if leave else "0",
            *sorted(partitions),
        ]
        await self._guard(lambda: self._release(args=args))

    async def takeover(self, partition: int) -> Taken:
        """The entries of ``partition`` that were read and not finished, now this consumer's, in order."""
        stream, cursor, claimed = self.stream(partition), "0-0", []
        while True:
            reply = await self._guard(functools.partial(self._claim, stream, cursor))
            cursor, rows = str(reply[0]), reply[1]
            claimed += [(partition, stream, sid, fields) for sid, fields in rows if fields]
            if cursor == "0-0":
                return await self._load(claimed)

    async def depth(self, partitions: set[int]) -> int:
        """How many entries ``partitions`` hold (read or not, but not finished)."""
        names = [self.stream(k) for k in sorted(partitions)]

        async def count() -> int:
            async with self._client.pipeline(transaction=False) as pipe:
                for name in names:
                    pipe.xlen(name)
                return sum(int(n) for n in await pipe.execute())

        return await self._guard(count) if names else 0

    async def unfinished(self, ids: set[str]) -> set[str]:
        """Those of ``ids`` whose entries are not finished yet (by any consumer)."""
        order = sorted(ids)

        async def check() -> list[Any]:
            async with self._client.pipeline(transaction=False) as pipe:
                for id in order:
                    pipe.exists(f"{self.prefix}inbox:e:{id}")
                return list(await pipe.execute())

        return (
            {id for id, found in zip(order, await self._guard(check), strict=True) if found}
            if order
            else set()
        )

    async def _claim(self, stream: str, start: str) -> Any:
        return await self._client.xautoclaim(stream, GROUP, self.consumer, 0, start_id=start, count=100)

    async def read(self, partitions: set[int], block_s: float) -> Taken:
        """Entries no one has read yet in ``partitions`` (waiting at most ``block_s`` for one)."""
        if not partitions:
            return []
        streams = {self.stream(k): ">" for k in sorted(partitions)}
        part = {self.stream(k): k for k in partitions}
        block = max(1, int(block_s * 1000))
        reply: Any = await self._guard(
            lambda: self._client.xreadgroup(GROUP, self.consumer, streams, count=100, block=block)  # type: ignore[arg-type]
        )
        rows = [
            (part[str(name)], str(name), sid, fields) for name, items in reply or () for sid, fields in items
        ]
        return await self._load(rows)

    async def _load(self, rows: list[tuple[int, str, Any, dict[Any, Any]]]) -> Taken:
        """The inbox entries stream rows name (rows of finished entries are acknowledged and skipped)."""
        if not rows:
            return []
        args: list[Arg] = [self.prefix, GROUP]
        for _, stream, sid, fields in rows:
            args += [stream, str(sid), str(fields.get("id", ""))]
        found = await self._guard(lambda: self._entries(args=args))
        return [(row[0], entry_of_row(f)) for row, f in zip(rows, found, strict=True) if f]
