"""Platform budgets ("at most ``limit`` calls in any ``span`` seconds"), local or shared by processes.

An adapter asks its host for a budget by name (``host.budget("global", 27, 1.0)``) and reserves a
slot before each call it paces. With a store that several processes share (Redis), the budgets of
one adapter are shared by every process serving it, so N processes stay within one bot's limit;
with a one-process store (memory, SQLite) they are local windows.

* :class:`LocalBudget` is a :class:`~bridge.ratelimit.SlidingWindow` on a monotonic clock: no I/O.
* :class:`SharedBudget` keeps the window in Redis, as a sorted set of call stamps under
  ``<prefix>budget:<adapter>:<name>``. A reservation is one Lua script run (one round trip, atomic):
  it drops the stamps that left the window, counts the rest, and adds a stamp when the call fits;
  the clock is Redis' own ``TIME``, so the processes' clocks need not agree, and each stamp's member
  is unique, so two calls in the same microsecond both count. The key expires one span after the
  newest stamp (``PEXPIRE``), so idle windows leave nothing behind.
* :func:`reserve_all` takes a slot in several budgets at once, or in none (a Telegram group message
  needs one of the group's and one of the bot's): shared ones in one script run.

Faults never block nor fail a send: a reservation waits for Redis at most ``timeout_s`` (0.5 s).
When Redis cannot be reached (or answers too slowly) the budget counts in its local window instead,
logging a warning once per outage; Redis is tried again ``retry_s`` later, and the shared window is
used again as soon as it answers. During an outage each process keeps to the limit on its own.
"""

from __future__ import annotations

import asyncio
import itertools
import math
import time
import uuid
from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING, Any, Protocol

from bridge.ratelimit import SlidingWindow

if TYPE_CHECKING:
    from bridge.sessions import SessionStore


class Budget(Protocol):
    """At most ``limit`` calls in any ``span`` seconds, under ``name``."""

    name: str
    limit: int
    span: float

    async def reserve(self, keep_free: int = 0) -> float:
        """Take a slot and return 0 when a call fits now while leaving ``keep_free`` slots unused
        (at least one slot is always usable); else take nothing and return the seconds until one
        frees. Never raises for a store fault and returns within the budget's timeout."""
        ...

    def used(self) -> int:
        """Calls known in the window now, without asking the store: exact for a local budget; for a
        shared one, the count Redis gave with the latest reservation (0 once a span has passed)."""
        ...


BudgetSource = Callable[[str, int, float], Budget]
"""``host.budget``: ``(name, limit, span) → Budget``. The same name gives the same window (shared by
every process on a shared store); an adapter keeps the budgets it uses."""


class LocalBudget:
    """A budget of this process only (a sliding window on ``clock``, a monotonic one by default)."""

    def __init__(
        self, name: str, limit: int, span: float, clock: Callable[[], float] = time.monotonic
    ) -> None:
        _check(limit, span)
        self.name, self.limit, self.span = name, limit, span
        self._window = SlidingWindow(limit, span)
        self._clock = clock

    async def reserve(self, keep_free: int = 0) -> float:
        """See :meth:`Budget.reserve` (no I/O: it never waits)."""
        return self.take(keep_free)[0]

    def used(self) -> int:
        """Calls in the window now."""
        return self._window.used(self._clock())

    def take(self, keep_free: int = 0) -> tuple[float, float]:
        """``(0, stamp)`` with a slot taken at ``stamp``, or ``(seconds to wait, nan)``."""
        now = self._clock()
        wait = self._window.wait(now, keep_free)
        if wait > 0:
            return wait, math.nan
        self._window.take(now)
        return 0.0, now

    def give_back(self, stamp: float) -> None:
        """Forget the slot :meth:`take` took at ``stamp`` (the call was not made)."""
        self._window.forget(stamp)


def local_budget(name: str, limit: int, span: float) -> Budget:
    """The :data:`BudgetSource` of a host whose store one process uses: local windows."""
    return LocalBudget(name, limit, span)


