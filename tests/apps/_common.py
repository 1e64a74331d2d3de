"""Shared helpers for the Gradio test apps: version switch, asset paths, chat kwargs.

Proves nothing by itself; it keeps the version differences (PROTOCOL.md §2, §11, §13.8)
in one place so every app imports and runs on gradio 4.44.x, 5.x and 6.x.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import gradio as gr

GRADIO_MAJOR = int(gr.__version__.split(".")[0])

ASSETS = Path(__file__).resolve().parent / "assets"
GREEN_PNG_PATH = str(ASSETS / "green.png")
NOTES_TXT_PATH = str(ASSETS / "notes.txt")

# On 4.x the chatbot type can be chosen; tuples is its default. Set BRIDGE_TEST_CHATBOT_TYPE=messages
# to exercise the 4.x messages format. 5.x always runs messages here, 6.x has no choice (messages).
V4_CHAT_TYPE = os.environ.get("BRIDGE_TEST_CHATBOT_TYPE", "tuples")


def chat_type() -> str:
    """The chatbot format the apps of this process use."""
    if GRADIO_MAJOR == 4:
        return V4_CHAT_TYPE
    return "messages"


def chat_kwargs(*, v4_type: str | None = None) -> dict[str, Any]:
    """Keyword arguments selecting the chatbot type for gr.ChatInterface / gr.Chatbot."""
    if GRADIO_MAJOR >= 6:
        return {}
    if GRADIO_MAJOR == 5:
        return {"type": "messages"}
    return {"type": v4_type or V4_CHAT_TYPE}


def text_of(message: Any) -> str:
    """The text of a chat message: a str, or a multimodal dict {"text", "files"}."""
    if isinstance(message, dict):
        return str(message.get("text") or "")
    return "" if message is None else str(message)


def _role(entry: Any) -> str | None:
    if isinstance(entry, dict):
        return entry.get("role")
    return getattr(entry, "role", None)  # ChatMessage dataclass


def user_entries(history: Any) -> int:
    """Spec count for the text app: tuples -> len(history); messages -> entries with role == "user"."""
    history = list(history or [])
    if history and isinstance(history[0], list | tuple):
        return len(history)
    return sum(_role(entry) == "user" for entry in history)


def user_turns(history: Any) -> int:
    """Completed user turns, robust to multimodal turns that span several entries.

    messages: runs of consecutive role == "user" entries (5.x stores one message per file plus one for
    the text); tuples: pairs with a non-null bot half (a file turn on 4.x is [file, None] + [text, reply]).
    """
    count = 0
    previous = None
    for entry in history or []:
        if isinstance(entry, list | tuple):
            count += len(entry) > 1 and entry[1] is not None
            continue
        role = _role(entry)
        count += role == "user" and previous != "user"
        previous = role
    return count
