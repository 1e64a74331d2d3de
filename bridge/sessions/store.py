"""The one session-store contract: JSON dicts under string keys, with expiry and bounds.

Keys are namespaced strings (``"session:tg:123"``, ``"state:tg:offset"``). Every store:

- keeps a value as its JSON text, so ``get`` returns a fresh copy with JSON's types (tuples come
  back as lists, non-string dict keys as strings); mutating a value after ``put`` or after ``get``
  never changes what is stored;
- returns None for a missing or expired key, and never lists an expired key in ``keys``;
- expires a value ``ttl`` seconds after its ``put`` (``ttl`` > 0; ``math.inf`` keeps it forever;
  None means the store's ``default_ttl``, which None in turn makes "forever"); an overwrite sets a
  new expiry;
- holds at most ``max_entries`` keys: a put beyond the bound evicts the least-recently-*written*
  keys (an overwrite counts as a write, a read does not; expired keys may go first);
- refuses, leaving any old value in place, a value that is not a dict or not JSON
  (:class:`StoreError`) or whose compact UTF-8 JSON is over ``max_value_bytes`` (:class:`ValueTooLarge`);
- raises :class:`StoreError` for any operation after ``close``; ``close`` may be called twice.

Stores never log values (they hold chat history). :func:`~bridge.sessions.urls.open_store` builds
a store from the ``[bridge].state`` URL. Each store also holds the bridge's durable inbox, ``store.inbox``
(:mod:`bridge.sessions.inbox`), on the same backend.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, Protocol, runtime_checkable

if TYPE_CHECKING:
    from bridge.sessions.inbox import Inbox
    from bridge.sessions.shared import Coordination


@runtime_checkable
class SessionStore(Protocol):
    """Async key → JSON-dict storage with expiry and bounds; the module docstring is the contract."""

    @property
    def inbox(self) -> Inbox:
        """The durable inbox, on the same backend (:mod:`bridge.sessions.inbox`)."""
        ...

    async def get(self, key: str) -> dict[str, Any] | None:
        """The live value under ``key`` (a fresh copy), or None when missing or expired."""
        ...

    async def put(self, key: str, value: dict[str, Any], ttl: float | None = None) -> None:
        """Store ``value`` under ``key``, replacing any old value; ``ttl`` in seconds (None: default)."""
        ...

    async def delete(self, key: str) -> None:
        """Forget ``key``; deleting a missing key is not an error."""
        ...

    async def keys(self, prefix: str = "") -> list[str]:
        """The live keys starting with ``prefix`` (case-sensitive, literal), sorted."""
        ...

    async def close(self) -> None:
        """Flush and release resources; later operations raise StoreError."""
        ...

    def coordination(self) -> Coordination | None:
        """How processes sharing this store coordinate (stop relay, conversation locks); None for a
        store only one process can use (memory, SQLite)."""
        ...

    async def ping(self) -> None:
        """Check the store can be used now (open the file, reach the server); StoreError if not."""
        ...
