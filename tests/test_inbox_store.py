"""The durable inbox contract (bridge.sessions.inbox), run against the memory, SQLite and Redis stores."""

from __future__ import annotations

import asyncio
import sqlite3
import subprocess
import sys
from collections.abc import AsyncIterator, Callable
from pathlib import Path
from typing import Any

import pytest

from bridge.sessions import MemoryStore, RedisStore, SessionStore, SqliteStore, StoreError, ValueTooLarge
from bridge.sessions.inbox import Inbox
from tests.redis_server import (  # the fixtures register by being imported
    free_port,
    redis_prefix_fixture,  # noqa: F401
    redis_url_fixture,  # noqa: F401
    start_server,
)
from tests.test_stores import FakeClock

Factory = Callable[..., SessionStore]
MESSAGE = {"text": "héllo 👩‍💻", "attachments": [], "params": {"t": 0.5}}


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()


@pytest.fixture(params=["memory", "sqlite", "redis"])
async def make(request: pytest.FixtureRequest, tmp_path: Path, clock: FakeClock) -> AsyncIterator[Factory]:
    opened: list[SessionStore] = []
    kind = request.param
    if kind == "redis":
        url, prefix = request.getfixturevalue("redis_url"), request.getfixturevalue("redis_prefix")

    def factory(**options: Any) -> SessionStore:
        store: SessionStore
        if kind == "memory":
            store = MemoryStore(clock=clock, **options)
        elif kind == "sqlite":
            store = SqliteStore(tmp_path / "state.db", clock=clock, **options)
        else:
            store = RedisStore(url, prefix=prefix, clock=clock, **options)
        opened.append(store)
        return store

    factory.kind = kind  # type: ignore[attr-defined]
    yield factory
    for store in opened:
        await store.close()


@pytest.fixture
def inbox(make: Factory) -> Inbox:
    return make().inbox


async def test_add_records_in_arrival_order(inbox: Inbox) -> None:
    assert isinstance(inbox, Inbox)
    first = await inbox.add("tg:1", "tg:chat", MESSAGE)
    second = await inbox.add("tg:2", "tg:chat", {"text": "two"})
    assert first is not None and second is not None
    assert first.seq < second.seq and first.attempts == 0 and first.progress == {}
    assert first.message == MESSAGE and first.conversation == "tg:chat"
    assert [e.id for e in await inbox.pending()] == ["tg:1", "tg:2"]


async def test_the_same_id_is_recorded_once(inbox: Inbox, clock: FakeClock) -> None:
    assert await inbox.add("tg:1", "c", MESSAGE) is not None
    assert await inbox.add("tg:1", "c", MESSAGE) is None, "pending: a redelivery"
    await inbox.finish("tg:1")
    assert await inbox.add("tg:1", "c", MESSAGE) is None, "answered moments ago: a redelivery"
    assert await inbox.pending() == []


async def test_the_dedup_window_ends(make: Factory, clock: FakeClock) -> None:
    inbox = make(dedup_ttl=1.0).inbox
    await inbox.add("a:1", "c", MESSAGE)
    await inbox.finish("a:1")
    if make.kind == "redis":  # type: ignore[attr-defined]
        await asyncio.sleep(1.2)  # Redis ends the window by its own expiry
    else:
        clock.advance(1.5)
    again = await inbox.add("a:1", "c", MESSAGE)
    assert again is not None and [e.id for e in await inbox.pending()] == ["a:1"]


async def test_pending_by_prefix(inbox: Inbox) -> None:
    for i, name in enumerate(["tg:1", "dc:1", "tg:2", "tg2:1"]):
        await inbox.add(name, f"conv{i}", MESSAGE)
    assert [e.id for e in await inbox.pending("tg:")] == ["tg:1", "tg:2"]
    assert len(await inbox.pending()) == 4


async def test_begin_counts_and_update_replaces(inbox: Inbox) -> None:
    await inbox.add("a:1", "c", MESSAGE)
    assert await inbox.begin("a:1") == 1
    assert await inbox.begin("a:1") == 2
    progress: dict[str, Any] = {"refs": [{"chat": "1", "id": "9"}]}
    await inbox.update("a:1", progress)
    progress["refs"].append("changed later")
    (entry,) = await inbox.pending()
    assert entry.attempts == 2 and entry.progress == {"refs": [{"chat": "1", "id": "9"}]}
    await inbox.update("a:1", {"final": {"text": "answer"}})
    (entry,) = await inbox.pending()
    assert entry.progress == {"final": {"text": "answer"}} and entry.attempts == 2


async def test_unknown_and_finished_ids_are_no_errors(inbox: Inbox) -> None:
    assert await inbox.begin("nope") == 0
    await inbox.update("nope", {"x": 1})
    await inbox.finish("nope")
    await inbox.add("a:1", "c", MESSAGE)
    await inbox.finish("a:1")
    await inbox.finish("a:1")
    assert await inbox.begin("a:1") == 0
    await inbox.update("a:1", {"x": 1})
    assert await inbox.pending() == []


