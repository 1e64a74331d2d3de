"""The console's send room: what the core shows (send, edit, files, typing), written to the terminal.

The core streams a reply by posting one message (``send``) and editing it (``edit``) as the text
grows, each call saying what the text is (``stage``: a status line, a partial reply, the final
text). How a terminal shows that is chosen once, by :class:`Screen`'s ``redraw``:

- **redraw** (a terminal, ``redraw = true``): a message is a block of rows; editing the newest
  block redraws it in place (cursor up, clear to the end); status text is dimmed; the prompt goes
  below a finished block. Editing an older block (a long reply continued in a new message) prints
  the new text below instead, because the rows above may have scrolled away.
- **line mode** (a pipe, a file, a script): only final text is printed, on stdout, once per
  message; status lines go to stderr; partial text is not shown. A script reads exactly the answers.

Handles: every ``send`` returns a :class:`~bridge.MessageRef` numbered in this run, and ``edit``
returns the same ref (a terminal message never turns into another one). An edit that changes
nothing is not an error and prints nothing.

Errors: a stream that cannot be written (a closed pipe: ``bridge serve | head -1``) is mapped to
``PlatformError(permanent=True)``, the contract's word for "this will never work"; the core then
gives up on that reply instead of retrying it.
"""

from __future__ import annotations

import contextlib
import shutil
from collections.abc import AsyncIterator, Sequence
from pathlib import Path
from typing import TextIO

from adapters.console import files, render
from bridge import Choice, ConversationKey, LocalFile, MessageRef, PlatformError, Stage, Text


class Screen:
    """The terminal as the core sees it: stdout for replies, stderr for everything else.

    ``tty``: a person sits at a terminal (the prompt is shown, and choices go beside the replies);
    ``redraw``: replies stream in place there (a terminal only).
    """

    def __init__(self, out: TextIO, err: TextIO, *, tty: bool, redraw: bool, prompt: str) -> None:
        self.out = out
        self.err = err
        self.tty = tty
        self.redraw = redraw and tty
        self._prompt = prompt if tty else ""
        self._count = 0
        self._texts: dict[str, Text] = {}  # message id → the text it shows
        self._drawn: str | None = None  # redraw: the newest block, still open for redrawing
        self._rows = 0  # redraw: how many rows that block takes

    # -- the contract's calls --------------------------------------------------------------
    async def send(self, to: ConversationKey, text: Text, stage: Stage) -> MessageRef:
        """Post a new message showing ``text``; its handle is the next number of this run."""
        self._count += 1
        ref = MessageRef(chat=to.chat, id=str(self._count))
        self._texts[ref.id] = Text()
        return await self.edit(ref, text, stage)

    async def edit(self, ref: MessageRef, text: Text, stage: Stage) -> MessageRef:
        """Show ``text`` as message ``ref``'s; the ref stays valid (it is returned)."""
        if self._texts.get(ref.id) == text and stage != "final":
            return ref  # not modified: nothing to redraw
        self._texts[ref.id] = text
        if self.redraw:
            self._draw(ref, text, stage)
        elif stage == "final":
            self._write(self.out, render.reply(text))
            self._close_block()
        elif stage == "status" and (line := render.status(text, redraw=False)):
            self._write(self.err, line)
        return ref

    async def send_files(self, sent: Sequence[LocalFile], folder: Path) -> None:
        """Save the app's files into ``folder`` and say where each went."""
        self._clear_prompt()
        for f, dest in files.save(sent, folder):
            self._write(self.err, render.saved(f, dest))
        self._close_block()

    def show_choices(self, offered: Sequence[Choice]) -> None:
        """List a reply's choices below it, numbered (a script reads them on stderr)."""
        if self.tty:
            self._clear_prompt()
            self._write(self.out, render.choices(offered, tty=True))
            self._close_block()
        else:
            self._write(self.err, render.choices(offered, tty=False))

    @contextlib.asynccontextmanager
    async def typing(self) -> AsyncIterator[None]:
        """Nothing to show: the status line in the reply's first message says what is happening."""
        yield

    # -- for the receive room --------------------------------------------------------------
    def prompt(self) -> None:
        """Invite the next line (on a terminal; a script is not prompted)."""
        if self._prompt:
            self._write(self.out, self._prompt)

    def typed(self) -> None:
        """The person pressed Enter: the cursor is below what they typed, so a new block starts."""
        self._drawn = None

    def notice(self, text: str) -> None:
        """A line for the person, outside any reply (a usage hint, a file not found): on stderr."""
        self._write(self.err, text.rstrip("\n") + "\n")

    # -- drawing ---------------------------------------------------------------------------
    def _draw(self, ref: MessageRef, text: Text, stage: Stage) -> None:
        if self._drawn == ref.id and self._rows:
            self._write(self.out, render.back_over(self._rows))
        shown = render.status(text, redraw=True) if stage == "status" else None
        self._write(self.out, shown or render.reply(text))
        self._drawn = ref.id
        self._rows = render.rows(text.markdown.rstrip("\n"), max(20, shutil.get_terminal_size().columns))
        if stage == "final":
            self._close_block()

    def _clear_prompt(self) -> None:
        if self.tty:
            self._write(self.out, render.CLEAR_LINE)  # the prompt is showing: write over it

    def _close_block(self) -> None:
        """What was shown is done: nothing redraws it again, and the prompt goes below it."""
        self._drawn = None
        self.prompt()

    def _write(self, stream: TextIO, text: str) -> None:
        try:
            stream.write(text)
            stream.flush()
        except (OSError, ValueError) as exc:  # a closed pipe, a closed file
            raise PlatformError(f"the terminal cannot be written: {exc}", permanent=True) from exc
