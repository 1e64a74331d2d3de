"""The console adapter: a terminal chat with one configured Space.

On a terminal (TTY) the reply is redrawn in place as it streams. When stdin is not a terminal
(line mode) each input line is one message, answered in order; only final text goes to stdout,
status lines go to stderr, and at end of input :meth:`ConsoleAdapter.run` returns so the bridge
can wait for the pending replies and exit. ``/file PATH [message]`` attaches a local file.
"""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import shlex
import shutil
import sys
import uuid
from collections.abc import AsyncIterator, Callable, Sequence
from pathlib import Path
from typing import TextIO

from adapters.console.config import ConsoleConfig
from bridge import (
    Attachment,
    Author,
    Capabilities,
    Choice,
    ConversationKey,
    Host,
    Incoming,
    LocalFile,
    MessageRef,
    PlatformError,
    Stage,
)

_CLEAR_TO_END = "\x1b[J"


class ConsoleAdapter:
    """A terminal as a chat platform; one conversation, keyed by the configured user.

    Built as every adapter is, ``ConsoleAdapter(name, config, secret)``; the console needs no
    secret. ``stdin``/``stdout``/``stderr``/``tty`` replace the process's streams (for embedding).
    """

    Config = ConsoleConfig

    def __init__(
        self,
        name: str,
        config: ConsoleConfig,
        secret: Callable[[str], str] | None = None,
        *,
        stdin: TextIO | None = None,
        stdout: TextIO | None = None,
        stderr: TextIO | None = None,
        tty: bool | None = None,
    ) -> None:
        self.name = name
        self.config = config
        self._in = stdin or sys.stdin
        self._out = stdout or sys.stdout
        self._err = stderr or sys.stderr
        self.tty = self._in.isatty() and self._out.isatty() if tty is None else tty
        self.capabilities = Capabilities(
            max_text_len=1_000_000,
            min_edit_interval_s=0.1 if self.tty else 0.05,
            can_edit=True,
            max_files=100,
            max_file_bytes=1 << 40,
            markup="markdown",
        )
        self._texts: dict[str, str] = {}
        self._last_id: str | None = None
        self._last_lines = 0
        self._next_id = 0
        self.key = ConversationKey(adapter=name, chat="console")
        self._run = uuid.uuid4().hex[:12]  # message ids: this run, then the line number
        self._lines = 0
        self.author = Author(id=config.user, name=config.user)
        self._choices: tuple[Choice, ...] = ()  # offered by the newest reply: "2" sends the second

    async def run(self, host: Host) -> None:
        """Read lines until end of input (or cancellation) and deliver each as a message."""
        host.ready()
        if self.tty:
            self._write(self._out, self.config.prompt)
        while True:
            line = await asyncio.to_thread(self._in.readline)
            if not line:
                return
            text = line.strip()
            if not text:
                continue
            if self.tty:
                self._last_id = None  # what the user typed moved the cursor: start a fresh block
            incoming = self._parse(text)
            if incoming is not None:
                self._lines += 1
                await host.deliver(dataclasses.replace(incoming, id=f"{self._run}:{self._lines}"))

    def _parse(self, text: str) -> Incoming | None:
        if text.startswith("/file"):
            try:
                words = shlex.split(text)
            except ValueError:
                words = text.split()
            if len(words) < 2:
                self._write(self._err, "usage: /file PATH [message]\n")
                return None
            path = Path(words[1]).expanduser()
            if not path.is_file():
                self._write(self._err, f"no such file: {path}\n")
                return None
            return Incoming(
                key=self.key,
                author=self.author,
                text=" ".join(words[2:]),
                attachments=(Attachment.from_path(path),),
            )
        choice = (
            self._choices[int(text) - 1] if text.isdigit() and 0 < int(text) <= len(self._choices) else None
        )
        self._choices = ()
        return Incoming(key=self.key, author=self.author, text=choice.value if choice else text)

    async def offer(self, ref: MessageRef, choices: Sequence[Choice]) -> None:
        """List the choices numbered; typing a number as the next message sends that choice."""
        self._choices = tuple(choices)
        listed = "  ".join(f"[{i}] {c.label}" for i, c in enumerate(self._choices, 1))
        if self.tty:
            self._write(self._out, f"\r\x1b[K{listed}\n{self.config.prompt}")
            self._last_id = None
        else:
            self._write(self._err, f"[choices: {listed} (type the number)]\n")

    async def send(
        self, to: ConversationKey, text: str, reply_to: MessageRef | None = None, *, stage: Stage = "final"
    ) -> MessageRef:
        """Print a message (line mode: final text on stdout, status on stderr)."""
        self._next_id += 1
        ref = MessageRef(chat=to.chat, id=str(self._next_id))
        self._texts[ref.id] = ""
        await self.edit(ref, text, stage=stage)
        return ref

    async def edit(self, ref: MessageRef, text: str, *, stage: Stage = "final") -> MessageRef:
        """Show the new text (TTY: redrawn in place when it is the newest message)."""
        if self._texts.get(ref.id) == text and stage != "final":
            return ref
        self._texts[ref.id] = text
        if not (self.tty and self.config.redraw):
            if stage == "final":
                self._write(self._out, text.rstrip("\n") + "\n" + (self.config.prompt if self.tty else ""))
            elif stage == "status" and text.strip(" …"):
                self._write(self._err, f"[{text}]\n")
            return ref
        if self._last_id == ref.id and self._last_lines:
            self._write(self._out, f"\x1b[{self._last_lines}F{_CLEAR_TO_END}")
        shown = text if stage != "status" else f"\x1b[2m{text}\x1b[0m"
        width = max(20, shutil.get_terminal_size().columns)
        self._write(self._out, shown + "\n")
        self._last_id = ref.id
        self._last_lines = sum(max(1, -(-len(line) // width)) for line in text.split("\n"))
        if stage == "final":
            self._last_id = None  # finished: the prompt goes below it
            self._write(self._out, self.config.prompt)
        return ref

    async def send_files(
        self, to: ConversationKey, files: Sequence[LocalFile], reply_to: MessageRef | None = None
    ) -> None:
        """Copy the files into the configured folder and say where they are."""
        folder = Path(self.config.files_dir)
        folder.mkdir(parents=True, exist_ok=True)
        if self.tty:
            self._write(self._out, "\r\x1b[K")  # the prompt is showing: write over it
        for f in files:
            dest = _unique(folder / f.name)
            shutil.copyfile(f.path, dest)
            self._write(self._err, f"[📎 {f.kind}: saved {dest} ({f.size:,} bytes)]\n")
        if self.tty:
            self._write(self._out, self.config.prompt)
        self._last_id = None

    async def fetch(self, attachment: Attachment) -> Attachment:
        """The console's files are local (``/file PATH``) and never need fetching; a ``path`` source
        is read from disk."""
        path = Path(dict(attachment.source).get("path", ""))
        if not path.is_file():
            raise PlatformError(f"the file {path} is no longer there", permanent=True)
        return Attachment.from_path(path, attachment.mime_type)

    @contextlib.asynccontextmanager
    async def typing(self, to: ConversationKey) -> AsyncIterator[None]:
        """Nothing to show: the status line in the placeholder says it all."""
        yield

    def _write(self, stream: TextIO, text: str) -> None:
        stream.write(text)
        stream.flush()


def _unique(path: Path) -> Path:
    n = 1
    candidate = path
    while candidate.exists():
        candidate = path.with_name(f"{path.stem}-{n}{path.suffix}")
        n += 1
    return candidate