async def test_too_large_is_refused_and_nothing_recorded(make: Factory) -> None:
    inbox = make(max_value_bytes=2000).inbox
    with pytest.raises(ValueTooLarge):
        await inbox.add("a:1", "c", {"text": "x" * 5000})
    assert await inbox.pending() == []
    assert await inbox.add("a:1", "c", {"text": "fits"}) is not None


async def test_concurrent_adds_get_unique_seqs(inbox: Inbox) -> None:
    entries = await asyncio.gather(*(inbox.add(f"a:{i}", f"c{i % 7}", MESSAGE) for i in range(200)))
    seqs = [e.seq for e in entries if e is not None]
    assert len(set(seqs)) == 200
    assert len(await inbox.pending()) == 200


async def test_closed_store_refuses(make: Factory) -> None:
    store = make()
    await store.close()
    with pytest.raises(StoreError):
        await store.inbox.add("a:1", "c", MESSAGE)
    with pytest.raises(StoreError):
        await store.inbox.pending()


async def test_entries_survive_a_reopen(make: Factory) -> None:
    store = make()
    await store.inbox.add("a:1", "c", MESSAGE)
    await store.inbox.begin("a:1")
    await store.close()
    again = make().inbox
    if make.kind == "memory":  # type: ignore[attr-defined]
        assert await again.pending() == []
        return
    (entry,) = await again.pending()
    assert entry.id == "a:1" and entry.attempts == 1 and entry.message == MESSAGE
    assert await again.add("a:1", "c", MESSAGE) is None


# --- Redis only ------------------------------------------------------------------------------------


async def test_two_processes_racing_on_one_id_record_it_once(redis_url: str, redis_prefix: str) -> None:
    a, b = RedisStore(redis_url, prefix=redis_prefix), RedisStore(redis_url, prefix=redis_prefix)
    try:
        results = await asyncio.gather(
            *(s.inbox.add(f"tg:{i}", "c", MESSAGE) for i in range(50) for s in (a, b))
        )
        assert sum(r is not None for r in results) == 50
        seqs = [e.seq for e in await a.inbox.pending()]
        assert seqs == sorted(seqs) and len(set(seqs)) == 50
    finally:
        await a.close()
        await b.close()


async def test_a_redis_outage_is_an_error_then_heals(tmp_path: Path) -> None:
    port = free_port()
    started = start_server(tmp_path, port)
    assert started is not None, "redis-server is needed for this test"
    proc, _ = started
    store = RedisStore(f"redis://127.0.0.1:{port}/0")
    try:
        await store.inbox.add("a:1", "c", MESSAGE)
        proc.terminate()
        proc.wait(timeout=10)
        with pytest.raises(StoreError, match=f"127.0.0.1:{port}"):
            await store.inbox.add("a:2", "c", MESSAGE)
        started = start_server(tmp_path, port)
        assert started is not None
        proc, _ = started
        assert await store.inbox.add("a:2", "c", MESSAGE) is not None
    finally:
        await store.close()
        proc.terminate()
        proc.wait(timeout=10)


# --- SQLite only -----------------------------------------------------------------------------------


async def test_a_version_1_file_gains_the_inbox(tmp_path: Path) -> None:
    path = tmp_path / "old.db"
    conn = sqlite3.connect(path)
    conn.executescript(
        "CREATE TABLE kv (key TEXT PRIMARY KEY, value TEXT NOT NULL, expires_at REAL, "
        "updated_at REAL NOT NULL, seq INTEGER NOT NULL);"
        "CREATE INDEX kv_seq ON kv (seq);"
        """INSERT INTO kv VALUES ('conv:x', '{"a":1}', NULL, 1.0, 1);"""
        "PRAGMA user_version = 1;"
    )
    conn.close()
    store = SqliteStore(path)
    try:
        assert await store.get("conv:x") == {"a": 1}
        assert await store.inbox.add("a:1", "c", MESSAGE) is not None
    finally:
        await store.close()
    assert sqlite3.connect(path).execute("PRAGMA user_version").fetchone()[0] == 2


async def test_an_add_survives_the_process_being_killed(tmp_path: Path) -> None:
    path = tmp_path / "state.db"
    script = f"""
import asyncio, os, signal
from bridge.sessions import SqliteStore
async def main():
    store = SqliteStore({str(path)!r})
    await store.inbox.add("tg:42", "tg:chat", {{"text": "kept"}})
    print("added", flush=True)
    os.kill(os.getpid(), signal.SIGKILL)
asyncio.run(main())
"""
    out = subprocess.run(
        [sys.executable, "-c", script], check=False, capture_output=True, text=True, timeout=60
    )
    assert out.stdout.strip() == "added" and out.returncode == -9
    store = SqliteStore(path)
    try:
        (entry,) = await store.inbox.pending()
        assert entry.id == "tg:42" and entry.message == {"text": "kept"}
    finally:
        await store.close()
