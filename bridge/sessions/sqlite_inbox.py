"""The SQLite store's durable inbox (:mod:`bridge.sessions.inbox`), in the store's own file.

One table, on the store's worker thread and connection (so inbox and values share transactions'
durability: WAL, ``synchronous=NORMAL``; a committed add survives a crash of the process)::

    inbox(id TEXT PRIMARY KEY, seq INTEGER NOT NULL, entry TEXT, dedup_until REAL)

A pending row has its ``entry`` (the JSON of an :class:`InboxEntry`); a finished row keeps only its
id until ``dedup_until``, so a redelivery within the window is recognised. Finished rows past the
window are deleted every ``PURGE_EVERY`` adds and when the file opens.
"""

from __future__ import annotations

import sqlite3
import time
from collections.abc import Awaitable, Callable
from typing import Any, TypeVar

from bridge.sessions.inbox import DEDUP_TTL, InboxEntry, entry_from_text, entry_text
from bridge.sessions.store import PURGE_EVERY

T = TypeVar("T")
Run = Callable[[Callable[[sqlite3.Connection], Any]], Awaitable[Any]]

SCHEMA = (
    "CREATE TABLE inbox (id TEXT PRIMARY KEY, seq INTEGER NOT NULL, entry TEXT, dedup_until REAL)",
    "CREATE INDEX inbox_pending ON inbox (seq) WHERE entry IS NOT NULL",
    "CREATE INDEX inbox_finished ON inbox (dedup_until) WHERE dedup_until IS NOT NULL",
)


def purge(conn: sqlite3.Connection, now: float) -> None:
    """Forget finished ids whose dedup window has ended (inside the caller's transaction)."""
    conn.execute("DELETE FROM inbox WHERE entry IS NULL AND dedup_until <= ?", (now,))


class SqliteInbox:
    """:class:`~bridge.sessions.inbox.Inbox` on a :class:`~bridge.sessions.sqlite.SqliteStore`.

    ``run`` is the store's way of running a function on its worker thread (errors become
    StoreError); ``transaction`` its ``BEGIN IMMEDIATE … COMMIT`` context manager.
    """

    def __init__(
        self,
        run: Run,
        transaction: Callable[[sqlite3.Connection], Any],
        *,
        max_value_bytes: int,
        dedup_ttl: float = DEDUP_TTL,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self._run = run
        self._transaction = transaction
        self.max_value_bytes = max_value_bytes
        self.dedup_ttl = dedup_ttl
        self._clock = clock
        self._adds = 0

    async def add(self, id: str, conversation: str, message: dict[str, Any]) -> InboxEntry | None:
        """See :meth:`~bridge.sessions.inbox.Inbox.add`."""
        now = self._clock()
        probe = InboxEntry(id, conversation, 0, message, now)
        entry_text(probe, self.max_value_bytes)  # refuse a value too large before touching the file
        result: InboxEntry | None = await self._run(lambda c: self._add(c, probe, now))
        return result

    def _add(self, conn: sqlite3.Connection, probe: InboxEntry, now: float) -> InboxEntry | None:
        with self._transaction(conn):
            self._adds += 1
            if self._adds % PURGE_EVERY == 0:
                purge(conn, now)
            row = conn.execute("SELECT entry, dedup_until FROM inbox WHERE id = ?", (probe.id,)).fetchone()
            if row is not None and (row[0] is not None or row[1] > now):
                return None
            seq = conn.execute("SELECT coalesce(max(seq), 0) + 1 FROM inbox").fetchone()[0]
            entry = InboxEntry(probe.id, probe.conversation, seq, probe.message, now)
            conn.execute(
                "INSERT OR REPLACE INTO inbox (id, seq, entry, dedup_until) VALUES (?, ?, ?, NULL)",
                (entry.id, seq, entry_text(entry, self.max_value_bytes)),
            )
            return entry

    async def pending(self, prefix: str = "") -> list[InboxEntry]:
        """See :meth:`~bridge.sessions.inbox.Inbox.pending`."""
        sql = "SELECT id, entry FROM inbox WHERE entry IS NOT NULL ORDER BY seq"
        rows: list[tuple[str, str]] = await self._run(lambda c: c.execute(sql).fetchall())
        return [entry_from_text(text) for id, text in rows if id.startswith(prefix)]

    async def begin(self, id: str) -> int:
        """See :meth:`~bridge.sessions.inbox.Inbox.begin`."""
        attempts: int = await self._run(lambda c: self._change(c, id, lambda e: {"attempts": e.attempts + 1}))
        return attempts

    async def update(self, id: str, progress: dict[str, Any]) -> None:
        """See :meth:`~bridge.sessions.inbox.Inbox.update`."""
        await self._run(lambda c: self._change(c, id, lambda _: {"progress": progress}))

    def _change(
        self, conn: sqlite3.Connection, id: str, changes: Callable[[InboxEntry], dict[str, Any]]
    ) -> int:
        with self._transaction(conn):
            row = conn.execute("SELECT entry FROM inbox WHERE id = ? AND entry IS NOT NULL", (id,)).fetchone()
            if row is None:
                return 0
            entry = entry_from_text(row[0])
            changed = InboxEntry.from_dict(entry.to_dict() | changes(entry))
            text = entry_text(changed, self.max_value_bytes)
            conn.execute("UPDATE inbox SET entry = ? WHERE id = ?", (text, id))
            return changed.attempts

    async def finish(self, id: str) -> None:
        """See :meth:`~bridge.sessions.inbox.Inbox.finish`."""
        until = self._clock() + self.dedup_ttl
        sql = "UPDATE inbox SET entry = NULL, dedup_until = ? WHERE id = ? AND entry IS NOT NULL"
        await self._run(lambda c: c.execute(sql, (until, id)))
