"""The Telegram adapter's ``[adapters.NAME]`` table (``type = "telegram"``)."""

from __future__ import annotations

from typing import Literal

from pydantic import PositiveInt

from bridge import AdapterConfig


class TelegramConfig(AdapterConfig):
    """A Telegram bot (python-telegram-bot); the common keys apply too."""

    type: Literal["telegram"] = "telegram"
    token_env: str  # env var holding the BotFather token
    api_base_url: str = "https://api.telegram.org/bot"  # a local Bot API server, or a test fake
    file_base_url: str = "https://api.telegram.org/file/bot"
    # Only long polling in this version; webhook mode comes with the bridge's HTTP listener.
    mode: Literal["polling"] = "polling"
    # In groups: answer when mentioned, replied to or commanded ("mention"), or every message ("all").
    trigger: Literal["mention", "all"] = "mention"
    poll_timeout_s: PositiveInt = 30  # long-poll duration of getUpdates
