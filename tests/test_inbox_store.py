"""The inbox contract (:mod:`bridge.sessions.inbox`), run against every store; then what only SQLite or
Redis promise: migration and durability of the file, atomicity across processes and outages."""

from __future__ import annotations

import asyncio
import json
import math
import shutil
import sqlite3
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import redis

from bridge.sessions import MemoryStore, RedisStore, SessionStore, SqliteStore, StoreError, ValueTooLarge
from bridge.sessions.inbox import Inbox, InboxEntry
from bridge.sessions.redis_db import EXPIRY_GRACE, GROUP, stream_of
from bridge.sessions.sqlite import SCHEMA_VERSION
from tests import test_stores
from tests.redis_server import (  # the fixtures register by being imported
    free_port,
    redis_prefix_fixture,  # noqa: F401
    redis_url_fixture,  # noqa: F401
    start_server,
)
from tests.test_stores import START, Factory, FakeClock

# The store contract's fixtures: ``make`` builds stores of each kind, all on the fake ``clock``.
clock = test_stores.clock
make = test_stores.make

ROOT = Path(__file__).resolve().parent.parent
TTL = 100.0  # the dedup window of the contract tests


def size(entry: InboxEntry) -> int:
    """The bytes of an entry's compact UTF-8 JSON, the measure of ``max_value_bytes``."""
    text = json.dumps(entry.to_dict(), ensure_ascii=False, separators=(",", ":"))
    return len(text.encode())


def ids(entries: list[InboxEntry]) -> list[str]:
    return [e.id for e in entries]


@pytest.fixture
def store(make: Factory) -> SessionStore:
    return make(dedup_ttl=TTL)


@pytest.fixture
def inbox(store: SessionStore) -> Inbox:
    return store.inbox


# --- the contract --------------------------------------------------------------------------------


async def test_every_store_has_an_inbox(store: SessionStore) -> None:
    assert isinstance(store, SessionStore)
    assert isinstance(store.inbox, Inbox)


async def test_add_returns_entries_with_increasing_seq(inbox: Inbox, clock: FakeClock) -> None:
    first = await inbox.add("tg:1", "tg:chat:5", {"text": "hello", "n": [1, 2]})
    clock.advance(1)
    second = await inbox.add("tg:2", "tg:chat:6", {"text": "again"})
    third = await inbox.add("dc:9", "tg:chat:5", {})
    assert first == InboxEntry("tg:1", "tg:chat:5", first.seq, {"text": "hello", "n": [1, 2]}, START)
    assert second is not None and third is not None
    assert (second.received_at, second.progress, second.attempts) == (START + 1, {}, 0)
    assert 0 < first.seq < second.seq < third.seq
    assert await inbox.pending() == [first, second, third]


async def test_entries_are_json_copies(inbox: Inbox) -> None:
    message: dict[str, Any] = {"text": "hi", "pair": (1, 2), "files": [{"path": "/a"}]}
    entry = await inbox.add("tg:1", "c", message)
    assert entry is not None and entry.message == {"text": "hi", "pair": [1, 2], "files": [{"path": "/a"}]}
    message["files"].append({"path": "/changed"})
    entry.message["text"] = "changed too"
    [stored] = await inbox.pending()
    assert stored.message == {"text": "hi", "pair": [1, 2], "files": [{"path": "/a"}]}
    stored.message.clear()
    assert (await inbox.pending())[0].message["text"] == "hi"


async def test_a_pending_id_is_refused(inbox: Inbox) -> None:
    entry = await inbox.add("tg:1", "c", {"text": "first"})
    assert await inbox.add("tg:1", "c", {"text": "delivered again"}) is None
    assert await inbox.add("tg:1", "other", {}) is None
    assert await inbox.pending() == [entry]


