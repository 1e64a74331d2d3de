"""An in-memory adapter that records every call (:class:`RecordingAdapter`), and its platform view.

It is a complete adapter (the contract in :mod:`bridge.adapter`), for in-process tests of the relay
core and of code that drives adapters::

    adapter = RecordingAdapter()
    adapter.push("hello")                       # a message from user u1 in chat c1
    adapter.fail_next.append(RateLimited(0.5))  # the next platform call is refused, as a platform would
    ...                                         # run the bridge (or a Streamer) against it
    adapter.end()                               # run() returns after the messages pushed so far
    assert adapter.finals("c1") == ["Hi! How can I help?"]
    assert ("typing", "c1") in adapter.calls

``messages`` maps a message id to what it shows (:class:`Sent`: its last text and stage, and every
text it showed, each the :class:`~bridge.text.Text` the adapter was given, blocks typed; ``text`` is
its Markdown); ``files``, ``offered`` and ``calls`` record the rest. Pass the ``messages`` of an
earlier instance to model a bridge restart on the same platform (the messages stay, the bridge goes).
A message not yet final shows a stop button (:meth:`RecordingAdapter.press_stop`); quick replies
can be pressed (:meth:`RecordingAdapter.press`). :class:`RecordingView` is its :class:`PlatformView`.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator, Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Literal

from bridge.adapter import Capabilities, Host, Stage
from bridge.adapterconfig import AdapterConfig
from bridge.errors import PlatformError, RateLimited
from bridge.model import Attachment, Author, Choice, ConversationKey, Incoming, LocalFile, MessageRef
from bridge.testing.view import Feature, Shown
from bridge.text import Text


class RecordingConfig(AdapterConfig):
    """``[adapters.NAME]`` of ``type = "recording"`` (no keys of its own)."""

    type: Literal["recording"] = "recording"


@dataclass
class Sent:
    """One message the bot posted: ``shown`` its text now, ``stage`` the last stage, ``history`` every
    text it showed."""

    key: ConversationKey
    shown: Text
    stage: Stage
    history: list[Text] = field(default_factory=list)

    @property
    def text(self) -> str:
        """What it shows, as Markdown (:attr:`Text.markdown`)."""
        return self.shown.markdown


class RecordingAdapter:
    """A chat platform made of lists (see the module docstring)."""

    Config = RecordingConfig

    def __init__(
        self,
        name: str = "mem",
        config: AdapterConfig | None = None,
        secret: Callable[[str], str] | None = None,
        *,
        caps: Capabilities | None = None,
        messages: dict[str, Sent] | None = None,
    ) -> None:
        self.name = name
        self.config = config
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

    def push(self, text: str, chat: str = "c1", user: str = "u1", **kw: Any) -> Incoming:
        """Queue a message from ``user`` in ``chat`` for the bot (with a fresh id unless ``id=``)."""
        self._pushed += 1
        kw.setdefault("id", f"{self.name}-{id(self):x}-{self._pushed}")
        msg = Incoming(
            key=ConversationKey(self.name, chat), author=Author(id=user, name=user), text=text, **kw
        )
        self._inbox.put_nowait(msg)
        return msg

    def press(self, message_id: str, label: str, user: str = "u1") -> Incoming:
        """``user`` presses the quick reply labelled ``label`` on a message: their message of its value."""
        shown = self.offered.get(message_id, ())
        choice = next((c for c in shown if c.label == label), None)
        if choice is None:
            raise AssertionError(f"message {message_id} shows no choice {label!r}: {shown}")
        ref = MessageRef(chat=self.messages[message_id].key.chat, id=message_id)
        return self.push(choice.value, ref.chat, user, reply_to=ref)

    def press_stop(self, message_id: str, user: str = "u1") -> Incoming:
        """``user`` presses the stop button of a message still being written: the ``stop`` command."""
        sent = self.messages[message_id]
        if sent.stage == "final":
            raise AssertionError(f"message {message_id} is final: it shows no stop button")
        return self.push("/stop", sent.key.chat, user, command="stop")

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
        self, to: ConversationKey, text: Text, reply_to: MessageRef | None = None, *, stage: Stage = "final"
    ) -> MessageRef:
        self._fail("send")
        self._n += 1
        self.messages[str(self._n)] = Sent(to, text, stage, [text])
        return MessageRef(chat=to.chat, id=str(self._n))

    async def edit(self, ref: MessageRef, text: Text, *, stage: Stage = "final") -> MessageRef:
        self._fail("edit")
        if ref.id in self.frozen:
            raise PlatformError("message can't be edited", permanent=True)
        sent = self.messages[ref.id]
        sent.shown, sent.stage = text, stage
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


class RecordingView:
    """:class:`~bridge.testing.PlatformView` of a :class:`RecordingAdapter`'s chat ``chat``."""

    lacks: Mapping[Feature, str] = {}

    def __init__(self, adapter: RecordingAdapter, chat: str = "c1") -> None:
        self.adapter = adapter
        self.key = ConversationKey(adapter.name, chat)
        self._limited = 0  # RateLimited errors put in fail_next

    def messages(self) -> list[Shown]:
        labels = self.adapter.offered
        return [
            Shown(s.text, len(s.history) - 1, tuple(c.label for c in labels.get(i, ())), s.stage != "final")
            for i, s in self.adapter.messages.items()
            if s.key.chat == self.key.chat
        ]

    def previews(self) -> list[str]:
        return []

    def files(self) -> list[tuple[str | None, bytes]]:
        return [(n, data) for key, fs in self.adapter.files if key.chat == self.key.chat for n, data in fs]

    def typing(self) -> int:
        return self.adapter.calls.count(("typing", self.key.chat))

    def rate_limited(self) -> int:
        return self._limited - sum(isinstance(e, RateLimited) for e in self.adapter.fail_next)

    def refusals(self) -> list[str]:
        return []

    async def rate_limit_next(self) -> None:
        self.adapter.fail_next.append(RateLimited(0.05, "recording platform: too many requests"))
        self._limited += 1

    async def press(self, ref: MessageRef, label: str) -> None:
        self.adapter.press(ref.id, label)

    async def stop(self, ref: MessageRef) -> None:
        self.adapter.press_stop(ref.id)
