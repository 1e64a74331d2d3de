"""Platform budgets (:mod:`bridge.budget`): local windows, and windows shared through a real Redis.

The shared window's contract: never more than ``limit`` calls in any ``span`` across independent
clients (each thread runs its own event loop and Redis client, as processes would), ``keep_free``
honoured, the wait it returns is right, the key expires, every call counts; a reservation taken in
several budgets at once is all or nothing. On a Redis outage (a private redis-server stopped by PID,
a closed port, a server that never answers) budgets count locally within the timeout, warn once,
and share again once Redis is back.
"""

from __future__ import annotations

import asyncio
import socket
import threading
import time
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
import redis
import redis.asyncio
import structlog
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from adapters.discord.pacing import GlobalPacer
from adapters.telegram.pacing import Pacer
from bridge.budget import LocalBudget, SharedBudget, SharedBudgets, budgets_for, local_budget, reserve_all
from bridge.sessions import MemoryStore, RedisStore
from tests.redis_server import (  # the fixtures register by being imported
    free_port,
    redis_prefix_fixture,  # noqa: F401
    redis_url_fixture,  # noqa: F401
    start_server,
)

_CLIENTS: list[Any] = []  # closed after each test, on the loop that made them


def shared(url: str, prefix: str, **options: Any) -> SharedBudgets:
    """The budgets of adapter ``tg`` on a Redis client of their own (one "process")."""
    client = redis.asyncio.Redis.from_url(url)
    _CLIENTS.append((asyncio.get_running_loop(), client))
    return SharedBudgets(client, prefix, "tg", **options)


@pytest.fixture(autouse=True)
async def _close_clients() -> AsyncIterator[None]:
    yield
    loop = asyncio.get_running_loop()
    for _, client in [c for c in _CLIENTS if c[0] is loop]:
        await client.aclose()
    _CLIENTS.clear()


def in_threads(count: int, work: Callable[[int], Awaitable[list[float]]]) -> list[list[float]]:
    """``work(i)`` in ``count`` threads at once, each with its own event loop; their results."""
    results: list[list[float]] = [[] for _ in range(count)]
    start = threading.Barrier(count)

    async def closing(i: int) -> list[float]:
        try:
            return await work(i)
        finally:
            for _, client in [c for c in _CLIENTS if c[0] is asyncio.get_running_loop()]:
                await client.aclose()

    def run(i: int) -> None:
        start.wait()
        results[i] = asyncio.run(closing(i))

    threads = [threading.Thread(target=run, args=(i,)) for i in range(count)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=60)
    return results


def most_in_any_window(stamps: list[float], span: float) -> int:
    ordered = sorted(stamps)
    return max((sum(1 for t in ordered if s <= t < s + span) for s in ordered), default=0)


# -- the shared window's contract -----------------------------------------------------------------
def test_three_clients_hammering_never_exceed_the_limit(redis_url: str, redis_prefix: str) -> None:
    async def hammer(i: int) -> list[float]:
        budget = shared(redis_url, redis_prefix)("global", 30, 60.0)  # nothing leaves the window
        taken, end = [], time.monotonic() + 0.6
        while time.monotonic() < end:
            if await budget.reserve() == 0:
                taken.append(time.monotonic())
        return taken

    assert sum(len(r) for r in in_threads(3, hammer)) == 30  # exactly the limit, all three together


def test_the_window_slides_across_clients(redis_url: str, redis_prefix: str) -> None:
    limit, span = 5, 0.3

    async def paced(i: int) -> list[float]:
        budget = shared(redis_url, redis_prefix)("global", limit, span)
        taken, end = [], time.monotonic() + 1.6
        while time.monotonic() < end:
            wait = await budget.reserve()
            if wait == 0:
                taken.append(time.monotonic())
            else:
                await asyncio.sleep(wait)  # the wait it says: the three wake together and race
        return taken

    stamps = [t for r in in_threads(3, paced) for t in r]
    # Stamps are taken by the clients, a little after Redis counted them: allow that jitter.
    assert most_in_any_window(stamps, span - 0.03) <= limit
    assert len(stamps) >= limit * 4  # the budget is used, not starved (about 1.6 / 0.3 windows)


