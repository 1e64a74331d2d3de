"""An in-memory adapter that records every call, for in-process tests of the relay core.

It is a complete adapter (the contract in ``bridge.adapter``): tests push messages with
:meth:`RecordingAdapter.push` and read what the bot did from ``messages`` (id → final text) and
``calls``; ``fail_next`` makes chosen calls raise, as a platform would. Pass the ``messages`` of an
earlier instance to model a bridge restart on the same platform (the messages stay, the bridge goes).
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator, Sequence
from dataclasses import dataclass, field

from bridge.adapter import Capabilities, Host, Stage
from bridge.errors import PlatformError
from bridge.model import Attachment, Author, Choice, ConversationKey, Incoming, LocalFile, MessageRef


@dataclass
class Sent:
    """One message the bot posted; ``history`` is every text it showed, ``stage`` the last stage."""

    key: ConversationKey
    text: str
    stage: Stage
    history: list[str] = field(default_factory=list)


class RecordingAdapter:
    """A chat platform made of lists."""

    def __init__(
        self, name: str = "mem", caps: Capabilities | None = None, messages: dict[str, Sent] | None = None
    ) -> None:
        self.name = name
        self.capabilities = caps or Capabilities(max_text_len=4000, min_edit_interval_s=0.05)
        self.messages: dict[str, Sent] = messages if messages is not None else {}
        self.files: list[tuple[ConversationKey, list[tuple[str, bytes]]]] = []
        self.offered: dict[str, tuple[Choice, ...]] = {}  # message id → the choices shown on it
        self.calls: list[tuple[str, str]] = []
        self.fail_next: list[PlatformError] = []
        self.frozen: set[str] = set()  # ids of messages that can no longer be edited (refused for good)
        self._inbox: asyncio.Queue[Incoming | None] = asyncio.Queue()
        self._n = len(self.messages)
        self._pushed = 0

    def push(self, text: str, chat: str = "c1", user: str = "u1", **kw: object) -> Incoming:
        """Queue a message from ``user`` in ``chat`` for the bot (with a fresh id unless ``id=``)."""
        self._pushed += 1
        kw.setdefault("id", f"{self.name}-{id(self):x}-{self._pushed}")
        msg = Incoming(
            key=ConversationKey(self.name, chat), author=Author(id=user, name=user), text=text, **kw
        )  # type: ignore[arg-type]
        self._inbox.put_nowait(msg)
        return msg

    def end(self) -> None:
        """End the input: ``run`` returns after the messages queued so far."""
        self._inbox.put_nowait(None)

    def finals(self, chat: str = "c1") -> list[str]:
        """Final texts posted in ``chat``, in order."""
        return [m.text for m in self.messages.values() if m.key.chat == chat and m.stage == "final"]

    async def run(self, host: Host) -> None:
        host.ready()
        while (msg := await self._inbox.get()) is not None:
            await host.deliver(msg)

    async def send(
        self, to: ConversationKey, text: str, reply_to: MessageRef | None = None, *, stage: Stage = "final"
    ) -> MessageRef:
        self._fail("send")
        self._n += 1
        self.messages[str(self._n)] = Sent(to, text, stage, [text])
        return MessageRef(chat=to.chat, id=str(self._n))

    async def edit(self, ref: MessageRef, text: str, *, stage: Stage = "final") -> MessageRef:
        self._fail("edit")
        if ref.id in self.frozen:
            raise PlatformError("message can't be edited", permanent=True)
        sent = self.messages[ref.id]
        sent.text, sent.stage = text, stage
        sent.history.append(text)
        return ref

    async def send_files(
        self, to: ConversationKey, files: Sequence[LocalFile], reply_to: MessageRef | None = None
    ) -> None:
        self._fail("send_files")
        self.files.append((to, [(f.name, f.path.read_bytes()) for f in files]))

    async def offer(self, ref: MessageRef, choices: Sequence[Choice]) -> None:
        self._fail("offer")
        if ref.id not in self.messages:
            raise PlatformError("message to edit not found", permanent=True)
        self.offered[ref.id] = tuple(choices)

    async def fetch(self, attachment: Attachment) -> Attachment:
        return Attachment.from_path(dict(attachment.source)["path"], attachment.mime_type)

    @contextlib.asynccontextmanager
    async def typing(self, to: ConversationKey) -> AsyncIterator[None]:
        self.calls.append(("typing", to.chat))
        yield

    def _fail(self, call: str) -> None:
        self.calls.append((call, ""))
        if self.fail_next:
            raise self.fail_next.pop(0)
