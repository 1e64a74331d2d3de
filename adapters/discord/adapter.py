"""The Discord adapter: discord.py's ``Client`` ↔ the bridge's adapter contract.

Receiving is :mod:`adapters.discord.inbox`, sending :mod:`adapters.discord.outbox`, catching up
after a restart :mod:`adapters.discord.catchup`; this module connects the client (REST base and
gateway from the config, shards), and registers the slash commands, generated from the app's
inputs, only when their definition changed: the hash of the last registered set is kept in the
bridge's state (Discord allows 200 command creates a day). Quick replies are
:mod:`adapters.discord.choices` (their presses :mod:`adapters.discord.presses`). The background
work of the first ``on_ready`` (commands, catching up) never holds up the gateway's event handlers.
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
from collections.abc import AsyncIterator, Callable, Coroutine, Sequence
from typing import Any

import discord
import structlog
import yarl

from adapters.discord.catchup import CatchUp, Recent, state_key
from adapters.discord.choices import QuickReplies
from adapters.discord.commands import CommandSet, command_payloads
from adapters.discord.config import DiscordConfig
from adapters.discord.content import content_length
from adapters.discord.inbox import Inbox
from adapters.discord.outbox import Outbox
from adapters.discord.pacing import GlobalPacer, pace
from bridge import (
    AppInputs,
    Attachment,
    BridgeError,
    Capabilities,
    Choice,
    ConversationKey,
    Host,
    LocalFile,
    MessageRef,
    PlatformError,
    Stage,
)

log = structlog.get_logger(__name__)
COMMANDS_KEY = "commands"
_INPUTS_TIMEOUT_S = 60.0


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
        )
        self._client: discord.Client | None = None
        self._outbox: Outbox | None = None
        self._replies: QuickReplies | None = None

    # -- receiving -------------------------------------------------------------------------
    async def run(self, host: Host) -> None:
        """Connect and receive until cancelled."""
        _point_at(self.config)
        client = _new_client(self.config)
        pacer = GlobalPacer()
        pace(client.http, pacer)
        outbox = Outbox(client, self.config.thoughts, pacer)
        cfg = self.config
        recent = (
            Recent(host.state, state_key(cfg), cfg.catch_up_channels, cfg.catch_up_max_age_h * 3600)
            if cfg.catch_up
            else None
        )
        replies = QuickReplies(outbox, host.state)
        inbox = Inbox(self.name, cfg, client, outbox, recent.handled if recent else None, replies)
        catchup = CatchUp(cfg, inbox, outbox, recent)
        await catchup.prepare()
        started = asyncio.Event()
        background: set[asyncio.Task[None]] = set()

        def spawn(work: Coroutine[Any, Any, None], name: str) -> None:
            task = asyncio.create_task(work, name=f"{self.name} {name}")
            background.add(task)
            task.add_done_callback(background.discard)

        @client.event
        async def on_ready() -> None:
            host.ready()
            if not started.is_set():  # on_ready comes again after each new session
                started.set()
                spawn(self._sync_commands(client, host, inbox), "commands")
                spawn(catchup.run(host.deliver), "catch-up")

        @client.event
        async def on_message(message: discord.Message) -> None:
            if not message.author.bot:
                await catchup.settled(str(message.channel.id))  # missed messages go first
            await inbox.message(message, host.deliver)

        @client.event
        async def on_interaction(interaction: discord.Interaction[Any]) -> None:
            await inbox.interaction(interaction, host.deliver)

        self._client, self._outbox, self._replies = client, outbox, replies
        try:
            async with client:
                try:
                    await client.start(self._token, reconnect=True)
                except discord.LoginFailure:
                    raise PlatformError(
                        f"Discord rejected the bot token of adapter '{self.name}' "
                        f"(from ${self.config.token_env})",
                        permanent=True,
                    ) from None
                except discord.PrivilegedIntentsRequired:
                    raise PlatformError(
                        f"adapter '{self.name}': enable the Message Content intent for the bot in the "
                        "Discord Developer Portal, or set message_content_intent = false",
                        permanent=True,
                    ) from None
        finally:
            for task in background:
                task.cancel()
            if background:
                await asyncio.wait(list(background))
            if recent is not None:
                await asyncio.shield(recent.close())
            self._client = self._outbox = self._replies = None

    async def _sync_commands(self, client: discord.Client, host: Host, inbox: Inbox) -> None:
        """Register the slash commands when their definition changed since the last registration."""
        try:
            async with asyncio.timeout(_INPUTS_TIMEOUT_S):
                inputs = await host.inputs()
        except (BridgeError, TimeoutError) as exc:
            log.warning(
                "app inputs unknown; commands without settings options", adapter=self.name, error=str(exc)
            )
            inputs = AppInputs(multimodal=True)
        commands: CommandSet = command_payloads(
            inputs.settings,
            multimodal=inputs.multimodal,
            chat_command=self.config.command,
            examples=inputs.examples,
        )
        inbox.commands = commands
        shards = self.config.shard_ids
        if shards is not None and 0 not in shards:
            return  # the process running shard 0 registers them
        app_id = client.application_id
        assert app_id is not None
        wanted = {
            "hash": commands.hash,
            "application": str(app_id),
            "guilds": sorted(self.config.command_guilds),
        }
        if await host.state.get(COMMANDS_KEY) == wanted:
            log.info("slash commands unchanged; not registered again", adapter=self.name)
            return
        try:
            if self.config.command_guilds:
                for guild in self.config.command_guilds:
                    await client.http.bulk_upsert_guild_commands(app_id, int(guild), commands.payloads)
            else:
                await client.http.bulk_upsert_global_commands(app_id, commands.payloads)
        except discord.HTTPException as exc:
            log.error(
                "registering slash commands failed", adapter=self.name, status=exc.status, error=exc.text
            )
            return
        await host.state.put(COMMANDS_KEY, wanted)
        log.info("slash commands registered", adapter=self.name, commands=len(commands.payloads))

    # -- sending ---------------------------------------------------------------------------
    async def send(
        self, to: ConversationKey, text: str, reply_to: MessageRef | None = None, *, stage: Stage = "final"
    ) -> MessageRef:
        """Post ``text``: as the reply to a slash command when ``reply_to`` is one, else in the channel."""
        return await self._out().send(to, text, reply_to, stage)

    async def edit(self, ref: MessageRef, text: str, *, stage: Stage = "final") -> MessageRef:
        """Replace a message's text (and drop its Stop button with the final text); the new handle
        when the reply had to move to a channel message (its interaction expired)."""
        return await self._out().edit(ref, text, stage)

    async def send_files(
        self, to: ConversationKey, files: Sequence[LocalFile], reply_to: MessageRef | None = None
    ) -> None:
        """Upload files; those over the channel's upload limit are named in a note instead."""
        too_big = await self._out().send_files(to, files, reply_to)
        if too_big:
            names = ", ".join(too_big)
            await self._out().send(
                to,
                f"📎 Too large to upload here: {names} (over this server's upload limit).",
                reply_to,
                "final",
            )

    async def offer(self, ref: MessageRef, choices: Sequence[Choice]) -> None:
        """Show ``choices`` on the sent message ``ref`` as buttons (past 25: select menus), whose
        presses come back as messages from whoever pressed them (see :mod:`adapters.discord.choices`)."""
        if self._replies is None:
            raise PlatformError("the Discord bot is not running", permanent=True)
        await self._replies.offer(ref, choices)

    async def fetch(self, attachment: Attachment) -> Attachment:
        """Download a file a user sent, from Discord's CDN."""
        return await self._out().fetch(attachment)

    @contextlib.asynccontextmanager
    async def typing(self, to: ConversationKey) -> AsyncIterator[None]:
        """ "typing…" while the block runs."""
        async with self._out().typing(to):
            yield

    def _out(self) -> Outbox:
        if self._outbox is None:
            raise PlatformError("the Discord bot is not running", permanent=True)
        return self._outbox


def _new_client(config: DiscordConfig) -> discord.Client:
    """discord.py's client: one connection, or the configured shards."""
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
