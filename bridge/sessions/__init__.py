"""Session and bridge state behind one store protocol (see :mod:`bridge.sessions.store` for the contract).

``open_store(url)`` turns a ``[bridge].state`` URL into a store: ``memory://`` or
``sqlite:///PATH`` (the embedded default; the file survives restarts).
"""

from bridge.sessions.memory import MemoryStore
from bridge.sessions.sqlite import SqliteStore
from bridge.sessions.store import SessionStore, StoreError, ValueTooLarge, open_store

__all__ = ["MemoryStore", "SessionStore", "SqliteStore", "StoreError", "ValueTooLarge", "open_store"]
