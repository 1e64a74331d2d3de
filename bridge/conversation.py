"""A conversation's stored state: its Gradio session, its settings and its last message.

Stored in the session store under ``conv:<ConversationKey>`` as a JSON dict, so a conversation
survives restarts of the bridge (and, through the session's history, of the app). ``load`` and
``save`` wait out a store outage of up to ``wait_s`` seconds (retrying with back-off) before they
raise :class:`~bridge.sessions.StoreError`: a message that arrives while Redis restarts is
answered when it is back.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any, TypeVar

from bridge.gradio.session import ChatSession
from bridge.model import ConversationKey
from bridge.retrying import Backoff
from bridge.sessions import SessionStore, StoreError, ValueTooLarge

T = TypeVar("T")


@dataclass(slots=True)
class ConversationState:
    """Everything the bridge remembers about one conversation."""

    session: ChatSession = field(default_factory=ChatSession)
    params: dict[str, Any] = field(default_factory=dict)
    last_text: str | None = None

    def to_dict(self) -> dict[str, Any]:
        """JSON-serialisable form."""
        return {"session": self.session.to_dict(), "params": self.params, "last_text": self.last_text}

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> ConversationState:
        """Inverse of :meth:`to_dict`; tolerant of missing keys."""
        session = data.get("session")
        return cls(
            session=ChatSession.from_dict(session) if isinstance(session, dict) else ChatSession(),
            params=dict(data.get("params") or {}),
            last_text=data.get("last_text"),
        )


def store_key(key: ConversationKey) -> str:
    """The store key of a conversation."""
    return f"conv:{key}"


async def load(
    store: SessionStore,
    key: ConversationKey,
    *,
    wait_s: float = 0.0,
    on_wait: Callable[[], None] | None = None,
) -> ConversationState:
    """The stored state, or a fresh one; waits out a store outage of ``wait_s`` (``on_wait`` hears it)."""
    data = await patiently(lambda: store.get(store_key(key)), wait_s, on_wait)
    return ConversationState.from_dict(data) if data else ConversationState()


async def save(
    store: SessionStore,
    key: ConversationKey,
    state: ConversationState,
    ttl: float | None = None,
    *,
    wait_s: float = 0.0,
) -> None:
    """Persist the state (``ttl`` seconds; None = the store's default), waiting out an outage of ``wait_s``.

    A transcript too large for the store loses its oldest turns (half at a time) until it fits:
    the conversation goes on, with less context to restore if the app forgets it.
    """
    await patiently(lambda: _save(store, key, state, ttl), wait_s)


class Conversations:
    """The conversations of one adapter in the store: :func:`load` and :func:`save` with the adapter's
    expiry (``ttl_s``) and patience for store outages (``wait_s``)."""

    def __init__(self, store: SessionStore, ttl_s: float | None, wait_s: float) -> None:
        self.store = store
        self.ttl_s = ttl_s
        self.wait_s = wait_s

    async def load(
        self, key: ConversationKey, on_wait: Callable[[], None] | None = None
    ) -> ConversationState:
        """The conversation's state (a fresh one when none is stored), waiting out a store outage."""
        return await load(self.store, key, wait_s=self.wait_s, on_wait=on_wait)

    async def save(self, key: ConversationKey, state: ConversationState) -> None:
        """Persist the conversation's state, waiting out a store outage."""
        await save(self.store, key, state, self.ttl_s, wait_s=self.wait_s)


async def patiently(
    op: Callable[[], Awaitable[T]], wait_s: float, on_wait: Callable[[], None] | None = None
) -> T:
    """``op()``, retried with back-off while the store fails, for at most ``wait_s`` seconds."""
    backoff = Backoff(0.5, 5.0)
    give_up = time.monotonic() + wait_s
    while True:
        try:
            return await op()
        except ValueTooLarge:
            raise
        except StoreError:
            delay = backoff.next()
            if time.monotonic() + delay > give_up:
                raise
            if on_wait is not None and backoff.failures == 1:
                on_wait()
            await asyncio.sleep(delay)


async def _save(
    store: SessionStore, key: ConversationKey, state: ConversationState, ttl: float | None
) -> None:
    while True:
        try:
            await store.put(store_key(key), state.to_dict(), ttl=ttl)
            return
        except ValueTooLarge:
            if not state.session.shrink():
                raise
