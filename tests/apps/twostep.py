"""The custom chatbot of Gradio's "Creating a Custom Chatbot with Blocks" guide, as written there.

``msg.submit(user, [msg, chatbot], [msg, chatbot], queue=False).then(bot, chatbot, chatbot)``: the
unqueued first step clears the textbox and appends the user message to the Chatbot; the second
streams the answer into it (tuples on 4.x as in its guide, messages on 5/6). A Clear button resets
the Chatbot (a separate event the bridge must not run).

Proves: the bridge runs the app's own chain with the message and the history it holds; the reply
is ``two turn={n} echo: {message}`` where n counts the user entries the bot step saw.
"""

from __future__ import annotations

import time
from typing import Any

import gradio as gr

from ._common import chat_kwargs, chat_type, text_of, user_entries


def user(user_message: str, history: list[Any] | None) -> tuple[str, list[Any]]:
    history = list(history or [])
    if chat_type() == "tuples":
        return "", [*history, [user_message, None]]
    return "", [*history, {"role": "user", "content": user_message}]


def _last_user_text(history: list[Any]) -> str:
    if chat_type() == "tuples":
        return text_of(history[-1][0])
    content = history[-1]["content"]
    if isinstance(content, list):  # gradio 6: a list of typed parts
        return " ".join(str(p.get("text", "")) for p in content if isinstance(p, dict))
    return text_of(content)


def bot(history: list[Any]) -> Any:
    words = f"two turn={user_entries(history)} echo: {_last_user_text(history)}".split(" ")
    if chat_type() == "tuples":
        history[-1][1] = ""
    else:
        history.append({"role": "assistant", "content": ""})
    for i, word in enumerate(words):
        chunk = word if i == 0 else " " + word
        if chat_type() == "tuples":
            history[-1][1] += chunk
        else:
            history[-1]["content"] += chunk
        time.sleep(0.01)
        yield history


def build() -> gr.Blocks:
    with gr.Blocks(title="Bridge two-step chain app") as demo:
        chatbot = gr.Chatbot(**chat_kwargs(v4_type="tuples"))
        msg = gr.Textbox(label="Message")
        clear = gr.Button("Clear")
        msg.submit(user, [msg, chatbot], [msg, chatbot], queue=False).then(bot, chatbot, chatbot)
        clear.click(lambda: None, None, chatbot, queue=False)
    return demo