async def test_keep_free_and_the_wait_returned(redis_url: str, redis_prefix: str) -> None:
    budget = shared(redis_url, redis_prefix)("global", 10, 1.0)
    partial = [await budget.reserve(keep_free=3) for _ in range(9)]
    assert partial.count(0) == 7  # 10 - 3 for calls that leave room
    assert [await budget.reserve() for _ in range(4)].count(0) == 3  # the rest goes to the others
    assert budget.used() == 10
    wait = await budget.reserve()
    assert 0.8 < wait <= 1.0
    await asyncio.sleep(wait - 0.1)
    assert await budget.reserve() > 0  # not yet
    await asyncio.sleep(0.11)
    assert await budget.reserve() == 0  # just when it said
    assert await budget.reserve(keep_free=50) > 0 and (await budget.reserve(keep_free=50)) < 1.0


async def test_every_call_counts_and_the_key_expires(redis_url: str, redis_prefix: str) -> None:
    one, two = shared(redis_url, redis_prefix), shared(redis_url, redis_prefix)
    a, b = one("global", 100, 0.3), two("global", 100, 0.3)
    waits = await asyncio.gather(*(x.reserve() for _ in range(40) for x in (a, b)))
    assert waits == [0] * 80
    with redis.Redis.from_url(redis_url) as check:
        key = f"{redis_prefix}budget:tg:global"
        assert check.zcard(key) == 80  # unique members: calls in the same microsecond count twice
        assert 0 < check.pttl(key) <= 301
        await asyncio.sleep(0.35)
        assert not check.exists(key)


async def test_a_reservation_in_several_budgets_is_all_or_nothing(redis_url: str, redis_prefix: str) -> None:
    source = shared(redis_url, redis_prefix)
    group, bot, chat = source("group:-5", 2, 60.0), source("global", 3, 60.0), LocalBudget("chat", 9, 60.0)
    assert await reserve_all([(group, 0), (bot, 0), (chat, 0)]) == 0
    assert await reserve_all([(group, 0), (bot, 0), (chat, 0)]) == 0
    assert await reserve_all([(group, 0), (bot, 0), (chat, 0)]) > 50  # the group is full …
    assert bot.used() == 2 and chat.used() == 2  # … so neither the bot's nor the chat's slot was taken
    assert await bot.reserve() == 0 and await bot.reserve() > 0


async def test_two_telegram_processes_share_a_groups_window(redis_url: str, redis_prefix: str) -> None:
    pacers = [Pacer(per_chat_per_s=100, burst=100, budgets=shared(redis_url, redis_prefix)) for _ in range(2)]
    allowed = [await pacers[i % 2].reserve(-5) for i in range(40)]
    assert allowed.count(0) == 18  # one group's 18 a minute, whichever process handles its chats
    assert await pacers[0].reserve(-6) == 0  # another group has its own window


async def test_two_discord_shards_share_the_global_rate(redis_url: str, redis_prefix: str) -> None:
    one, two = GlobalPacer(limit=8, span=60.0), GlobalPacer(limit=8, span=60.0)
    one.share(shared(redis_url, redis_prefix))
    two.share(shared(redis_url, redis_prefix))
    for pacer in (one, one, two, two, two, two, two, two):
        await asyncio.wait_for(pacer.acquire(), 1)
    assert two.busy and not one.busy  # as each last saw the shared window: 8 and 2 of 8
    with pytest.raises(TimeoutError):
        await asyncio.wait_for(one.acquire(), 0.3)  # the sixth waits, in either process


@settings(max_examples=25, derandomize=True, deadline=None, suppress_health_check=list(HealthCheck))
@given(st.integers(1, 6), st.lists(st.integers(0, 8), max_size=14))
def test_shared_decides_as_the_local_window_does(redis_url: str, limit: int, frees: list[int]) -> None:
    # Within one span (nothing leaves the window) both admit a call exactly when it fits.
    async def both() -> tuple[list[bool], list[bool]]:
        source = shared(redis_url, f"bridge-test:{uuid.uuid4().hex}:")
        remote, local = source("w", limit, 60.0), LocalBudget("w", limit, 60.0)
        try:
            return [await remote.reserve(f) == 0 for f in frees], [await local.reserve(f) == 0 for f in frees]
        finally:
            await source._client.delete(source.prefix + "w")
            await source._client.aclose()

    remote, local = asyncio.run(both())
    assert remote == local


