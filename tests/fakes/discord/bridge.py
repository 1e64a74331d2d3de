"""Run ``bridge serve`` with one Discord adapter against the fake Discord (for scenario tests)."""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator
from typing import Any

import discord
import pytest

from bridge.config import Config
from tests.fakes.discord.fake import FakeDiscord, serve_discord
from tests.fakes.serving import one_bot_config, serving


def config_for(
    fake: FakeDiscord,
    url: str,
    app_url: str,
    *,
    bridge: dict[str, Any] | None = None,
    token: str | None = None,
    **adapter: Any,
) -> Config:
    """A bridge config with one Discord adapter ``dc`` on the fake at ``url`` (memory state by default)."""
    table = {
        "type": "discord",
        "token_env": "DC_TOKEN",
        "api_base_url": f"{url}/api/v10",
        "gateway_url": fake.gateway_url,
        "turns_per_minute": 0,
        "max_in_flight_per_user": 50,
        **adapter,
    }
    return one_bot_config(app_url, {"dc": table}, {"DC_TOKEN": token or fake.token}, bridge)


@contextlib.asynccontextmanager
async def running(
    fake: FakeDiscord, url: str, app_url: str, *, bridge: dict[str, Any] | None = None, **adapter: Any
) -> AsyncIterator[None]:
    """``bridge serve`` while the block runs; waits until the slash commands are known to the fake."""
    async with serving(config_for(fake, url, app_url, bridge=bridge, **adapter)) as task:
        await fake.wait_for(lambda: fake.find_command("chat", None) or task.done(), timeout=60)
        if task.done():
            task.result()
        yield


def restore_discord_urls(monkeypatch: pytest.MonkeyPatch) -> None:
    """The adapter points discord.py's class attributes at the fake; have monkeypatch restore them."""
    monkeypatch.setattr(discord.http.Route, "BASE", discord.http.Route.BASE)
    monkeypatch.setattr(
        discord.gateway.DiscordWebSocket, "DEFAULT_GATEWAY", discord.gateway.DiscordWebSocket.DEFAULT_GATEWAY
    )


@contextlib.asynccontextmanager
async def bridge_on(
    fake: FakeDiscord, app_url: str, monkeypatch: pytest.MonkeyPatch, **adapter: Any
) -> AsyncIterator[str]:
    """The fake and the bridge, both running while the block runs; yields the fake's URL."""
    restore_discord_urls(monkeypatch)
    async with serve_discord(fake) as url, running(fake, url, app_url, **adapter):
        yield url


def bot_texts(fake: FakeDiscord, channel_id: str) -> list[str]:
    """Current contents of the bot's messages in a channel or thread, oldest first."""
    return [m.content for m in fake.channel_messages(channel_id) if m.from_bot and not m.deleted]
