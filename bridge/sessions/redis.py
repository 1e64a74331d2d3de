"""A session store in Redis, shared by several bridge processes: ``redis://[USER@]HOST:PORT/DB``.

``rediss://`` speaks TLS. ``?password_env=NAME`` reads the password from an environment variable
(a password written in the URL works too, but config files should not hold secrets). Other query
parameters go to redis-py (``?socket_timeout=2``).
Every Redis key starts with a prefix, ``bridge:`` unless the URL says ``?prefix=NAME:``, so several
bridges can share one Redis. With ``P`` the prefix::

    P v:KEY       string   the envelope {"e": expires_at or null, "v": value}: one GET reads both
    P by-write    zset     KEY → write sequence number (eviction order for ``max_entries``)
    P by-expiry   zset     KEY → expires_at, only for values that expire
    P by-name     zset     KEY → 0 (ordered by name, so ``keys(prefix)`` reads one range)
    P seq         counter  the write sequence, shared by every process on this prefix
    P inbox:…              the inbox, ``store.inbox`` (see :mod:`bridge.sessions.redis_inbox`), and
                           its partitions (``?partitions=``, default 16; every process on a prefix
                           must use the same number), consumed through :meth:`RedisStore.coordination`

Writes from all processes share one write order and one bound. A ``put``, a ``delete`` and a
``keys`` each run as one Lua script (atomic, one round trip); a ``get`` is one GET.

Expiry follows the store's ``clock`` (tests inject one, replicas need synchronised clocks): a read
hides a value once its ``expires_at`` has passed, and each ``put`` and ``keys`` sweeps entries
expired by that clock from Redis. Redis also drops an expiring value by itself, ``ttl`` plus
``expiry_grace`` seconds after the put (PEXPIRE), so memory is freed even when nothing reads it;
the grace covers clock skew between replicas. Values that never expire have no Redis TTL.

Values Redis drops behind the store's back (``maxmemory`` eviction, a manual DEL) leave index
entries that ``keys`` removes when it meets them; until then they count toward ``max_entries``.
Use ``maxmemory-policy noeviction`` (or a ``volatile-*`` policy) for state. Needs a standalone Redis
(or a primary behind Sentinel or a managed service): scripts touch keys they derive from the prefix,
which Redis Cluster does not allow.

Building the store does not connect; the first operation does (see :meth:`RedisStore.ping`), and
redis-py reconnects after an outage. Errors name the URL without its password.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import math
import time
from collections.abc import Awaitable, Callable
from typing import Any, TypeVar

from redis.asyncio import Redis
from redis.asyncio.retry import Retry
from redis.backoff import ExponentialBackoff
from redis.exceptions import AuthenticationError, RedisError
from redis.exceptions import ConnectionError as RedisConnectionError
from redis.exceptions import TimeoutError as RedisTimeoutError

from bridge.sessions.base import StoreError, check_options, encode, expiry, is_live
from bridge.sessions.inbox import DEDUP_TTL, Inbox
from bridge.sessions.redis_db import EXPIRY_GRACE, MAX_PX, Arg
from bridge.sessions.redis_inbox import RedisInbox
from bridge.sessions.redis_queue import RedisQueue
from bridge.sessions.redis_url import COORDINATION_POOL, consumer_name, parse_url, without_pool_size
from bridge.sessions.shared import Coordination

T = TypeVar("T")

ACCEPTED_REDIS_URLS = (
    '"redis://[USER@]HOST:PORT/DB" or "rediss://…" (TLS), optionally with "?prefix=NAME:" '
    'and "password_env=ENV_VAR"'
)
SWEEP_EACH_PUT = 100  # expired entries a put removes in passing (all of them when over the bound)

# Every script derives its key names from the prefix in ARGV[1]. drop(k) forgets a key everywhere;
# sweep(n) drops up to n keys whose expires_at (by the caller's clock, ARGV[2]) has passed.
_COMMON = """
local p, now = ARGV[1], ARGV[2]
local function drop(k)
  redis.call('DEL', p .. 'v:' .. k)
  redis.call('ZREM', p .. 'by-write', k)
  redis.call('ZREM', p .. 'by-expiry', k)
  redis.call('ZREM', p .. 'by-name', k)
end
local function sweep(n)
  local gone = redis.call('ZRANGEBYSCORE', p .. 'by-expiry', '-inf', now, 'LIMIT', 0, n)
  for _, k in ipairs(gone) do drop(k) end
  return #gone
end
"""
# ARGV: prefix, now, key, envelope, Redis TTL in ms ('0': none), expires_at ('': never), max_entries
_PUT = (
    _COMMON
    + f"""
local key, max = ARGV[3], tonumber(ARGV[7])
sweep({SWEEP_EACH_PUT})
if ARGV[5] == '0' then
  redis.call('SET', p .. 'v:' .. key, ARGV[4])
else
  redis.call('SET', p .. 'v:' .. key, ARGV[4], 'PX', ARGV[5])
