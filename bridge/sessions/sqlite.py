"""The embedded default session store: one SQLite file that survives restarts.

One connection lives on one dedicated worker thread; every operation is a job on that thread, so
operations are serialised and the event loop never waits on disk. The file uses WAL journaling with
``synchronous=NORMAL``: a crash of the process loses nothing committed, a power cut may lose the
last writes. The file is meant for one bridge process at a time (use a shared store for replicas).

Schema (``PRAGMA user_version`` = 2; a file of an older version is migrated as it opens)::

    kv(key TEXT PRIMARY KEY, value TEXT NOT NULL, expires_at REAL, updated_at REAL NOT NULL,
       seq INTEGER NOT NULL)
    inbox(…), inbox_done(…)  the inbox, since version 2 (see :mod:`bridge.sessions.sqlite_inbox`)

``seq`` is a write counter that orders eviction: it keeps write order exact when the clock stands
still (tests) or steps back (NTP), which ``updated_at`` alone would not. Expired rows are invisible
at once and deleted every ``PURGE_EVERY`` writes, when the bound is crossed, and on open (finished
inbox ids whose dedup window has ended too).
"""

from __future__ import annotations

import asyncio
import os
import sqlite3
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any, TypeVar

from bridge.sessions.base import PURGE_EVERY, StoreError, check_options, decode, encode, expiry
from bridge.sessions.inbox import DEDUP_TTL, Inbox
from bridge.sessions.sqlite_db import transaction
from bridge.sessions.sqlite_inbox import SqliteInbox, expire_finished

T = TypeVar("T")

SCHEMA_VERSION = 2
# The statements that bring a file of version N - 1 to version N.
_MIGRATIONS: dict[int, tuple[str, ...]] = {
    1: (
        "CREATE TABLE kv (key TEXT PRIMARY KEY, value TEXT NOT NULL, expires_at REAL, "
        "updated_at REAL NOT NULL, seq INTEGER NOT NULL)",
        "CREATE INDEX kv_seq ON kv (seq)",
        "CREATE INDEX kv_expires_at ON kv (expires_at) WHERE expires_at IS NOT NULL",
    ),
    2: (
        "CREATE TABLE inbox (seq INTEGER PRIMARY KEY AUTOINCREMENT, id TEXT NOT NULL UNIQUE, "
        "conversation TEXT NOT NULL, message TEXT NOT NULL, received_at REAL NOT NULL, "
        "progress TEXT NOT NULL, attempts INTEGER NOT NULL)",
        "CREATE TABLE inbox_done (id TEXT PRIMARY KEY, until REAL NOT NULL)",
        "CREATE INDEX inbox_done_until ON inbox_done (until)",
    ),
}
_UPSERT = (
    "INSERT INTO kv (key, value, expires_at, updated_at, seq) VALUES (?, ?, ?, ?, ?) "
    "ON CONFLICT (key) DO UPDATE SET value = excluded.value, expires_at = excluded.expires_at, "
    "updated_at = excluded.updated_at, seq = excluded.seq"
)
_LIVE = "(expires_at IS NULL OR expires_at > ?)"


