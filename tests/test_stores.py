"""The session-store contract, run against every store; then what only SQLite or Redis promise."""

from __future__ import annotations

import asyncio
import json
import math
import re
import shutil
import sqlite3
import subprocess
import sys
import time
from collections.abc import AsyncIterator, Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
import redis

from bridge.errors import BridgeError, ConfigError
from bridge.sessions import (
    MemoryStore,
    RedisStore,
    SessionStore,
    SqliteStore,
    StoreError,
    ValueTooLarge,
    open_store,
)
from bridge.sessions.redis_db import EXPIRY_GRACE
from bridge.sessions.urls import REDIS_UNAVAILABLE
from tests.redis_server import (  # the fixtures register by being imported
    free_port,
    redis_prefix_fixture,  # noqa: F401
    redis_url_fixture,  # noqa: F401
    start_server,
)

START = 1_700_000_000.0


class FakeClock:
    """Wall-clock seconds that move only when a test says so."""

    def __init__(self) -> None:
        self.now = START

    def __call__(self) -> float:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += seconds


Factory = Callable[..., SessionStore]


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()


@pytest.fixture(params=["memory", "sqlite", "redis"])
async def make(request: pytest.FixtureRequest, tmp_path: Path, clock: FakeClock) -> AsyncIterator[Factory]:
    """Builds stores of the parametrized kind (one file for sqlite, one prefix for redis); closes them."""
    opened: list[SessionStore] = []
    if request.param == "redis":
        url, prefix = request.getfixturevalue("redis_url"), request.getfixturevalue("redis_prefix")

    def factory(**options: Any) -> SessionStore:
        store: SessionStore
        if request.param == "memory":
            store = MemoryStore(clock=clock, **options)
        elif request.param == "sqlite":
            store = SqliteStore(tmp_path / "state.db", clock=clock, **options)
        else:
            store = RedisStore(url, prefix=prefix, clock=clock, **options)
        opened.append(store)
        return store

    yield factory
    for store in opened:
        await store.close()


@pytest.fixture
def store(make: Factory) -> SessionStore:
    return make()


# --- the contract --------------------------------------------------------------------------------


async def test_is_a_session_store(store: SessionStore) -> None:
    assert isinstance(store, SessionStore)
    await store.ping()
    await store.close()
    with pytest.raises(StoreError):
        await store.ping()


async def test_missing_key_is_none(store: SessionStore) -> None:
    assert await store.get("session:tg:1") is None
    assert await store.keys() == []


async def test_roundtrip_nested_json(store: SessionStore) -> None:
    value: dict[str, Any] = {
        "session_hash": "abc123",
        "history": [
            {"role": "user", "content": "héllo ✓ 日本語 🎉"},
            {"role": "assistant", "content": [{"file": {"path": "/x.png"}}], "metadata": {"title": "tool"}},
        ],
        "settings": {"temperature": 0.7, "n": 3, "big": 2**60, "flags": [True, False, None]},
        "empty": {},
        "": "",
    }
    await store.put("session:tg:1", value)
    assert await store.get("session:tg:1") == value


async def test_values_are_copies_with_json_types(store: SessionStore) -> None:
    value: dict[str, Any] = {"history": [["hi", "there"]], "pair": (1, 2)}
    await store.put("k", value)
    value["history"].append(["changed", "after put"])
    got = await store.get("k")
    assert got == {"history": [["hi", "there"]], "pair": [1, 2]}
    assert got is not None
    got["history"].clear()
    assert await store.get("k") == {"history": [["hi", "there"]], "pair": [1, 2]}


async def test_overwrite(store: SessionStore) -> None:
    await store.put("k", {"v": 1})
    await store.put("k", {"w": 2})
    assert await store.get("k") == {"w": 2}
    assert await store.keys() == ["k"]


async def test_delete(store: SessionStore) -> None:
    await store.put("a", {"v": 1})
    await store.put("b", {"v": 2})
    await store.delete("a")
    await store.delete("a")
    await store.delete("never-there")
    assert await store.get("a") is None
    assert await store.get("b") == {"v": 2}
    assert await store.keys() == ["b"]


