"""Sending to Discord: channel messages, interaction responses, edits, files and "typing…".

Where a reply goes:

* **Interaction replies** (a slash command answered in place): the first text replaces the deferred
  "thinking…" response, later pieces are follow-ups; edits go through the interaction's webhook
  while its token is valid (15 minutes). After that, a message that still changes is continued as
  an ordinary channel message, whose handle :meth:`Outbox.edit` returns (the core keeps it).
* **Everything else** (threads, mentions, DMs) is a channel message, replying to the user's one.

Every send and every edit carries ``allowed_mentions`` that ping nobody: Discord re-parses mentions
on edits with default allowances unless told otherwise, and an app may well print ``@everyone``.
While a reply streams, its message carries a ⏹ Stop button (custom id :data:`STOP_ID`); the final
edit removes it. Quick replies (:mod:`adapters.discord.choices`) are put on a sent message by
:meth:`Outbox.attach`. discord.py errors become ``bridge`` errors (:mod:`adapters.discord.errors`):
permanent refusals, transient failures, a long 429 → ``RateLimited``, a deleted message →
``MessageGone``.
"""

from __future__ import annotations

import contextlib
import time
from collections import OrderedDict
from collections.abc import AsyncIterator, Sequence
from dataclasses import dataclass
from typing import Any

import discord

from adapters.discord.content import message_content
from adapters.discord.errors import call
from adapters.discord.pacing import GlobalPacer
from bridge import (
    Attachment,
    ConversationKey,
    LocalFile,
    MessageRef,
    PlatformError,
    Stage,
    repeating,
)

STOP_ID = "bridge:stop"
NO_PINGS = discord.AllowedMentions.none()
TOKEN_LIFETIME_S = 15 * 60 - 45  # the interaction token lasts 15 min; stop using it a little before
DM_UPLOAD_LIMIT = 10 * 1024 * 1024
_REMEMBER = 10_000
Channel = (
    discord.TextChannel | discord.Thread | discord.DMChannel | discord.VoiceChannel | discord.StageChannel
)
_CHANNELS = (
    discord.TextChannel,
    discord.Thread,
    discord.DMChannel,
    discord.VoiceChannel,
    discord.StageChannel,
)


@dataclass
class Pending:
    """A slash-command interaction whose reply the bridge is writing."""

    interaction: discord.Interaction[Any]
    started: float
    original_used: bool = False

    def fresh(self, now: float) -> bool:
        return now - self.started < TOKEN_LIFETIME_S


class StopView(discord.ui.View):
    """The ⏹ Stop button; presses are handled in the inbox (``on_interaction``), not here."""

    def __init__(self) -> None:
        super().__init__(timeout=TOKEN_LIFETIME_S)
        self.add_item(discord.ui.Button(label="Stop", emoji="⏹", custom_id=STOP_ID))


