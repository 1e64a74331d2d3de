"""The benchmark's server: a streaming ``gr.ChatInterface`` on 127.0.0.1.

Usage: ``python bench/app.py [--port PORT]`` (PORT 0 or absent: a free port).

Environment: ``TOKENS`` (default 50) words per reply, ``DELAY`` (default 0.01) seconds before each.
``KEEP_ALIVE`` (seconds), when set, replaces uvicorn's keep-alive timeout (gradio leaves uvicorn's
default of 5 s and has no option for it); a diagnostic for the keep-alive race in bench/README.md.
The reply to ``MESSAGE`` is fully determined, so clients can check it (see :func:`expected_reply`):
``"MESSAGE #K w0 w1 ... w{TOKENS-1}"`` where K is the number of earlier turns in the conversation
(so a lost or mixed-up history shows as a wrong K). Each yield is the whole reply so far.

The fn is an async generator and the queue has no concurrency limit, so the server is not capped
by a thread pool or a per-event limit. Exactly one JSON line ``{"url": ..., "gradio": ...}`` goes
to stdout once the app serves; everything gradio prints goes to stderr. The process serves until
stdin reaches EOF or it receives SIGTERM/SIGINT.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import os
import signal
import socket
import sys
import threading
import traceback
from collections.abc import AsyncIterator
from typing import Any


def expected_reply(message: str, turn: int, tokens: int) -> str:
    """The final text the app answers to ``message`` as turn ``turn`` (0-based) of a conversation."""
    return " ".join([f"{message} #{turn}", *(f"w{i}" for i in range(tokens))])


def build(tokens: int, delay: float) -> Any:
    import gradio as gr

    async def respond(message: str, history: list[Any]) -> AsyncIterator[str]:
        text = f"{message} #{len(history) // 2}"
        for i in range(tokens):
            if delay > 0:
                await asyncio.sleep(delay)
            text += f" w{i}"
            yield text

    demo = gr.ChatInterface(respond, title="Bridge benchmark")
    demo.queue(default_concurrency_limit=None, max_size=None)
    return demo


def set_keep_alive(seconds: float) -> None:
    """Make every uvicorn server of this process use ``seconds`` as its keep-alive timeout."""
    import functools

    import uvicorn.config

    original = uvicorn.config.Config.__init__

    @functools.wraps(original)
    def init(self: Any, *args: Any, **kwargs: Any) -> None:
        kwargs["timeout_keep_alive"] = seconds
        original(self, *args, **kwargs)

    uvicorn.config.Config.__init__ = init  # type: ignore[method-assign]


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def wait_for_stop() -> None:
    stop = threading.Event()

    def on_signal(signum: int, frame: Any) -> None:
        stop.set()

    signal.signal(signal.SIGTERM, on_signal)
    signal.signal(signal.SIGINT, on_signal)

    def read_stdin() -> None:
        with contextlib.suppress(Exception):
            while sys.stdin.buffer.read1(65536):
                pass
        stop.set()

    threading.Thread(target=read_stdin, name="stdin-eof", daemon=True).start()
    while not stop.wait(0.5):
        pass


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--port", type=int, default=0, help="port on 127.0.0.1 (default: a free one)")
    args = parser.parse_args(argv)
    tokens = int(os.environ.get("TOKENS", "50"))
    delay = float(os.environ.get("DELAY", "0.01"))
    keep_alive = os.environ.get("KEEP_ALIVE")
    os.environ["GRADIO_ANALYTICS_ENABLED"] = "False"

    real_stdout = sys.stdout
    sys.stdout = sys.stderr  # gradio's banners and prints must not reach our stdout
    import gradio as gr

    if keep_alive:
        set_keep_alive(float(keep_alive))
    port = args.port or free_port()
    demo = build(tokens, delay)
    try:
        demo.launch(server_name="127.0.0.1", server_port=port, prevent_thread_lock=True, quiet=True)
        info = {
            "url": f"http://127.0.0.1:{port}/",
            "gradio": gr.__version__,
            "tokens": tokens,
            "delay": delay,
        }
        real_stdout.write(json.dumps(info) + "\n")
        real_stdout.flush()
        wait_for_stop()
    finally:
        with contextlib.suppress(Exception):
            demo.close()
    return 0


if __name__ == "__main__":
    try:
        code = main()
    except SystemExit as exc:  # argparse errors and --help
        code = exc.code if isinstance(exc.code, int) else 2
    except BaseException:
        traceback.print_exc()
        code = 1
    sys.stderr.flush()
    os._exit(code)  # do not wait for gradio's leftover non-daemon threads