end
redis.call('ZADD', p .. 'by-write', redis.call('INCR', p .. 'seq'), key)
redis.call('ZADD', p .. 'by-name', 0, key)
if ARGV[6] == '' then
  redis.call('ZREM', p .. 'by-expiry', key)
else
  redis.call('ZADD', p .. 'by-expiry', ARGV[6], key)
end
if redis.call('ZCARD', p .. 'by-write') > max then
  while sweep(1000) > 0 do end
  local over = redis.call('ZCARD', p .. 'by-write') - max
  if over > 0 then
    local oldest = redis.call('ZPOPMIN', p .. 'by-write', over)
    for i = 1, #oldest, 2 do drop(oldest[i]) end
  end
end
return 0
"""
)
# ARGV: prefix, now, key
_DELETE = _COMMON + "drop(ARGV[3])\nreturn 0\n"
# ARGV: prefix, now, lowest name, highest name (ZRANGEBYLEX bounds)
_KEYS = (
    _COMMON
    + """
while sweep(1000) > 0 do end
local live = {}
for _, k in ipairs(redis.call('ZRANGEBYLEX', p .. 'by-name', ARGV[3], ARGV[4])) do
  if redis.call('EXISTS', p .. 'v:' .. k) == 1 then live[#live + 1] = k else drop(k) end
end
return live
"""
)


class RedisStore:
    """:class:`~bridge.sessions.store.SessionStore` in Redis at ``url`` (see the module docstring).

    ``prefix`` (default: the URL's ``?prefix=``, else ``bridge:``) namespaces every Redis key.
    ``clock`` gives wall-clock seconds; expiry times are stored, so it must agree across processes.
    At most ``max_connections`` operations run at once (the URL's ``?max_connections=`` wins); more
    wait for a free connection. A bad URL raises ValueError (without the password). ``url`` is the
    address without credentials.
    """

    def __init__(
        self,
        url: str,
        *,
        prefix: str | None = None,
        default_ttl: float | None = None,
        max_entries: int = 100_000,
        max_value_bytes: int = 1_000_000,
        clock: Callable[[], float] = time.time,
        expiry_grace: float = EXPIRY_GRACE,
        max_connections: int = 50,
        dedup_ttl: float = DEDUP_TTL,
    ) -> None:

        check_options(default_ttl, max_entries, max_value_bytes)
        if not expiry_grace >= 0:
            raise ValueError(f"expiry_grace must be 0 or more seconds, got {expiry_grace!r}")
        client_url, ours, self.url, self._secrets = parse_url(url)
        self.prefix = prefix if prefix is not None else ours["prefix"]
        if not self.prefix:
            raise ValueError("the Redis key prefix must not be empty (it keeps bridges apart)")
        self.default_ttl = default_ttl
        self.max_entries = max_entries
        self.max_value_bytes = max_value_bytes
        self.expiry_grace = expiry_grace
        self._clock = clock
        self._closed = False
        self.partitions = int(ours["partitions"])
        password: dict[str, Any] = {"password": ours["password"]} if "password" in ours else {}
        try:
            # Query parameters in the URL win over these defaults (redis-py's rule).
            self._client = self._connect(client_url, max_connections, password)
            # Coordination (blocking inbox reads, leases, pub/sub, budgets) has a pool of its own,
            # so it can never starve the store's calls of connections, nor they it; the URL's
            # max_connections is the store's, not this pool's.
            self._shared = self._connect(without_pool_size(client_url), COORDINATION_POOL, password)
        except (ValueError, TypeError) as exc:
            raise ValueError(self._scrub(f"the Redis URL {self.url} is not valid: {exc}")) from None
        self.consumer = consumer_name()
        # Operations wait for a free connection here: redis-py's plain pool raises "Too many
        # connections" instead, and its blocking pool deadlocks on a failed connect in 5.0.
        self._slots = asyncio.Semaphore(self._client.connection_pool.max_connections)
        self._put = self._client.register_script(_PUT)
        self._delete = self._client.register_script(_DELETE)
        self._keys = self._client.register_script(_KEYS)
        self.inbox: Inbox = RedisInbox(
            self._client,
            self._run,
            self.prefix,
            max_value_bytes=max_value_bytes,
            dedup_ttl=dedup_ttl,
            expiry_grace=expiry_grace,
            clock=clock,
            partitions=self.partitions,
        )

    @staticmethod
    def _connect(url: str, max_connections: int, password: dict[str, Any]) -> Redis:
        return Redis.from_url(
            url,
            max_connections=max_connections,
            socket_timeout=5,
            socket_connect_timeout=5,
            health_check_interval=30,
            retry=Retry(ExponentialBackoff(cap=0.5, base=0.05), 2),
            decode_responses=True,
            **password,
        )

    def __repr__(self) -> str:
        return f"RedisStore({self.url!r}, prefix={self.prefix!r})"

    def coordination(self) -> Coordination:
        """This store's coordination client and key prefix, and each bot's shared inbox queue."""

        def queue(namespace: str, partitions: int | None = None) -> RedisQueue:
            shared, guard, prefix, n = self._shared, self._guard, self.prefix, partitions or self.partitions
            return RedisQueue(shared, guard, prefix, namespace, self.consumer, partitions=n)

        return Coordination(self._shared, self.prefix, queue)

    async def ping(self) -> None:
        """Connect (and authenticate) now; StoreError naming the URL when Redis cannot be used."""
        await self._run(self._client.ping)

    async def get(self, key: str) -> dict[str, Any] | None:
        """The live value under ``key`` (a fresh copy), or None."""
        text = await self._run(lambda: self._client.get(self.prefix + "v:" + key))
        if text is None:
            return None
        try:
            envelope = json.loads(text)
            expires_at, value = envelope["e"], envelope["v"]
        except (ValueError, TypeError, KeyError) as exc:
            raise StoreError(self._damaged(key)) from exc
        if not isinstance(value, dict):
            raise StoreError(self._damaged(key))
        return value if is_live(expires_at, self._clock()) else None

    async def put(self, key: str, value: dict[str, Any], ttl: float | None = None) -> None:
        """Store ``value``; beyond ``max_entries`` the least-recently-written keys are deleted."""
        text = encode(key, value, self.max_value_bytes)
        now = self._clock()
        expires_at = expiry(now, ttl, self.default_ttl)
        envelope = f'{{"e":{json.dumps(expires_at)},"v":{text}}}'
        if expires_at is None:
            px, until = 0, ""
        else:
            px = min(MAX_PX, max(1, math.ceil((expires_at - now + self.expiry_grace) * 1000)))
            until = repr(expires_at)
        args: list[Arg] = [self.prefix, repr(now), key, envelope, px, until, self.max_entries]
        await self._run(lambda: self._put(args=args))

    async def delete(self, key: str) -> None:
        """Forget ``key`` (missing keys are fine)."""
        args: list[Arg] = [self.prefix, repr(self._clock()), key]
        await self._run(lambda: self._delete(args=args))

    async def keys(self, prefix: str = "") -> list[str]:
        """The live keys starting with ``prefix``, sorted (one Redis range, checked key by key)."""
        # Names sort by their UTF-8 bytes, and no UTF-8 text contains the byte 0xff.
        raw = prefix.encode("utf-8", "surrogatepass")
        low, high = (b"[" + raw, b"(" + raw + b"\xff") if prefix else ("-", "+")
        args: list[Arg] = [self.prefix, repr(self._clock()), low, high]
        found = await self._run(lambda: self._keys(args=args))
        return sorted(str(k) for k in found)

    async def close(self) -> None:
        """Close the connections; later operations raise StoreError."""
        if self._closed:
            return
        self._closed = True
        with contextlib.suppress(RedisError):  # nothing is buffered: a failing close loses nothing
            await self._client.aclose()
            await self._shared.aclose()

    async def _run(self, op: Callable[[], Awaitable[T]]) -> T:
        """Await ``op`` in a connection slot; redis-py's errors become StoreError."""
        async with self._slots:
            return await self._guard(op)

    async def _guard(self, op: Callable[[], Awaitable[T]]) -> T:
        """Await ``op`` once the store is known open; redis-py's errors become StoreError."""
        if self._closed:
            raise StoreError(f"the Redis state store at {self.url} is closed")
        try:
            return await op()
        except AuthenticationError as exc:  # a ConnectionError: caught first
            message = f"the Redis state store at {self.url} refused the credentials: {_describe(exc)}"
            hint = "check the user and password (password_env) in [bridge].state"
            raise StoreError(self._scrub(f"{message}; {hint}")) from None
        except (RedisConnectionError, RedisTimeoutError, OSError) as exc:
            message = f"the Redis state store at {self.url} is unreachable: {_describe(exc)}"
            hint = "check that Redis runs at that address, and [bridge].state"
            raise StoreError(self._scrub(f"{message}; {hint}")) from None
        except UnicodeError as exc:  # a key with a lone surrogate, or bytes another program wrote
            raise StoreError(f"the Redis state store at {self.url} cannot carry this text: {exc}") from None
        except RedisError as exc:
            message = f"the Redis state store at {self.url} failed: {_describe(exc)}"
            raise StoreError(self._scrub(f"{message}; check the Redis server's logs and limits")) from None

    def _damaged(self, key: str) -> str:
        return (
            f"the value for {key!r} in the Redis state store at {self.url} is not a bridge value; "
            f"something else writes under the prefix {self.prefix!r}: give this bridge its own prefix"
        )

    def _scrub(self, text: str) -> str:
        for secret in self._secrets:
            text = text.replace(secret, "***")
        return text


def _describe(exc: BaseException) -> str:
    text = str(exc).strip().rstrip(".")
    return f"{type(exc).__name__}: {text}" if text else type(exc).__name__
