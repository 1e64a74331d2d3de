"""Receiving from Discord: messages and interactions → the bridge's :class:`~bridge.Incoming`.

* **Messages** count in DMs, in threads the bot opened, when they mention the bot or reply to it,
  and everywhere with ``trigger = "all"``. The bot's mention is removed from the text.
* **Slash commands** are acknowledged at once (Discord allows 3 seconds): ``/chat`` with
  ``threads = true`` in a guild channel answers with the prompt and opens a thread from that
  answer, where the reply streams and the conversation goes on with plain messages; otherwise the
  response is deferred ("thinking…") and the reply replaces it. ``/settings`` options become
  ``name=value`` arguments; ``/chat``'s generated options apply to that turn only.
* **The Stop button** is the ``stop`` command of the conversation it sits in; **choice presses**
  and **autocomplete** are handled in :mod:`adapters.discord.presses`.
* **Access:** guild and role lists are checked (:mod:`adapters.discord.access`; users and channels
  by the core); refused slash commands get a private (ephemeral) answer, refused messages are ignored.

Conversation keys: a thread is a conversation of its own (``chat`` = parent channel, ``thread`` =
the thread); elsewhere the adapter's ``scope`` decides.

A message is delivered at most once however it arrives (live from the gateway, or read from the
history when catching up, :mod:`adapters.discord.catchup`); ``delivered(channel id, message id)``
is told each one, and each thread ``/chat`` opens (with the thread's id).
"""

from __future__ import annotations

import asyncio
import re
from collections import OrderedDict
from collections.abc import Awaitable, Callable, Mapping, Sequence
from typing import Any

import discord
import structlog

from adapters.discord.access import author_of, data_of
from adapters.discord.choices import QuickReplies, is_choice
from adapters.discord.commands import (
    FILE,
    MESSAGE,
    CommandSet,
    options_to_params,
    settings_command_args,
    thread_name,
)
from adapters.discord.config import DiscordConfig
from adapters.discord.outbox import NO_PINGS, STOP_ID, Outbox, place
from adapters.discord.presses import REFUSAL, Presses
from bridge import Attachment, Incoming, MessageRef

log = structlog.get_logger(__name__)
Deliver = Callable[[Incoming], Awaitable[object]]  # the gateway cannot redeliver: no ack
Delivered = Callable[[str, int], None]
_REMEMBER = 10_000  # message ids kept to deliver each once


