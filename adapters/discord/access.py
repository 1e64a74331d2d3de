"""Discord's own access rules: guild and role lists (users and channels are checked by the core).

:func:`admitted` applies ``allow_guilds``/``block_guilds`` and ``allow_roles``/``block_roles`` to
whoever wrote a message, ran a slash command or pressed a button, so every way in is held to the
same lists; DMs are outside every guild, so they pass only when no guild or role list is set. Roles
match by id or by name. :func:`author_of` is who that person is for the core's own lists (their
id and every handle they go by).
"""

from __future__ import annotations

import discord

from adapters.discord.config import DiscordConfig
from bridge import Author


def admitted(config: DiscordConfig, guild: discord.Guild | None, user: discord.abc.User) -> bool:
    """Whether ``user`` may use the bot in ``guild`` (None: a DM) under the guild and role lists."""
    if guild is None:
        return not config.allow_guilds and not config.allow_roles  # DMs are outside every guild
    gid = str(guild.id)
    if gid in config.block_guilds or (config.allow_guilds and gid not in config.allow_guilds):
        return False
    roles = {str(r.id) for r in getattr(user, "roles", ())} | {r.name for r in getattr(user, "roles", ())}
    if roles & set(config.block_roles):
        return False
    return not config.allow_roles or bool(roles & set(config.allow_roles))


def author_of(user: discord.abc.User) -> Author:
    """The bridge's author for a Discord user or member (their handles, for access rules)."""
    names = tuple(n for n in (user.name, user.global_name, getattr(user, "display_name", None)) if n)
    return Author(id=str(user.id), name=user.display_name, names=names, is_bot=user.bot)
