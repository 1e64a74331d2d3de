"""The console adapter: a terminal as a chat platform, and the reference for writing an adapter.

Every adapter is one folder with the same rooms, so "where does X happen?" has one answer on
every platform. Here they are small enough to read in one sitting:

- ``adapter.py`` (this file): the class the registry builds, ``ConsoleAdapter(name, config)``;
  ``run(host)`` wires the rooms together; the contract's methods hand each call to its room.
- ``receive.py``: the read loop, lines typed → :class:`~bridge.Incoming` → ``host.deliver``.
- ``send.py``: send, edit, files, typing and error mapping: the core's calls, written to the terminal.
- ``render.py``: what is printed for a text (its blocks), status lines, choices and saved files.
- ``config.py``: the ``[adapters.NAME]`` table, ``type = "console"``.
- ``choices.py``: quick replies, listed numbered; ``files.py``: a user's files, the app's files.

How it behaves: on a terminal (stdin and stdout are TTYs) the reply is redrawn in place as it
streams. Otherwise (line mode) each input line is one message, answered in order; only final text
goes to stdout, status lines to stderr, and at end of input ``run`` returns, so the bridge waits for
the pending replies and exits. With ``message`` configured (``bridge ask``) it is one-shot: that one
message, and the input ends.

An adapter imports only ``bridge`` (the public names) and its own modules: never the relay.
"""

from __future__ import annotations

import sys
from collections.abc import Callable, Sequence
from contextlib import AbstractAsyncContextManager
from pathlib import Path
from typing import TextIO

from adapters.console.choices import Choices
from adapters.console.config import ConsoleConfig
from adapters.console.files import fetch as fetch_local
from adapters.console.receive import Reader
from adapters.console.send import Screen
from bridge import (
    Attachment,
    Capabilities,
    Choice,
    ConversationKey,
    Host,
    LocalFile,
    MessageRef,
    Stage,
    Text,
)


class ConsoleAdapter:
    """A terminal as a chat platform: one conversation, the configured user typing.

    Built as every adapter is, ``ConsoleAdapter(name, config)``; the bridge may pass a third
    argument, its resolver of ``*_env`` secrets, which the console does not need. ``stdin``,
    ``stdout``, ``stderr`` and ``tty`` replace the process's streams (to embed it, or in tests).
    """

    Config = ConsoleConfig  # the model the bridge validates ``[adapters.NAME]`` with

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
        stdin, stdout = stdin or sys.stdin, stdout or sys.stdout
        if tty is None:  # a person at a terminal; one-shot reads no stdin, so only stdout counts
            tty = stdout.isatty() and (config.message is not None or stdin.isatty())
        # What the core may do here: long texts, fast edits (a terminal has no rate limit), any file.
        self.capabilities = Capabilities(
            max_text_len=1_000_000,
            min_edit_interval_s=0.1 if tty else 0.05,
            can_edit=True,
            max_files=100,
            max_file_bytes=1 << 40,
            markup="markdown",
        )
        prompt = "" if config.message is not None else config.prompt
        self.screen = Screen(stdout, stderr or sys.stderr, tty=tty, redraw=config.redraw, prompt=prompt)
        self.choices = Choices()
        self.reader = Reader(name, config, stdin, self.screen, self.choices)

    @property
    def tty(self) -> bool:
        """A person at a terminal (prompted, replies redrawn when ``redraw``), not a script."""
        return self.screen.tty

    async def run(self, host: Host) -> None:
        """Receive until the input ends: ready at once (a terminal is always connected)."""
        host.ready()  # the bridge may now resume what an earlier run left unanswered
        await self.choices.restore(host.state)  # an offer made before a restart still picks
        await self.reader.run(host)

    # -- the contract's methods, each handed to its room -----------------------------------
    async def send(
        self, to: ConversationKey, text: Text, reply_to: MessageRef | None = None, *, stage: Stage = "final"
    ) -> MessageRef:
        """Print a new message (line mode: final text on stdout, status on stderr)."""
        return await self.screen.send(to, text, stage)

    async def edit(self, ref: MessageRef, text: Text, *, stage: Stage = "final") -> MessageRef:
        """Show the new text (a terminal: redrawn in place); returns ``ref``, still valid."""
        return await self.screen.edit(ref, text, stage)

    async def send_files(
        self, to: ConversationKey, files: Sequence[LocalFile], reply_to: MessageRef | None = None
    ) -> None:
        """Save the app's files into ``files_dir`` and say where they are."""
        await self.screen.send_files(files, Path(self.config.files_dir))

    async def offer(self, ref: MessageRef, choices: Sequence[Choice]) -> None:
        """List the choices numbered below the reply; the next line typed may pick one."""
        await self.choices.offer(choices)
        self.screen.show_choices(choices)

    def typing(self, to: ConversationKey) -> AbstractAsyncContextManager[None]:
        """Nothing to show while a turn runs: its status line says what is happening."""
        return self.screen.typing()

    async def fetch(self, attachment: Attachment) -> Attachment:
        """A ``/file`` the person attached, read from disk now that its turn runs."""
        return fetch_local(attachment)