@settings(max_examples=200, derandomize=True, deadline=None)
@given(st.lists(st.tuples(st.sets(st.integers(0, 2), min_size=1), st.integers(0, 3), st.floats(0, 0.7))))
async def test_local_reservations_are_all_or_nothing_and_within_limits(
    steps: list[tuple[set[int], int, float]],
) -> None:
    now = [0.0]
    budgets = [LocalBudget(str(i), limit, 1.0, lambda: now[0]) for i, limit in enumerate((2, 3, 5))]
    stamps: list[list[float]] = [[], [], []]
    for chosen, keep_free, dt in steps:
        now[0] += dt
        before = [b.used() for b in budgets]
        wait = await reserve_all([(budgets[i], keep_free) for i in sorted(chosen)])
        for i, b in enumerate(budgets):
            taken = b.used() - before[i]
            assert taken == (1 if wait == 0 and i in chosen else 0)
            if taken:
                stamps[i].append(now[0])
            assert most_in_any_window(stamps[i], 1.0) <= b.limit


# -- faults ----------------------------------------------------------------------------------------
@pytest.fixture
def private_redis(tmp_path: Path) -> Iterator[tuple[Any, int]]:
    started = start_server(tmp_path)
    if started is None:
        pytest.skip("no redis-server on PATH")
    yield started
    started[0].kill()
    started[0].wait()


async def test_an_outage_falls_back_to_the_local_window_and_recovers(
    private_redis: tuple[Any, int], tmp_path: Path
) -> None:
    proc, port = private_redis
    store = RedisStore(f"redis://127.0.0.1:{port}/0", prefix="p:")
    coordination = store.coordination()
    source = SharedBudgets(coordination.client, coordination.prefix, "tg", retry_s=0.3)
    budget = source("global", 3, 1.0)
    assert await budget.reserve() == 0
    with redis.Redis(port=port) as check:
        assert check.zcard("p:budget:tg:global") == 1
    proc.kill()
    proc.wait()
    with structlog.testing.capture_logs() as logs:
        started = time.monotonic()
        assert [await budget.reserve() for _ in range(4)][:3] == [0, 0, 0]  # counted locally …
        assert time.monotonic() - started < 0.7  # … within the timeout, not stalling the sends
        assert await budget.reserve() > 0  # the local window keeps the limit meanwhile
        await asyncio.sleep(0.35)
        assert await budget.reserve() > 0  # Redis tried again: still down, still local
    assert [e["event"] for e in logs if e["log_level"] == "warning"] == [
        "shared platform budgets unavailable; counting in this process only"
    ]  # once per outage
    restarted = start_server(tmp_path, port)
    assert restarted is not None
    try:
        await asyncio.sleep(1.0)  # past retry_s, and the local window is empty again
        with structlog.testing.capture_logs() as logs:
            assert await budget.reserve() == 0
        assert [e["event"] for e in logs] == ["shared platform budgets available again"]
        with redis.Redis(port=port) as check:
            assert check.zcard("p:budget:tg:global") == 1  # counted in Redis again
    finally:
        restarted[0].kill()
        restarted[0].wait()
        await store.close()


async def test_a_closed_port_or_a_silent_server_never_stalls_a_reservation() -> None:
    silent = socket.socket()
    silent.bind(("127.0.0.1", 0))
    silent.listen(8)  # connections are accepted by the kernel; nothing ever answers
    try:
        for port in (free_port(), silent.getsockname()[1]):
            budget = shared(f"redis://127.0.0.1:{port}/0", "p:", timeout_s=0.5)("global", 2, 1.0)
            started = time.monotonic()
            assert await budget.reserve() == 0
            assert time.monotonic() - started < 0.8
            started = time.monotonic()
            assert await budget.reserve() == 0 and await budget.reserve() > 0  # local, at once
            assert time.monotonic() - started < 0.05
    finally:
        silent.close()


def test_one_process_stores_give_local_budgets(redis_url: str, redis_prefix: str) -> None:
    assert budgets_for(MemoryStore(), "tg") is local_budget
    source = budgets_for(RedisStore(redis_url, prefix=redis_prefix), "tg")
    assert isinstance(source, SharedBudgets) and isinstance(source("global", 1, 1.0), SharedBudget)
    assert isinstance(local_budget("global", 1, 1.0), LocalBudget)
    with pytest.raises(ValueError, match="limit"):
        LocalBudget("x", 0, 1.0)


async def test_reservation_latency(redis_url: str, redis_prefix: str) -> None:
    budget = shared(redis_url, redis_prefix)("global", 1_000_000, 60.0)
    await budget.reserve()  # loads the script
    times = []
    for _ in range(500):
        started = time.perf_counter()
        await budget.reserve()
        times.append(time.perf_counter() - started)
    times.sort()
    mean, p99 = sum(times) / len(times), times[int(len(times) * 0.99)]
    print(f"shared reservation: mean {mean * 1000:.3f} ms, p99 {p99 * 1000:.3f} ms")
    assert mean < 0.005
