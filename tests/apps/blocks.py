"""A custom gr.Blocks chat (not a ChatInterface): Chatbot + Textbox wired with msg.submit(api_name="respond").

Proves: the client's fallback for apps without a ChatInterface chain (PROTOCOL.md §13.9 last line):
a public non-generator endpoint `/respond` with inputs [message, chatbot] and outputs [textbox, chatbot],
where the history is the chatbot value the client sends (messages format on every version) and the reply
is the last assistant message `blocks turn={turn} echo: {message}`.
"""

from __future__ import annotations

from typing import Any

import gradio as gr

from ._common import chat_kwargs, user_entries


def respond(message: str, history: list[Any] | None) -> tuple[str, list[Any]]:
    history = list(history or [])
    turn = user_entries(history) + 1
    history.append({"role": "user", "content": message})
    history.append({"role": "assistant", "content": f"blocks turn={turn} echo: {message}"})
    return "", history


def build() -> gr.Blocks:
    with gr.Blocks(title="Bridge blocks test app") as demo:
        chatbot = gr.Chatbot(label="Chat", **chat_kwargs(v4_type="messages"))
        msg = gr.Textbox(label="Message")
        msg.submit(respond, [msg, chatbot], [msg, chatbot], api_name="respond")
    return demo
