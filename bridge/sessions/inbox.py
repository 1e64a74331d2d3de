"""The durable inbox contract: every message recorded before its platform is told it arrived.

The bridge records an incoming message with :meth:`Inbox.add` *before* it acknowledges it to the
platform (the Telegram offset, a webhook's 200), and calls :meth:`Inbox.finish` only once the
answer, or a final note, was delivered. On start, :meth:`Inbox.pending` lists what an earlier run
left unanswered, and the bridge resumes it. Every store offers one (``store.inbox``), on the same
backend as its values, and every inbox passes the same contract tests:

- ``add`` is atomic and deduplicates: a message id is accepted once; a second ``add`` of an id that
  is pending, or that was finished less than ``dedup_ttl`` seconds ago, returns None (a platform
  delivering the same message again). Ids are namespaced by the caller (``"<adapter>:<id>"``).
- ``seq`` numbers entries in the order they were added, increasing across everything sharing the
  store (all processes on one Redis); ``pending`` lists unfinished entries by ``seq``.
- ``begin`` counts one more attempt at handling an entry; ``update`` replaces its ``progress``
  (a JSON dict: what handling has done so far); both do nothing for an entry that is not pending.
- ``finish`` forgets the entry (the id stays refused for ``dedup_ttl``); finishing twice, or an
  unknown id, is not an error (and starts no window).
- An entry is a JSON dict like any stored value (``message`` and ``progress`` are copied as JSON;
  a non-dict or non-JSON one raises :class:`~bridge.sessions.store.StoreError`): an ``add``,
  ``begin`` or ``update`` that would make its JSON, seq and attempts included, longer than
  ``max_value_bytes`` is refused with :class:`~bridge.sessions.store.ValueTooLarge` and changes
  nothing; after ``close`` every operation raises :class:`~bridge.sessions.store.StoreError`.

Several processes may add to one inbox; a store several processes share also hands each entry to
one of them, in order per conversation (:mod:`bridge.sessions.shared`).
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, Protocol, runtime_checkable

from bridge.sessions.base import StoreError, decode, encode

DEDUP_TTL = 2 * 86400.0  # Telegram keeps undelivered updates for 24 h; a margin on top


@dataclass(frozen=True, slots=True)
class InboxEntry:
    """One recorded message that is not answered yet."""

    id: str
    conversation: str  # the conversation's key as text: its entries are handled in ``seq`` order
    seq: int
    message: dict[str, Any]  # the message as JSON (see bridge.inbox for the form)
    received_at: float  # wall-clock seconds of the add
    progress: dict[str, Any] = field(default_factory=dict)
    attempts: int = 0

    def to_dict(self) -> dict[str, Any]:
        """JSON form, as stores keep it."""
        return {
            "id": self.id,
            "conversation": self.conversation,
            "seq": self.seq,
            "message": self.message,
            "received_at": self.received_at,
            "progress": self.progress,
            "attempts": self.attempts,
        }

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> InboxEntry:
        """Inverse of :meth:`to_dict`."""
        return cls(
            id=str(data["id"]),
            conversation=str(data["conversation"]),
            seq=int(data["seq"]),
            message=dict(data["message"]),
            received_at=float(data["received_at"]),
            progress=dict(data.get("progress") or {}),
            attempts=int(data.get("attempts") or 0),
        )


@runtime_checkable
class Inbox(Protocol):
    """Messages recorded until answered; the module docstring is the contract."""

    async def add(
        self,
        id: str,
        conversation: str,
        message: dict[str, Any],
        *,
        queue: bool = True,
        partition: int | None = None,
    ) -> InboxEntry | None:
        """Record a message; None when ``id`` is pending or was finished within ``dedup_ttl``.

        In an inbox several processes consume (:mod:`bridge.sessions.shared`), the entry is handed
        to its conversation's partition (``partition`` when the platform partitions its traffic
        itself) unless ``queue`` is False (the caller handles it itself)."""
        ...

    async def pending(self, prefix: str = "") -> list[InboxEntry]:
        """Unfinished entries whose id starts with ``prefix``, in ``seq`` order."""
        ...

    async def begin(self, id: str) -> int:
        """Count one more attempt at handling ``id``; the new count (0 when it is not pending)."""
        ...

    async def update(self, id: str, progress: dict[str, Any]) -> None:
        """Replace the progress of ``id`` (nothing when it is not pending)."""
        ...

    async def finish(self, id: str) -> None:
        """``id`` is answered: forget it; ``add`` refuses the id for ``dedup_ttl`` seconds more."""
        ...


def check_dedup_ttl(dedup_ttl: float) -> None:
    """Raise ValueError unless ``dedup_ttl`` is a positive, finite number of seconds."""
    if not 0 < dedup_ttl < math.inf:  # `not` also rejects NaN
        raise ValueError(f"dedup_ttl must be a positive, finite number of seconds, got {dedup_ttl!r}")


def json_text(id: str, value: dict[str, Any], max_value_bytes: int) -> str:
    """A message or progress dict as compact JSON, or StoreError/ValueTooLarge (named after the entry)."""
    return encode(f"inbox {id}", value, max_value_bytes)


def entry_text(entry: InboxEntry, max_value_bytes: int) -> str:
    """The entry as compact JSON, or ValueTooLarge/StoreError (see :func:`~bridge.sessions.store.encode`)."""
    return encode(f"inbox {entry.id}", entry.to_dict(), max_value_bytes)


def entry_from_text(text: str) -> InboxEntry:
    """The entry :func:`entry_text` wrote."""
    try:
        return InboxEntry.from_dict(decode(text))
    except (KeyError, TypeError, ValueError) as exc:
        raise damaged(exc) from exc


def damaged(exc: BaseException) -> StoreError:
    """The error for an entry the store cannot read back."""
    return StoreError(f"an inbox entry in the state store is damaged ({type(exc).__name__})")


class MemoryInbox:
    """:class:`Inbox` in process memory (the memory store's): lost when the process exits."""

    def __init__(
        self,
        *,
        is_open: Callable[[], None],
        max_value_bytes: int = 1_000_000,
        dedup_ttl: float = DEDUP_TTL,
        clock: Callable[[], float] = time.time,
    ) -> None:
        check_dedup_ttl(dedup_ttl)
        self._check_open = is_open
        self.max_value_bytes = max_value_bytes
        self.dedup_ttl = dedup_ttl
        self._clock = clock
        self._entries: dict[str, str] = {}  # id → entry JSON, in seq order (dicts keep insertion order)
        self._finished: dict[str, float] = {}  # id → when its dedup window ends, oldest first
        self._seq = 0

    async def add(
        self,
        id: str,
        conversation: str,
        message: dict[str, Any],
        *,
        queue: bool = True,
        partition: int | None = None,
    ) -> InboxEntry | None:
        """See :meth:`Inbox.add` (one process consumes it: ``queue`` changes nothing)."""
        self._check_open()
        json_text(id, message, self.max_value_bytes)  # a dict of JSON, or StoreError
        now = self._clock()
        self._expire(now)
        if id in self._entries or self._finished.get(id, -math.inf) > now:  # (a clock that stepped back)
            return None
        text = entry_text(InboxEntry(id, conversation, self._seq + 1, message, now), self.max_value_bytes)
        self._entries[id] = text
        self._seq += 1
        return entry_from_text(text)  # a copy with JSON's types, as a store would give

    async def pending(self, prefix: str = "") -> list[InboxEntry]:
        """See :meth:`Inbox.pending`."""
        self._check_open()
        return [entry_from_text(t) for i, t in self._entries.items() if i.startswith(prefix)]

    async def begin(self, id: str) -> int:
        """See :meth:`Inbox.begin`."""
        self._check_open()
        text = self._entries.get(id)
        if text is None:
            return 0
        entry = entry_from_text(text)
        attempts = entry.attempts + 1
        self._entries[id] = entry_text(_with(entry, attempts=attempts), self.max_value_bytes)
        return attempts

    async def update(self, id: str, progress: dict[str, Any]) -> None:
        """See :meth:`Inbox.update`."""
        self._check_open()
        progress = decode(json_text(id, progress, self.max_value_bytes))  # a JSON copy, or StoreError
        text = self._entries.get(id)
        if text is not None:
            entry = _with(entry_from_text(text), progress=progress)
            self._entries[id] = entry_text(entry, self.max_value_bytes)

    async def finish(self, id: str) -> None:
        """See :meth:`Inbox.finish`."""
        self._check_open()
        if self._entries.pop(id, None) is not None:
            self._finished.pop(id, None)  # so the order stays oldest first
            self._finished[id] = self._clock() + self.dedup_ttl

    def _expire(self, now: float) -> None:
        while self._finished:
            oldest = next(iter(self._finished))
            if self._finished[oldest] > now:
                return
            del self._finished[oldest]


def _with(entry: InboxEntry, **changes: Any) -> InboxEntry:
    data = entry.to_dict() | changes
    return InboxEntry.from_dict(data)
