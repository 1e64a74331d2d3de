"""The chatbot of Gradio's "Multimodal Chatbot" guide: a MultimodalTextbox whose submit step
``add_message(history, message)`` appends each file and the text to the Chatbot and disables the
box, then ``bot(history)`` streams, then a third step re-enables the box (``gr.update`` only).

Proves: multimodal messages (uploaded files) go through the app's own first step; the reply
``mm turn={n} files={k} text={text}`` counts the user's turns and the files of this turn as the bot
step saw them in the history; ``image`` in the text makes the bot answer with an image file too.
"""

from __future__ import annotations

from typing import Any

import gradio as gr

from ._common import GREEN_PNG_PATH, chat_kwargs, chat_type, user_turns


def add_message(history: list[Any] | None, message: dict[str, Any]) -> tuple[list[Any], Any]:
    history = list(history or [])
    tuples = chat_type() == "tuples"
    for x in message["files"]:
        path = x if isinstance(x, str) else x["path"]  # str on 5/6, FileData on 4
        history.append([(path,), None] if tuples else {"role": "user", "content": {"path": path}})
    if message["text"] is not None:
        text = message["text"]
        history.append([text, None] if tuples else {"role": "user", "content": text})
    return history, gr.MultimodalTextbox(value=None, interactive=False)


def _this_turn(history: list[Any]) -> tuple[int, str]:
    """(files, text) of the trailing user entries."""
    files, text = 0, ""
    for entry in reversed(history):
        if isinstance(entry, list | tuple):  # tuples: a str is text, anything else a file
            if entry[1] is not None:
                break
            if isinstance(entry[0], str):
                text = entry[0] + text
            else:
                files += 1
            continue
        if entry.get("role") != "user":
            break
        content = entry.get("content")
        parts = content if isinstance(content, list) else [content]
        for part in parts:
            if isinstance(part, str):
                text = part + text
            elif isinstance(part, dict) and part.get("type") == "text":
                text = str(part.get("text")) + text
            else:
                files += 1
    return files, text


def bot(history: list[Any]) -> Any:
    files, text = _this_turn(history)
    turn = user_turns(history) + (chat_type() == "tuples")  # messages: this turn's run counts
    answer = f"mm turn={turn} files={files} text={text}"
    if chat_type() == "tuples":
        history[-1][1] = answer
        if "image" in text:
            history.append([None, (GREEN_PNG_PATH,)])
        yield history
        return
    history.append({"role": "assistant", "content": ""})
    for ch in answer.split(" "):
        history[-1]["content"] += ("" if not history[-1]["content"] else " ") + ch
        yield history
    if "image" in text:
        history.append({"role": "assistant", "content": {"path": GREEN_PNG_PATH}})
        yield history


def build() -> gr.Blocks:
    with gr.Blocks(title="Bridge multimodal chain app") as demo:
        chatbot = gr.Chatbot(elem_id="chatbot", **chat_kwargs(v4_type="tuples"))
        chat_input = gr.MultimodalTextbox(
            interactive=True,
            file_count="multiple",
            placeholder="Enter message or upload file...",
            show_label=False,
        )
        chat_msg = chat_input.submit(add_message, [chatbot, chat_input], [chatbot, chat_input])
        bot_msg = chat_msg.then(bot, chatbot, chatbot, api_name="bot_response")
        bot_msg.then(lambda: gr.MultimodalTextbox(interactive=True), None, [chat_input])
    return demo