async def test_per_put_ttl(store: SessionStore, clock: FakeClock) -> None:
    await store.put("short", {"v": 1}, ttl=10)
    await store.put("forever", {"v": 2})
    clock.advance(9.99)
    assert await store.get("short") == {"v": 1}
    clock.advance(0.01)  # expired at the instant
    assert await store.get("short") is None
    assert await store.keys() == ["forever"]
    clock.advance(10 * 365 * 86400)
    assert await store.get("forever") == {"v": 2}


async def test_default_ttl(make: Factory, clock: FakeClock) -> None:
    store = make(default_ttl=60)
    await store.put("default", {"v": 1})
    await store.put("short", {"v": 2}, ttl=5)
    await store.put("forever", {"v": 3}, ttl=math.inf)
    clock.advance(5)
    assert await store.keys() == ["default", "forever"]
    clock.advance(55)
    assert await store.get("default") is None
    assert await store.keys() == ["forever"]
    assert await store.get("forever") == {"v": 3}


async def test_overwrite_sets_a_new_expiry(store: SessionStore, clock: FakeClock) -> None:
    await store.put("k", {"v": 1}, ttl=10)
    clock.advance(8)
    await store.put("k", {"v": 2}, ttl=10)
    clock.advance(8)
    assert await store.get("k") == {"v": 2}
    await store.put("k", {"v": 3})  # no ttl, no default: forever
    clock.advance(1000)
    assert await store.get("k") == {"v": 3}


async def test_expired_key_can_be_written_again(store: SessionStore, clock: FakeClock) -> None:
    await store.put("k", {"v": 1}, ttl=1)
    clock.advance(2)
    assert await store.get("k") is None
    await store.put("k", {"v": 2})
    assert await store.get("k") == {"v": 2}


@pytest.mark.parametrize("ttl", [0, -1, math.nan])
async def test_bad_ttl_is_refused(store: SessionStore, ttl: float) -> None:
    with pytest.raises(ValueError, match="ttl"):
        await store.put("k", {"v": 1}, ttl=ttl)
    assert await store.get("k") is None


async def test_keys_by_prefix(store: SessionStore, clock: FakeClock) -> None:
    for key in [
        "session:tg:2",
        "session:tg:1",
        "session:dc:1",
        "state:tg:offset",
        "sessionx",
        "Session:tg:3",
    ]:
        await store.put(key, {"k": key})
    await store.put("session:tg:old", {"v": 0}, ttl=1)
    assert await store.keys("session:tg:") == ["session:tg:1", "session:tg:2", "session:tg:old"]
    clock.advance(1)
    assert await store.keys("session:tg:") == ["session:tg:1", "session:tg:2"]
    assert await store.keys("state:") == ["state:tg:offset"]
    assert await store.keys("nothing") == []
    assert await store.keys() == sorted(
        ["session:tg:2", "session:tg:1", "session:dc:1", "state:tg:offset", "sessionx", "Session:tg:3"]
    )


async def test_prefix_is_literal(store: SessionStore) -> None:
    for key in ["a_b", "a%b", "axb", "A_b", "a"]:
        await store.put(key, {})
    assert await store.keys("a_") == ["a_b"]
    assert await store.keys("a%") == ["a%b"]
    assert await store.keys("a") == ["a", "a%b", "a_b", "axb"]


async def test_bound_evicts_least_recently_written(make: Factory) -> None:
    store = make(max_entries=3)
    for i in range(5):  # same clock reading for all: order must come from write order
        await store.put(f"k{i}", {"i": i})
    assert await store.keys() == ["k2", "k3", "k4"]
    assert await store.get("k0") is None
    await store.put("k2", {"i": 22})  # an overwrite is a write
    await store.get("k3")  # a read is not
    await store.put("k5", {"i": 5})
    assert await store.keys() == ["k2", "k4", "k5"]
    assert await store.get("k2") == {"i": 22}


