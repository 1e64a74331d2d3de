"""Session and bridge state behind one store protocol (see :mod:`bridge.sessions.store` for the contract).

``open_store(url)`` turns a ``[bridge].state`` URL into a store: ``memory://``, ``sqlite:///PATH``
(the embedded default; the file survives restarts) or ``redis://HOST:PORT/DB`` (shared by several
bridge processes). ``RedisStore`` is imported on first use: it needs the optional ``redis`` package.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from bridge.sessions.base import StoreError, ValueTooLarge
from bridge.sessions.memory import MemoryStore
from bridge.sessions.sqlite import SqliteStore
from bridge.sessions.store import SessionStore
from bridge.sessions.urls import open_store

if TYPE_CHECKING:
    from bridge.sessions.redis import RedisStore

__all__ = [
    "MemoryStore",
    "RedisStore",
    "SessionStore",
    "SqliteStore",
    "StoreError",
    "ValueTooLarge",
    "open_store",
]


def __getattr__(name: str) -> Any:
    if name == "RedisStore":
        from bridge.sessions.redis import RedisStore

        return RedisStore
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
