"""The Discord adapter's ``[adapters.NAME]`` table (``type = "discord"``).

Kept apart from the adapter so that validating a config file needs no discord.py. Ids (guilds, roles,
users, channels) are strings; TOML integers are converted, as for the common keys.
"""

from __future__ import annotations

import re
from typing import Annotated, Any, Literal, Self

from pydantic import Field, NonNegativeInt, PositiveInt, field_validator, model_validator

from bridge import COMMANDS, AdapterConfig, string_ids

_COMMAND = re.compile(r"^[-_a-z0-9]{1,32}$")


class DiscordConfig(AdapterConfig):
    """A Discord bot (discord.py); the common keys apply too (``allow_chats`` are channel ids)."""

    type: Literal["discord"] = "discord"
    token_env: str  # env var holding the bot token (Developer Portal → Bot → Token)
    api_base_url: str = "https://discord.com/api/v10"  # a REST proxy, or a test fake; no trailing "/"
    gateway_url: str = "wss://gateway.discord.gg/"  # the gateway websocket (a test fake: ws://…)
    command: str = "chat"  # the slash command that talks to the app: /chat message:… file:… settings…
    # A /chat in a guild channel opens a thread named after the prompt; the conversation goes on there.
    threads: bool = True
    thread_archive_minutes: Literal[60, 1440, 4320, 10080] = 1440  # the values Discord accepts
    # In guild channels outside the bot's threads: answer mentions (and replies to the bot) only, or
    # every message ("all" needs the privileged Message Content intent, see message_content_intent).
    trigger: Literal["mention", "all"] = "mention"
    # How thoughts and tool notes show: a quote, or a title line with the text hidden in spoilers.
    thoughts: Literal["quote", "spoiler"] = "quote"
    allow_guilds: list[str] = []  # guild (server) ids; empty allows every guild the bot is in
    block_guilds: list[str] = []
    allow_roles: list[str] = []  # role ids or names; a member needs one of them (guilds only)
    block_roles: list[str] = []  # a member with any of these roles is ignored
    # Register the slash commands in these guilds (available at once) instead of globally (empty).
    command_guilds: list[str] = []
    shard_count: PositiveInt | None = None  # total shards across processes; unset: one connection
    shard_ids: list[NonNegativeInt] | None = None  # the shards this process runs (needs shard_count)
    # The privileged intent (enable it in the Developer Portal too). Without it, guild messages arrive
    # without text unless they mention the bot; DMs and slash commands work either way.
    message_content_intent: bool = True
    # After a restart, answer what was said while the bot was down in the conversations that were
    # active (threads, DMs, channels where it was mentioned): at most catch_up_messages per channel
    # (the most recent), in the catch_up_channels most recently active, active in the last
    # catch_up_max_age_h hours.
    catch_up: bool = True
    catch_up_messages: Annotated[int, Field(ge=1, le=100)] = 20
    catch_up_channels: Annotated[int, Field(ge=1, le=1000)] = 100
    catch_up_max_age_h: Annotated[float, Field(gt=0, le=24 * 14)] = 24.0

    @field_validator(
        "allow_guilds", "block_guilds", "allow_roles", "block_roles", "command_guilds", mode="before"
    )
    @classmethod
    def _platform_ids(cls, value: Any) -> Any:
        return string_ids(value)  # Discord ids are snowflakes, written bare in TOML

    @field_validator("api_base_url")
    @classmethod
    def _api_base_url(cls, value: str) -> str:
        scheme, _, rest = value.partition("://")
        if scheme not in ("http", "https") or not rest.strip("/"):
            raise ValueError("expected an http(s) URL like 'https://discord.com/api/v10'")
        # discord.py appends routes that start with "/", so a trailing one would double it.
        return value.rstrip("/")

    @field_validator("gateway_url")
    @classmethod
    def _gateway_url(cls, value: str) -> str:
        scheme, _, rest = value.partition("://")
        if scheme not in ("ws", "wss") or not rest.strip("/"):
            raise ValueError("expected a websocket URL like 'wss://gateway.discord.gg/'")
        return value

    @field_validator("command")
    @classmethod
    def _command(cls, value: str) -> str:
        if not _COMMAND.match(value):
            raise ValueError("expected 1-32 lowercase letters, digits, '-' or '_', like 'chat'")
        if value in COMMANDS:  # the other slash commands: the chat command must not shadow one
            raise ValueError(f"'{value}' is one of the bot's own commands; choose another name")
        return value

    @model_validator(mode="after")
    def _consistent(self) -> Self:
        if self.shard_ids is not None:
            if self.shard_count is None:
                raise ValueError("shard_ids needs shard_count (the total number of shards)")
            if not self.shard_ids:
                raise ValueError("shard_ids must list at least one shard; remove it to run them all")
            if bad := [i for i in self.shard_ids if i >= self.shard_count]:
                raise ValueError(
                    f"shard_ids {bad} are out of range: ids go from 0 to shard_count - 1 "
                    f"({self.shard_count - 1})"
                )
            if len(set(self.shard_ids)) != len(self.shard_ids):
                raise ValueError("shard_ids lists a shard twice")
        if self.trigger == "all" and not self.message_content_intent:
            raise ValueError(
                'trigger = "all" needs message_content_intent = true: without it guild messages '
                "arrive without their text"
            )
        return self