# KEYS: the windows. ARGV[1]: this call's member (unique); then per key: limit, span (µs), keep_free.
# Returns {wait (µs, 0: taken), count in each window afterwards...}.
_RESERVE = """
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000000 + tonumber(t[2])
local wait, counts = 0, {}
for i, key in ipairs(KEYS) do
  local limit, span, free = tonumber(ARGV[3 * i - 1]), tonumber(ARGV[3 * i]), tonumber(ARGV[3 * i + 1])
  redis.call('ZREMRANGEBYSCORE', key, '-inf', now - span)
  local n = redis.call('ZCARD', key)
  local allowed = math.max(1, limit - free)
  counts[i] = n
  if n >= allowed then
    local oldest = redis.call('ZRANGE', key, n - allowed, n - allowed, 'WITHSCORES')
    wait = math.max(wait, tonumber(oldest[2]) + span - now)
  end
end
if wait == 0 then
  for i, key in ipairs(KEYS) do
    redis.call('ZADD', key, now, ARGV[1])
    redis.call('PEXPIRE', key, math.ceil(tonumber(ARGV[3 * i]) / 1000) + 1)
    counts[i] = counts[i] + 1
  end
end
local out = {wait}
for i = 1, #counts do out[i + 1] = counts[i] end
return out
"""


class SharedBudgets:
    """The :data:`BudgetSource` of one adapter on a shared store: budgets in its Redis.

    ``concurrency`` reservations run at once (the store's own operations keep the rest of its
    connection pool); each waits at most ``timeout_s`` for Redis. After a failure, budgets count
    locally for ``retry_s`` before Redis is tried again.
    """

    def __init__(
        self,
        client: Any,
        prefix: str,
        adapter: str,
        *,
        timeout_s: float = 0.5,
        retry_s: float = 1.0,
        concurrency: int = 4,
    ) -> None:
        self._client: Any = client
        self.prefix = f"{prefix}budget:{adapter}:"
        self.adapter = adapter
        self.timeout_s, self.retry_s = timeout_s, retry_s
        self._script: Any = None
        self._slots = asyncio.Semaphore(concurrency)
        self._process = uuid.uuid4().hex  # members are "<process>:<n>": unique across processes
        self._calls = itertools.count()
        self._down_until: float | None = None  # monotonic time of the next try while Redis is out

    def __call__(self, name: str, limit: int, span: float) -> SharedBudget:
        return SharedBudget(self, name, limit, span)

    @property
    def reachable(self) -> bool:
        """Whether reservations go to Redis now (False during an outage, until the next try)."""
        return self._down_until is None or time.monotonic() >= self._down_until

    async def run(self, budgets: Sequence[tuple[SharedBudget, int]]) -> list[int] | None:
        """One script run over ``budgets`` (``(budget, keep_free)``): ``[wait µs, counts…]``, or None
        when Redis failed or was too slow (logged once per outage; Redis is left alone ``retry_s``);
        ``BUSY`` when the ``concurrency`` runs in flight left no room in time (not an outage: the
        caller waits a moment rather than count in this process alone, past the bot's budget)."""
        keys = [self.prefix + b.name for b, _ in budgets]
        args: list[str | int] = [f"{self._process}:{next(self._calls)}"]
        for budget, keep_free in budgets:
            args += [budget.limit, math.ceil(budget.span * 1_000_000), keep_free]
        deadline = asyncio.get_running_loop().time() + self.timeout_s
        try:
            async with asyncio.timeout_at(deadline):
                await self._slots.acquire()
        except TimeoutError:  # this process is busy, not Redis: the call waits its turn
            return BUSY
        try:
            async with asyncio.timeout_at(deadline):
                if self._script is None:
                    self._script = self._client.register_script(_RESERVE)
                reply = await self._script(keys=keys, args=args)
        except Exception as exc:  # any fault: count locally rather than stall sends
            if self._down_until is None:
                _log().warning(
                    "shared platform budgets unavailable; counting in this process only",
                    adapter=self.adapter,
                    error=type(exc).__name__,
                )
            self._down_until = time.monotonic() + self.retry_s
            return None
        finally:
            self._slots.release()
        if self._down_until is not None:
            _log().info("shared platform budgets available again", adapter=self.adapter)
            self._down_until = None
        return [int(x) for x in reply]


