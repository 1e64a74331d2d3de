"""The Discord adapter: discord.py's ``Client`` ↔ the bridge's adapter contract.

This module is the lifecycle and the contract's facade; the work is in the rooms. ``run`` builds one
run's parts on a new client (:class:`_Run`: REST base and gateway from the config, shards, the pacer),
loads what to catch up on, puts the gateway handlers on the client (:mod:`adapters.discord.receive`)
and connects. The first ``on_ready`` starts two background tasks that never hold up the gateway's
handlers: the slash commands (:mod:`adapters.discord.commands`, registered only when they changed)
and the catch-up (:mod:`adapters.discord.catchup`). The contract methods hand over to
:mod:`adapters.discord.send` and :mod:`adapters.discord.choices`.
"""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import functools
from collections.abc import AsyncIterator, Callable, Coroutine, Sequence
from dataclasses import dataclass
from typing import Any

import discord
import yarl

from adapters.discord.catchup import CatchUp, Recent, state_key
from adapters.discord.choices import QuickReplies
from adapters.discord.commands import app_commands, register
from adapters.discord.config import DiscordConfig
from adapters.discord.errors import login_errors
from adapters.discord.pacing import GlobalPacer, pace
from adapters.discord.receive import Receiver
from adapters.discord.send import Sender, content_length
from bridge import (
    Attachment,
    Capabilities,
    Choice,
    ConversationKey,
    Deliver,
    Host,
    Incoming,
    LocalFile,
    MessageRef,
    Partitions,
    PlatformError,
    Stage,
    Text,
)


class DiscordAdapter:
    """One Discord bot (or the shards of it this process runs)."""

    Config = DiscordConfig

    def __init__(self, name: str, config: DiscordConfig, secret: Callable[[str], str]) -> None:
        self.name = name
        self.config = config
        self._token = secret(config.token_env)
        # 2000 is Discord's limit, in code points; the core splits by the length of the content sent.
        self.capabilities = Capabilities(
            max_text_len=2000,
            text_length=functools.partial(content_length, thoughts=config.thoughts),
            min_edit_interval_s=1.2,  # Discord allows about 5 edits per 5 s per message
            can_edit=True,
            max_files=10,
            max_file_bytes=100 * 1024 * 1024,  # the best boosted guild; the channel's own limit is checked
            max_incoming_bytes=config.max_attachment_bytes,
            markup="markdown",
            # Discord splits a bot's traffic itself (a guild's events reach the process running its
            # shard): with a shared store each process answers exactly its shards' conversations.
            partitions=Partitions(
                config.shard_count or 1, frozenset(config.shard_ids or range(config.shard_count or 1))
            ),
        )
        self._run: _Run | None = None

    async def run(self, host: Host) -> None:
        """Connect and receive until cancelled (the steps are the module docstring's)."""
        run = _Run.build(self.name, self.config, host)
        host = dataclasses.replace(
            host, deliver=functools.partial(_deliver_in_shard, run.client, host.deliver)
        )
        await run.catchup.prepare()
        background = _Background(self.name)

        def started() -> None:
            background.spawn(self._commands(run, host), "commands")
            background.spawn(run.catchup.run(host.deliver), "catch-up")

        run.receiver.listen(host, settled=run.catchup.settled, started=started)
        self._run = run
        try:
            async with run.client:
                with login_errors(self.name, self.config.token_env):
                    await run.client.start(self._token, reconnect=True)
        finally:
            await background.close()
            await run.close()
            self._run = None

    async def _commands(self, run: _Run, host: Host) -> None:
        """The slash commands for the app's inputs: read back from now on, registered if changed."""
        run.receiver.commands = commands = await app_commands(host, self.config, self.name)
        await register(run.client, host.state, self.config, commands, self.name)

    # -- the contract ----------------------------------------------------------------------
    async def send(
        self, to: ConversationKey, text: Text, reply_to: MessageRef | None = None, *, stage: Stage = "final"
    ) -> MessageRef:
        """Post ``text``: as the reply to a slash command when ``reply_to`` is one, else in the channel."""
        return await self._out().send(to, text, reply_to, stage)

    async def edit(self, ref: MessageRef, text: Text, *, stage: Stage = "final") -> MessageRef:
        """Replace a message's text (and drop its Stop button with the final text); the handle to
        use next: ``ref``, or a channel message's when the reply moved on (its interaction expired)."""
        return await self._out().edit(ref, text, stage)

    async def send_files(
        self, to: ConversationKey, files: Sequence[LocalFile], reply_to: MessageRef | None = None
    ) -> None:
        """Upload files; those over the channel's upload limit are named in a note instead."""
        await self._out().send_files(to, files, reply_to)

    async def offer(self, ref: MessageRef, choices: Sequence[Choice]) -> None:
        """Show ``choices`` on the sent message ``ref`` as buttons (past 25: select menus), whose
        presses come back as messages from whoever pressed them (see :mod:`adapters.discord.choices`)."""
        await self._running().replies.offer(ref, choices)

    async def fetch(self, attachment: Attachment) -> Attachment:
        """Download a file a user sent, from Discord's CDN."""
        return await self._out().fetch(attachment)

    @contextlib.asynccontextmanager
    async def typing(self, to: ConversationKey) -> AsyncIterator[None]:
        """ "typing…" while the block runs."""
        async with self._out().typing(to):
            yield

    def _out(self) -> Sender:
        return self._running().sender

    def _running(self) -> _Run:
        if self._run is None:
            raise PlatformError("the Discord bot is not running", permanent=True)
        return self._run