async def test_bound_holds_with_deletes(make: Factory) -> None:
    store = make(max_entries=2)
    await store.put("a", {})
    await store.put("b", {})
    await store.delete("a")
    await store.put("c", {})
    assert await store.keys() == ["b", "c"]
    await store.put("d", {})
    assert await store.keys() == ["c", "d"]


async def test_oversize_value_is_refused(make: Factory) -> None:
    store = make(max_value_bytes=100)
    await store.put("k", {"t": "x" * 92})  # {"t":"…"} is 8 bytes + the text: exactly 100
    with pytest.raises(ValueTooLarge) as caught:
        await store.put("k", {"t": "x" * 93})
    assert (caught.value.size, caught.value.limit) == (101, 100)
    assert "'k'" in str(caught.value) and "100 bytes" in str(caught.value)
    assert isinstance(caught.value, StoreError) and isinstance(caught.value, BridgeError)
    assert await store.get("k") == {"t": "x" * 92}
    await store.put("u", {"t": "é" * 46})  # counted in UTF-8 bytes, not characters
    with pytest.raises(ValueTooLarge):
        await store.put("u", {"t": "é" * 47})


@pytest.mark.parametrize(
    "value",
    [{"s": {1, 2}}, {"o": object()}, {"f": math.nan}, {"f": math.inf}, {"b": b"bytes"}],
    ids=["set", "object", "nan", "inf", "bytes"],
)
async def test_non_json_value_is_refused(store: SessionStore, value: dict[str, Any]) -> None:
    await store.put("k", {"v": "old"})
    with pytest.raises(StoreError, match="not JSON"):
        await store.put("k", value)
    assert await store.get("k") == {"v": "old"}


async def test_circular_value_is_refused(store: SessionStore) -> None:
    value: dict[str, Any] = {}
    value["self"] = value
    with pytest.raises(StoreError, match="not JSON"):
        await store.put("k", value)


async def test_non_dict_value_is_refused(store: SessionStore) -> None:
    with pytest.raises(StoreError, match="must be a dict"):
        await store.put("k", ["a", "list"])  # type: ignore[arg-type]
    assert await store.get("k") is None


async def test_concurrent_puts_all_land(store: SessionStore) -> None:
    await asyncio.gather(
        *(store.put(f"session:t:{i:03}", {"i": i, "h": ["x"] * (i % 7)}) for i in range(200))
    )
    keys = await store.keys("session:t:")
    assert keys == [f"session:t:{i:03}" for i in range(200)]
    got = await asyncio.gather(*(store.get(k) for k in keys))
    assert got == [{"i": i, "h": ["x"] * (i % 7)} for i in range(200)]


async def test_closed_store_refuses_work(make: Factory) -> None:
    store = make()
    await store.put("k", {})
    await store.close()
    await store.close()
    with pytest.raises(StoreError, match="closed"):
        await store.get("k")
    with pytest.raises(StoreError, match="closed"):
        await store.put("k", {})


def test_bad_options_are_refused(tmp_path: Path) -> None:
    for kind in (
        MemoryStore,
        lambda **kw: SqliteStore(tmp_path / "x.db", **kw),
        lambda **kw: RedisStore("redis://127.0.0.1:1/0", **kw),  # never connects
    ):
        with pytest.raises(ValueError, match="max_entries"):
            kind(max_entries=0)
        with pytest.raises(ValueError, match="max_value_bytes"):
            kind(max_value_bytes=0)
        with pytest.raises(ValueError, match="default_ttl"):
            kind(default_ttl=0)


# --- SQLite only ---------------------------------------------------------------------------------


