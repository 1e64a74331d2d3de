"""The Telegram adapter's modes and failures: polling restarts, webhooks, injected 429s and 5xx."""

from __future__ import annotations

import asyncio
from pathlib import Path

import httpx
import pytest

from bridge.app import serve
from tests.fakes.telegram import FakeTelegram, serve_telegram
from tests.fakes.telegram.bridge import (
    GROUP,
    PRIVATE,
    WEBHOOK_SECRET,
    bridge_on,
    config_for,
    free_port,
    running,
    texts,
    webhook,
)


@pytest.fixture
def fake() -> FakeTelegram:
    return FakeTelegram(per_chat_per_s=1.0, burst=3)


async def test_polling_restart_neither_loses_nor_repeats(
    fake: FakeTelegram, current_apps: dict[str, str], tmp_path: Path
) -> None:
    state = {"state": f"sqlite:///{tmp_path / 'state.db'}"}
    async with serve_telegram(fake) as url:
        async with running(fake, url, current_apps["text"], bridge=state):
            fake.push_text(PRIVATE, "one")
            await fake.wait_for(lambda: any("echo: one" in t for t in texts(fake, PRIVATE)), timeout=30)
        # Stopped: nothing confirmed the last update to Telegram, and new ones arrive meanwhile.
        fake.push_text(PRIVATE, "two")
        fake.push_text(PRIVATE, "three")
        async with running(fake, url, current_apps["text"], bridge=state):
            await fake.wait_for(lambda: any("echo: three" in t for t in texts(fake, PRIVATE)), timeout=30)
            await asyncio.sleep(1.5)  # a repeated update would be answered by now
    answers = [t for t in texts(fake, PRIVATE) if "echo:" in t]
    assert [a.rsplit("echo: ", 1)[1] for a in answers] == ["one", "two", "three"]
    assert "turn=3" in answers[-1]  # the conversation survived the restart too


async def test_webhook_mode_serves_updates_and_rejects_a_wrong_secret(
    fake: FakeTelegram, current_apps: dict[str, str]
) -> None:
    port = free_port()
    hook = webhook(port)["webhook_url"]
    async with (
        serve_telegram(fake) as url,
        running(fake, url, current_apps["text"], bridge={"http": f"127.0.0.1:{port}"}, **webhook(port)),
    ):
        await fake.wait_for(lambda: fake.webhook, timeout=15)
        assert fake.webhook["url"] == hook and fake.webhook["secret_token"] == WEBHOOK_SECRET
        fake.push_text(PRIVATE, "via hook")
        await fake.wait_for(lambda: any("echo: via hook" in t for t in texts(fake, PRIVATE)), timeout=30)
        forged = {"update_id": 999, "message": {**fake.pushed[-1]["message"], "text": "forged"}}
        assert await fake.post_webhook(forged, secret_token="wrong") == 403
        assert await fake.post_webhook(forged, secret_token=None) == 403
        await asyncio.sleep(1)
        async with httpx.AsyncClient(trust_env=False) as client:
            scraped = (await client.get(f"http://127.0.0.1:{port}/metrics")).text
    assert 'bridge_turns_total{adapter="tg",outcome="done"}' in scraped
    assert 'bridge_platform_calls_total{adapter="tg",call="send",result="ok"}' in scraped
    assert "bridge_first_text_seconds_count" in scraped and "bridge_turns_running" in scraped
    assert not any("forged" in t for t in texts(fake, PRIVATE))
    assert not fake.calls_to("getUpdates")


async def test_webhook_mode_needs_the_http_listener(fake: FakeTelegram, current_apps: dict[str, str]) -> None:
    async with serve_telegram(fake) as url:
        config = config_for(
            fake,
            url,
            current_apps["text"],
            mode="webhook",
            webhook_url="https://example.org/hook",
            webhook_secret_env="TG_HOOK_SECRET",
        )
        async with asyncio.timeout(30):
            assert await serve(config, install_signals=False) == 1  # the adapter cannot start
    assert not fake.webhook


async def test_injected_429s_and_5xx_deliver_the_final_text_once(
    fake: FakeTelegram, current_apps: dict[str, str]
) -> None:
    async with bridge_on(fake, current_apps["text"]):
        fake.fail_next("editMessageText", 429, retry_after=1, count=2)
        fake.fail_next("sendMessage", 500)
        fake.push_text(GROUP, "@fake_bot slow")
        await fake.wait_for(lambda: any("w29" in t for t in texts(fake, GROUP)), timeout=60)
        fake.fail_next("sendMessageDraft", 429, retry_after=1, count=3)
        fake.fail_next("sendMessage", 429, retry_after=1)
        fake.push_text(PRIVATE, "hello")
        await fake.wait_for(lambda: any("echo: hello" in t for t in texts(fake, PRIVATE)), timeout=30)
        await asyncio.sleep(1.5)
    finals = [t for t in texts(fake, GROUP) if "w29" in t]
    assert len(finals) == 1 and finals[0].startswith("w0 w1") and "(" not in finals[0]
    assert [t for t in texts(fake, PRIVATE) if "echo:" in t] == [
        "turn=1 n=0 temp=0.7 style=plain shout=False echo: hello"
    ]
    assert fake.count_429 >= 4


async def test_a_rejected_token_stops_the_bridge_without_showing_it(
    fake: FakeTelegram, current_apps: dict[str, str], capfd: pytest.CaptureFixture[str]
) -> None:
    wrong = "999999:WRONG-token-value"
    async with serve_telegram(fake) as url:
        config = config_for(fake, url, current_apps["text"], token=wrong)
        async with asyncio.timeout(30):
            assert await serve(config, install_signals=False) == 1
    out, err = capfd.readouterr()
    assert "rejected the bot token" in out + err and "$TG_TOKEN" in out + err
    assert wrong not in out + err and "WRONG" not in out + err
