"""Platform-neutral values that cross between the Gradio side and the adapters.

A :class:`Reply` is what an app answered in one turn, in display order: text (Markdown),
thoughts and tool notes (shown collapsed or marked by adapters), and files to attach.
"""

from __future__ import annotations

import mimetypes
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from types import MappingProxyType
from typing import Any, Literal

COMMANDS: Mapping[str, str] = MappingProxyType(
    {
        "help": "Show what this bot does and its commands",
        "reset": "Start a new conversation (the app forgets earlier messages)",
        "stop": "Stop the reply being written",
        "retry": "Ask your last message again",
        "settings": "Show or change the app's settings for this conversation",
    }
)
"""The chat commands the core answers, in menu order: name → what it does, as a sentence a platform's
command menu can show. Adapters register these (and only these) as native commands."""
COMMAND_ALIASES: Mapping[str, str] = MappingProxyType({"start": "help", "new": "reset", "cancel": "stop"})
"""Other names the core accepts for a command (``/start`` is Telegram's first message)."""


@dataclass(frozen=True, slots=True)
class TextPart:
    """Answer text, as Markdown."""

    text: str


@dataclass(frozen=True, slots=True)
class ThoughtPart:
    """A thought or tool note (a Gradio message with ``metadata.title``); ``status`` pending/done."""

    title: str
    text: str
    status: str | None = None


@dataclass(frozen=True, slots=True)
class FilePart:
    """A file the app returned, downloadable from the app's origin at ``url``."""

    url: str
    name: str
    mime_type: str | None = None
    size: int | None = None
    kind: str = "file"  # "image" | "audio" | "video" | "file": how a platform should attach it


ReplyPart = TextPart | ThoughtPart | FilePart


@dataclass(frozen=True, slots=True)
class Choice:
    """A quick reply offered to the user: pressing it sends ``value`` as their next message.

    ``label`` is what the button shows (the value itself when the app gave no label). Comes from a
    Gradio message's ``options`` or the app's ``examples``.
    """

    value: str
    label: str


@dataclass(frozen=True, slots=True)
class Reply:
    """An app's answer to one turn, so far or final; ``choices`` are quick replies it offers."""

    parts: tuple[ReplyPart, ...] = field(default_factory=tuple)
    choices: tuple[Choice, ...] = ()

    @property
    def text(self) -> str:
        """The answer text: all text parts joined by blank lines (thoughts excluded)."""
        return "\n\n".join(p.text for p in self.parts if isinstance(p, TextPart) and p.text)

    @property
    def thoughts(self) -> tuple[ThoughtPart, ...]:
        """The thought and tool-note parts."""
        return tuple(p for p in self.parts if isinstance(p, ThoughtPart))

    @property
    def files(self) -> tuple[FilePart, ...]:
        """The file parts."""
        return tuple(p for p in self.parts if isinstance(p, FilePart))


@dataclass(frozen=True, slots=True)
class Attachment:
    """A file a user sent: in memory (``data``), on local disk (``path``), or still on the platform.

    ``source`` (adapter-private pairs, like :attr:`MessageRef.data`) refers to a file the adapter has
    not fetched yet: the turn fetches it with ``adapter.fetch`` when it runs, never the receive
    loop, and a message holding only references can be recorded in the durable inbox and fetched
    again after a restart. ``declared_size`` is the size the platform reports for a file not
    fetched; a file over the limits is never fetched and the turn answers with the limit.
    """

    name: str
    data: bytes | None = None
    path: Path | None = None
    mime_type: str | None = None
    declared_size: int | None = None
    source: tuple[tuple[str, str], ...] = ()

    def __post_init__(self) -> None:
        if (self.data is not None) + (self.path is not None) + bool(self.source) != 1:
            raise ValueError("an Attachment needs exactly one of data, path or source")

    @property
    def size(self) -> int:
        """Size in bytes (for a file not fetched, the declared size; 0 when unknown)."""
        if self.declared_size is not None:
            return self.declared_size
        if self.data is not None:
            return len(self.data)
        if self.path is not None:
            return self.path.stat().st_size
        return 0

    @property
    def fetched(self) -> bool:
        """The bytes are here (``data`` or ``path``), not only a reference on the platform."""
        return not self.source

    @classmethod
    def from_path(cls, path: str | Path, mime_type: str | None = None) -> Attachment:
        """An attachment read from disk when uploaded (not loaded into memory)."""
        p = Path(path)
        return cls(name=p.name, path=p, mime_type=mime_type or mimetypes.guess_type(p.name)[0])


