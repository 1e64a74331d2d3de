"""A conversation's stored state: its Gradio session, its settings and its last message.

Stored in the session store under ``conv:<ConversationKey>`` as a JSON dict, so a conversation
survives restarts of the bridge (and, through the session's history, of the app).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from bridge.gradio.session import ChatSession, trim_history, turn_count
from bridge.model import ConversationKey
from bridge.sessions import SessionStore, ValueTooLarge


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


async def load(store: SessionStore, key: ConversationKey) -> ConversationState:
    """The stored state, or a fresh one."""
    data = await store.get(store_key(key))
    return ConversationState.from_dict(data) if data else ConversationState()


async def save(
    store: SessionStore, key: ConversationKey, state: ConversationState, ttl: float | None = None
) -> None:
    """Persist the state (``ttl`` seconds; None = the store's default).

    A transcript too large for the store loses its oldest turns (half at a time) until it fits:
    the conversation goes on, with less context to restore if the app forgets it.
    """
    while True:
        try:
            await store.put(store_key(key), state.to_dict(), ttl=ttl)
            return
        except ValueTooLarge:
            history = state.session.history
            if not history:
                raise
            fmt = "tuples" if isinstance(history[0], list) else "messages"
            kept = trim_history(history, fmt, turn_count(history, fmt) // 2)
            state.session.history = kept if len(kept) < len(history) else []
