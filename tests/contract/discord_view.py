"""The Discord adapter (discord.py) against the fake REST and gateway."""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator, Callable, Mapping
from pathlib import Path
from typing import Any

import pytest

from bridge import Adapter, ConversationKey, MessageRef
from bridge.testing import Feature, PlatformView, Shown
from tests.contract import build
from tests.fakes.discord import FakeDiscord, StoredMessage, serve_discord
from tests.fakes.discord.bridge import restore_discord_urls


class DiscordView:
    """#general of the fake Discord: the bot's text messages (buttons: ``Stop`` and the quick
    replies), the files it uploaded there, typing calls and error answers."""

    lacks: Mapping[Feature, str] = {}

    def __init__(self, fake: FakeDiscord) -> None:
        self.fake = fake
        self.key = ConversationKey("dc", fake.channel_id)

    def _mine(self) -> list[StoredMessage]:
        return [m for m in self.fake.channel_messages(self.fake.channel_id) if m.from_bot and not m.deleted]

    @staticmethod
    def _buttons(msg: StoredMessage) -> list[dict[str, Any]]:
        return [c for row in msg.components for c in row.get("components", []) if c["type"] == 2]

    def messages(self) -> list[Shown]:
        out = []
        for m in self._mine():
            if m.attachments and not m.content:
                continue
            labels = [str(b.get("label")) for b in self._buttons(m)]
            choices = tuple(label for label in labels if label != "Stop")
            out.append(Shown(m.content, len(m.edits), choices, "Stop" in labels))
        return out

    def previews(self) -> list[str]:
        return []

    def files(self) -> list[tuple[str | None, bytes]]:
        return [(f.filename, f.data) for m in self._mine() for f in m.attachments]

    def typing(self) -> int:
        return self.fake.typing_calls.count(self.fake.channel_id)

    def rate_limited(self) -> int:
        return self.fake.count_429

    def refusals(self) -> list[str]:
        return [f"{e.method} {e.route}: {e.status} {e.message}" for e in self.fake.errors if e.status != 429]

    async def rate_limit_next(self) -> None:
        # A proper 429 (discord.py waits it out), then one without Discord's body (it raises at once).
        for route in ("create_message", "edit_message"):
            self.fake.fail_next(route, 429)
            self.fake.fail_next(route, 429, body="<html>rate limited</html>")

    async def _press(self, ref: MessageRef, pick: Callable[[str], bool]) -> None:
        msg = self.fake.messages[ref.id]
        custom_id = next(b["custom_id"] for b in self._buttons(msg) if pick(str(b.get("label"))))
        await self.fake.push_component(custom_id, ref.id)

    async def press(self, ref: MessageRef, label: str) -> None:
        await self._press(ref, lambda text: text == label)

    async def stop(self, ref: MessageRef) -> None:
        await self._press(ref, lambda text: text == "Stop")


@contextlib.asynccontextmanager
async def discord_rig(
    _: Path, monkeypatch: pytest.MonkeyPatch
) -> AsyncIterator[tuple[Adapter, PlatformView]]:
    restore_discord_urls(monkeypatch)
    fake = FakeDiscord()
    async with serve_discord(fake) as url:
        table = {"token_env": "DC_TOKEN", "api_base_url": f"{url}/api/v10", "gateway_url": fake.gateway_url}
        yield build("discord", "dc", table, fake.token), DiscordView(fake)
