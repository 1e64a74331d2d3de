"""ChatInterface streaming gr.ChatMessage objects with metadata (thoughts and tool use).

Proves: metadata titles/status reach the client through the UI chain. On 5/6 the fn first yields a
pending "Thinking" message, then a list of three assistant messages (thought done, tool use, final
answer), so the turn ends with several assistant messages and a `replace` of metadata.status.
On 4.44 (messages type, one assistant message per turn, metadata has only `title`) it yields the
thought and then replaces it with the final answer: the thought is visible only mid-stream
(PROTOCOL.md §13.4).
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from typing import Any

import gradio as gr

from ._common import GRADIO_MAJOR, chat_kwargs

STEP_DELAY = 0.1


def _msg(content: str, metadata: dict[str, Any] | None = None) -> gr.ChatMessage:
    if metadata is None:
        return gr.ChatMessage(role="assistant", content=content)
    if GRADIO_MAJOR == 4:  # 4.44's Metadata model only knows `title`
        metadata = {"title": metadata.get("title")}
    return gr.ChatMessage(role="assistant", content=content, metadata=metadata)


def think_fn(message: Any, history: list[Any]) -> Iterator[Any]:
    yield _msg("pondering\u2026", {"title": "Thinking", "status": "pending"})
    time.sleep(STEP_DELAY)
    final = _msg("final answer: 42")
    if GRADIO_MAJOR == 4:
        yield final
        return
    yield [
        _msg("thinking done", {"title": "Thinking", "status": "done"}),
        _msg("searched the web", {"title": "Used tool search"}),
        final,
    ]


def build() -> gr.Blocks:
    # ChatMessage needs the messages format; on 4.44 it must be chosen explicitly.
    return gr.ChatInterface(think_fn, title="Bridge thought test app", **chat_kwargs(v4_type="messages"))
