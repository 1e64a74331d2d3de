"""An echo ChatInterface for the replica scenarios (``tests/replicas``): every reply names its turn and
echoes the message, so answers can be matched to messages and their order checked.

``turn N: <text> (end)`` streams word by word (about 0.1 s in all); a message containing ``slow``
streams ``turn N: <text>`` and then one dot every 0.4 s for :data:`SLOW_STEPS` steps before ``(end)``
(about 5 s: long enough to SIGKILL a bridge mid-reply, short enough to be asked again within the
issue's 15 s). ``N`` counts the user turns in the history the bridge sent, so two replies with the
same ``N`` in one conversation were written from the same history (answered concurrently).
The function is an async generator and the event has no concurrency limit: hundreds of
conversations stream at once without waiting for each other or for worker threads.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from typing import Any

import gradio as gr

from ._common import chat_kwargs, text_of, user_entries

WORD_DELAY = 0.02
SLOW_DELAY = 0.4
SLOW_STEPS = 12
END = "(end)"


async def echo(message: Any, history: list[Any]) -> AsyncIterator[str]:
    text = text_of(message)
    head = f"turn {user_entries(history) + 1}: {text}"
    out = ""
    for word in head.split(" "):
        out = f"{out} {word}" if out else word
        yield out
        await asyncio.sleep(WORD_DELAY)
    if "slow" in text:
        for _ in range(SLOW_STEPS):
            out += " ."
            yield out
            await asyncio.sleep(SLOW_DELAY)
    yield f"{out} {END}"


def build() -> gr.Blocks:
    return gr.ChatInterface(echo, title="Bridge replica test app", concurrency_limit=None, **chat_kwargs())
