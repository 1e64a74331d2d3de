"""A ChatInterface that uses what a chat reply can carry besides text: quick-reply ``options``,
``additional_outputs`` (a Code and a JSON component) and ``examples``.

On 5/6 a message with "html" is answered with text and a ``gr.HTML`` component, one with "plot"
with text and a ``gr.Plot`` of a matplotlib figure as gradio encodes it (a base64 PNG). Otherwise the reply is a ``gr.ChatMessage``-style dict with ``options`` (``[{"value", "label"}]``; the
second has a label different from its value), and the fn also returns a code snippet and a JSON
value for its additional outputs. 4.x has neither options nor additional outputs: the reply is the
text only. ``examples`` exist on every version.

Proves: options become the reply's choices; additional outputs are shown after the reply; the
examples are discovered. Reply: ``extras turn={n} echo: {message}``.
"""

from __future__ import annotations

import base64
from typing import Any

import gradio as gr
from gradio.components.plot import PlotData

from ._common import GRADIO_MAJOR, GREEN_PNG_PATH, chat_kwargs, text_of, user_entries

EXAMPLES = ["hello there", "what can you do?"]
OPTIONS = [{"value": "yes please"}, {"value": "no", "label": "No, thanks"}]


def _png_data_url() -> str:
    """What ``gr.Plot`` makes of a matplotlib figure (``encode_plot_to_base64``), without matplotlib."""
    with open(GREEN_PNG_PATH, "rb") as f:
        return "data:image/png;base64," + base64.b64encode(f.read()).decode("ascii")


def respond(message: Any, history: list[Any]) -> Any:
    text = f"extras turn={user_entries(history) + 1} echo: {text_of(message)}"
    if GRADIO_MAJOR < 5:
        return text
    if "html" in text_of(message):  # a component inside the chat: its text, never str(component)
        return [text, gr.HTML("<p>Hello <b>world</b> &amp; all</p>")], "", None
    if "plot" in text_of(message):  # a matplotlib figure, as gr.Plot sends it: a base64 image
        return [text, gr.Plot(PlotData(type="matplotlib", plot=_png_data_url()))], "", None
    reply = {"role": "assistant", "content": text, "options": OPTIONS}
    return reply, f"print({text_of(message)!r})", {"turn": user_entries(history) + 1}


def build() -> gr.Blocks:
    if GRADIO_MAJOR < 5:
        return gr.ChatInterface(respond, examples=EXAMPLES, title="Bridge extras test app", **chat_kwargs())
    with gr.Blocks(title="Bridge extras test app") as demo:  # as the ChatInterface docs render them
        code = gr.Code(language="python", label="Snippet", render=False)
        details = gr.JSON(label="Details", render=False)
        gr.ChatInterface(respond, examples=EXAMPLES, additional_outputs=[code, details], **chat_kwargs())
        code.render()
        details.render()
    return demo
