"""The adapter contract: what a platform must offer the core, and what the core offers it.

An adapter connects to one platform, turns its events into :class:`~bridge.model.Incoming`
values passed to ``host.deliver`` (a callback; the adapter never holds the app), and carries out
sends and edits. Text crosses the contract typed, as a :class:`~bridge.text.Text`: its blocks are
:class:`~bridge.text.Prose` (Markdown) and :class:`~bridge.text.Thought` (a thought or tool note: a
title, its Markdown, and whether it is a tool's, still pending, or the continued rest of a thought
cut across messages). The adapter renders each block by its type, as its platform best shows it
(a thought collapsed, quoted or hidden); no block is ever marked inside another's Markdown. What a
platform cannot do is a field of :class:`Capabilities`, never a method that raises. Errors leave an
adapter only as :mod:`bridge.errors` types (``RateLimited`` for back-off).

An adapter class is built as ``AdapterClass(name, config, secret)``: ``name`` is its
``[adapters.NAME]`` table's name, ``config`` that table validated by the class attribute ``Config``
(a subclass of :class:`bridge.AdapterConfig`), and ``secret(env_name)`` returns the resolved value
of one of its ``*_env`` keys (a token), which the adapter must never log.
In ``run`` it receives one :class:`Host`, everything the bridge offers it besides ``deliver``, all
platform-neutral:

* :class:`AdapterState` is a small persistent key-value area of that adapter in the bridge's store
  (Telegram keeps its update offset there, Discord the hash of its synced commands); it survives
  restarts and is shared by every process on the same store.
* ``inputs()`` describes what the app takes (its :class:`~bridge.model.Setting` values, whether it
  takes files, its example messages), connecting to the app on first use, so a platform can offer
  them natively (Discord slash-command options).
* ``routes`` is the bridge's HTTP listener (``[bridge].http``), where an adapter may serve a
  webhook; None when the listener is off.
* ``ready()`` is called by the adapter once it can send (connected, logged in). Messages left
  unanswered by an earlier run (the durable inbox) are resumed then, before any new message of
  their conversations; a ``deliver`` before ``ready()`` implies it.
* ``budget(name, limit, span)`` is a platform budget, "at most ``limit`` calls in any ``span``
  seconds" (:mod:`bridge.budget`): shared by every process serving this adapter on a shared store
  (Redis), local otherwise. Per-bot limits (a bot-wide rate, a group's) belong there.

This module imports only :mod:`bridge.model`, :mod:`bridge.text` and :mod:`bridge.budget` at run
time, so an adapter's own modules load neither the Gradio client nor httpx (nor redis).
"""

from __future__ import annotations

import asyncio
import contextlib
import math
from collections.abc import AsyncIterator, Awaitable, Callable, Sequence
from contextlib import AbstractAsyncContextManager
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, ClassVar, Literal, Protocol, runtime_checkable

from bridge.budget import BudgetSource, local_budget
from bridge.model import Attachment, Choice, ConversationKey, Incoming, LocalFile, MessageRef, Setting
from bridge.text import Text, TextLength, markdown_length

if TYPE_CHECKING:
    from bridge.adapterconfig import AdapterConfig
    from bridge.httpserver import Routes
    from bridge.sessions import SessionStore

Deliver = Callable[[Incoming], Awaitable[bool]]
"""``host.deliver``: True once the message is durable (recorded in the store, refused, or not for
the bot); False while it is only held in memory during a store outage — a platform that redelivers
unconfirmed messages (Telegram) must then not confirm it yet, and deliver it again later."""
Stage = Literal["status", "partial", "final"]
"""What a sent or edited text is: a status line before the reply, a partial reply, or final text.

Adapters may render stages differently (a terminal prints only final text on stdout and status
on stderr; Telegram previews partial text as a draft in private chats); most ignore it.
"""


@dataclass(frozen=True, slots=True)
class Capabilities:
    """What a platform can do, for the streamer and the turn.

    ``max_text_len`` is measured by ``text_length``: how long a :class:`~bridge.text.Text` is once
    the adapter has rendered it, in the unit the platform counts (UTF-16 code units for Telegram),
    spoiler marks and headings included. The core splits replies with it and measures each piece as
    exactly the text it then sends, so every piece an adapter is given fits the platform's limit.
    The default measures :attr:`~bridge.text.Text.markdown` in code points.

    ``partitions`` is for a platform that splits its traffic among processes itself (Discord's
    shards): with a store several processes share, each message is then answered by the process
    that runs its partition (its ``Incoming.partition``), in order, and taken over by the next
    process to run that partition if this one dies. None: any process may answer any message.
    """

    max_text_len: int
    min_edit_interval_s: float
    can_edit: bool = True
    can_stream_draft: bool = False
    max_files: int = 10
    max_file_bytes: int = 50 * 1024 * 1024
    max_incoming_bytes: int | None = None  # largest user file the platform lets the bot fetch
    markup: str = "markdown"
    text_length: TextLength = markdown_length
    partitions: Partitions | None = None


