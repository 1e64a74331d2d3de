"""Sending to Discord: channel messages, interaction responses, edits, files and "typing…".

Where a reply goes:

* **Interaction replies** (a slash command answered in place): the first text replaces the deferred
  "thinking…" response, later pieces are follow-ups; edits go through the interaction's webhook
  while its token is valid (15 minutes). After that (or in a process that never had the token: a
  reply resumed after a restart) a message that still changes goes on as an ordinary channel
  message, whose handle :meth:`Sender.edit` returns; the core uses that handle from then on, so no
  map of old handles to new messages is kept here.
* **Everything else** (threads, mentions, DMs) is a channel message, replying to the user's one.

What a message carries: :func:`message_content`, the chunk rendered (:mod:`adapters.discord.render`)
and never blank; the core splits replies by :func:`content_length`, so every chunk fits Discord's
2,000 characters, counted in code points (Discord's API counts them with ``len``, discord-api-docs#1315).

Every send and every edit carries ``allowed_mentions`` that ping nobody: Discord re-parses mentions
on edits with default allowances unless told otherwise, and an app may well print ``@everyone``.
While a reply streams, its message carries a ⏹ Stop button (custom id :data:`STOP_ID`); the final
edit removes it. Quick replies (:mod:`adapters.discord.choices`) are put on a sent message by
:meth:`Sender.attach`. Files follow :mod:`adapters.discord.files`. discord.py errors become
``bridge`` errors (:mod:`adapters.discord.errors`); every REST call is paced
(:mod:`adapters.discord.pacing`, in the bot's window shared by its processes), and "typing…" gives
way when the budget runs low.
"""

from __future__ import annotations

import contextlib
import functools
import re
import time
import unicodedata
from collections import OrderedDict
from collections.abc import AsyncIterator, Awaitable, Sequence
from dataclasses import dataclass
from typing import Any, Literal

import discord

from adapters.discord.errors import call
from adapters.discord.files import UploadLimits, batches, too_big_note
from adapters.discord.pacing import GlobalPacer
from adapters.discord.render import to_discord
from bridge import Attachment, ConversationKey, LocalFile, MessageRef, PlatformError, Stage, Text, repeating

STOP_ID = "bridge:stop"
NO_PINGS = discord.AllowedMentions.none()
TOKEN_LIFETIME_S = 15 * 60 - 45  # the interaction token lasts 15 min; stop using it a little before
BLANK = "…"  # what a chunk of only whitespace shows
_REMEMBER = 10_000
# Contents remembered: the core's splitter measures the same chunk prefixes on every streamed update of
# a long reply. Each entry holds a chunk (at most about 2,000 characters).
_CONTENTS = 512
_MARKUP = re.compile(r"[!-/:-@\[-`{-~]")  # ASCII punctuation: Discord shows any of it escaped as itself
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
    """The ⏹ Stop button; presses are handled by the receiver (``on_interaction``), not here."""

    def __init__(self) -> None:
        super().__init__(timeout=TOKEN_LIFETIME_S)
        self.add_item(discord.ui.Button(label="Stop", emoji="⏹", custom_id=STOP_ID))


