"""Rendering one streaming chat turn to a terminal: reply text on stdout as it grows, status on stderr.

Used by ``bridge ask`` and ``bridge demo``. On a terminal (``live``), text is written as deltas
when the reply only grows, and a rewritten reply (a ``replace`` from the app) is printed again in
full on a new line. Otherwise (a pipe, a file) only the final reply is written, exactly once.
"""

from __future__ import annotations

import sys
from dataclasses import dataclass, field
from pathlib import Path
from typing import TextIO

from bridge.errors import BridgeError
from bridge.gradio.chat import ChatTurn, ReplyUpdate, TurnDone
from bridge.gradio.client import GradioClient
from bridge.gradio.events import Log, ProgressUpdate, Queued, SpaceStatus, Started
from bridge.model import Reply


@dataclass
class TerminalPrinter:
    """Writes a turn's events; ``out`` gets the answer, ``err`` everything else."""

    out: TextIO = field(default_factory=lambda: sys.stdout)
    err: TextIO = field(default_factory=lambda: sys.stderr)
    live: bool | None = None  # stream partial text; None: when ``out`` is a terminal
    _printed: str = ""
    _thoughts: int = 0

    def status(self, text: str) -> None:
        """Write one status line to stderr."""
        self.err.write(f"[{text}]\n")
        self.err.flush()

    def space_status(self, event: SpaceStatus) -> None:
        """Report a Space stage change."""
        self.status(event.message)

    def reply(self, reply: Reply, final: bool = False) -> None:
        """Show the reply so far: thoughts once they are done, text as a delta."""
        thoughts = reply.thoughts
        for t in thoughts[self._thoughts :]:
            if t.status == "pending" and not final:
                break
            self.status(f"{t.title}: {t.text}" if t.text else t.title)
            self._thoughts += 1
        text = reply.text
        if not final and not self._live():
            return
        if text.startswith(self._printed):
            self.out.write(text[len(self._printed) :])
        else:
            self.out.write("\n" + text)
        self._printed = text
        self.out.flush()

    def _live(self) -> bool:
        if self.live is None:
            self.live = bool(getattr(self.out, "isatty", lambda: False)())
        return self.live

    def end(self) -> None:
        """Finish the answer's line."""
        self.out.write("\n")
        self.out.flush()
        self._printed = ""
        self._thoughts = 0


async def stream_turn(
    client: GradioClient, turn: ChatTurn, printer: TerminalPrinter, out_dir: Path | None, max_download: int
) -> TurnDone:
    """Run ``turn`` to its end, printing as it goes; download reply files into ``out_dir``."""
    done: TurnDone | None = None
    async for event in turn:
        if isinstance(event, Queued):
            ahead = f"#{event.rank + 1}" if event.rank is not None else "queued"
            size = f" of {event.queue_size}" if event.queue_size else ""
            eta = f", about {event.eta:.0f} s" if event.eta else ""
            printer.status(f"in queue {ahead}{size}{eta}")
        elif isinstance(event, Started):
            printer.status("generating…")
        elif isinstance(event, ProgressUpdate):
            for step in event.steps:
                frac = step.fraction
                pct = f" {frac:.0%}" if frac is not None else ""
                printer.status(f"{step.desc or 'working'}{pct}")
        elif isinstance(event, Log):
            printer.status(f"{event.level}: {event.message}")
        elif isinstance(event, ReplyUpdate):
            printer.reply(event.reply)
        elif isinstance(event, TurnDone):
            done = event
            printer.reply(event.reply, final=True)
            printer.end()
    assert done is not None
    if done.cancelled:
        printer.status("stopped")
    if done.context_reset:
        printer.status("the app had forgotten this conversation and earlier context could not be restored")
    for part in done.reply.files:
        if out_dir is None:
            printer.status(f"file: {part.name} ({part.url})")
            continue
        try:
            saved = await client.download(part, out_dir, max_download)
        except BridgeError as exc:
            printer.status(f"could not save {part.name}: {exc}")
        else:
            printer.status(f"saved {saved.path} ({saved.size:,} bytes)")
    return done
