"""The Telegram adapter's ``[adapters.NAME]`` table (``type = "telegram"``)."""

from __future__ import annotations

import re
from typing import Literal, Self

from pydantic import PositiveInt, model_validator

from bridge import AdapterConfig

_PATH = re.compile(r"^/[A-Za-z0-9_\-/.]*$")


class TelegramConfig(AdapterConfig):
    """A Telegram bot (python-telegram-bot); the common keys apply too."""

    type: Literal["telegram"] = "telegram"
    token_env: str  # env var holding the BotFather token
    api_base_url: str = "https://api.telegram.org/bot"  # a local Bot API server, or a test fake
    file_base_url: str = "https://api.telegram.org/file/bot"
    # "polling": getUpdates, one process per bot, offset kept in the bridge's state.
    # "webhook": Telegram POSTs updates to webhook_url, served by [bridge].http at webhook_path.
    mode: Literal["polling", "webhook"] = "polling"
    webhook_url: str | None = None  # the public https URL Telegram calls (ends in webhook_path)
    webhook_path: str = "/telegram"  # the path on the bridge's HTTP listener
    webhook_secret_env: str | None = None  # env var with the secret_token (1-256 of A-Z a-z 0-9 _ -)
    # In groups: answer when mentioned, replied to or commanded ("mention"), or every message ("all").
    trigger: Literal["mention", "all"] = "mention"
    poll_timeout_s: PositiveInt = 30  # long-poll duration of getUpdates
    drafts: bool = True  # private chats: stream as a live draft (sendMessageDraft), then send the answer
    stop_button: bool = True  # an inline "Stop" button under a reply while it streams
    # The Bot API's file limits; a local Bot API server allows 2000 MB both ways.
    max_upload_bytes: PositiveInt = 50 * 1024 * 1024
    max_download_bytes: PositiveInt = 20 * 1024 * 1024

    @model_validator(mode="after")
    def _webhook(self) -> Self:
        if not _PATH.match(self.webhook_path):
            raise ValueError("webhook_path must start with '/' and hold only letters, digits and _-/.")
        if self.mode == "webhook":
            missing = [k for k in ("webhook_url", "webhook_secret_env") if getattr(self, k) is None]
            if missing:
                raise ValueError(f'mode = "webhook" needs {" and ".join(missing)}')
            assert self.webhook_url is not None
            if not self.webhook_url.startswith(("https://", "http://")):
                raise ValueError("webhook_url must be an https:// URL (Telegram calls it)")
        return self