async def test_sqlite_state_survives_a_restart(tmp_path: Path, clock: FakeClock) -> None:
    path = tmp_path / "state.db"
    first = SqliteStore(path, clock=clock, max_entries=3)
    await first.put("state:tg:offset", {"offset": 42}, ttl=60)
    for turn in range(1, 4):
        await first.put("session:tg:1", {"session_hash": "h1", "turns": turn})
    await first.put("gone", {})
    await first.delete("gone")
    await first.close()

    second = SqliteStore(path, clock=clock, max_entries=3)
    try:
        assert await second.get("session:tg:1") == {"session_hash": "h1", "turns": 3}
        assert await second.keys() == ["session:tg:1", "state:tg:offset"]
        clock.advance(60)  # expiry times are stored too
        assert await second.get("state:tg:offset") is None
        await second.put("a", {})
        await second.put("b", {})
        assert await second.keys() == ["a", "b", "session:tg:1"]
        # Write order carries over: the last write from before the restart is older than any after.
        await second.put("c", {})
        assert await second.keys() == ["a", "b", "c"]
    finally:
        await second.close()


async def test_sqlite_file_format(tmp_path: Path, clock: FakeClock) -> None:
    path = tmp_path / "nested" / "dirs" / "state.db"
    store = SqliteStore(path, clock=clock)
    await store.put("k", {"v": 1}, ttl=5)
    await store.close()
    with sqlite3.connect(path) as conn:
        assert conn.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
        assert conn.execute("PRAGMA user_version").fetchone()[0] == 2  # the inbox since version 2
        row = conn.execute("SELECT key, value, expires_at, updated_at FROM kv").fetchone()
    conn.close()
    assert row == ("k", json.dumps({"v": 1}, separators=(",", ":")), START + 5, START)


async def test_sqlite_purges_expired_rows(tmp_path: Path, clock: FakeClock) -> None:
    path = tmp_path / "state.db"
    store = SqliteStore(path, clock=clock, max_entries=2)
    await store.put("keep", {})
    await store.put("old", {}, ttl=1)
    clock.advance(1)
    await store.put("new", {})  # over the bound: the expired row goes, not the older live one
    assert await store.keys() == ["keep", "new"]
    await store.close()
    with sqlite3.connect(path) as conn:
        assert [r[0] for r in conn.execute("SELECT key FROM kv ORDER BY key")] == ["keep", "new"]
    conn.close()


async def test_sqlite_newer_schema_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "state.db"
    with sqlite3.connect(path) as conn:
        conn.execute("PRAGMA user_version = 99")
    conn.close()
    store = SqliteStore(path)
    with pytest.raises(StoreError, match="newer bridge"):
        await store.get("k")
    await store.close()


async def test_sqlite_not_a_database_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "state.db"
    path.write_bytes(b"this is not a database, just some text long enough to have a header" * 10)
    store = SqliteStore(path)
    with pytest.raises(StoreError, match=r"cannot open the session store .*state\.db"):
        await store.put("k", {})
    await store.close()


# --- Redis only ----------------------------------------------------------------------------------


@pytest.fixture
def raw(redis_url: str) -> Iterator[redis.Redis]:
    """A plain client on the tests' Redis, to look behind the store's back."""
    with redis.Redis.from_url(redis_url, decode_responses=True) as client:
        yield client


def with_prefix(url: str, prefix: str) -> str:
    return f"{url}{'&' if '?' in url else '?'}prefix={prefix}"


async def test_redis_replicas_share_state(redis_url: str, redis_prefix: str, clock: FakeClock) -> None:
    # Two stores on one Redis and prefix are two bridge processes (shards, webhook replicas).
    first = RedisStore(redis_url, prefix=redis_prefix, clock=clock, max_entries=3)
    second = RedisStore(redis_url, prefix=redis_prefix, clock=clock, max_entries=3)
    try:
        await first.ping()  # what a start-up check would do
        await first.put("session:tg:1", {"turns": 1})
        assert await second.get("session:tg:1") == {"turns": 1}
        await second.put("session:tg:1", {"turns": 2}, ttl=10)
        assert await first.get("session:tg:1") == {"turns": 2}
        await second.put("a", {})
        await first.put("b", {})
        assert await first.keys() == ["a", "b", "session:tg:1"]
        await second.put("c", {})  # one write order and one bound across processes
        assert await first.keys() == ["a", "b", "c"]
        await first.delete("b")
        assert await second.keys() == ["a", "c"]
        await first.put("t", {}, ttl=5)
        clock.advance(5)
        assert await second.get("t") is None
        assert await second.keys() == ["a", "c"]
    finally:
        await first.close()
        await second.close()


