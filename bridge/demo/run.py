"""``bridge demo``: start the bundled demo app on 127.0.0.1 and chat with it in the terminal.

On a terminal, each line you type is a message (``/reset`` starts over, ``/settings persona=pirate``
changes the app's setting, ``/quit`` or Ctrl-D ends). When stdin is not a terminal, each input
line is one message, answered in order; with no input at all, one sample message is sent so
the streaming can be seen.
"""

from __future__ import annotations

import asyncio
import contextlib
import importlib.util
import json
import sys
from pathlib import Path

from bridge.errors import BridgeError
from bridge.gradio.chat import ChatTurn, resolve_params
from bridge.gradio.client import GradioClient
from bridge.gradio.session import ChatSession
from bridge.terminal import TerminalPrinter, stream_turn

SAMPLE = "Hello! Please send me a picture."


async def start_demo_app(port: int = 0) -> tuple[asyncio.subprocess.Process, str]:
    """Start ``bridge.demo.app`` in a child process; return it and the URL it serves."""
    if importlib.util.find_spec("gradio") is None:
        raise BridgeError("the demo needs gradio: pip install 'gradio-bridge[demo]'")
    proc = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "bridge.demo.app",
        "--port",
        str(port),
        stdin=asyncio.subprocess.PIPE,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.DEVNULL,
    )
    assert proc.stdout is not None
    line = await asyncio.wait_for(proc.stdout.readline(), timeout=120)
    if not line:
        raise BridgeError("the demo app did not start; run `python -m bridge.demo.app` to see why")
    return proc, str(json.loads(line)["url"])


async def _lines(interactive: bool) -> list[str] | None:
    if interactive:
        return None
    data = await asyncio.to_thread(sys.stdin.read)
    lines = [line.strip() for line in data.splitlines() if line.strip()]
    return lines or [SAMPLE]


async def run_demo(port: int = 0) -> int:
    """Run the demo chat; returns the exit code."""
    interactive = sys.stdin.isatty()
    printer = TerminalPrinter()
    printer.status("starting the demo app (a local Gradio ChatInterface)…")
    proc, url = await start_demo_app(port)
    try:
        async with await GradioClient.connect(url) as client:
            printer.status(f"demo app at {url}; type a message, /reset, /settings persona=pirate, /quit")
            session, params = ChatSession(), dict[str, str]()
            scripted = await _lines(interactive)
            index = 0
            while True:
                if scripted is None:
                    text = await asyncio.to_thread(_prompt)
                    if text is None:
                        break
                elif index < len(scripted):
                    text, index = scripted[index], index + 1
                    sys.stdout.write(f"> {text}\n")
                else:
                    break
                if not text:
                    continue
                if text in ("/quit", "/exit"):
                    break
                if text == "/reset":
                    session.reset()
                    printer.status("new conversation")
                    continue
                if text.startswith("/settings"):
                    _settings(client, text, params, printer)
                    continue
                try:
                    turn = ChatTurn(client, session, text, params=params)
                    await stream_turn(client, turn, printer, Path("bridge-out"), 20 * 1024 * 1024)
                except BridgeError as exc:
                    printer.status(f"error: {exc}")
    finally:
        if proc.stdin is not None:
            proc.stdin.close()
        with contextlib.suppress(ProcessLookupError):
            proc.terminate()
        await proc.wait()
    return 0


def _prompt() -> str | None:
    try:
        return input("> ").strip()
    except EOFError:
        return None


def _settings(client: GradioClient, text: str, params: dict[str, str], printer: TerminalPrinter) -> None:
    args = text.split()[1:]
    for arg in args:
        name, _, value = arg.partition("=")
        candidate = {**params, name: value}
        try:
            resolve_params(client.chat, candidate)
        except BridgeError as exc:
            printer.status(f"error: {exc}")
            return
        params[name] = value
    for p in client.chat.params:
        current = next((v for k, v in params.items() if p.matches(k)), p.default)
        printer.status(f"{p.name} = {current!r} ({p.describe()})")
