"""The console's receive room: lines typed → :class:`~bridge.Incoming` → ``host.deliver``.

The receive room of every adapter owns the platform's read loop and calls ``host.deliver``
itself, once per message, never waiting for a reply there (``deliver`` returns once the message
is recorded; the core answers it elsewhere). Here the platform is stdin:

- Each non-empty line is one message, in the order typed. Commands (``/reset``, ``/settings
  temperature=0.3``…) are sent as typed: the core knows them, no adapter parses them.
- ``/file PATH [message]`` attaches a local file. The file is only named here (:mod:`.files`): the
  turn fetches it when it runs.
- A number typed right after a reply that offered choices sends that choice (:mod:`.choices`).
- Keys: the whole console is one chat, ``ConversationKey(name, "console")``; the core applies the
  adapter's ``scope``. The author is the configured ``user``.
- Ids: every message has an id unique to it (this run's id, then its number), which the durable
  inbox uses to answer a message delivered twice only once.
- ``host.deliver`` returns False while the bridge's store is down and the message is only held in
  memory; a platform that redelivers must then not confirm it. A terminal cannot redeliver, so the
  person is told instead.
- End of input (Ctrl-D, the end of a pipe) ends :meth:`Reader.run`: the bridge then waits for the
  pending replies and exits. One-shot (``message`` configured): that message is delivered and the
  input ends at once, without reading stdin.

stdin is read in a worker thread, so the event loop (and every reply streaming meanwhile) never
waits for the person to type.
"""

from __future__ import annotations

import asyncio
import shlex
import uuid
from collections.abc import Sequence
from pathlib import Path
from typing import TextIO

from adapters.console import files, render
from adapters.console.choices import Choices
from adapters.console.config import ConsoleConfig
from adapters.console.send import Screen
from bridge import Attachment, Author, ConversationKey, Host, Incoming

USAGE = "usage: /file PATH [message]"


class Reader:
    """Reads the person's lines and delivers them; one per console adapter."""

    def __init__(
        self, name: str, config: ConsoleConfig, stdin: TextIO, screen: Screen, choices: Choices
    ) -> None:
        self.key = ConversationKey(adapter=name, chat="console")
        self.author = Author(id=config.user, name=config.user)
        self.config = config
        self._in = stdin
        self._screen = screen
        self._choices = choices
        self._run = uuid.uuid4().hex[:12]  # ids: this run, then the message's number
        self._count = 0

    async def run(self, host: Host) -> None:
        """Deliver every line until the input ends (or only the configured one-shot message)."""
        if self.config.message is not None:
            attached = self._attach(self.config.attach)
            if attached is not None:
                await self._deliver(host, self.config.message, attached)
            return
        self._screen.prompt()
        while line := await asyncio.to_thread(self._in.readline):
            text = line.strip()
            if not text:
                continue
            self._screen.typed()
            if text.startswith("/file"):
                await self._file(host, text)
            else:
                await self._deliver(host, await self._choices.pick(text))

    async def _file(self, host: Host, line: str) -> None:
        """``/file PATH [message]``: the message with that file, or a usage hint."""
        try:
            words = shlex.split(line)
        except ValueError:  # an unclosed quote: take the words as they are
            words = line.split()
        if len(words) < 2:
            self._screen.notice(USAGE)
            self._screen.prompt()
            return
        attached = self._attach(words[1:2])
        if attached is not None:
            await self._deliver(host, " ".join(words[2:]), attached)

    def _attach(self, paths: Sequence[str]) -> tuple[Attachment, ...] | None:
        """The files at ``paths``, named (not read); None (the person told) when one is missing."""
        found = []
        for name in paths:
            path = Path(name).expanduser()
            if not path.is_file():
                self._screen.notice(f"no such file: {path}")
                self._screen.prompt()
                return None
            found.append(files.reference(path))
        return tuple(found)

    async def _deliver(self, host: Host, text: str, attachments: tuple[Attachment, ...] = ()) -> None:
        self._count += 1
        msg = Incoming(
            key=self.key,
            author=self.author,
            text=text,
            attachments=attachments,
            id=f"{self._run}:{self._count}",
        )
        if not await host.deliver(msg):
            self._screen.notice(render.HELD)