async def test_redis_prefixes_keep_bridges_apart(redis_url: str, redis_prefix: str) -> None:
    one = open_store(with_prefix(redis_url, redis_prefix + "one:"), max_entries=1)
    two = open_store(with_prefix(redis_url, redis_prefix + "two:"), max_entries=1)
    try:
        await one.put("k", {"v": 1})
        await two.put("k", {"v": 2})
        await two.put("other", {})  # evicts only within its own prefix
        assert await one.get("k") == {"v": 1}
        assert await two.keys() == ["other"]
    finally:
        await one.close()
        await two.close()


async def test_redis_state_survives_a_restart(redis_url: str, redis_prefix: str, clock: FakeClock) -> None:
    url = with_prefix(redis_url, redis_prefix)
    served = open_store(url, default_ttl=30 * 86400)  # as `bridge serve` builds it
    await served.put("session:tg:1", {"session_hash": "h1", "turns": 3})
    await served.close()
    reserved = open_store(url)
    assert await reserved.get("session:tg:1") == {"session_hash": "h1", "turns": 3}
    await reserved.close()

    first = RedisStore(redis_url, prefix=redis_prefix, clock=clock, max_entries=3)
    await first.put("state:tg:offset", {"offset": 42}, ttl=60)
    await first.put("gone", {})
    await first.delete("gone")
    await first.close()
    second = RedisStore(redis_url, prefix=redis_prefix, clock=clock, max_entries=3)
    try:
        assert await second.keys() == ["session:tg:1", "state:tg:offset"]
        clock.advance(60)  # expiry times are stored too
        assert await second.get("state:tg:offset") is None
        await second.put("a", {})
        await second.put("b", {})
        assert await second.keys() == ["a", "b", "session:tg:1"]
        await second.put("c", {})  # write order carries over
        assert await second.keys() == ["a", "b", "c"]
    finally:
        await second.close()


async def test_redis_expiry_frees_memory(
    redis_url: str, redis_prefix: str, clock: FakeClock, raw: redis.Redis
) -> None:
    p = redis_prefix
    store = RedisStore(redis_url, prefix=p, clock=clock, default_ttl=60)
    try:
        await store.put("a", {}, ttl=10)
        await store.put("b", {})
        await store.put("c", {}, ttl=math.inf)
        grace_ms = EXPIRY_GRACE * 1000
        assert 10_000 + grace_ms - 5000 < raw.pttl(p + "v:a") <= 10_000 + grace_ms  # Redis' own TTL
        assert 60_000 + grace_ms - 5000 < raw.pttl(p + "v:b") <= 60_000 + grace_ms
        assert raw.pttl(p + "v:c") == -1  # no expiry, no TTL
        await store.put("a", {"v": 2}, ttl=math.inf)  # an overwrite replaces the TTL
        assert raw.pttl(p + "v:a") == -1
        assert json.loads(raw.get(p + "v:a")) == {"e": None, "v": {"v": 2}}
        assert json.loads(raw.get(p + "v:b")) == {"e": START + 60, "v": {}}
        clock.advance(60)
        await store.put("d", {}, ttl=5)  # a write sweeps what the clock expired, before Redis would
        assert set(raw.scan_iter(match=p + "*")) == {
            p + n for n in ("v:a", "v:c", "v:d", "by-write", "by-name", "by-expiry", "seq")
        }
        assert raw.zrange(p + "by-write", 0, -1) == ["c", "a", "d"]  # in write order
        assert raw.zrange(p + "by-expiry", 0, -1, withscores=True) == [("d", START + 65)]
        clock.advance(5)
        assert await store.keys() == ["a", "c"]  # keys sweeps too
        assert raw.exists(p + "v:d") == 0 and raw.zcard(p + "by-expiry") == 0
    finally:
        await store.close()