async def test_a_finished_id_is_refused_for_the_dedup_window(inbox: Inbox, clock: FakeClock) -> None:
    first = await inbox.add("tg:1", "c", {"v": 1})
    clock.advance(50)
    await inbox.finish("tg:1")  # the window starts at the finish, not at the add
    clock.advance(TTL - 0.01)
    assert await inbox.add("tg:1", "c", {"v": 2}) is None
    assert await inbox.pending() == []
    clock.advance(0.01)  # over at the instant
    again = await inbox.add("tg:1", "c", {"v": 3})
    assert first is not None and again is not None
    assert again.seq > first.seq and again.message == {"v": 3} and again.received_at == START + 50 + TTL
    assert await inbox.pending() == [again]
    assert await inbox.add("tg:1", "c", {}) is None  # pending again


async def test_pending_by_id_prefix_in_seq_order(inbox: Inbox) -> None:
    for id in ["tg:2", "dc:1", "tg:1", "tg:10", "tgx:1", "TG:3", "a_b", "axb", "a%b"]:
        await inbox.add(id, "c", {"id": id})
    assert ids(await inbox.pending("tg:")) == ["tg:2", "tg:1", "tg:10"]
    assert ids(await inbox.pending("tg")) == ["tg:2", "tg:1", "tg:10", "tgx:1"]
    assert ids(await inbox.pending("a_")) == ["a_b"]  # literal, case-sensitive
    assert ids(await inbox.pending("a%")) == ["a%b"]
    assert await inbox.pending("nothing") == []
    everything = await inbox.pending()
    assert ids(everything) == ["tg:2", "dc:1", "tg:1", "tg:10", "tgx:1", "TG:3", "a_b", "axb", "a%b"]
    assert [e.seq for e in everything] == sorted(e.seq for e in everything)
    await inbox.finish("tg:1")
    assert ids(await inbox.pending("tg:")) == ["tg:2", "tg:10"]


async def test_begin_counts_attempts(inbox: Inbox) -> None:
    assert await inbox.begin("unknown") == 0
    await inbox.add("tg:1", "c", {})
    assert await inbox.begin("tg:1") == 1
    assert await inbox.begin("tg:1") == 2
    assert [e.attempts for e in await inbox.pending()] == [2]
    await inbox.finish("tg:1")
    assert await inbox.begin("tg:1") == 0
    assert await inbox.pending() == []


async def test_update_replaces_progress(inbox: Inbox) -> None:
    await inbox.add("tg:1", "c", {"text": "q"})
    progress: dict[str, Any] = {"sent": ["m1"], "text": "partial"}
    await inbox.update("tg:1", progress)
    progress["sent"].append("changed after update")
    [entry] = await inbox.pending()
    assert entry.progress == {"sent": ["m1"], "text": "partial"}
    entry.progress.clear()
    await inbox.update("tg:1", {"sent": ["m1", "m2"]})  # replaced, not merged
    assert (await inbox.pending())[0].progress == {"sent": ["m1", "m2"]}
    assert await inbox.begin("tg:1") == 1  # attempts and progress keep each other
    assert (await inbox.pending())[0].progress == {"sent": ["m1", "m2"]}
    await inbox.update("tg:1", {"pair": (1, 2)})
    [entry] = await inbox.pending()
    assert (entry.progress, entry.attempts, entry.message) == ({"pair": [1, 2]}, 1, {"text": "q"})


async def test_update_of_an_id_not_pending_does_nothing(inbox: Inbox) -> None:
    await inbox.update("unknown", {"sent": 1})
    assert await inbox.pending() == []
    assert await inbox.add("unknown", "c", {}) is not None  # no entry was made, no window started
    await inbox.finish("unknown")
    await inbox.update("unknown", {"sent": 1})
    assert await inbox.pending() == []


async def test_finish_twice_or_unknown_is_fine(inbox: Inbox, clock: FakeClock) -> None:
    await inbox.finish("never-added")
    assert await inbox.add("never-added", "c", {}) is not None  # finishing an unknown id refuses nothing
    await inbox.add("tg:1", "c", {})
    await inbox.finish("tg:1")
    clock.advance(TTL / 2)
    await inbox.finish("tg:1")  # does not move the window
    clock.advance(TTL / 2)
    assert await inbox.add("tg:1", "c", {}) is not None
    assert ids(await inbox.pending()) == ["never-added", "tg:1"]


