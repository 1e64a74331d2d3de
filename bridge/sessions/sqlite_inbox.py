"""The SQLite store's inbox (:class:`~bridge.sessions.inbox.Inbox`): two tables in the store's file.

Every operation is a job on the store's worker thread and connection, and each write is one
transaction, committed like the store's values (WAL, ``synchronous=NORMAL``): once ``add`` has
returned, the entry survives the process being killed. The tables (schema version 2)::

    inbox(seq INTEGER PRIMARY KEY AUTOINCREMENT, id TEXT NOT NULL UNIQUE, conversation TEXT NOT NULL,
          message TEXT NOT NULL, received_at REAL NOT NULL, progress TEXT NOT NULL,
          attempts INTEGER NOT NULL)
    inbox_done(id TEXT PRIMARY KEY, until REAL NOT NULL)

``inbox`` holds the pending entries (``message`` and ``progress`` as JSON text); ``AUTOINCREMENT``
never hands out a seq twice, even after every entry was finished, across restarts. ``inbox_done``
holds finished ids until their dedup window ends (``until``, by the store's clock): a row whose
``until`` has passed refuses nothing, and such rows are deleted on open and every ``PURGE_EVERY``
finishes.
"""

from __future__ import annotations

import dataclasses
import sqlite3
import time
from collections.abc import Awaitable, Callable
from typing import Any, Protocol, TypeVar

from bridge.sessions.base import PURGE_EVERY, decode
from bridge.sessions.inbox import (
    DEDUP_TTL,
    InboxEntry,
    check_dedup_ttl,
    damaged,
    entry_text,
    json_text,
)
from bridge.sessions.sqlite_db import transaction

T = TypeVar("T")

_COLUMNS = "id, conversation, seq, message, received_at, progress, attempts"
_INSERT = (
    "INSERT INTO inbox (id, conversation, message, received_at, progress, attempts) "
    "VALUES (?, ?, ?, ?, '{}', 0)"
)


class Runner(Protocol):
    """The store's ``_run``: ``op`` on the worker thread, sqlite3 errors as StoreError."""

    def __call__(self, op: Callable[[sqlite3.Connection], T]) -> Awaitable[T]: ...


class SqliteInbox:
    """:class:`~bridge.sessions.inbox.Inbox` in the SQLite store's file (see the module docstring)."""

    def __init__(
        self,
        run: Runner,
        *,
        max_value_bytes: int = 1_000_000,
        dedup_ttl: float = DEDUP_TTL,
        clock: Callable[[], float] = time.time,
    ) -> None:
        check_dedup_ttl(dedup_ttl)
        self._run = run
        self.max_value_bytes = max_value_bytes
        self.dedup_ttl = dedup_ttl
        self._clock = clock
        self._finishes = 0  # touched only on the worker thread

    async def add(
        self,
        id: str,
        conversation: str,
        message: dict[str, Any],
        *,
        queue: bool = True,
        partition: int | None = None,
    ) -> InboxEntry | None:
        """See :meth:`~bridge.sessions.inbox.Inbox.add`; the dedup check and insert are one transaction
        (one process consumes it: ``queue`` changes nothing)."""
        text = json_text(id, message, self.max_value_bytes)
        now = self._clock()
        return await self._run(lambda c: self._add(c, id, conversation, text, now))

    async def pending(self, prefix: str = "") -> list[InboxEntry]:
        """See :meth:`~bridge.sessions.inbox.Inbox.pending`."""
        return await self._run(lambda c: self._pending(c, prefix))

    async def begin(self, id: str) -> int:
        """See :meth:`~bridge.sessions.inbox.Inbox.begin`."""
        return await self._run(lambda c: self._begin(c, id))

    async def update(self, id: str, progress: dict[str, Any]) -> None:
        """See :meth:`~bridge.sessions.inbox.Inbox.update`."""
        text = json_text(id, progress, self.max_value_bytes)
        await self._run(lambda c: self._update(c, id, text))

    async def finish(self, id: str) -> None:
        """See :meth:`~bridge.sessions.inbox.Inbox.finish`."""
        now = self._clock()
        await self._run(lambda c: self._finish(c, id, now))

    # Everything below runs on the store's worker thread.

    def _add(
        self, conn: sqlite3.Connection, id: str, conversation: str, text: str, now: float
    ) -> InboxEntry | None:
        with transaction(conn):
            if _row(conn, id) is not None:
                return None
            done = conn.execute("SELECT until FROM inbox_done WHERE id = ?", (id,)).fetchone()
            if done is not None:
                if done[0] > now:
                    return None
                conn.execute("DELETE FROM inbox_done WHERE id = ?", (id,))
            conn.execute(_INSERT, (id, conversation, text, now))
            seq = conn.execute("SELECT seq FROM inbox WHERE id = ?", (id,)).fetchone()[0]
            entry = InboxEntry(id, conversation, seq, decode(text), now)
            entry_text(entry, self.max_value_bytes)  # the whole entry must fit, or all rolls back
        return entry

    def _pending(self, conn: sqlite3.Connection, prefix: str) -> list[InboxEntry]:
        # A range scan on the id index (LIKE would treat % and _ as wildcards and ignore case).
        rows = conn.execute(f"SELECT {_COLUMNS} FROM inbox WHERE id >= ? ORDER BY id", (prefix,))
        found: list[InboxEntry] = []
        for row in rows:
            if not row[0].startswith(prefix):
                break
            found.append(_entry(row))
        return sorted(found, key=lambda e: e.seq)

    def _begin(self, conn: sqlite3.Connection, id: str) -> int:
        with transaction(conn):
            entry = _row(conn, id)
            if entry is None:
                return 0
            attempts = entry.attempts + 1
            entry_text(dataclasses.replace(entry, attempts=attempts), self.max_value_bytes)
            conn.execute("UPDATE inbox SET attempts = ? WHERE id = ?", (attempts, id))
        return attempts

    def _update(self, conn: sqlite3.Connection, id: str, text: str) -> None:
        with transaction(conn):
            entry = _row(conn, id)
            if entry is not None:
                entry_text(dataclasses.replace(entry, progress=decode(text)), self.max_value_bytes)
                conn.execute("UPDATE inbox SET progress = ? WHERE id = ?", (text, id))

    def _finish(self, conn: sqlite3.Connection, id: str, now: float) -> None:
        with transaction(conn):
            if not conn.execute("DELETE FROM inbox WHERE id = ?", (id,)).rowcount:
                return
            done = "INSERT OR REPLACE INTO inbox_done (id, until) VALUES (?, ?)"
            conn.execute(done, (id, now + self.dedup_ttl))
            if (self._finishes + 1) % PURGE_EVERY == 0:
                expire_finished(conn, now)
        self._finishes += 1  # once committed


def _row(conn: sqlite3.Connection, id: str) -> InboxEntry | None:
    row = conn.execute(f"SELECT {_COLUMNS} FROM inbox WHERE id = ?", (id,)).fetchone()
    return None if row is None else _entry(row)


def _entry(row: tuple[Any, ...]) -> InboxEntry:
    id, conversation, seq, message, received_at, progress, attempts = row
    try:
        return InboxEntry(id, conversation, seq, decode(message), received_at, decode(progress), attempts)
    except ValueError as exc:  # not JSON (StoreError: not a JSON object)
        raise damaged(exc) from exc


def expire_finished(conn: sqlite3.Connection, now: float) -> None:
    """Forget finished inbox ids whose dedup window has ended by ``now`` (an index range)."""
    conn.execute("DELETE FROM inbox_done WHERE until <= ?", (now,))