async def test_redis_expires_values_by_itself(redis_url: str, redis_prefix: str, raw: redis.Redis) -> None:
    store = RedisStore(redis_url, prefix=redis_prefix, expiry_grace=0)
    try:
        await store.put("k", {}, ttl=0.05)
        await store.put("kept", {})
        deadline = time.monotonic() + 5
        while raw.exists(redis_prefix + "v:k") and time.monotonic() < deadline:
            await asyncio.sleep(0.02)
        assert raw.exists(redis_prefix + "v:k") == 0  # gone without any read or write
        assert await store.keys() == ["kept"]
        assert raw.zrange(redis_prefix + "by-name", 0, -1) == ["kept"]
    finally:
        await store.close()


async def test_redis_eviction_and_deletes_keep_the_index(
    redis_url: str, redis_prefix: str, raw: redis.Redis
) -> None:
    p = redis_prefix
    store = RedisStore(redis_url, prefix=p, max_entries=2)
    try:
        for key in ("a", "b", "c"):
            await store.put(key, {"k": key}, ttl=3600)
        assert raw.exists(p + "v:a") == 0  # evicted values are deleted, not just unlisted
        await store.delete("b")
        for index in ("by-write", "by-name", "by-expiry"):
            assert raw.zrange(p + index, 0, -1) == ["c"], index
        raw.delete(p + "v:c")  # dropped behind the store's back (maxmemory, an operator)
        assert await store.keys() == []
        assert raw.zcard(p + "by-write") == raw.zcard(p + "by-name") == 0
    finally:
        await store.close()


async def test_redis_foreign_value_is_refused(redis_url: str, redis_prefix: str, raw: redis.Redis) -> None:
    store = RedisStore(redis_url, prefix=redis_prefix)
    raw.set(redis_prefix + "v:k", "not a bridge value")
    raw.set(redis_prefix + "v:list", '{"e": null, "v": [1]}')
    try:
        for key in ("k", "list"):
            with pytest.raises(StoreError, match="its own prefix"):
                await store.get(key)
    finally:
        await store.close()


async def test_unreachable_redis_is_named_without_its_password() -> None:
    port = free_port()
    store = open_store(f"redis://:s3cret@127.0.0.1:{port}/3?prefix=p:")  # building does not connect
    assert isinstance(store, RedisStore)
    started = time.monotonic()
    try:
        for op in (store.ping(), store.get("k"), store.put("k", {}), store.delete("k"), store.keys()):
            with pytest.raises(StoreError) as caught:
                await op
            message = str(caught.value)
            assert f"the Redis state store at redis://127.0.0.1:{port}/3 is unreachable" in message
            assert "s3cret" not in message and "s3cret" not in repr(store)
    finally:
        await store.close()
    assert time.monotonic() - started < 10  # a few quick retries, not a hang


