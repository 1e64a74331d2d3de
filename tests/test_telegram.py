"""The Telegram adapter end to end: real python-telegram-bot, the fake Bot API, a real Gradio app."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator

import pytest

from bridge.app import serve
from bridge.config import parse_config
from tests.fakes.telegram import FakeTelegram, serve_telegram

PRIVATE, GROUP = 1001, -100200


@contextlib.asynccontextmanager
async def bridge_on(fake: FakeTelegram, app_url: str, **adapter: object) -> AsyncIterator[None]:
    async with serve_telegram(fake) as url:
        config = parse_config(
            {
                "bridge": {"state": "memory://", "log_level": "warning"},
                "spaces": {"app": {"src": app_url}},
                "adapters": {
                    "tg": {
                        "type": "telegram",
                        "space": "app",
                        "token_env": "TG_TOKEN",
                        "api_base_url": f"{url}/bot",
                        "file_base_url": f"{url}/file/bot",
                        "poll_timeout_s": 1,
                        **adapter,
                    }
                },
            },
            env={"TG_TOKEN": fake.token},
            source="test",
        )
        task = asyncio.create_task(serve(config, install_signals=False))
        try:
            yield
        finally:
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task


def texts(fake: FakeTelegram, chat: int) -> list[str]:
    return [m.text or "" for m in fake.sent(chat)]


@pytest.fixture
def fake() -> FakeTelegram:
    return FakeTelegram(per_chat_per_s=1.0, burst=3)


async def test_private_chat_streams_and_remembers(fake: FakeTelegram, apps: dict[str, str]) -> None:
    async with bridge_on(fake, apps["text"]):
        fake.push_text(PRIVATE, "hello")
        await fake.wait_for(lambda: any("echo: hello" in t for t in texts(fake, PRIVATE)), timeout=30)
        fake.push_text(PRIVATE, "again")
        await fake.wait_for(
            lambda: any("turn=2" in t and "echo: again" in t for t in texts(fake, PRIVATE)), timeout=30
        )
        fake.push_text(PRIVATE, "/reset")
        await fake.wait_for(lambda: any("New conversation" in t for t in texts(fake, PRIVATE)), timeout=30)
        fake.push_text(PRIVATE, "fresh")
        await fake.wait_for(
            lambda: any("turn=1" in t and "echo: fresh" in t for t in texts(fake, PRIVATE)), timeout=30
        )
    assert fake.count_429 == 0, fake.errors
    first = next(m for m in fake.sent(PRIVATE) if "echo: hello" in (m.text or ""))
    assert first.edits  # streamed: a placeholder edited into the answer


async def test_group_answers_mentions_only(fake: FakeTelegram, apps: dict[str, str]) -> None:
    async with bridge_on(fake, apps["text"]):
        fake.push_text(GROUP, "just chatting", chat_type="supergroup")
        fake.push_text(GROUP, "@fake_bot hi there", chat_type="supergroup")
        await fake.wait_for(lambda: any("echo: hi there" in t for t in texts(fake, GROUP)), timeout=30)
        await asyncio.sleep(0.5)
    assert not any("just chatting" in t for t in texts(fake, GROUP))


async def test_markdown_goes_out_as_entities(fake: FakeTelegram, apps: dict[str, str]) -> None:
    async with bridge_on(fake, apps["text"]):
        fake.push_text(PRIVATE, "**bold** and `code` <b>")
        msg = await fake.wait_for(
            lambda: next((m for m in fake.sent(PRIVATE) if "echo:" in (m.text or "") and m.entities), None),
            timeout=30,
        )
    assert "**" not in (msg.text or "") and {e["type"] for e in msg.entities} >= {"bold", "code"}


def test_pacer_keeps_under_the_budget() -> None:
    from adapters.telegram.pacing import Pacer

    now = [0.0]
    pacer = Pacer(per_chat_per_s=1.0, burst=2, per_group_per_min=3, clock=lambda: now[0])
    assert pacer.reserve(7) == 0 and pacer.reserve(7) == 0
    assert pacer.reserve(7) == pytest.approx(1.0)  # burst spent: one more token after 1 s
    now[0] = 1.0
    assert pacer.reserve(7) == 0
    for _ in range(3):
        now[0] += 2
        assert pacer.reserve(-5) == 0
    assert pacer.reserve(-5) > 10  # the group's 3 per minute are used up