BUSY: list[int] = []  # SharedBudgets.run: no room for one more reservation in time
BUSY_WAIT_S = 0.05  # then the caller tries again after this long


class SharedBudget:
    """One window of :class:`SharedBudgets` (made by calling it); a local window while Redis is out."""

    def __init__(self, source: SharedBudgets, name: str, limit: int, span: float) -> None:
        _check(limit, span)
        self.source, self.name, self.limit, self.span = source, name, limit, span
        self.fallback = LocalBudget(name, limit, span)
        self._seen = (0, -math.inf)  # (count Redis reported, monotonic time it did)

    async def reserve(self, keep_free: int = 0) -> float:
        """See :meth:`Budget.reserve`."""
        return await reserve_all([(self, keep_free)])

    def used(self) -> int:
        """See :meth:`Budget.used`."""
        if not self.source.reachable:
            return self.fallback.used()
        count, at = self._seen
        return count if time.monotonic() - at < self.span else 0

    def saw(self, count: int) -> None:
        """Remember the count Redis reported for this window."""
        self._seen = (count, time.monotonic())


async def reserve_all(claims: Sequence[tuple[Budget, int]]) -> float:
    """Take a slot in every budget of ``claims`` (``(budget, keep_free)``) and return 0, or take none
    and return the seconds until the one that refused frees a slot (the longest such wait).

    Local windows (and shared ones while Redis is out) are taken first and given back when another
    budget refuses; the shared ones of one store are reserved in one script run.
    """
    local: list[tuple[LocalBudget, int]] = []
    shared: dict[int, list[tuple[SharedBudget, int]]] = {}
    for budget, keep_free in claims:
        if isinstance(budget, SharedBudget) and budget.source.reachable:
            shared.setdefault(id(budget.source), []).append((budget, keep_free))
        elif isinstance(budget, SharedBudget):
            local.append((budget.fallback, keep_free))
        elif isinstance(budget, LocalBudget):
            local.append((budget, keep_free))
        else:
            raise TypeError(f"not a bridge budget: {budget!r}")
    taken: list[tuple[LocalBudget, float]] = []
    wait = 0.0
    for budget, keep_free in local:
        budget_wait, stamp = budget.take(keep_free)
        if budget_wait > 0:
            wait = max(wait, budget_wait)
        else:
            taken.append((budget, stamp))
    if wait == 0:
        for group in shared.values():  # one group in practice: one store per host
            wait = await _reserve_shared(group)
            if wait > 0:
                break
    if wait > 0:
        for budget, stamp in taken:
            budget.give_back(stamp)
    return wait


async def _reserve_shared(group: list[tuple[SharedBudget, int]]) -> float:
    reply = await group[0][0].source.run(group)
    if reply is BUSY:
        return BUSY_WAIT_S
    if reply is None:  # Redis failed: these windows count locally (taken together, or not at all)
        return await reserve_all([(b.fallback, keep_free) for b, keep_free in group])
    for (budget, _), count in zip(group, reply[1:], strict=True):
        budget.saw(count)
    return reply[0] / 1_000_000


def budgets_for(store: SessionStore, adapter: str) -> BudgetSource:
    """The budgets of ``adapter``'s host: shared in the store's Redis when it offers coordination
    (several processes may serve the adapter), else local windows."""
    shared = store.coordination()
    return SharedBudgets(shared.client, shared.prefix, adapter) if shared is not None else local_budget


def _check(limit: int, span: float) -> None:
    if limit < 1 or not span > 0:
        raise ValueError(f"a budget needs a limit of at least 1 and a positive span, got {limit} in {span}")


def _log() -> Any:
    import structlog  # only when something is worth logging: the contract's import stays light

    return structlog.get_logger(__name__)
