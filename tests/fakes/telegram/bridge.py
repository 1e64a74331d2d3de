"""Run ``bridge serve`` with one Telegram adapter against the fake Bot API (for scenario tests)."""

from __future__ import annotations

import contextlib
import socket
from collections.abc import AsyncIterator
from typing import Any

from bridge.config import Config
from tests.fakes.serving import one_bot_config, serving
from tests.fakes.telegram.api import FakeTelegram, serve_telegram

PRIVATE, GROUP, FORUM = 1001, -100200, -100300
WEBHOOK_SECRET = "s3cret-token_ok"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def webhook(port: int) -> dict[str, Any]:
    """The adapter keys of webhook mode, Telegram calling the bridge's listener on ``port``."""
    return {
        "mode": "webhook",
        "webhook_url": f"http://127.0.0.1:{port}/tg/hook",
        "webhook_path": "/tg/hook",
        "webhook_secret_env": "TG_HOOK_SECRET",
    }


def config_for(
    fake: FakeTelegram,
    url: str,
    app_url: str,
    *,
    bridge: dict[str, Any] | None = None,
    space: dict[str, Any] | None = None,
    token: str | None = None,
    **adapter: Any,
) -> Config:
    """A bridge config with one Telegram adapter ``tg`` on the fake at ``url`` (memory state by default)."""
    table = {
        "type": "telegram",
        "token_env": "TG_TOKEN",
        "api_base_url": f"{url}/bot",
        "file_base_url": f"{url}/file/bot",
        "poll_timeout_s": 1,
        **adapter,
    }
    env = {"TG_TOKEN": token or fake.token, "TG_HOOK_SECRET": WEBHOOK_SECRET}
    return one_bot_config(app_url, {"tg": table}, env, bridge, space)


@contextlib.asynccontextmanager
async def running(
    fake: FakeTelegram,
    url: str,
    app_url: str,
    *,
    bridge: dict[str, Any] | None = None,
    space: dict[str, Any] | None = None,
    **adapter: Any,
) -> AsyncIterator[None]:
    """``bridge serve`` while the block runs."""
    async with serving(config_for(fake, url, app_url, bridge=bridge, space=space, **adapter)):
        yield


@contextlib.asynccontextmanager
async def bridge_on(fake: FakeTelegram, app_url: str, **adapter: Any) -> AsyncIterator[None]:
    """The fake and the bridge, both running while the block runs."""
    async with serve_telegram(fake) as url, running(fake, url, app_url, **adapter):
        yield


def texts(fake: FakeTelegram, chat: int) -> list[str]:
    """Current texts of the bot's messages in ``chat``."""
    return [m.text or "" for m in fake.sent(chat) if not m.deleted]
