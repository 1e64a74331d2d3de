"""What the durable inbox knows of one message while it is handled: the :class:`Journal`.

A journal records, as handling goes, what a resumed message needs to be answered exactly once:
the messages the reply posted (to edit them rather than post a second answer) and, once the app's
answer is complete, its final text and files (so the app is not asked twice). Writes go to the
inbox in the background, the newest state winning; :meth:`Journal.flush` waits for them.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any

from bridge.model import FilePart, MessageRef
from bridge.serialize import FILES_LOST, decode_ref, decode_text, encode_ref, encode_text
from bridge.sessions.inbox import InboxEntry
from bridge.text import Text

Writer = Callable[[str, dict[str, Any]], Awaitable[None]]


@dataclass(frozen=True, slots=True)
class FinalAnswer:
    """The app's complete answer, recorded before it is delivered."""

    text: Text
    files: tuple[FilePart, ...] = ()


@dataclass
class Journal:
    """What the inbox knows of one message while it is handled; a journal of ``None`` id records nothing.

    ``attempt`` is 1 the first time a message is handled, more when it is resumed after a restart.
    ``refs`` are the reply's messages an earlier attempt posted; ``final`` the answer it had
    completed; ``files_lost`` says the message's files could not be recorded. ``durable`` is False
    for the memory store (nothing survives a restart).
    """

    entry_id: str | None = None
    attempt: int = 1
    refs: list[MessageRef] = field(default_factory=list)
    final: FinalAnswer | None = None
    files_lost: bool = False
    durable: bool = False
    _writer: Writer | None = None
    _writing: asyncio.Task[None] | None = None
    _dirty: bool = False

    @property
    def resumed(self) -> bool:
        """An earlier run began handling this message and did not finish it."""
        return self.attempt > 1

    def note_refs(self, refs: list[MessageRef]) -> None:
        """The reply's messages changed (recorded in the background, the newest list wins)."""
        self.refs = list(refs)
        self._schedule()

    async def note_final(self, answer: FinalAnswer) -> None:
        """The app's answer is complete; recorded before it is delivered."""
        self.final = answer
        self._schedule()
        await self.flush()

    async def flush(self) -> None:
        """Wait until what was noted is written (or failed to be)."""
        while self._writing is not None and not self._writing.done():
            await asyncio.shield(self._writing)

    def progress(self) -> dict[str, Any]:
        """The progress as stored."""
        data: dict[str, Any] = {"refs": [encode_ref(r) for r in self.refs]}
        if self.final is not None:
            files = [_file(f) for f in self.final.files]
            data["final"] = {"text": encode_text(self.final.text), "files": files}
        return data

    def _schedule(self) -> None:
        if self._writer is None or self.entry_id is None:
            return
        self._dirty = True
        if self._writing is None or self._writing.done():
            self._writing = asyncio.create_task(self._write())

    async def _write(self) -> None:
        assert self._writer is not None and self.entry_id is not None
        while self._dirty:
            self._dirty = False
            await self._writer(self.entry_id, self.progress())


def journal_of(entry: InboxEntry, writer: Writer, durable: bool) -> Journal:
    """The journal of an inbox entry (attempt counted from its stored attempts)."""
    progress = entry.progress
    final = progress.get("final")
    files = tuple(_part(f) for f in final.get("files") or ()) if final else ()
    answer = FinalAnswer(decode_text(final["text"]), files) if final else None
    return Journal(
        entry.id,
        attempt=entry.attempts + 1,
        refs=[decode_ref(r) for r in progress.get("refs") or ()],
        final=answer,
        files_lost=bool(entry.message.get(FILES_LOST)),
        durable=durable,
        _writer=writer,
    )


def _file(part: FilePart) -> dict[str, Any]:
    return {"url": part.url, "name": part.name, "mime": part.mime_type, "size": part.size, "kind": part.kind}


def _part(data: dict[str, Any]) -> FilePart:
    size = data.get("size")
    return FilePart(str(data["url"]), str(data["name"]), data.get("mime"), size, str(data["kind"]))
