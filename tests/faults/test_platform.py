"""The platform fails under a live bot: 429 bursts and 5xx, a long outage, an update delivered twice.

The rule in every case: each user message gets exactly one finished answer, and no failure note is
added to a reply that was delivered.
"""

from __future__ import annotations

import asyncio

from tests.fakes.telegram import FakeTelegram, serve_telegram
from tests.fakes.telegram.bridge import GROUP, PRIVATE, WEBHOOK_SECRET, free_port, running, webhook
from tests.faults.harness import telegram, unanswered, user_messages, wait_answered

OUTAGE_S = 90.0  # how long Telegram's API is unreachable in the outage scenario


def answered(text: str, reply: str) -> bool:
    asked = text.replace("@fake_bot", "").strip()
    return "w29" in reply if asked == "slow" else f"echo: {asked}" in reply


def no_failure_notes(fake: FakeTelegram) -> None:
    for chat in (PRIVATE, GROUP):
        for m in fake.sent(chat):
            assert "refused" not in (m.text or "") and "could not" not in (m.text or ""), m.text


async def test_429_bursts_and_5xx_never_reach_the_reply(current_apps: dict[str, str]) -> None:
    fake = FakeTelegram()
    async with serve_telegram(fake) as url, running(fake, url, current_apps["text"]):
        for method in ("sendMessage", "editMessageText"):
            fake.fail_next(method, 429, retry_after=2, count=3)
            fake.fail_next(method, 502, count=3, description="Bad Gateway")
            fake.fail_next(method, 429, retry_after=1, count=2)
        fake.push_text(PRIVATE, "hello there")
        fake.push_text(GROUP, "@fake_bot slow", chat_type="supergroup")
        fake.push_text(GROUP, "@fake_bot and then", chat_type="supergroup")
        await wait_answered(fake, answered, timeout=120, what="through 429s and 5xx")
        await asyncio.sleep(1.5)
        assert not unanswered(fake, answered)
    assert fake.count_429 >= 10
    no_failure_notes(fake)


async def test_an_outage_of_the_platform_loses_nothing(current_apps: dict[str, str]) -> None:
    fake = FakeTelegram()
    # Users write four messages each while the bot is cut off; they all arrive at once afterwards.
    async with telegram(fake) as api, running(fake, api.url, current_apps["text"], max_in_flight_per_user=8):
        fake.push_text(PRIVATE, "slow")
        fake.push_text(GROUP, "@fake_bot slow", chat_type="supergroup")
        await fake.wait_for(lambda: any("w2" in (m.text or "") for m in fake.sent(GROUP)), timeout=60)
        await api.down()  # the replies keep streaming from the app, with nowhere to go
        for i in range(3):  # users keep writing; Telegram holds their messages until it is back
            fake.push_text(PRIVATE, f"during the outage {i}")
            fake.push_text(GROUP, f"@fake_bot during the outage {i}", chat_type="supergroup")
            await asyncio.sleep(OUTAGE_S / 3)
        await api.up()
        await wait_answered(fake, answered, timeout=150, what=f"after {OUTAGE_S:.0f} s of outage")
        await asyncio.sleep(1.5)
        assert not unanswered(fake, answered)
    assert len(user_messages(fake)) == 8
    no_failure_notes(fake)


async def test_an_update_delivered_twice_is_answered_once(current_apps: dict[str, str]) -> None:
    fake = FakeTelegram()
    port = free_port()
    async with (
        serve_telegram(fake) as url,
        running(fake, url, current_apps["text"], bridge={"http": f"127.0.0.1:{port}"}, **webhook(port)),
    ):
        await fake.wait_for(lambda: fake.webhook, timeout=15)
        fake.push_text(PRIVATE, "only once")
        await wait_answered(fake, answered, timeout=30)
        update = fake.pushed[-1]
        statuses = await asyncio.gather(
            *(fake.post_webhook(update, secret_token=WEBHOOK_SECRET) for _ in range(3))
        )  # Telegram retrying after a timeout, twice at once
        assert statuses == [200, 200, 200]
        await asyncio.sleep(2)
        assert not unanswered(fake, answered)