class Outbox:
    """One bot's outgoing side; ``client`` must be logged in."""

    def __init__(
        self, client: discord.Client, thoughts: str, pacer: GlobalPacer, stop_button: bool = True
    ) -> None:
        self.client = client
        self.pacer = pacer
        self.thoughts = thoughts
        self.stop_button = stop_button
        self.pending: OrderedDict[str, Pending] = OrderedDict()  # interaction id → its reply state
        self.upload_limits: OrderedDict[str, int] = OrderedDict()  # channel id → limit interactions report
        self.clock = time.monotonic

    def note_limit(self, channel_id: str, interaction: discord.Interaction[Any]) -> None:
        """Remember the upload limit an interaction reports for its channel (boosts raise it)."""
        self.upload_limits[channel_id] = interaction.filesize_limit
        _trim(self.upload_limits)

    def track(self, interaction: discord.Interaction[Any]) -> MessageRef:
        """Remember a deferred interaction; the handle to reply to it with :meth:`send`."""
        self.pending[str(interaction.id)] = Pending(interaction, self.clock())
        _trim(self.pending)
        channel = interaction.channel
        chat, thread = place(channel) if channel is not None else (str(interaction.channel_id), None)
        return MessageRef(
            chat=chat, id=f"interaction-{interaction.id}", thread=thread, data=(("i", str(interaction.id)),)
        )

    # -- text ------------------------------------------------------------------------------
    async def send(
        self, to: ConversationKey, text: str, reply_to: MessageRef | None, stage: Stage
    ) -> MessageRef:
        content = message_content(text, self.thoughts)  # type: ignore[arg-type]
        view = self._view(stage)
        pending = self._pending(reply_to)
        if pending is not None:
            iid = str(pending.interaction.id)
            if not pending.original_used:
                msg = await call(
                    pending.interaction.edit_original_response(
                        content=content, view=view, allowed_mentions=NO_PINGS
                    )
                )
                pending.original_used = True
                return MessageRef(to.chat, str(msg.id), to.thread, data=(("i", iid), ("original", "1")))
            extra: dict[str, Any] = {"view": view} if view is not None else {}
            sent = await call(
                pending.interaction.followup.send(content, wait=True, allowed_mentions=NO_PINGS, **extra)
            )
            return MessageRef(to.chat, str(sent.id), to.thread, data=(("i", iid),))
        channel = await self.channel(to.thread or to.chat)
        reference = None
        if reply_to is not None and not reply_to.data:
            reference = discord.MessageReference(
                message_id=int(reply_to.id), channel_id=channel.id, fail_if_not_exists=False
            )
        msg = await call(channel.send(content, view=view, allowed_mentions=NO_PINGS, reference=reference))  # type: ignore[arg-type]
        return MessageRef(to.chat, str(msg.id), to.thread)

    async def edit(self, ref: MessageRef, text: str, stage: Stage) -> MessageRef:
        content = message_content(text, self.thoughts)  # type: ignore[arg-type]
        view = self._view(stage)
        data = dict(ref.data)
        pending = self.pending.get(data.get("i", ""))
        if "i" in data:
            if pending is not None and pending.fresh(self.clock()):
                if data.get("original"):
                    await call(
                        pending.interaction.edit_original_response(
                            content=content, view=view, allowed_mentions=NO_PINGS
                        ),
                        what="the reply's edit",
                        edit=True,
                    )
                else:
                    await call(
                        pending.interaction.followup.edit_message(
                            int(ref.id), content=content, view=view, allowed_mentions=NO_PINGS
                        ),
                        what="the reply's edit",
                        edit=True,
                    )
                return ref
            # The token has expired (or this process never had it: a reply resumed after a restart),
            # and a bot cannot edit an interaction's message otherwise: the reply goes on as an
            # ordinary channel message, whose handle the streamer uses from now on.
            channel = await self.channel(ref.thread or ref.chat)
            msg = await call(channel.send(content, view=view, allowed_mentions=NO_PINGS))  # type: ignore[arg-type]
            return MessageRef(ref.chat, str(msg.id), ref.thread)
        channel = await self.channel(ref.thread or ref.chat)
        partial = channel.get_partial_message(int(ref.id))
        await call(
            partial.edit(content=content, view=view, allowed_mentions=NO_PINGS),
            what="the reply's edit",
            edit=True,
        )
        return ref

    async def attach(self, ref: MessageRef, view: discord.ui.View) -> None:
        """Put ``view``'s components on a sent message, its text unchanged. A reply whose interaction
        token has expired (or that another process sent) cannot be edited by the bot: the components
        then come on a new message after it. ``MessageGone`` when the message was deleted."""
        data = dict(ref.data)
        what = "adding the choices"
        if "i" in data:
            pending = self._pending(ref)
            if pending is None:
                channel = await self.channel(ref.thread or ref.chat)
                await call(channel.send(view=view, allowed_mentions=NO_PINGS), what=what)
            elif data.get("original") or not ref.id.isdigit():
                await call(pending.interaction.edit_original_response(view=view), what=what, edit=True)
            else:
                edited = pending.interaction.followup.edit_message(int(ref.id), view=view)
                await call(edited, what=what, edit=True)
            return
        channel = await self.channel(ref.thread or ref.chat)
        partial = channel.get_partial_message(int(ref.id))
        await call(partial.edit(view=view), what=what, edit=True)

    # -- files and typing ------------------------------------------------------------------
    async def fetch(self, attachment: Attachment) -> Attachment:
        """The bytes of a user's file (its CDN URL is in ``source``)."""
        data = await call(self.client.http.get_from_cdn(dict(attachment.source)["url"]))
        return Attachment(name=attachment.name, data=data, mime_type=attachment.mime_type)

    async def send_files(
        self, to: ConversationKey, files: Sequence[LocalFile], reply_to: MessageRef | None
    ) -> list[str]:
        """Upload ``files`` (≤10 per message, within the channel's limit); names that did not fit."""
        channel = await self.channel(to.thread or to.chat)
        pending = self._pending(reply_to)
        guild = getattr(channel, "guild", None)
        limit = (
            pending.interaction.filesize_limit
            if pending is not None
            else self.upload_limits.get(str(channel.id))
            or self.upload_limits.get(to.chat)
            or (guild.filesize_limit if guild is not None else DM_UPLOAD_LIMIT)
        )
        fitting = [f for f in files if f.size <= limit]
        too_big = [f.name for f in files if f.size > limit]
        for batch in _batches(fitting, limit):
            uploads = [discord.File(f.path, filename=f.name) for f in batch]
            try:
                if pending is not None:
                    await call(
                        pending.interaction.followup.send(files=uploads, allowed_mentions=NO_PINGS, wait=True)
                    )
                else:
                    await call(channel.send(files=uploads, allowed_mentions=NO_PINGS))
            finally:
                for u in uploads:
                    u.close()
        return too_big

    @contextlib.asynccontextmanager
    async def typing(self, to: ConversationKey) -> AsyncIterator[None]:
        """ "typing…" every 8 s (Discord shows it for 10 s) while the block runs."""

        async def show() -> None:
            if self.pacer.busy:  # "typing…" gives way to replies when the budget runs low
                return
            with contextlib.suppress(PlatformError):
                await call((await self.channel(to.thread or to.chat)).typing())

        async with repeating(show, 8):
            yield

    # -- helpers ---------------------------------------------------------------------------
    async def channel(self, channel_id: str) -> Channel:
        """The channel, thread or DM with this id (from the cache, else fetched)."""
        found = self.client.get_channel(int(channel_id))
        if found is None:
            found = await call(self.client.fetch_channel(int(channel_id)), what=f"channel {channel_id}")
        if not isinstance(found, _CHANNELS):
            raise PlatformError(f"Discord channel {channel_id} cannot hold messages", permanent=True)
        return found

    def _pending(self, ref: MessageRef | None) -> Pending | None:
        if ref is None:
            return None
        pending = self.pending.get(dict(ref.data).get("i", ""))
        return pending if pending is not None and pending.fresh(self.clock()) else None

    def _view(self, stage: Stage) -> discord.ui.View | None:
        return StopView() if stage != "final" and self.stop_button else None


def place(channel: Any) -> tuple[str, str | None]:
    """``(chat, thread)`` of a channel: a thread's chat is its parent channel."""
    if isinstance(channel, discord.Thread):
        return str(channel.parent_id), str(channel.id)
    return str(channel.id), None


def _batches(files: Sequence[LocalFile], limit: int) -> list[list[LocalFile]]:
    """At most 10 files and ``max(limit, 25 MiB)`` bytes per message."""
    budget = max(limit, 25 * 1024 * 1024)
    out: list[list[LocalFile]] = []
    for f in files:
        if not out or len(out[-1]) == 10 or sum(x.size for x in out[-1]) + f.size > budget:
            out.append([])
        out[-1].append(f)
    return out


def _trim(mapping: OrderedDict[str, Any]) -> None:
    while len(mapping) > _REMEMBER:
        mapping.popitem(last=False)