class Inbox(Presses):
    """One bot's incoming side; ``replies`` reads choice presses back (none: presses are ignored)."""

    def __init__(
        self,
        adapter: str,
        config: DiscordConfig,
        client: discord.Client,
        outbox: Outbox,
        delivered: Delivered | None = None,
        replies: QuickReplies | None = None,
    ) -> None:
        super().__init__(adapter, config)
        self.client = client
        self.outbox = outbox
        self.commands: CommandSet | None = None
        self.delivered = delivered
        self.replies = replies
        self._seen: OrderedDict[int, None] = OrderedDict()

    # -- messages --------------------------------------------------------------------------
    async def message(self, msg: discord.Message, deliver: Deliver) -> None:
        """Deliver ``msg`` when it is for the bot."""
        incoming = self.incoming(msg)
        if incoming is not None:
            await self.deliver_once(msg, incoming, deliver)

    def incoming(self, msg: discord.Message) -> Incoming | None:
        """What ``msg`` says to the bot; None when it is not for the bot (or not allowed to be)."""
        me = self.client.user
        if (
            me is None
            or msg.author.bot
            or msg.type not in (discord.MessageType.default, discord.MessageType.reply)
        ):
            return None
        if not self._triggered(msg, me) or not self._admitted(msg.guild, msg.author):
            return None
        chat, thread = place(msg.channel)
        text = re.sub(rf"<@!?{me.id}>", "", msg.content).strip()
        return Incoming(
            key=self._key(chat, str(msg.author.id), thread),
            author=author_of(msg.author),
            text=text,
            attachments=tuple(
                _attachment(a.filename, a.size, a.content_type, a.url) for a in msg.attachments
            ),
            reply_to=MessageRef(chat=chat, id=str(msg.id), thread=thread),
            shared=msg.guild is not None,
            id=str(msg.id),
        )

    def seen(self, message_id: int) -> bool:
        """Whether the message was delivered already (by this process)."""
        return message_id in self._seen

    async def deliver_once(self, msg: discord.Message, incoming: Incoming, deliver: Deliver) -> None:
        """Deliver ``incoming`` (from ``msg``) unless that message was delivered already."""
        if msg.id in self._seen:
            return
        self._seen[msg.id] = None  # before the await: a second arrival meanwhile is dropped too
        while len(self._seen) > _REMEMBER:
            self._seen.popitem(last=False)
        await deliver(incoming)
        if self.delivered is not None:
            self.delivered(str(msg.channel.id), msg.id)

    def _triggered(self, msg: discord.Message, me: discord.ClientUser) -> bool:
        channel = msg.channel
        if msg.guild is None or self.config.trigger == "all":
            return True
        if isinstance(channel, discord.Thread) and channel.owner_id == me.id:
            return True
        if me in msg.mentions:
            return True
        ref = msg.reference.resolved if msg.reference is not None else None
        return isinstance(ref, discord.Message) and ref.author.id == me.id

    # -- interactions ----------------------------------------------------------------------
    async def interaction(self, interaction: discord.Interaction[Any], deliver: Deliver) -> None:
        """Acknowledge and deliver a slash command, a Stop or choice press; answer autocomplete."""
        data: Mapping[str, Any] = interaction.data or {}
        if interaction.type == discord.InteractionType.component:
            if data.get("custom_id") == STOP_ID:
                await interaction.response.defer()
                await self._deliver_command(interaction, "stop", "", deliver, reply=False)
            elif is_choice(data.get("custom_id")):
                await self._press(interaction, deliver)
            return
        if interaction.type == discord.InteractionType.autocomplete:
            await self._suggest(interaction, data)
            return
        if interaction.type != discord.InteractionType.application_command:
            return
        if interaction.channel_id is not None:
            self.outbox.note_limit(str(interaction.channel_id), interaction)
        if not self._admitted(interaction.guild, interaction.user):
            await interaction.response.send_message(REFUSAL, ephemeral=True)
            return
        name = str(data.get("name", ""))
        options: Sequence[Mapping[str, Any]] = data.get("options") or []
        if name == self.config.command:
            await self._chat(interaction, options, deliver)
        elif name == "settings":
            args = settings_command_args(options, self.commands) if self.commands else ""
            await interaction.response.defer(thinking=True)
            await self._deliver_command(interaction, "settings", args, deliver)
        elif name in ("reset", "stop", "retry", "help"):
            await interaction.response.defer(thinking=True)
            await self._deliver_command(interaction, name, "", deliver)

    async def _chat(
        self, interaction: discord.Interaction[Any], options: Sequence[Mapping[str, Any]], deliver: Deliver
    ) -> None:
        prompt = str(next((o.get("value") for o in options if o.get("name") == MESSAGE), "") or "")
        params = options_to_params(options, self.commands.option_params) if self.commands else {}
        channel = interaction.channel
        user = interaction.user
        if self.config.threads and interaction.guild is not None and isinstance(channel, discord.TextChannel):
            await interaction.response.send_message(
                f"**{user.display_name}:** {prompt[:1800]}", allowed_mentions=NO_PINGS
            )
            started = await interaction.original_response()
            thread = await self._open_thread(started, prompt)
            if thread is None:  # the bot may not create threads here: answer in the channel
                key = self._key(str(channel.id), str(user.id), None)
                reply_to: MessageRef | None = MessageRef(chat=str(channel.id), id=str(started.id))
            else:
                key = self._key(str(channel.id), str(user.id), str(thread.id))
                reply_to = None
                if self.delivered is not None:  # the conversation goes on in the thread
                    self.delivered(str(thread.id), thread.id)
        else:
            await interaction.response.defer(thinking=True)
            reply_to = self.outbox.track(interaction)
            key = self._key(reply_to.chat, str(user.id), reply_to.thread)
            if interaction.guild is None and self.delivered is not None and interaction.channel_id:
                self.delivered(str(interaction.channel_id), interaction.id)  # a DM goes on
        attachments = tuple(_resolved_files(data_of(interaction), options))
        await deliver(
            Incoming(
                key=key,
                author=author_of(user),
                text=prompt,
                attachments=attachments,
                reply_to=reply_to,
                params=params,
                shared=interaction.guild is not None,
                id=str(interaction.id),
            )
        )

    async def _open_thread(self, started: discord.Message, prompt: str) -> discord.Thread | None:
        """A thread from the prompt's echo; None when Discord refuses it (permissions, or still
        failing after a few tries: discord.py already retried each 429 and 5xx)."""
        for attempt in range(3):
            try:
                return await started.create_thread(
                    name=thread_name(prompt), auto_archive_duration=self.config.thread_archive_minutes
                )
            except discord.Forbidden:
                log.warning("no permission to open a thread; answering in the channel")
                return None
            except discord.HTTPException as exc:
                if exc.status != 429 and exc.status < 500:
                    log.warning("opening a thread failed; answering in the channel", status=exc.status)
                    return None
                await asyncio.sleep(1 + 2 * attempt)
        log.warning("opening a thread kept failing; answering in the channel")
        return None

    async def _deliver_command(
        self,
        interaction: discord.Interaction[Any],
        name: str,
        args: str,
        deliver: Deliver,
        *,
        reply: bool = True,
    ) -> None:
        ref = self.outbox.track(interaction) if reply else None
        channel = interaction.channel
        chat, thread = place(channel) if channel is not None else (str(interaction.channel_id), None)
        await deliver(
            Incoming(
                key=self._key(chat, str(interaction.user.id), thread),
                author=author_of(interaction.user),
                text=f"/{name} {args}".strip(),
                reply_to=ref,
                command=name,
                args=args,
                shared=interaction.guild is not None,
                id=str(interaction.id),
            )
        )


def _resolved_files(data: Mapping[str, Any], options: Sequence[Mapping[str, Any]]) -> list[Attachment]:
    """The files of a slash command's ``file`` options, as references to fetch later."""
    resolved = (data.get("resolved") or {}).get("attachments") or {}
    out = []
    for option in options:
        if option.get("name") != FILE or str(option.get("value")) not in resolved:
            continue
        item = resolved[str(option["value"])]
        out.append(
            _attachment(
                str(item.get("filename", "file")),
                int(item.get("size", 0)),
                item.get("content_type"),
                str(item["url"]),
            )
        )
    return out


def _attachment(name: str, size: int, mime: str | None, url: str) -> Attachment:
    """A user's file, fetched from the CDN by the turn (``adapter.fetch``) if it is within the limits."""
    return Attachment(name=name, mime_type=mime, declared_size=size, source=(("url", url),))
