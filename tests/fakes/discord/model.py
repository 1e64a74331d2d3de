"""Stored records of the fake Discord (:mod:`tests.fakes.discord`): files, message writes, messages,
interactions, REST calls, error replies and uploads, and the snowflake counter. Ids are snowflakes made
from a counter, so a run is deterministic: ``int(id) >> 22`` is a millisecond timestamp in 2024 and
``(id >> 22) % n`` picks the shard of a guild (:func:`shard_of`).
"""

from __future__ import annotations

import datetime as dtm
import urllib.parse
from dataclasses import dataclass, field
from typing import Any, NamedTuple

DISCORD_EPOCH_MS = 1_420_070_400_000
BASE_MS = 1_704_067_200_000 - DISCORD_EPOCH_MS  # 2024-01-01T00:00:00Z


def now_iso() -> str:
    return dtm.datetime.now(dtm.UTC).isoformat()


def shard_of(guild_id: str | int, shard_count: int) -> int:
    """The shard that owns a guild, as Discord computes it."""
    return (int(guild_id) >> 22) % shard_count


@dataclass
class StoredFile:
    """A file the fake serves at ``/attachments/{id}/{filename}``: uploaded by the bot or pushed by a user."""

    id: str
    filename: str
    content_type: str | None
    data: bytes = field(repr=False)
    message_id: str | None = None
    description: str | None = None

    @property
    def path(self) -> str:
        return f"/attachments/{self.id}/{urllib.parse.quote(self.filename)}"

    def payload(self, base_url: str) -> dict[str, Any]:
        out = {
            "id": self.id,
            "filename": self.filename,
            "size": len(self.data),
            "url": base_url + self.path,
            "proxy_url": base_url + self.path,
            "content_type": self.content_type,
            "ephemeral": False,
        }
        return out | ({"description": self.description} if self.description else {})


@dataclass
class Write:
    """One create or edit of a bot message as requested; ``route`` is ``channel``, ``interaction`` (a
    callback) or ``webhook`` (follow-up/@original); ``pings`` is what it would have pinged (see
    :func:`tests.fakes.discord.checks.pings`)."""

    kind: str
    route: str
    content: str | None
    allowed_mentions: dict[str, Any] | None
    body: dict[str, Any]
    pings: frozenset[str]
    at: float


@dataclass
class StoredMessage:
    """A message in ``FakeDiscord.messages[id]``: the current state plus every write (``writes[0]`` is the
    creation for bot messages; ``edits`` the rest). ``allowed_mentions`` is that of the last write."""

    id: str
    channel_id: str
    guild_id: str | None
    author_id: str
    content: str = ""
    from_bot: bool = False
    type: int = 0
    embeds: list[dict[str, Any]] = field(default_factory=list)
    components: list[dict[str, Any]] = field(default_factory=list)
    attachments: list[StoredFile] = field(default_factory=list)
    allowed_mentions: dict[str, Any] | None = None
    message_reference: dict[str, Any] | None = None
    flags: int = 0
    nonce: str | None = None
    created_at: str = field(default_factory=now_iso)
    edited_at: str | None = None
    writes: list[Write] = field(default_factory=list)
    deleted: bool = False
    interaction_id: str | None = None
    thread_id: str | None = None

    @property
    def edits(self) -> list[Write]:
        return [w for w in self.writes if w.kind == "edit"]


@dataclass
class StoredInteraction:
    """A dispatched interaction: its callback state, its ``@original`` message and follow-ups."""

    id: str
    token: str
    type: int
    channel_id: str
    guild_id: str | None
    user_id: str
    at: float
    payload: dict[str, Any] = field(repr=False)
    message_id: str | None = None  # the message a component sits on
    response_type: int | None = None
    original_id: str | None = None
    followups: list[str] = field(default_factory=list)


class Snowflakes:
    def __init__(self) -> None:
        self.n = 0

    def __call__(self) -> str:
        self.n += 1
        return str(((BASE_MS + self.n) << 22) | (self.n & 0xFFF))


class Call(NamedTuple):
    """One REST request: method, route template (``/channels/{channel_id}/messages``), JSON body (for
    multipart: the decoded ``payload_json``)."""

    method: str
    route: str
    body: Any


class ErrorReply(NamedTuple):
    """A 4xx/5xx the fake sent, with the reason."""

    method: str
    route: str
    status: int
    code: int
    message: str


@dataclass
class Upload:
    """A multipart file part: ``index`` is n of ``files[n]``."""

    index: int
    filename: str
    content_type: str | None
    data: bytes = field(repr=False)
