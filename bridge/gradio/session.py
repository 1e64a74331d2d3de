"""The Gradio side of one conversation: its session_hash, the history and the component values the
bridge owns.

A :class:`ChatSession` is a plain value the caller stores (``to_dict`` / ``from_dict``) and
passes to every turn of the conversation. ``history`` is the app's Chatbot value as the app last
returned it (postprocessed, with file URLs); it is what re-seeds a fresh app session when the app
has restarted, slept or evicted the old one (PROTOCOL.md §13.9).
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field
from typing import Any


def new_session_hash() -> str:
    """A fresh random session_hash (the server treats it as an opaque key)."""
    return uuid.uuid4().hex


@dataclass(slots=True)
class ChatSession:
    """One conversation's Gradio state. Mutated by turns; never shared between conversations."""

    session_hash: str = field(default_factory=new_session_hash)
    history: list[Any] = field(default_factory=list)
    turns: int = 0
    values: dict[str, Any] = field(default_factory=dict)  # component id → value a chain step wrote
    history_format: str | None = None  # how the app writes ``history``: "messages" or "tuples"

    def reset(self) -> None:
        """Start over: a new session_hash and no history."""
        self.session_hash = new_session_hash()
        self.history = []
        self.turns = 0
        self.values = {}

    def keep(self, history: list[Any], fmt: str | None, max_turns: int | None) -> None:
        """Store the app's newest ``history`` (written in ``fmt``), its newest ``max_turns`` turns."""
        self.history = trim_history(history, fmt, max_turns)
        self.history_format = fmt

    def drop_last_turn(self) -> None:
        """Forget the newest turn (``/retry`` asks it again): the last user message and what follows."""
        self.history = drop_last_turn(self.history, self.history_format)

    def shrink(self) -> bool:
        """Forget the older half of the history (to fit a store's size limit); False when there was
        no history left to forget."""
        if not self.history:
            return False
        kept = trim_history(
            self.history, self.history_format, turn_count(self.history, self.history_format) // 2
        )
        self.history = kept if len(kept) < len(self.history) else []
        return True

    def to_dict(self) -> dict[str, Any]:
        """A JSON-serialisable form for session stores."""
        return {
            "session_hash": self.session_hash,
            "history": self.history,
            "turns": self.turns,
            "values": self.values,
            "format": self.history_format,
        }

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> ChatSession:
        """Rebuild a session stored with :meth:`to_dict` (by this version or an older one)."""
        history = list(data.get("history") or [])
        fmt = data.get("format")
        if fmt is None and history:  # stored before the format was: its first entry tells
            fmt = "tuples" if isinstance(history[0], list) else "messages"
        return cls(
            session_hash=str(data["session_hash"]),
            history=history,
            turns=int(data.get("turns", 0)),
            values=dict(data.get("values") or {}),
            history_format=fmt if isinstance(fmt, str) else None,
        )


def trim_history(history: list[Any], fmt: str | None, max_turns: int | None) -> list[Any]:
    """Keep the newest ``max_turns`` turns; cut only where a user message starts a turn."""
    if max_turns is None or not history:
        return history
    if max_turns <= 0:
        return []
    starts = _turn_starts(history, fmt)
    if len(starts) <= max_turns:
        return history
    return history[starts[-max_turns] :]


def _pair_bot(pair: Any) -> Any:
    return pair[1] if isinstance(pair, list | tuple) and len(pair) == 2 else None


def text_only(history: list[Any], fmt: str | None) -> list[Any]:
    """The history without file or component contents (used when the app cannot load old files)."""
    if fmt == "tuples":
        return [
            [a if isinstance(a, str) or a is None else None, b if isinstance(b, str) or b is None else None]
            for a, b in (p for p in history if isinstance(p, list | tuple) and len(p) == 2)
            if isinstance(a, str) or isinstance(b, str)
        ]
    out = []
    for m in history:
        if not isinstance(m, dict):
            continue
        content = m.get("content")
        if isinstance(content, list):
            content = [c for c in content if isinstance(c, dict) and c.get("type") == "text"]
            if not content:
                continue
        elif not isinstance(content, str):
            continue
        out.append({**m, "content": content})
    return out


def drop_last_turn(history: list[Any], fmt: str | None) -> list[Any]:
    """The history without its newest turn (the last user message and everything after it)."""
    starts = _turn_starts(history, fmt)
    return history[: starts[-1]] if starts else []


def turn_count(history: list[Any], fmt: str | None) -> int:
    """How many turns the history holds."""
    return len(_turn_starts(history, fmt))


def _turn_starts(history: list[Any], fmt: str | None) -> list[int]:
    """Indices where a turn begins: the first of a run of user entries (or user halves, for tuples)."""
    if fmt == "tuples":
        return [
            i
            for i, pair in enumerate(history)
            if isinstance(pair, list | tuple)
            and len(pair) == 2
            and pair[0] is not None
            and (i == 0 or _pair_bot(history[i - 1]) is not None)
        ]
    return [
        i
        for i, m in enumerate(history)
        if isinstance(m, dict)
        and m.get("role") == "user"
        and (i == 0 or not (isinstance(history[i - 1], dict) and history[i - 1].get("role") == "user"))
    ]
