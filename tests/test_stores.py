"""The session-store contract, run against every store; then what only the SQLite store promises."""

from __future__ import annotations

import asyncio
import json
import math
import sqlite3
from collections.abc import AsyncIterator, Callable
from pathlib import Path
from typing import Any

import pytest

from bridge.errors import BridgeError, ConfigError
from bridge.sessions import MemoryStore, SessionStore, SqliteStore, StoreError, ValueTooLarge, open_store

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


@pytest.fixture(params=["memory", "sqlite"])
async def make(request: pytest.FixtureRequest, tmp_path: Path, clock: FakeClock) -> AsyncIterator[Factory]:
    """Builds stores of the parametrized kind (all on one file for sqlite); closes them afterwards."""
    opened: list[SessionStore] = []

    def factory(**options: Any) -> SessionStore:
        store: SessionStore
        if request.param == "memory":
            store = MemoryStore(clock=clock, **options)
        else:
            store = SqliteStore(tmp_path / "state.db", clock=clock, **options)
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
    for kind in (MemoryStore, lambda **kw: SqliteStore(tmp_path / "x.db", **kw)):
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
        assert conn.execute("PRAGMA user_version").fetchone()[0] == 1
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


@pytest.mark.parametrize("url", ["redis://localhost:6379/0", "rediss://:s3cret@cache:6380/1", "REDIS://h"])
def test_open_redis_is_not_available_yet(url: str) -> None:
    with pytest.raises(ConfigError) as caught:
        open_store(url)
    assert "redis:// state stores are not available in this version; use sqlite:///PATH or memory://" in str(
        caught.value
    )
    assert "s3cret" not in str(caught.value)


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
