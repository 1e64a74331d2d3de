"""Who may use the bot where, and which conversation a user's words belong to (Discord side).

Guild and role lists are checked here (users and channels by the core). Conversation keys: a thread
is a conversation of its own (``chat`` = parent channel, ``thread`` = the thread); elsewhere the
adapter's ``scope`` decides. Messages, slash commands and presses all use these rules, so a press
lands exactly where that user's message would.
"""

from __future__ import annotations

from collections.abc import Awaitable
from typing import Any

import discord
import structlog

from adapters.discord.config import DiscordConfig
from bridge import Author, ConversationKey

log = structlog.get_logger(__name__)


class Access:
    """The access lists and scope of one adapter (a base of the inbox)."""

    def __init__(self, adapter: str, config: DiscordConfig) -> None:
        self.adapter = adapter
        self.config = config

    def _admitted(self, guild: discord.Guild | None, user: discord.abc.User) -> bool:
        cfg = self.config
        if guild is None:
            return not cfg.allow_guilds and not cfg.allow_roles  # DMs are outside every guild
        if str(guild.id) in cfg.block_guilds or (cfg.allow_guilds and str(guild.id) not in cfg.allow_guilds):
            return False
        roles = {str(r.id) for r in getattr(user, "roles", ())} | {r.name for r in getattr(user, "roles", ())}
        if roles & set(cfg.block_roles):
            return False
        return not cfg.allow_roles or bool(roles & set(cfg.allow_roles))

    def _key(self, chat: str, user: str, thread: str | None) -> ConversationKey:
        return ConversationKey(self.adapter, chat, thread)  # the core applies the scope


def author_of(user: discord.abc.User) -> Author:
    """The bridge's author for a Discord user or member (their handles, for access rules)."""
    names = tuple(n for n in (user.name, user.global_name, getattr(user, "display_name", None)) if n)
    return Author(id=str(user.id), name=user.display_name, names=names, is_bot=user.bot)


async def acknowledge(response: Awaitable[object]) -> None:
    """Answer an interaction; one answered already (a redelivery: 40060) or too late (10062) is
    logged, not raised: the work it asks for may still have to be done."""
    try:
        await response
    except (discord.HTTPException, discord.InteractionResponded) as exc:
        log.info("interaction not answered", error=str(exc))


def data_of(interaction: discord.Interaction[Any]) -> dict[str, Any]:
    """The interaction's raw ``data`` (``{}`` when absent)."""
    return dict(interaction.data or {})
