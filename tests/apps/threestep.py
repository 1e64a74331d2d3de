"""Three steps, as the Blocks guides chain them: validate, then add the message, then answer.

``msg.submit(check, msg, None).success(user, [msg, chatbot], [msg, chatbot]).then(bot, [chatbot,
count, tone], [chatbot, count, stats])``, then ``.then(lambda: gr.update(interactive=True), None,
msg)``. ``check`` raises ``gr.Error`` for an empty or "forbidden" message, so ``.success`` stops
there (on 5/6 a ``validator`` also refuses messages over 200 characters; its ``js`` trims the message
in the browser, which the bridge cannot run); ``count`` is a ``gr.State`` the app keeps per session (the bridge cannot restore it after an
app restart); ``tone`` is a Dropdown setting; ``stats`` a Markdown output shown after the reply.

Proves: ``.success`` after a validating step, a step taking a ``gr.State``, a setting, an extra
output. Reply: ``three turn={n} calls={c} tone={tone} echo: {message}`` (n: user entries the bot
saw; c: the app's own count of answered turns in this session).
"""

from __future__ import annotations

from typing import Any

import gradio as gr

from ._common import GRADIO_MAJOR, chat_kwargs, chat_type, text_of, user_entries

MAX_CHARS = 200


def check(message: str) -> None:
    if not message.strip() or "forbidden" in message:
        raise gr.Error("That message is not allowed here.")


def too_long(message: str) -> Any:
    return gr.validate(len(message) <= MAX_CHARS, f"Messages must be at most {MAX_CHARS} characters.")


def user(message: str, history: list[Any] | None) -> tuple[Any, list[Any]]:
    history = list(history or [])
    entry: Any = [message, None] if chat_type() == "tuples" else {"role": "user", "content": message}
    return gr.update(value="", interactive=False), [*history, entry]


def _last_text(history: list[Any]) -> str:
    last = history[-1]
    content = last[0] if isinstance(last, list | tuple) else last["content"]
    if isinstance(content, list):
        return " ".join(str(p.get("text", "")) for p in content if isinstance(p, dict))
    return text_of(content)


def bot(history: list[Any], count: int, tone: str) -> tuple[list[Any], int, str]:
    count = (count or 0) + 1
    answer = f"three turn={user_entries(history)} calls={count} tone={tone} echo: {_last_text(history)}"
    if chat_type() == "tuples":
        history[-1][1] = answer
    else:
        history.append({"role": "assistant", "content": answer})
    return history, count, f"**Answered** {count} message(s) in this session."


def build() -> gr.Blocks:
    with gr.Blocks(title="Bridge three-step chain app") as demo:
        chatbot = gr.Chatbot(**chat_kwargs())
        msg = gr.Textbox(label="Message")
        tone = gr.Dropdown(["plain", "warm"], value="plain", label="Tone")
        stats = gr.Markdown(label="Stats")
        count = gr.State(0)
        # 5/6 also validate before running (gradio's ``validator=``: a 422 on queue/join when invalid)
        validated: dict[str, Any] = {"validator": too_long} if GRADIO_MAJOR >= 5 else {}
        (
            msg.submit(check, msg, None, js="(m) => m.trim()", **validated)
            .success(user, [msg, chatbot], [msg, chatbot])
            .then(bot, [chatbot, count, tone], [chatbot, count, stats])
            .then(lambda: gr.update(interactive=True), None, msg)
        )
    return demo
