"""The bot's command menu (``setMyCommands``), derived from the core's one list, :data:`bridge.COMMANDS`.

Telegram's menu takes a name and a description (up to 256 characters) per command, no options, so
the app's settings are not part of it (``/settings name=value`` takes them as text). ``/start`` comes
first: Telegram sends it as a user's first message, and the core answers it as ``/help``.
"""

from __future__ import annotations

from telegram import Bot, BotCommand

from bridge import COMMANDS

START = BotCommand("start", "What this bot does")


def menu() -> list[BotCommand]:
    """The commands Telegram's menu offers, in the core's order after ``/start``."""
    return [START] + [BotCommand(name, text[:256]) for name, text in COMMANDS.items()]


async def register(bot: Bot) -> None:
    """Show :func:`menu` in every chat's command menu."""
    await bot.set_my_commands(menu())
