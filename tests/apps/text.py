"""Streaming text ChatInterface with four additional inputs (Slider, Dropdown, Checkbox, Number).

Proves: additional inputs reach the fn with the values sent (the reply echoes them); server-side
history per session (`turn`/`n` in the reply); word-by-word streaming (append diffs); gr.Error before
the first yield (`boom`) and mid-stream (`mid`); a plain exception (`crash`); a long stream that can be
cancelled (`slow`); progress/info/warning log messages (`progress`); a long Markdown reply with fenced
code blocks streamed in chunks (`long`); text that must not be mangled (`mention`); a reply that is
replaced rather than extended (`rewrite`); a worker that
gets stuck after its first chunk (`hang`: it sleeps for HANG_S in the worker thread, which no
cancel can interrupt — serve it from a server of its own, as it blocks a worker that long).
Multimodal message dicts are accepted too (their "text" is used).
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from typing import Any

import gradio as gr

from ._common import chat_kwargs, text_of, user_entries

WORD_DELAY = 0.02
SLOW_DELAY = 0.3
SLOW_STEPS = 30
LONG_CHUNK = 500
HANG_S = 600


def long_markdown() -> str:
    """A deterministic ~10,000-character Markdown document with several fenced python blocks."""
    parts: list[str] = ["# Long answer\n"]
    section = 0
    while sum(len(p) for p in parts) < 10_000:
        section += 1
        parts.append(f"\n## Section {section}\n\n")
        parts.append(
            f"Paragraph {section}: the bridge relays every token of this reply without loss. "
            "It contains *emphasis*, **bold**, `inline code`, a [link](https://example.com) and "
            "characters that must survive: < > & \" ' \\ | and unicode \u00e9\u00e8 \u2603.\n\n"
        )
        parts.append(
            "```python\n"
            f"def section_{section}(values: list[int]) -> int:\n"
            f'    """Sum the values and add {section}."""\n'
            "    total = 0\n"
            "    for value in values:\n"
            "        total += value * 2  # doubled\n"
            f"    return total + {section}\n"
            "```\n"
        )
    parts.append("\nThe end.\n")
    return "".join(parts)


def stream_fn(
    message: Any,
    history: list[Any],
    temperature: float,
    style: str,
    shout: bool,
    max_words: float,
    progress: gr.Progress = gr.Progress(),  # noqa: B008 - gradio injects the tracker via this default
) -> Iterator[str]:
    text = text_of(message)
    turn = user_entries(history) + 1
    n = len(history or [])
    if "boom" in text:
        raise gr.Error("boom-boom")
    if "crash" in text:
        raise ValueError("plain crash")
    if "mid" in text:
        yield "partial answer"
        yield "partial answer 2"
        raise gr.Error("mid-fail")
    if "hang" in text:
        yield "partial before the hang"
        time.sleep(HANG_S)
        yield "never shown"
        return
    if "slow" in text:
        words: list[str] = []
        for i in range(SLOW_STEPS):
            words.append(f"w{i}")
            yield " ".join(words)
            time.sleep(SLOW_DELAY)
        return
    if "progress" in text:
        for _ in progress.tqdm(range(3), desc="stepping", unit="steps"):
            time.sleep(0.2)  # > the queue's 0.1 s progress poll, so every step is sent
        gr.Info("note info")
        gr.Warning("careful")
        yield "progress done"
        return
    if "long" in text:
        doc = long_markdown()
        for end in range(LONG_CHUNK, len(doc) + LONG_CHUNK, LONG_CHUNK):
            yield doc[:end]
            time.sleep(0.005)
        return
    if "mention" in text:
        yield "hello @everyone and @here"
        return
    if "rewrite" in text:  # the answer so far is replaced, not extended
        yield "a first draft that is longer than the answer"
        time.sleep(WORD_DELAY * 5)
        yield "the answer"
        return
    reply = f"turn={turn} n={n} temp={temperature} style={style} shout={shout} echo: {text}"
    if shout:
        reply = reply.upper()
    out = ""
    for word in reply.split(" "):
        out = f"{out} {word}" if out else word
        yield out
        time.sleep(WORD_DELAY)


def build() -> gr.Blocks:
    return gr.ChatInterface(
        stream_fn,
        additional_inputs=[
            gr.Slider(0, 2, value=0.7, step=0.1, label="Temperature"),
            gr.Dropdown(["plain", "formal", "pirate"], value="plain", label="Style"),
            gr.Checkbox(value=False, label="Shout"),
            gr.Number(value=3, label="Max words", minimum=1, maximum=50),
        ],
        title="Bridge text test app",
        **chat_kwargs(),
    )
