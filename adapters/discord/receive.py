"""Receiving from Discord: gateway events → the bridge's :class:`~bridge.Incoming`, delivered.

:meth:`Receiver.listen` puts the gateway handlers on the client (``on_ready``, ``on_message``,
``on_interaction``); each calls ``host.deliver`` itself and awaits nothing slow (files are
references the turn fetches later, :mod:`adapters.discord.files`).

* **Messages** count in DMs, in threads the bot opened, when they mention the bot or reply to it,
  and everywhere with ``trigger = "all"``. The bot's mention is removed from the text.
* **Slash commands** are acknowledged at once (Discord allows 3 seconds): ``/chat`` with
  ``threads = true`` in a guild channel answers with the prompt and opens a thread from that
  answer, named after it (:func:`thread_name`), where the reply streams and the conversation goes
  on with plain messages; otherwise the response is deferred ("thinking…") and the reply replaces
  it. ``/settings`` options become ``name=value`` arguments; ``/chat``'s generated options apply
  to that turn only.
* **The Stop button** is the ``stop`` command from whoever pressed it, delivered like any command:
  the core keys it by the adapter's scope, so it stops the reply of the presser's conversation.
  **Choice presses** and **autocomplete** are :mod:`adapters.discord.choices`'.
* **Access:** guild and role lists are checked (:mod:`adapters.discord.access`; users and channels
  by the core); refused slash commands get a private (ephemeral) answer, refused messages are ignored.

Conversation keys are ``(adapter, chat, thread)``: a thread is a conversation of its own (``chat`` =
the parent channel, ``thread`` = the thread). The core applies the adapter's ``scope`` with the
author's id, so every way in (messages, commands, presses) lands in that user's conversation.

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

from adapters.discord.access import admitted, author_of
from adapters.discord.choices import REFUSAL, QuickReplies, is_choice
from adapters.discord.commands import (
    MAX_TEXT,
    MESSAGE,
    CommandSet,
    options_to_params,
    settings_command_args,
    units,
)
from adapters.discord.config import DiscordConfig
from adapters.discord.files import attachment, resolved_files
from adapters.discord.send import NO_PINGS, STOP_ID, Sender, interaction_place, place
from bridge import ConversationKey, Host, Incoming, MessageRef, splits_cluster

log = structlog.get_logger(__name__)
Deliver = Callable[[Incoming], Awaitable[object]]  # the gateway cannot redeliver: no ack
Delivered = Callable[[str, int], None]
Settled = Callable[[str], Awaitable[None]]
_REMEMBER = 10_000  # message ids kept to deliver each once
_MENTION = re.compile(r"<(?:@[!&]?|#)\d+>|<a?(:\w+:)\d+>|@(?:everyone|here)\b")
_LINK = re.compile(r"!?\[([^\]\n]*)\]\([^)\n]*\)|<(https?://[^>\s]+)>")
_MARKS = re.compile(r"(?<!\w)[*_~`|]+|[*_~`|]+(?!\w)")
_LEAD = re.compile(r"^(?:#{1,6}|-#|>+|[-*+]|\d{1,9}[.)])\s+")


class Receiver:
    """One bot's incoming side; ``commands`` is set once the app's inputs are known."""

    def __init__(
        self,
        adapter: str,
        config: DiscordConfig,
        client: discord.Client,
        sender: Sender,
        replies: QuickReplies,
        delivered: Delivered | None = None,
    ) -> None:
        self.adapter = adapter
        self.config = config
        self.client = client
        self.sender = sender
        self.replies = replies
        self.delivered = delivered
        self.commands: CommandSet | None = None
        self._seen: OrderedDict[int, None] = OrderedDict()

    def listen(self, host: Host, *, settled: Settled, started: Callable[[], None]) -> None:
        """Put the gateway handlers on the client, delivering to ``host.deliver``.

        ``settled(channel id)`` returns once that channel's missed messages are delivered (its live
        ones wait for it); ``started()`` is called on the first ``on_ready`` only (another comes
        after each new gateway session).
        """
        client, first = self.client, asyncio.Event()

        @client.event
        async def on_ready() -> None:
            host.ready()
            if not first.is_set():
                first.set()
                started()

        @client.event
        async def on_message(message: discord.Message) -> None:
            if not message.author.bot:
                await settled(str(message.channel.id))  # missed messages go first
            await self.message(message, host.deliver)

        @client.event
        async def on_interaction(interaction: discord.Interaction[Any]) -> None:
            await self.interaction(interaction, host.deliver)

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
        if not self._triggered(msg, me) or not admitted(self.config, msg.guild, msg.author):
            return None
        chat, thread = place(msg.channel)
        text = re.sub(rf"<@!?{me.id}>", "", msg.content).strip()
        return Incoming(
            key=self._key(chat, thread),
            author=author_of(msg.author),
            text=text,
            attachments=tuple(attachment(a.filename, a.size, a.content_type, a.url) for a in msg.attachments),
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
                await self.replies.press(interaction, deliver)
            return
        if interaction.type == discord.InteractionType.autocomplete:
            await self.replies.suggest(interaction, self.commands)
            return
        if interaction.type != discord.InteractionType.application_command:
            return
        if interaction.channel_id is not None:
            self.sender.limits.note(str(interaction.channel_id), interaction.filesize_limit)
        if not admitted(self.config, interaction.guild, interaction.user):
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
        channel = interaction.channel
        if self.config.threads and interaction.guild is not None and isinstance(channel, discord.TextChannel):
            key, reply_to = await self._chat_in_thread(interaction, channel, prompt)
        else:
            key, reply_to = await self._chat_in_place(interaction)
        await deliver(
            Incoming(
                key=key,
                author=author_of(interaction.user),
                text=prompt,
                attachments=tuple(resolved_files(dict(interaction.data or {}), options)),
                reply_to=reply_to,
                params=options_to_params(options, self.commands.option_params) if self.commands else {},
                shared=interaction.guild is not None,
                id=str(interaction.id),
            )
        )

    async def _chat_in_thread(
        self, interaction: discord.Interaction[Any], channel: discord.TextChannel, prompt: str
    ) -> tuple[ConversationKey, MessageRef | None]:
        """Echo the prompt and open a thread from it, where the reply goes (the channel if refused)."""
        await interaction.response.send_message(
            f"**{interaction.user.display_name}:** {prompt[:1800]}", allowed_mentions=NO_PINGS
        )
        started = await interaction.original_response()
        thread = await self._open_thread(started, prompt)
        if thread is None:  # the bot may not create threads here: answer in the channel
            return self._key(str(channel.id), None), MessageRef(chat=str(channel.id), id=str(started.id))
        if self.delivered is not None:  # the conversation goes on in the thread
            self.delivered(str(thread.id), thread.id)
        return self._key(str(channel.id), str(thread.id)), None

    async def _chat_in_place(
        self, interaction: discord.Interaction[Any]
    ) -> tuple[ConversationKey, MessageRef]:
        """Defer the response ("thinking…"); the reply replaces it."""
        await interaction.response.defer(thinking=True)
        reply_to = self.sender.track(interaction)
        if interaction.guild is None and self.delivered is not None and interaction.channel_id:
            self.delivered(str(interaction.channel_id), interaction.id)  # a DM goes on
        return self._key(reply_to.chat, reply_to.thread), reply_to

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
        ref = self.sender.track(interaction) if reply else None
        chat, thread = interaction_place(interaction)
        await deliver(
            Incoming(
                key=self._key(chat, thread),
                author=author_of(interaction.user),
                text=f"/{name} {args}".strip(),
                reply_to=ref,
                command=name,
                args=args,
                shared=interaction.guild is not None,
                id=str(interaction.id),
            )
        )

    def _key(self, chat: str, thread: str | None) -> ConversationKey:
        return ConversationKey(self.adapter, chat, thread)  # the core applies the scope


def thread_name(prompt: str) -> str:
    """A thread name for ``prompt``: its first non-blank line without Markdown or mention noise.

    Whitespace is collapsed; ``<@123>``, ``<#123>``, ``@everyone``, ``@here`` are removed, custom emoji
    become ``:name:``, links their text. At most 100 UTF-16 units (a longer line is cut at a word
    boundary when one is in the second half, never inside a character cluster, and ends with ``…``);
    ``"Chat"`` when nothing is left.
    """
    line = next((s for s in prompt.splitlines() if s.strip()), "")
    line = _MENTION.sub(lambda m: m[1] or "", line)
    line = _LINK.sub(lambda m: m[1] if m[1] is not None else m[2], line)
    line = " ".join(line.split())
    while (lead := _LEAD.match(line)) is not None:
        line = line[lead.end() :]
    line = " ".join(_MARKS.sub("", line).split())
    if units(line) > MAX_TEXT:
        end = len(line)
        while units(line[:end]) > MAX_TEXT - 1 or (0 < end < len(line) and splits_cluster(line, end)):
            end -= 1
        space = line.rfind(" ", 0, end + 1)
        line = line[: space if space > end // 2 else end].rstrip() + "…"
    return line or "Chat"