async def test_oversize_entries_are_refused(make: Factory) -> None:
    limit = 300
    inbox = make(max_value_bytes=limit, dedup_ttl=TTL).inbox
    fill = limit - size(InboxEntry("tg:1", "c", 1, {"t": ""}, START))
    with pytest.raises(ValueTooLarge) as caught:
        await inbox.add("tg:1", "c", {"t": "x" * (fill + 1)})
    assert (caught.value.size, caught.value.limit) == (limit + 1, limit)
    assert "tg:1" in str(caught.value)
    assert await inbox.pending() == []
    assert await inbox.begin("tg:1") == 0
    entry = await inbox.add("tg:1", "c", {"t": "x" * fill})  # nothing was recorded: not a duplicate
    assert entry is not None and size(entry) == limit and entry.seq == 1

    small = await inbox.add("tg:2", "c", {"t": "é"})  # counted in UTF-8 bytes
    assert small is not None
    room = limit - size(small)
    with pytest.raises(ValueTooLarge) as caught:  # {"p":"…"} replaces {}: 6 more bytes and the text
        await inbox.update("tg:2", {"p": "é" * ((room - 6) // 2 + 1)})
    assert caught.value.size > limit
    await inbox.update("tg:2", {"p": "y" * (room - 6)})  # exactly at the limit
    [_, stored] = await inbox.pending()
    assert stored.progress == {"p": "y" * (room - 6)} and size(stored) == limit
    with pytest.raises(ValueTooLarge):
        await inbox.update("tg:2", {"p": "y" * (room - 5)})
    assert (await inbox.pending())[1].progress == {"p": "y" * (room - 6)}

    for n in range(3, 10):
        await inbox.add(f"tg:{n}", "c", {})
    with pytest.raises(ValueTooLarge) as caught:  # the seq is part of the entry: "10" is one byte more
        await inbox.add("tg:a", "c", {"t": "x" * fill})
    assert caught.value.size == limit + 1
    entry = await inbox.add("tg:a", "c", {"t": "x" * (fill - 1)})
    assert entry is not None and entry.seq == 10 and size(entry) == limit
    for attempt in range(1, 10):
        assert await inbox.begin("tg:a") == attempt
    with pytest.raises(ValueTooLarge):  # attempts are part of it too: "10" would be over
        await inbox.begin("tg:a")
    assert [e.attempts for e in await inbox.pending("tg:a")] == [9]


@pytest.mark.parametrize(
    "value",
    [{"s": {1, 2}}, {"o": object()}, {"f": math.nan}, {"b": b"bytes"}],
    ids=["set", "object", "nan", "bytes"],
)
async def test_non_json_is_refused(inbox: Inbox, value: dict[str, Any]) -> None:
    with pytest.raises(StoreError, match="not JSON"):
        await inbox.add("tg:1", "c", value)
    assert await inbox.pending() == []
    await inbox.add("tg:1", "c", {"v": "ok"})
    with pytest.raises(StoreError, match="not JSON"):
        await inbox.update("tg:1", value)
    with pytest.raises(StoreError, match="must be a dict"):
        await inbox.add("tg:2", "c", ["a", "list"])  # type: ignore[arg-type]
    with pytest.raises(StoreError, match="must be a dict"):
        await inbox.update("tg:1", ["a", "list"])  # type: ignore[arg-type]
    [entry] = await inbox.pending()
    assert (entry.id, entry.message, entry.progress) == ("tg:1", {"v": "ok"}, {})


async def test_closed_store_refuses_inbox_work(store: SessionStore) -> None:
    await store.inbox.add("tg:1", "c", {})
    await store.close()
    for op in (
        store.inbox.add("tg:2", "c", {}),
        store.inbox.pending(),
        store.inbox.begin("tg:1"),
        store.inbox.update("tg:1", {}),
        store.inbox.finish("tg:1"),
    ):
        with pytest.raises(StoreError, match="closed"):
            await op


async def test_concurrent_adds_all_land(inbox: Inbox) -> None:
    added = await asyncio.gather(*(inbox.add(f"tg:{i:03}", f"c{i % 7}", {"i": i}) for i in range(200)))
    entries = [e for e in added if e is not None]
    assert len(entries) == 200 and len({e.seq for e in entries}) == 200
    pending = await inbox.pending()
    assert sorted(ids(pending)) == [f"tg:{i:03}" for i in range(200)]
    assert pending == sorted(entries, key=lambda e: e.seq)


async def test_concurrent_adds_of_one_id_make_one_entry(inbox: Inbox) -> None:
    added = await asyncio.gather(*(inbox.add("tg:1", "c", {"try": i}) for i in range(50)))
    winners = [e for e in added if e is not None]
    assert len(winners) == 1
    assert await inbox.pending() == winners


async def test_unicode_ids_and_conversations(inbox: Inbox, clock: FakeClock) -> None:
    id, conversation = "tg:日本語:🎉", "dc:Ünïcode ✓:💬"
    entry = await inbox.add(id, conversation, {"text": "héllo 🎉", "日本": ["✓"]})
    assert entry is not None and (entry.id, entry.conversation) == (id, conversation)
    await inbox.add("tg:日本人:1", conversation, {})
    assert ids(await inbox.pending("tg:日本語")) == [id]
    assert ids(await inbox.pending("tg:日本")) == [id, "tg:日本人:1"]
    await inbox.update(id, {"sent": "✓ 💬"})
    assert await inbox.begin(id) == 1
    [stored, _] = await inbox.pending()
    assert (stored.message, stored.progress) == ({"text": "héllo 🎉", "日本": ["✓"]}, {"sent": "✓ 💬"})
    await inbox.finish(id)
    assert await inbox.add(id, conversation, {}) is None
    clock.advance(TTL)
    assert await inbox.add(id, conversation, {}) is not None


async def test_entries_and_windows_survive_a_reopen(make: Factory, clock: FakeClock) -> None:
    first = make(dedup_ttl=TTL)
    kept = await first.inbox.add("tg:1", "c", {"text": "unanswered"})
    await first.inbox.begin("tg:1")
    await first.inbox.update("tg:1", {"sent": ["m1"]})
    done = await first.inbox.add("tg:2", "c", {})
    await first.inbox.finish("tg:2")
    await first.close()

    second = make(dedup_ttl=TTL)
    pending = await second.inbox.pending()
    if isinstance(second, MemoryStore):  # nothing outlives the process (here: the store)
        assert pending == []
        return
    assert kept is not None and done is not None
    assert pending == [InboxEntry("tg:1", "c", kept.seq, {"text": "unanswered"}, START, {"sent": ["m1"]}, 1)]
    assert await second.inbox.add("tg:2", "c", {}) is None  # the window is stored too
    assert await second.inbox.add("tg:1", "c", {}) is None
    await second.inbox.finish("tg:1")
    third = await second.inbox.add("tg:3", "c", {})  # seqs go on increasing, none is reused
    assert third is not None and third.seq > done.seq
    clock.advance(TTL)
    assert await second.inbox.add("tg:2", "c", {}) is not None


@pytest.mark.parametrize("dedup_ttl", [0, -1, math.nan, math.inf])
def test_bad_dedup_ttl_is_refused(tmp_path: Path, dedup_ttl: float) -> None:
    for kind in (
        MemoryStore,
        lambda **kw: SqliteStore(tmp_path / "x.db", **kw),
        lambda **kw: RedisStore("redis://127.0.0.1:1/0", **kw),  # never connects
    ):
        with pytest.raises(ValueError, match="dedup_ttl"):
            kind(dedup_ttl=dedup_ttl)


# --- SQLite only ---------------------------------------------------------------------------------

VERSION_1 = (  # the schema as bridges before the inbox wrote it
    "CREATE TABLE kv (key TEXT PRIMARY KEY, value TEXT NOT NULL, expires_at REAL, "
    "updated_at REAL NOT NULL, seq INTEGER NOT NULL)",
    "CREATE INDEX kv_seq ON kv (seq)",
    "CREATE INDEX kv_expires_at ON kv (expires_at) WHERE expires_at IS NOT NULL",
    "INSERT INTO kv VALUES ('session:tg:1', '{\"turns\":3}', NULL, 1700000000.0, 7)",
    "PRAGMA user_version = 1",
)


def tables(path: Path) -> tuple[int, list[str]]:
    with sqlite3.connect(path) as conn:
        version = conn.execute("PRAGMA user_version").fetchone()[0]
        names = [r[0] for r in conn.execute("SELECT name FROM sqlite_master WHERE type = 'table'")]
    conn.close()
    return version, sorted(n for n in names if not n.startswith("sqlite_"))


async def test_sqlite_version_1_file_gains_the_inbox(tmp_path: Path, clock: FakeClock) -> None:
    path = tmp_path / "bridge-state.db"
    with sqlite3.connect(path) as conn:
        for statement in VERSION_1:
            conn.execute(statement)
    conn.close()
    store = SqliteStore(path, clock=clock)
    try:
        assert await store.get("session:tg:1") == {"turns": 3}
        entry = await store.inbox.add("tg:1", "c", {"text": "q"})
        assert entry is not None and entry.seq == 1
        await store.put("session:tg:2", {})
        assert await store.keys() == ["session:tg:1", "session:tg:2"]
    finally:
        await store.close()
    assert (
        tables(path) == (SCHEMA_VERSION, ["inbox", "inbox_done", "kv"]) == (2, ["inbox", "inbox_done", "kv"])
    )
    reopened = SqliteStore(path, clock=clock)  # version 2 opens as it is
    try:
        assert ids(await reopened.inbox.pending()) == ["tg:1"]
        assert await reopened.get("session:tg:1") == {"turns": 3}
    finally:
        await reopened.close()


async def test_sqlite_two_openers_migrate_once(tmp_path: Path) -> None:
    path = tmp_path / "bridge-state.db"
    with sqlite3.connect(path) as conn:
        for statement in VERSION_1:
            conn.execute(statement)
    conn.close()
    stores = [SqliteStore(path) for _ in range(3)]  # each opens (and migrates) on its own thread
    try:
        await asyncio.gather(*(s.ping() for s in stores))
        assert all([await s.get("session:tg:1") == {"turns": 3} for s in stores])
    finally:
        for store in stores:
            await store.close()
    assert tables(path) == (2, ["inbox", "inbox_done", "kv"])


async def test_sqlite_newer_file_refuses_the_inbox_too(tmp_path: Path) -> None:
    path = tmp_path / "state.db"
    with sqlite3.connect(path) as conn:
        conn.execute(f"PRAGMA user_version = {SCHEMA_VERSION + 1}")
    conn.close()
    store = SqliteStore(path)
    try:
        with pytest.raises(
            StoreError, match=f"newer bridge \\(schema {SCHEMA_VERSION + 1}, this one knows 2\\)"
        ):
            await store.inbox.add("tg:1", "c", {})
        with pytest.raises(StoreError, match="newer bridge"):
            await store.inbox.pending()
    finally:
        await store.close()
    assert tables(path) == (SCHEMA_VERSION + 1, [])  # left as it was


CHILD = """
import asyncio, sys
from bridge.sessions import SqliteStore

async def main():
    store = SqliteStore(sys.argv[1])
    await store.inbox.add("tg:1", "tg:chat:5", {"text": "héllo"})
    await store.inbox.add("tg:2", "tg:chat:5", {"text": "answered"})
    await store.inbox.begin("tg:1")
    await store.inbox.update("tg:1", {"sent": ["m1"]})
    await store.inbox.finish("tg:2")
    await store.inbox.add("tg:3", "tg:chat:6", {"text": "last"})
    print("added", flush=True)
    sys.stdin.read()  # killed here, before any close

asyncio.run(main())
"""


async def test_sqlite_entries_survive_a_killed_process(tmp_path: Path) -> None:
    path = tmp_path / "state.db"
    child = subprocess.Popen(
        [sys.executable, "-c", CHILD, str(path)],
        cwd=ROOT,
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        assert child.stdout is not None
        line = child.stdout.readline()
    finally:
        child.kill()  # SIGKILL: no close, no checkpoint
        _, stderr = child.communicate(timeout=30)
    assert line == "added\n", stderr
    assert (path.parent / "state.db-wal").exists()  # the commits sit in the WAL, not yet checkpointed
    store = SqliteStore(path)
    try:
        pending = await store.inbox.pending()
        assert [(e.id, e.message, e.progress, e.attempts) for e in pending] == [
            ("tg:1", {"text": "héllo"}, {"sent": ["m1"]}, 1),
            ("tg:3", {"text": "last"}, {}, 0),
        ]
        assert await store.inbox.add("tg:2", "tg:chat:5", {}) is None  # its window survived too
    finally:
        await store.close()


async def test_sqlite_forgets_finished_ids_after_their_window(tmp_path: Path, clock: FakeClock) -> None:
    path = tmp_path / "state.db"
    store = SqliteStore(path, clock=clock, dedup_ttl=10)
    for id in ("a", "b"):
        await store.inbox.add(id, "c", {})
    await store.inbox.finish("a")
    clock.advance(5)
    await store.inbox.finish("b")
    await store.close()
    clock.advance(5)  # a's window is over, b's is not
    reopened = SqliteStore(path, clock=clock, dedup_ttl=10)  # opening purges
    await reopened.ping()
    await reopened.close()
    with sqlite3.connect(path) as conn:
        assert conn.execute("SELECT id, until FROM inbox_done").fetchall() == [("b", START + 15)]
    conn.close()


# --- Redis only ----------------------------------------------------------------------------------


@pytest.fixture
def raw(redis_url: str) -> Iterator[redis.Redis]:
    """A plain client on the tests' Redis, to look behind the store's back."""
    with redis.Redis.from_url(redis_url, decode_responses=True) as client:
        yield client


async def test_redis_two_processes_race_on_one_id(redis_url: str, redis_prefix: str) -> None:
    # Two stores on one Redis and prefix are two bridge processes.
    first = RedisStore(redis_url, prefix=redis_prefix)
    second = RedisStore(redis_url, prefix=redis_prefix)
    try:
        for round in range(20):
            added = await asyncio.gather(
                first.inbox.add(f"tg:{round}", "c", {"by": 1}),
                second.inbox.add(f"tg:{round}", "c", {"by": 2}),
            )
            assert sum(e is not None for e in added) == 1, added
        mixed = await asyncio.gather(
            *((first if i % 2 else second).inbox.add(f"dc:{i}", "c", {"i": i}) for i in range(100))
        )
        entries = [e for e in mixed if e is not None]
        assert len(entries) == 100 and len({e.seq for e in entries}) == 100
        seen_by_first, seen_by_second = await first.inbox.pending(), await second.inbox.pending()
        assert seen_by_first == seen_by_second and len(seen_by_first) == 120
        assert [e.seq for e in seen_by_first] == sorted({e.seq for e in seen_by_first})
        assert sorted(e.seq for e in await first.inbox.pending("dc:")) == sorted(e.seq for e in entries)
        await first.inbox.finish("tg:0")
        assert await second.inbox.add("tg:0", "c", {}) is None  # one dedup window for both
        assert await second.inbox.begin("dc:1") == 1 and await first.inbox.begin("dc:1") == 2
    finally:
        await first.close()
        await second.close()


async def test_redis_inbox_layout(
    redis_url: str, redis_prefix: str, clock: FakeClock, raw: redis.Redis
) -> None:
    p = redis_prefix
    store = RedisStore(redis_url, prefix=p, clock=clock, dedup_ttl=TTL)
    try:
        entry = await store.inbox.add("tg:1", "c", {"text": "q"})
        await store.inbox.update("tg:1", {"sent": 1})
        await store.inbox.begin("tg:1")
        assert entry is not None
        q = stream_of(p, "tg:1", "c", store.partitions)  # the partition the entry is handed out from
        assert set(raw.scan_iter(match=p + "*")) == {
            p + "inbox:e:tg:1",
            p + "inbox:pending",
            p + "inbox:seq",
            q,
        }
        assert [fields["id"] for _, fields in raw.xrange(q)] == ["tg:1"]
        fields = raw.hgetall(p + "inbox:e:tg:1")
        assert (fields["seq"], fields["attempts"], fields["progress"]) == (str(entry.seq), "1", '{"sent":1}')
        assert json.loads(fields["entry"])["message"] == {"text": "q"}
        assert raw.zrange(p + "inbox:pending", 0, -1, withscores=True) == [("tg:1", entry.seq)]
        assert raw.pttl(p + "inbox:e:tg:1") == -1  # pending entries never expire
        await store.inbox.finish("tg:1")
        assert set(raw.scan_iter(match=p + "*")) == {p + "inbox:done:tg:1", p + "inbox:seq", q}
        assert raw.xlen(q) == 0 and raw.xpending(q, GROUP)["pending"] == 0  # acknowledged and deleted
        assert float(raw.get(p + "inbox:done:tg:1")) == START + TTL  # by the store's clock
        window_ms = (TTL + EXPIRY_GRACE) * 1000
        assert window_ms - 5000 < raw.pttl(p + "inbox:done:tg:1") <= window_ms  # and Redis' own TTL
        clock.advance(TTL)
        await store.inbox.add("tg:1", "c", {})
        assert raw.exists(p + "inbox:done:tg:1") == 0  # a new entry replaces the old window
    finally:
        await store.close()


async def test_redis_entries_lost_behind_the_store_are_dropped(
    redis_url: str, redis_prefix: str, raw: redis.Redis
) -> None:
    store = RedisStore(redis_url, prefix=redis_prefix)
    try:
        await store.inbox.add("a", "c", {})
        await store.inbox.add("b", "c", {})
        raw.delete(redis_prefix + "inbox:e:a")  # maxmemory eviction, an operator
        assert ids(await store.inbox.pending()) == ["b"]
        assert raw.zrange(redis_prefix + "inbox:pending", 0, -1) == ["b"]
        raw.hset(redis_prefix + "inbox:e:b", "entry", "not an entry")
        with pytest.raises(StoreError, match="damaged"):
            await store.inbox.pending()
    finally:
        await store.close()


async def test_unreachable_redis_inbox_is_named_without_its_password() -> None:
    port = free_port()
    store = RedisStore(f"redis://:s3cret@127.0.0.1:{port}/3")
    try:
        inbox = store.inbox
        for op in (
            inbox.add("a", "c", {}),
            inbox.pending(),
            inbox.begin("a"),
            inbox.update("a", {}),
            inbox.finish("a"),
        ):
            with pytest.raises(StoreError) as caught:
                await op
            assert f"the Redis state store at redis://127.0.0.1:{port}/3 is unreachable" in str(caught.value)
            assert "s3cret" not in str(caught.value)
    finally:
        await store.close()


async def test_redis_inbox_through_an_outage(tmp_path: Path) -> None:
    if shutil.which("redis-server") is None:
        pytest.skip("redis-server is not on PATH")
    started = start_server(tmp_path)
    assert started is not None, "redis-server did not start"
    proc, port = started
    store = RedisStore(f"redis://127.0.0.1:{port}/0")
    try:
        assert await store.inbox.add("tg:1", "c", {}) is not None
        proc.terminate()
        proc.wait(timeout=10)
        for op in (store.inbox.add("tg:2", "c", {}), store.inbox.pending(), store.inbox.finish("tg:1")):
            with pytest.raises(StoreError, match=f"redis://127.0.0.1:{port}/0 is unreachable"):
                await op
        restarted = start_server(tmp_path, port)  # without persistence: an empty server
        assert restarted is not None, "redis-server did not restart"
        proc = restarted[0]
        entry = await store.inbox.add("tg:2", "c", {})  # the same store reconnects (and reloads scripts)
        assert entry is not None and await store.inbox.pending() == [entry]
        assert await store.inbox.begin("tg:2") == 1
    finally:
        await store.close()
        if proc.poll() is None:
            proc.terminate()
            proc.wait(timeout=10)