@dataclass(frozen=True, slots=True)
class ConversationKey:
    """Which conversation a message belongs to; one Gradio session per key.

    ``chat`` is the platform's chat/channel id, ``thread`` a thread or topic inside it, and
    ``user`` is set when the adapter's scope is one conversation per user within a chat.
    """

    adapter: str
    chat: str
    thread: str | None = None
    user: str | None = None

    @classmethod
    def for_scope(
        cls, adapter: str, scope: str, chat: str, user: str, thread: str | None = None
    ) -> ConversationKey:
        """The key of a message under an adapter's ``scope`` setting.

        Threads and topics are always conversations of their own. ``"chat"``: everyone in a chat
        (or thread) shares one conversation; ``"user"``: each user has their own in each chat or
        thread; ``"thread"``: one per thread, and outside threads one per user.
        """
        if scope == "user" or (scope == "thread" and thread is None):
            return cls(adapter, chat, thread, user)
        return cls(adapter, chat, thread)

    def scoped(self, scope: str, user: str) -> ConversationKey:
        """This key for a message from ``user`` under an adapter's ``scope`` (as :meth:`for_scope`).

        The core applies it to every incoming message, so adapters build keys of ``(adapter, chat,
        thread)`` only; a key that already names a user is kept as it is.
        """
        if self.user is not None:
            return self
        return ConversationKey.for_scope(self.adapter, scope, self.chat, user, self.thread)

    def __str__(self) -> str:
        text = f"{self.adapter}:{self.chat}"
        if self.thread is not None:
            text += f"/{self.thread}"
        if self.user is not None:
            text += f"@{self.user}"
        return text


@dataclass(frozen=True, slots=True)
class Author:
    """Who sent a message; ``names`` are extra handles access rules may match (a username, roles)."""

    id: str
    name: str | None = None
    names: tuple[str, ...] = ()
    is_bot: bool = False


@dataclass(frozen=True, slots=True)
class MessageRef:
    """A handle to a sent message that its adapter can edit; ``data`` is adapter-private."""

    chat: str
    id: str
    thread: str | None = None
    data: tuple[tuple[str, str], ...] = ()


@dataclass(frozen=True, slots=True)
class Incoming:
    """One message from a platform, already parsed by its adapter.

    ``key`` names the chat and thread (``ConversationKey(adapter, chat, thread)``); the core adds the
    user to it when the adapter's ``scope`` gives each user a conversation of their own.

    ``command`` is set when the adapter recognised a command itself (a slash command, a button);
    otherwise the core parses ``/name args`` from ``text``. ``reply_to`` is the user's message,
    which the bot's answer should reply to. ``params`` are app inputs for this turn only (a slash
    command's options), validated like ``/settings`` values and applied over them. ``shared`` is
    true when the message was said where others read it (a group, a guild channel), not in private.
    ``id`` is the platform's id of the message (unique within the adapter, the same when the platform
    delivers the message again): the durable inbox records each id once, so a redelivery is not
    answered twice. None when the platform has no such id (each delivery then counts as new).
    ``partition`` is the platform's partition the message came through, for an adapter whose
    ``Capabilities.partitions`` is set (Discord: the shard of its guild; 0 for direct messages).
    """

    key: ConversationKey
    author: Author
    text: str
    attachments: tuple[Attachment, ...] = ()
    reply_to: MessageRef | None = None
    command: str | None = None
    args: str = ""
    params: Mapping[str, Any] = field(default_factory=dict)
    shared: bool = False
    id: str | None = None
    partition: int | None = None


@dataclass(frozen=True, slots=True)
class LocalFile:
    """A file on local disk ready to send to a platform (a file the app returned, downloaded)."""

    path: Path
    name: str
    mime_type: str | None
    size: int
    kind: str = "file"  # "image" | "audio" | "video" | "file"


SettingKind = Literal["number", "integer", "boolean", "choice", "text", "other"]


@dataclass(frozen=True, slots=True)
class Setting:
    """An app input a user may set for their conversation, described without Gradio's terms.

    ``name`` is the key of ``/settings name=value`` and of :attr:`Incoming.params`; the core checks
    and converts every value it is given (a choice's label is taken for its value), so a platform
    only offers the setting natively. ``kind``: ``number`` (any finite number within ``minimum`` and
    ``maximum``), ``integer``, ``boolean``, ``choice`` (one of ``choices``, ``(label, value)`` pairs;
    ``multiple``: a list of them; ``free``: other values allowed too), ``text``, or ``other`` (set
    only with ``/settings``: no native control fits it). ``index`` is its position among the app's
    settings, for a name of last resort when neither ``name`` nor ``label`` gives one.
    """

    name: str
    label: str | None
    kind: SettingKind
    index: int
    default: Any = None
    minimum: float | None = None
    maximum: float | None = None
    choices: tuple[tuple[str, Any], ...] | None = None
    multiple: bool = False
    free: bool = False