@dataclass(frozen=True, slots=True)
class Partitions:
    """The platform's own split of a bot's traffic: ``count`` partitions, of which this process
    receives those in ``mine`` (Discord: ``shard_count`` and this process's ``shard_ids``)."""

    count: int
    mine: frozenset[int]


@dataclass(frozen=True, slots=True)
class AppInputs:
    """What the chat app takes besides the message text: its settings, whether it takes files, and
    the example messages it suggests (``ChatInterface(examples=…)``; their text, in the app's order)."""

    settings: tuple[Setting, ...] = ()
    multimodal: bool = False
    examples: tuple[str, ...] = ()


InputsSource = Callable[[], Awaitable[AppInputs]]


class AdapterState:
    """One adapter's persistent values (JSON objects), under store keys ``adapter:<name>:<key>``.

    Values never expire unless put with a ``ttl_s``. Writes are last-writer-wins; an adapter that
    runs in several processes must only store values for which that is right (an offset only ever
    grows, a hash is the same everywhere).
    """

    def __init__(self, store: SessionStore, adapter: str) -> None:
        self._store = store
        self._prefix = f"adapter:{adapter}:"

    async def get(self, key: str) -> dict[str, Any] | None:
        """The value stored under ``key``, or None."""
        return await self._store.get(self._prefix + key)

    async def put(self, key: str, value: dict[str, Any], ttl_s: float = math.inf) -> None:
        """Store ``value`` under ``key`` (replacing the old one), for ``ttl_s`` seconds."""
        await self._store.put(self._prefix + key, value, ttl=ttl_s)

    async def delete(self, key: str) -> None:
        """Forget the value under ``key`` (no error when there is none)."""
        await self._store.delete(self._prefix + key)


@dataclass(frozen=True, slots=True)
class Host:
    """The bridge side of a running adapter (the module docstring says what each part is for)."""

    deliver: Deliver
    state: AdapterState
    inputs: InputsSource
    routes: Routes | None = None
    ready: Callable[[], None] = lambda: None
    budget: BudgetSource = local_budget


@runtime_checkable
class Adapter(Protocol):
    """A platform connection. ``run`` receives until cancelled; the others act on the platform.

    Built as ``cls(name, config, secret)`` with ``config`` an instance of ``cls.Config``.
    """

    Config: ClassVar[type[AdapterConfig]]
    name: str
    capabilities: Capabilities

    async def run(self, host: Host) -> None:
        """Connect, call ``host.deliver`` once per incoming message, clean up in ``finally``."""
        ...

    async def send(
        self, to: ConversationKey, text: Text, reply_to: MessageRef | None = None, *, stage: Stage = "final"
    ) -> MessageRef:
        """Post ``text`` (within ``max_text_len`` by ``text_length``) and return an editable handle."""
        ...

    async def edit(self, ref: MessageRef, text: Text, *, stage: Stage = "final") -> MessageRef:
        """Replace a sent message's text (within ``max_text_len``); a no-op edit is not an error.

        Returns the handle to use for this message from now on: ``ref`` itself, or another one when
        the edit made it another message (a draft preview became a real message, a reply moved on
        after its interaction expired). The core keeps only the handle returned, so an adapter never
        needs to remember which old handle became which message. ``MessageGone`` when the message
        was deleted.
        """
        ...

    async def send_files(
        self, to: ConversationKey, files: Sequence[LocalFile], reply_to: MessageRef | None = None
    ) -> None:
        """Attach files (at most ``max_files``, each within ``max_file_bytes``)."""
        ...

    async def offer(self, ref: MessageRef, choices: Sequence[Choice]) -> None:
        """Show ``choices`` as quick replies on the sent message ``ref`` (a reply's last message).

        Called once, after the message's final text. Pressing a choice must reach ``host.deliver``
        as an ordinary :class:`~bridge.model.Incoming` from whoever pressed it, in that person's
        conversation where ``ref`` was sent, with ``text`` = the choice's ``value`` (and an ``id``
        unique per press, so a redelivered press is answered once). A press must work after a
        restart of the bridge. A platform without buttons lists the choices so they can be picked.
        ``MessageGone`` when the message was deleted.
        """
        ...

    def typing(self, to: ConversationKey) -> AbstractAsyncContextManager[None]:
        """Show "typing…" while the block runs."""
        ...

    async def fetch(self, attachment: Attachment) -> Attachment:
        """The file an attachment's ``source`` refers to, fetched (``data`` or ``path`` set).

        Called by the turn, never by the receive loop; raises a ``bridge.errors`` type
        (``PlatformError``, ``FileTooLarge``) when the file cannot be had.
        """
        ...


@contextlib.asynccontextmanager
async def repeating(action: Callable[[], Awaitable[object]], every_s: float) -> AsyncIterator[None]:
    """Run ``action`` at once and then every ``every_s`` seconds while the block runs.

    For indicators that fade on the platform ("typing…"); the action handles its own failures, and
    is cancelled when the block ends.
    """

    async def beat() -> None:
        while True:
            await action()
            await asyncio.sleep(every_s)

    task = asyncio.create_task(beat())
    try:
        yield
    finally:
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task
