"""An echoing ChatInterface launched with show_error=False.

Proves: with verbose errors off, an uncaught exception reaches the client without its message
(`{"error": null}` on the wire, PROTOCOL.md §4): "crash" raises RuntimeError("secret internals"),
which must not leak. Anything else is echoed as `quiet echo: {text}`.
"""

from __future__ import annotations

from typing import Any

import gradio as gr

from ._common import chat_kwargs, text_of


def quiet_fn(message: Any, history: list[Any]) -> str:
    text = text_of(message)
    if "crash" in text:
        raise RuntimeError("secret internals")
    return f"quiet echo: {text}"


def build() -> gr.Blocks:
    return gr.ChatInterface(quiet_fn, title="Bridge quiet test app", **chat_kwargs())