class Sender:
    """One bot's outgoing side; ``client`` must be logged in."""

    def __init__(
        self, client: discord.Client, thoughts: str, pacer: GlobalPacer, stop_button: bool = True
    ) -> None:
        self.client = client
        self.pacer = pacer
        self.thoughts = thoughts
        self.stop_button = stop_button
        self.pending: OrderedDict[str, Pending] = OrderedDict()  # interaction id → its reply state
        self.limits = UploadLimits()
        self.clock = time.monotonic

    def track(self, interaction: discord.Interaction[Any]) -> MessageRef:
        """Remember a deferred interaction; the handle to reply to it with :meth:`send`."""
        self.pending[str(interaction.id)] = Pending(interaction, self.clock())
        while len(self.pending) > _REMEMBER:
            self.pending.popitem(last=False)
        chat, thread = interaction_place(interaction)
        return MessageRef(
            chat=chat, id=f"interaction-{interaction.id}", thread=thread, data=(("i", str(interaction.id)),)
        )

    # -- text ------------------------------------------------------------------------------
    async def send(
        self, to: ConversationKey, text: Text, reply_to: MessageRef | None, stage: Stage
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

    async def edit(self, ref: MessageRef, text: Text, stage: Stage) -> MessageRef:
        """Replace ``ref``'s text; the handle to use next (a new one when the reply moved on)."""
        content = message_content(text, self.thoughts)  # type: ignore[arg-type]
        view = self._view(stage)
        data = dict(ref.data)
        what = "the reply's edit"
        if "i" not in data:
            partial = (await self.channel(ref.thread or ref.chat)).get_partial_message(int(ref.id))
            await call(
                partial.edit(content=content, view=view, allowed_mentions=NO_PINGS), what=what, edit=True
            )
            return ref
        pending = self._pending(ref)
        if pending is None:
            # The token has expired (or this process never had it), and a bot cannot edit an
            # interaction's message otherwise: the reply goes on as an ordinary channel message.
            channel = await self.channel(ref.thread or ref.chat)
            msg = await call(channel.send(content, view=view, allowed_mentions=NO_PINGS))  # type: ignore[arg-type]
            return MessageRef(ref.chat, str(msg.id), ref.thread)
        edited: Awaitable[object]
        if data.get("original"):
            edited = pending.interaction.edit_original_response(
                content=content, view=view, allowed_mentions=NO_PINGS
            )
        else:
            edited = pending.interaction.followup.edit_message(
                int(ref.id), content=content, view=view, allowed_mentions=NO_PINGS
            )
        await call(edited, what=what, edit=True)
        return ref

    async def attach(self, ref: MessageRef, view: discord.ui.View) -> None:
        """Put ``view``'s components on a sent message, its text unchanged. A reply whose interaction
        token has expired (or that another process sent) cannot be edited by the bot: the components
        then come on a new message after it. ``MessageGone`` when the message was deleted."""
        what = "adding the choices"
        if "i" not in dict(ref.data):
            partial = (await self.channel(ref.thread or ref.chat)).get_partial_message(int(ref.id))
            await call(partial.edit(view=view), what=what, edit=True)
            return
        pending = self._pending(ref)
        if pending is None:
            channel = await self.channel(ref.thread or ref.chat)
            await call(channel.send(view=view, allowed_mentions=NO_PINGS), what=what)
        elif dict(ref.data).get("original") or not ref.id.isdigit():
            await call(pending.interaction.edit_original_response(view=view), what=what, edit=True)
        else:
            edited = pending.interaction.followup.edit_message(int(ref.id), view=view)
            await call(edited, what=what, edit=True)

    # -- files and typing ------------------------------------------------------------------
    async def fetch(self, attachment: Attachment) -> Attachment:
        """The bytes of a user's file (its CDN URL is in ``source``)."""
        data = await call(self.client.http.get_from_cdn(dict(attachment.source)["url"]))
        return Attachment(name=attachment.name, data=data, mime_type=attachment.mime_type)

    async def send_files(
        self, to: ConversationKey, files: Sequence[LocalFile], reply_to: MessageRef | None
    ) -> None:
        """Upload ``files`` in batches within the channel's limit; a note names those over it."""
        channel = await self.channel(to.thread or to.chat)
        pending = self._pending(reply_to)
        limit = (
            pending.interaction.filesize_limit if pending is not None else self.limits.of(channel, to.chat)
        )
        for batch in batches([f for f in files if f.size <= limit], limit):
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
        if too_big := [f.name for f in files if f.size > limit]:
            await self.send(to, Text.of(too_big_note(too_big)), reply_to, "final")

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
        """The interaction ``ref`` answers, while its token can still be used."""
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


def interaction_place(interaction: discord.Interaction[Any]) -> tuple[str, str | None]:
    """``(chat, thread)`` where an interaction happened (its channel may not be cached)."""
    channel = interaction.channel
    return place(channel) if channel is not None else (str(interaction.channel_id), None)


def message_content(text: Text, thoughts: Literal["quote", "spoiler"] = "quote") -> str:
    """The content of the message showing one chunk of a reply: never blank.

    :func:`to_discord` without trailing whitespace (Discord drops it); when that shows nothing (``#``,
    an empty heading) the chunk's own Markdown with its markup escaped, so the user sees what the app
    wrote; :data:`BLANK` for whitespace only. Pure; recent results are cached.
    """
    return _content(text, thoughts)


def content_length(text: Text, thoughts: Literal["quote", "spoiler"] = "quote") -> int:
    """The length of :func:`message_content` in Discord's unit (code points), spoiler marks included."""
    return len(_content(text, thoughts))


@functools.lru_cache(maxsize=_CONTENTS)
def _content(text: Text, thoughts: Literal["quote", "spoiler"]) -> str:
    content = to_discord(text, thoughts).rstrip()
    if not _shows_text(content):
        content = _MARKUP.sub(r"\\\g<0>", text.markdown.replace("\r", "")).strip()
    return content if _shows_text(content) else BLANK


def _shows_text(content: str) -> bool:
    return any(not c.isspace() and unicodedata.category(c) != "Cf" for c in content)
