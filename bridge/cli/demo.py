"""``bridge demo``: the bundled demo app (:mod:`bridge.demo.app`) and the console adapter against it.

This is the main job (``bridge serve``) on an embedded default: an in-memory state store, one
Space (the demo app) and one console bot. On a terminal you chat; when stdin is not a terminal,
each line is one message and the demo ends after the last answer (no input at all sends one
sample message, so the streaming can be seen).
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import importlib.util
import io
import json
import sys

from bridge.app import serve
from bridge.cli.common import Commands
from bridge.config import parse_config
from bridge.errors import BridgeError

SAMPLE = "Hello! Please send me a picture."


def add(commands: Commands) -> None:
    """Declare ``demo`` on the ``bridge`` parser's sub-commands."""
    sp = commands.add_parser("demo", help="chat in the terminal with the bundled demo app (no tokens)")
    sp.add_argument("--port", type=int, default=0, help="port for the demo app (default: a free one)")
    sp.set_defaults(run=run)


async def run(args: argparse.Namespace) -> int:
    """Run the demo on ``args.port``."""
    return await run_demo(args.port)


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
    return proc, str(json.loads(line)["url"]).rstrip("/")


async def run_demo(port: int = 0) -> int:
    """Run the demo; returns the exit code."""
    if not sys.stdin.isatty():
        data = await asyncio.to_thread(sys.stdin.read)
        sys.stdin = io.StringIO(data if data.strip() else SAMPLE + "\n")
        sys.stdout.write("" if data.strip() else f"> {SAMPLE}\n")
    sys.stderr.write("[starting the demo app (a local Gradio ChatInterface)…]\n")
    proc, url = await start_demo_app(port)
    sys.stderr.write(
        f"[demo app at {url}; type a message, /help, /settings persona=pirate, /reset; Ctrl-D ends]\n"
    )
    config = parse_config(
        {
            "bridge": {"state": "memory://", "log_level": "warning"},
            "spaces": {"demo": {"src": url}},
            "adapters": {"term": {"type": "console", "space": "demo"}},
        },
        env={},
        source="demo",
    )
    try:
        return await serve(config)
    finally:
        if proc.stdin is not None:
            proc.stdin.close()
        with contextlib.suppress(ProcessLookupError):
            proc.terminate()
        await proc.wait()
