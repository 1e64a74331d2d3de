"""The bundled demo ChatInterface: streams its reply word by word, has one setting and handles files.

Run standalone with ``python -m bridge.demo.app [--port N]``; it prints one JSON line
``{"url": …}`` on stdout when it is ready, then serves until stdin closes or it is terminated.
Needs the ``demo`` extra (gradio).
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import signal
import struct
import sys
import tempfile
import threading
import time
import zlib
from pathlib import Path

os.environ.setdefault("GRADIO_ANALYTICS_ENABLED", "False")

import gradio as gr

PERSONAS = {
    "friendly": "Happy to help!",
    "pirate": "Arr, matey!",
    "robot": "BEEP. PROCESSING COMPLETE.",
}


def _png(path: Path, rgb: tuple[int, int, int] = (46, 160, 67), size: int = 32) -> Path:
    """Write a small solid-colour PNG without any imaging library."""
    raw = b"".join(b"\x00" + bytes(rgb) * size for _ in range(size))

    def chunk(tag: bytes, data: bytes) -> bytes:
        return (
            struct.pack(">I", len(data)) + tag + data + struct.pack(">I", zlib.crc32(tag + data) & 0xFFFFFFFF)
        )

    header = struct.pack(">IIBBBBB", size, size, 8, 2, 0, 0, 0)
    path.write_bytes(
        b"\x89PNG\r\n\x1a\n"
        + chunk(b"IHDR", header)
        + chunk(b"IDAT", zlib.compress(raw))
        + chunk(b"IEND", b"")
    )
    return path


PICTURE = _png(Path(tempfile.mkdtemp(prefix="bridge-demo-")) / "square.png")


def _turns(history: list) -> int:
    return sum(1 for m in history if isinstance(m, dict) and m.get("role") == "user") + 1


def respond(message: dict, history: list, persona: str):
    """Stream a reply that shows what the bridge delivered: text, files, settings, turn count."""
    text = (message.get("text") or "").strip()
    files = message.get("files") or []
    words = [PERSONAS.get(persona, "Hello!"), f"This is turn {_turns(history)} of our chat."]
    if text:
        words.append(f"You said: “{text}”.")
    for f in files:
        path = Path(f if isinstance(f, str) else f.get("path", ""))
        size = path.stat().st_size if path.exists() else 0
        words.append(f"I received {path.name} ({size:,} bytes).")
    if "picture" in text.lower():
        words.append("Here is a picture for you.")
    else:
        words.append("Ask me for a *picture*, send me a file, or change my persona with /settings.")
    reply = ""
    for word in " ".join(words).split(" "):
        reply += ("" if not reply else " ") + word
        time.sleep(0.03)
        yield reply
    if "picture" in text.lower():
        yield [reply, gr.Image(str(PICTURE))]


def build() -> gr.ChatInterface:
    """The demo app."""
    return gr.ChatInterface(
        respond,
        multimodal=True,
        title="Bridge demo",
        additional_inputs=[gr.Dropdown(list(PERSONAS), value="friendly", label="Persona")],
    )


def main() -> None:
    """Serve the demo on 127.0.0.1 and print its URL as JSON."""
    parser = argparse.ArgumentParser()
    parser.add_argument("--port", type=int, default=0)
    args = parser.parse_args()
    demo = build()
    with contextlib.redirect_stdout(sys.stderr):
        _, url, _ = demo.launch(
            server_name="127.0.0.1",
            server_port=args.port or None,
            prevent_thread_lock=True,
            quiet=True,
            show_error=True,
        )
    print(json.dumps({"url": url}), flush=True)
    done = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: done.set())
    threading.Thread(target=lambda: (sys.stdin.read(), done.set()), daemon=True).start()
    done.wait()
    demo.close()


if __name__ == "__main__":
    main()