class SqliteStore:
    """:class:`~bridge.sessions.store.SessionStore` in a SQLite file at ``path`` (parents created).

    The file opens in the background as the store is built; a failure to open (unwritable directory,
    not a database, written by a newer bridge) is raised as StoreError by the first operation.
    ``clock`` gives wall-clock seconds; expiry times are stored, so it must agree across restarts.
    Cancelling an operation's caller does not stop the job once it has reached the worker thread:
    a cancelled ``put`` may still land.
    """

    def __init__(
        self,
        path: str | os.PathLike[str],
        *,
        default_ttl: float | None = None,
        max_entries: int = 100_000,
        max_value_bytes: int = 1_000_000,
        clock: Callable[[], float] = time.time,
        dedup_ttl: float = DEDUP_TTL,
    ) -> None:

        check_options(default_ttl, max_entries, max_value_bytes)
        self.path = Path(path)
        self.default_ttl = default_ttl
        self.max_entries = max_entries
        self.max_value_bytes = max_value_bytes
        self._clock = clock
        self._closed = False
        # Touched only on the worker thread:
        self._conn: sqlite3.Connection | None = None
        self._open_error: StoreError | None = None
        self._count = 0
        self._seq = 0
        self._writes = 0
        self._executor = ThreadPoolExecutor(max_workers=1, thread_name_prefix="bridge-sqlite")
        self.inbox: Inbox = SqliteInbox(
            self._run, max_value_bytes=max_value_bytes, dedup_ttl=dedup_ttl, clock=clock
        )
        self._executor.submit(self._open, clock())

    async def get(self, key: str) -> dict[str, Any] | None:
        """The live value under ``key`` (a fresh copy), or None."""
        now = self._clock()
        sql = f"SELECT value FROM kv WHERE key = ? AND {_LIVE}"
        row = await self._run(lambda c: c.execute(sql, (key, now)).fetchone())
        return None if row is None else decode(row[0])

    async def put(self, key: str, value: dict[str, Any], ttl: float | None = None) -> None:
        """Store ``value``; beyond ``max_entries`` the least-recently-written keys are deleted."""
        text = encode(key, value, self.max_value_bytes)
        now = self._clock()
        expires_at = expiry(now, ttl, self.default_ttl)
        await self._run(lambda c: self._put(c, key, text, expires_at, now))

    async def delete(self, key: str) -> None:
        """Forget ``key`` (missing keys are fine)."""
        await self._run(lambda c: self._delete(c, key))

    async def keys(self, prefix: str = "") -> list[str]:
        """The live keys starting with ``prefix``, sorted."""
        now = self._clock()
        return await self._run(lambda c: self._keys(c, prefix, now))

    def coordination(self) -> None:
        """None: only one process uses this store."""
        return None

    async def ping(self) -> None:
        """Open the file (creating it) now; StoreError when it cannot be used."""
        await self._run(lambda c: c.execute("SELECT 1").fetchall())

    async def close(self) -> None:
        """Finish queued operations, checkpoint and close the file; later operations raise StoreError."""
        if self._closed:
            return
        self._closed = True
        try:
            await asyncio.get_running_loop().run_in_executor(self._executor, self._close)
        finally:
            self._executor.shutdown(wait=False)

    async def _run(self, op: Callable[[sqlite3.Connection], T]) -> T:
        if self._closed:
            raise StoreError(f"the session store {self.path} is closed")
        return await asyncio.get_running_loop().run_in_executor(self._executor, self._call, op)

    # Everything below runs on the worker thread.

    def _call(self, op: Callable[[sqlite3.Connection], T]) -> T:
        if self._conn is None:
            error = self._open_error or StoreError(f"the session store {self.path} is not open")
            raise StoreError(str(error)) from error.__cause__
        try:
            return op(self._conn)
        except sqlite3.Error as exc:
            raise StoreError(
                f"the session store {self.path} failed: {exc}; check the disk and the file's permissions"
            ) from exc

    def _open(self, now: float) -> None:
        try:
            self._conn = self._connect(now)
        except StoreError as exc:
            self._open_error = exc
        except (OSError, sqlite3.Error) as exc:
            self._open_error = StoreError(
                f"cannot open the session store {self.path}: {exc}; "
                "check [bridge].state and the directory's permissions"
            )
            self._open_error.__cause__ = exc

    def _connect(self, now: float) -> sqlite3.Connection:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        conn = sqlite3.connect(self.path, timeout=5.0, isolation_level=None)
        try:
            version = self._version(conn)
            conn.execute("PRAGMA journal_mode = WAL")
            conn.execute("PRAGMA synchronous = NORMAL")
            if version < SCHEMA_VERSION:
                with transaction(conn):
                    # Read again inside the transaction: another opener may have migrated meanwhile.
                    version = self._version(conn)
                    for step in range(version + 1, SCHEMA_VERSION + 1):
                        for statement in _MIGRATIONS[step]:
                            conn.execute(statement)
                    conn.execute(f"PRAGMA user_version = {SCHEMA_VERSION}")
            self._seq = conn.execute("SELECT coalesce(max(seq), 0) FROM kv").fetchone()[0]
            self._purge(conn, now)
        except BaseException:
            conn.close()
            raise
        return conn

    def _version(self, conn: sqlite3.Connection) -> int:
        """The file's schema version; StoreError when a newer bridge wrote it."""
        version: int = conn.execute("PRAGMA user_version").fetchone()[0]
        if version > SCHEMA_VERSION:
            raise StoreError(
                f"the session store {self.path} was written by a newer bridge (schema {version}, "
                f"this one knows {SCHEMA_VERSION}); upgrade the bridge or point [bridge].state elsewhere"
            )
        return version

    def _close(self) -> None:
        if self._conn is None:
            return
        try:
            self._conn.execute("PRAGMA optimize")
        finally:
            self._conn.close()  # the last connection to close checkpoints and removes the WAL
            self._conn = None

    def _put(
        self, conn: sqlite3.Connection, key: str, text: str, expires_at: float | None, now: float
    ) -> None:
        with transaction(conn):
            existed = conn.execute("SELECT 1 FROM kv WHERE key = ?", (key,)).fetchone() is not None
            conn.execute(_UPSERT, (key, text, expires_at, now, self._seq + 1))
            count = self._count + (not existed)
            if (self._writes + 1) % PURGE_EVERY == 0:
                count = self._sweep(conn, now)
            elif count > self.max_entries:
                count -= self._expire(conn, now)
            if count > self.max_entries:
                evict = "DELETE FROM kv WHERE key IN (SELECT key FROM kv ORDER BY seq LIMIT ?)"
                count -= conn.execute(evict, (count - self.max_entries,)).rowcount
        # Counters move only once the transaction has committed.
        self._seq += 1
        self._writes += 1
        self._count = count

    def _delete(self, conn: sqlite3.Connection, key: str) -> None:
        self._count -= conn.execute("DELETE FROM kv WHERE key = ?", (key,)).rowcount

    def _keys(self, conn: sqlite3.Connection, prefix: str, now: float) -> list[str]:
        # A range scan on the primary key; LIKE would treat % and _ as wildcards and ignore case.
        rows = conn.execute(f"SELECT key FROM kv WHERE key >= ? AND {_LIVE} ORDER BY key", (prefix, now))
        found: list[str] = []
        for (key,) in rows:
            if not key.startswith(prefix):
                break
            found.append(key)
        return found

    def _expire(self, conn: sqlite3.Connection, now: float) -> int:
        """Delete expired rows (an index range); return how many went."""
        sql = "DELETE FROM kv WHERE expires_at IS NOT NULL AND expires_at <= ?"
        return conn.execute(sql, (now,)).rowcount

    def _sweep(self, conn: sqlite3.Connection, now: float) -> int:
        """Delete expired rows; return the row count, re-read (a full scan) so it heals any drift."""
        self._expire(conn, now)
        count: int = conn.execute("SELECT count(*) FROM kv").fetchone()[0]
        return count

    def _purge(self, conn: sqlite3.Connection, now: float) -> None:
        with transaction(conn):
            self._count = self._sweep(conn, now)
            expire_finished(conn, now)