@pytest.mark.parametrize("how", ["in the URL", "password_env"])
async def test_wrong_redis_password_is_not_echoed(
    redis_url: str, redis_prefix: str, how: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    if "@" in redis_url or "?" in redis_url:
        pytest.skip("the test Redis URL already carries credentials or parameters")
    # A user the server does not know (a server without a password accepts any bare password).
    if how == "password_env":
        monkeypatch.setenv("BRIDGE_TEST_REDIS_PASSWORD", "s3cret!")
        url = redis_url.replace("://", "://nobody@", 1) + "?password_env=BRIDGE_TEST_REDIS_PASSWORD"
    else:
        url = redis_url.replace("://", "://nobody:s3cret%21@", 1)
    store = RedisStore(url, prefix=redis_prefix)
    try:
        with pytest.raises(StoreError, match=f"at {re.escape(store.url)} refused the credentials") as caught:
            await store.ping()
        assert "s3cret" not in str(caught.value) and "s3cret" not in repr(store)
    finally:
        await store.close()


async def test_private_redis_server_and_an_outage(tmp_path: Path) -> None:
    # The fallback of tests/redis_server.py when no Redis runs at 127.0.0.1:6379; then an outage.
    if shutil.which("redis-server") is None:
        pytest.skip("redis-server is not on PATH")
    started = start_server(tmp_path)
    assert started is not None, "redis-server did not start"
    proc, port = started
    store = RedisStore(f"redis://127.0.0.1:{port}/0")
    try:
        await store.put("k", {"v": 1})
        assert await store.get("k") == {"v": 1}
        proc.terminate()
        proc.wait(timeout=10)
        with pytest.raises(StoreError, match=f"redis://127.0.0.1:{port}/0 is unreachable"):
            await store.get("k")
        restarted = start_server(tmp_path, port)
        assert restarted is not None, "redis-server did not restart"
        proc = restarted[0]
        await store.put("k", {"v": 2})  # the same store reconnects
        assert await store.get("k") == {"v": 2}
    finally:
        await store.close()
        if proc.poll() is None:
            proc.terminate()
            proc.wait(timeout=10)


# --- open_store ----------------------------------------------------------------------------------


async def test_open_memory() -> None:
    store = open_store("memory://", max_entries=1, default_ttl=30)
    assert isinstance(store, MemoryStore)
    assert (store.max_entries, store.default_ttl) == (1, 30)
    await store.put("a", {})
    await store.put("b", {})
    assert await store.keys() == ["b"]
    await store.close()


async def test_open_sqlite_relative(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    store = open_store("sqlite:///state/sub/bridge.db", max_value_bytes=50)
    assert isinstance(store, SqliteStore)
    assert store.path == tmp_path / "state" / "sub" / "bridge.db"
    assert store.max_value_bytes == 50
    await store.put("k", {"v": 1})
    await store.close()
    assert (tmp_path / "state" / "sub" / "bridge.db").is_file()
    based = open_store("sqlite:///x.db", base_dir=tmp_path / "cfg")
    assert isinstance(based, SqliteStore) and based.path == tmp_path / "cfg" / "x.db"
    await based.close()


async def test_open_sqlite_absolute(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'abs' / 'bridge.db'}"
    assert url.startswith("sqlite:////")
    store = open_store(url)
    assert isinstance(store, SqliteStore) and store.path == tmp_path / "abs" / "bridge.db"
    await store.put("k", {"v": 1})
    await store.close()
    reopened = open_store(url)
    assert await reopened.get("k") == {"v": 1}
    await reopened.close()


@pytest.mark.parametrize(
    "url",
    [
        "",
        "memory",
        "memory://extra",
        "sqlite://",
        "sqlite:///",
        "sqlite:///dir/",
        "sqlite://host/x.db",
        "postgres://user:s3cret@db/state",
        "file:///tmp/x.db",
    ],
)
def test_open_bad_url(url: str) -> None:
    with pytest.raises(ConfigError) as caught:
        open_store(url)
    message = str(caught.value)
    assert caught.value.path == "bridge.state"
    assert "memory://" in message and "sqlite:///relative/path.db" in message
    assert "s3cret" not in message


@pytest.mark.parametrize(
    ("url", "shown", "prefix"),
    [
        ("redis://localhost:6379/0", "redis://localhost:6379/0", "bridge:"),
        ("rediss://:s3cret@cache:6380/1?prefix=app1:", "rediss://cache:6380/1", "app1:"),
        ("redis://user:s3cret@Cache?db=2&prefix=a%3Ab", "redis://cache:6379/2", "a:b"),
        ("REDIS://h", "redis://h:6379/0", "bridge:"),
    ],
)
async def test_open_redis(url: str, shown: str, prefix: str) -> None:
    store = open_store(url, max_entries=7, default_ttl=30)  # does not connect
    assert isinstance(store, RedisStore)
    assert (store.url, store.prefix, store.max_entries, store.default_ttl) == (shown, prefix, 7, 30)
    assert "s3cret" not in repr(store) and shown in repr(store)
    await store.close()


@pytest.mark.parametrize(
    "url",
    [
        "redis://:s3cret@h:port/0",
        "redis://:s3cret@h/not-a-db",
        "redis://:s3cret@h/0?prefix=",
        "redis://h/0?socket_timeout=soon",
        "redis://h/0?password_env=BRIDGE_TEST_UNSET_VARIABLE",
        "redis://:s3cret@h/0?password_env=HOME",
    ],
)
def test_open_bad_redis_url(url: str) -> None:
    with pytest.raises(ConfigError) as caught:
        open_store(url)
    assert caught.value.path == "bridge.state"
    assert "redis://[USER@]HOST:PORT/DB" in str(caught.value)
    assert "s3cret" not in str(caught.value)


def test_open_redis_without_the_package(monkeypatch: pytest.MonkeyPatch) -> None:
    import sys

    for name in [n for n in sys.modules if n.split(".")[0] == "redis"]:  # as without the [redis] extra
        monkeypatch.setitem(sys.modules, name, None)
    monkeypatch.delitem(sys.modules, "bridge.sessions.redis")
    with pytest.raises(ConfigError, match=r"pip install 'gradio-bridge\[redis\]'") as caught:
        open_store("redis://:s3cret@localhost:6379/0")
    assert str(caught.value).endswith(REDIS_UNAVAILABLE) and "s3cret" not in str(caught.value)


async def test_oversize_transcript_is_trimmed_not_lost() -> None:
    from bridge.conversation import ConversationState, load, save
    from bridge.model import ConversationKey

    store = MemoryStore(max_value_bytes=4000)
    state = ConversationState()
    for i in range(40):
        state.session.history += [
            {"role": "user", "content": f"q{i}"},
            {"role": "assistant", "content": "x" * 90},
        ]
    key = ConversationKey("a", "c")
    await save(store, key, state)
    loaded = await load(store, key)
    history = loaded.session.history
    assert 0 < len(history) < 80 and history[0]["role"] == "user"
    assert history[-1]["content"] == "x" * 90 and history[-2]["content"] == "q39"


def test_a_session_knows_its_history_format_even_when_stored_by_an_older_bridge() -> None:
    from bridge.gradio import ChatSession

    pairs = [["q1", "a1"], ["q2", "a2"], ["q3", None]]
    old = ChatSession.from_dict({"session_hash": "h", "history": [list(p) for p in pairs]})  # no "format"
    assert old.history_format == "tuples"
    old.drop_last_turn()
    assert old.history == [["q1", "a1"], ["q2", "a2"]]
    again = ChatSession.from_dict(old.to_dict())
    assert again.history_format == "tuples" and again.shrink() and again.history == [["q2", "a2"]]
    assert again.shrink() and again.history == [] and not again.shrink()


def test_serve_stops_at_once_when_redis_is_unreachable(tmp_path: Path) -> None:
    config = tmp_path / "bridge.toml"
    config.write_text(
        '[bridge]\nstate = "redis://:hunter2@127.0.0.1:1/0"\n'
        '[spaces.app]\nsrc = "http://127.0.0.1:9"\n'
        '[adapters.term]\ntype = "console"\nspace = "app"\n'
    )
    done = subprocess.run(
        [sys.executable, "-m", "bridge.cli", "serve", str(config)],
        check=False,
        capture_output=True,
        text=True,
        timeout=60,
        stdin=subprocess.DEVNULL,
    )
    assert done.returncode == 3, done.stderr
    assert "redis://127.0.0.1:1/0 is unreachable" in done.stderr
    assert "hunter2" not in done.stderr + done.stdout


def test_the_coordination_pool_is_not_sized_by_the_stores_max_connections() -> None:
    from bridge.sessions.redis_url import without_pool_size

    url = "redis://h:1/0?max_connections=4&socket_timeout=2"
    assert without_pool_size(url) == "redis://h:1/0?socket_timeout=2"
    assert without_pool_size("redis://h:1/0?max_connections=4") == "redis://h:1/0"
