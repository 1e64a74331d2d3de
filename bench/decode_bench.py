"""Per-frame CPU cost of rebuilding a streamed chatbot value from gradio's diffs (``EventDecoder``).

A ChatInterface streams the whole chatbot value once, then one diff per token (PROTOCOL.md §3.4).
This measures the bridge's decoding of one token frame for a conversation of N earlier messages,
in-process and single-threaded, so it is repeatable on a shared machine::

    .venv/bin/python bench/decode_bench.py            # histories 10, 100, 400; 500 tokens each
"""

from __future__ import annotations

import argparse
import time
from collections.abc import Iterator
from typing import Any

from bridge.gradio.wire import EventDecoder


def frames(history: int, tokens: int) -> Iterator[dict[str, Any]]:
    """The queue messages of one streamed reply after ``history`` messages of ~400 characters."""
    chat = [
        {"role": ("user", "assistant")[i % 2], "content": f"message {i} " * 40, "metadata": None}
        for i in range(history)
    ]
    chat.append({"role": "assistant", "content": "", "metadata": None})
    yield {"msg": "process_generating", "output": {"data": [chat]}}
    for t in range(tokens):
        diff = [["append", [history, "content"], f" t{t}"]]
        yield {"msg": "process_generating", "output": {"data": [diff]}}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--histories", default="10,100,400", help="comma-separated message counts")
    parser.add_argument("--tokens", type=int, default=500)
    args = parser.parse_args()
    for history in (int(h) for h in args.histories.split(",")):
        messages = list(frames(history, args.tokens))
        decoder = EventDecoder(6)
        start = time.perf_counter()
        for message in messages:
            decoder.decode(message)
        per_frame = (time.perf_counter() - start) / len(messages) * 1e6
        print(f"history {history:5d} messages: {per_frame:8.1f} µs per frame")


if __name__ == "__main__":
    main()