@dataclass
class _Run:
    """One run's parts, wired to one client."""

    client: discord.Client
    sender: Sender
    replies: QuickReplies
    receiver: Receiver
    catchup: CatchUp
    recent: Recent | None

    @classmethod
    def build(cls, name: str, config: DiscordConfig, host: Host) -> _Run:
        client = _new_client(config)
        pacer = GlobalPacer()
        pacer.share(host.budget)  # the bot's window, shared with its shards in other processes
        pace(client.http, pacer)
        sender = Sender(client, config.thoughts, pacer)
        recent = (
            Recent(host.state, state_key(config), config.catch_up_channels, config.catch_up_max_age_h * 3600)
            if config.catch_up
            else None
        )
        replies = QuickReplies(name, config, sender, host.state)
        receiver = Receiver(name, config, client, sender, replies, recent.handled if recent else None)
        return cls(client, sender, replies, receiver, CatchUp(config, receiver, sender, recent), recent)

    async def close(self) -> None:
        """Write what is left of the catch-up list (even when the run is being cancelled)."""
        if self.recent is not None:
            await asyncio.shield(self.recent.close())


class _Background:
    """Tasks that run beside the gateway, cancelled and awaited when the run ends."""

    def __init__(self, adapter: str) -> None:
        self.adapter = adapter
        self._tasks: set[asyncio.Task[None]] = set()

    def spawn(self, work: Coroutine[Any, Any, None], name: str) -> None:
        task = asyncio.create_task(work, name=f"{self.adapter} {name}")
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def close(self) -> None:
        for task in self._tasks:
            task.cancel()
        if self._tasks:
            await asyncio.wait(list(self._tasks))


def _new_client(config: DiscordConfig) -> discord.Client:
    """discord.py's client, aimed at the configured URLs: one connection, or the configured shards."""
    _point_at(config)
    intents = discord.Intents.default()
    intents.message_content = config.message_content_intent
    options: dict[str, Any] = {
        "intents": intents,
        "allowed_mentions": discord.AllowedMentions.none(),
        "max_ratelimit_timeout": 30.0,
        "chunk_guilds_at_startup": False,
    }
    if config.shard_count is None:
        return discord.Client(**options)
    shards: dict[str, Any] = {"shard_ids": config.shard_ids} if config.shard_ids else {}
    return discord.AutoShardedClient(shard_count=config.shard_count, **shards, **options)


def _point_at(config: DiscordConfig) -> None:
    """Aim discord.py at the configured REST base and gateway (a proxy, a local fake).

    discord.py has no per-client setting for these: they are class attributes, so every Discord
    adapter of one process must use the same URLs.
    """
    discord.http.Route.BASE = config.api_base_url
    discord.gateway.DiscordWebSocket.DEFAULT_GATEWAY = yarl.URL(config.gateway_url)


async def _deliver_in_shard(client: discord.Client, deliver: Deliver, incoming: Incoming) -> bool:
    """``deliver(incoming)`` with its partition: the shard of its channel's guild (0 for direct
    messages, which Discord sends to shard 0)."""
    channel = client.get_channel(int(incoming.key.chat)) if incoming.key.chat.isdigit() else None
    guild = getattr(channel, "guild", None)
    shard = guild.shard_id if isinstance(guild, discord.Guild) else 0
    return await deliver(dataclasses.replace(incoming, partition=shard))
