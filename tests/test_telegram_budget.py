"""Two processes serving one Telegram bot keep to ONE bot's flood budget when they share a Redis store.

Two :class:`~adapters.telegram.adapter.TelegramAdapter` runs of the same bot (same name and token,
webhook mode, each with its own Redis store client, as two ``bridge serve`` replicas behind a load
balancer would be) send a burst of final texts over many group chats to the Telegram fake, whose
rules enforce Telegram's limits. With budgets shared through the store the fake never answers a
bot-wide 429; with per-process budgets (the same load) it does, which shows the load is meaningful.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator
from typing import Any

import pytest

from adapters.telegram.adapter import TelegramAdapter
from adapters.telegram.config import TelegramConfig
from bridge import AdapterState, AppInputs, ConversationKey, Host, Incoming, RateLimited, Text
from bridge.budget import budgets_for
from bridge.httpserver import Routes
from bridge.sessions import MemoryStore, RedisStore, SessionStore
from tests.fakes.telegram import FakeTelegram, serve_telegram
from tests.fakes.telegram.bridge import WEBHOOK_SECRET
from tests.redis_server import (  # the fixtures register by being imported
    redis_prefix_fixture,  # noqa: F401
    redis_url_fixture,  # noqa: F401
)

CHATS_EACH = 30  # group chats each process answers: 60 messages, over two seconds of the bot's budget


async def _deliver(_: Incoming) -> bool:
    return True


async def _inputs() -> AppInputs:
    return AppInputs()


async def burst(fake: FakeTelegram, url: str, stores: list[SessionStore]) -> tuple[int, float]:
    """One final text to each of ``CHATS_EACH`` group chats from each adapter run (one per store)
    at once; the texts Telegram refused with 429, and how long the burst took."""
    config = TelegramConfig(
        space="demo",
        token_env="TG_TOKEN",
        api_base_url=f"{url}/bot",
        file_base_url=f"{url}/file/bot",
        mode="webhook",
        webhook_url="http://127.0.0.1:9/tg/hook",  # nothing is pushed: this test only sends
        webhook_path="/tg/hook",
        webhook_secret_env="TG_HOOK_SECRET",
    )
    secrets = {"TG_TOKEN": fake.token, "TG_HOOK_SECRET": WEBHOOK_SECRET}
    adapters = [TelegramAdapter("tg", config, secrets.__getitem__) for _ in stores]
    ready = [asyncio.Event() for _ in stores]
    runs = [
        asyncio.create_task(
            adapter.run(
                Host(
                    _deliver,
                    AdapterState(store, "tg"),
                    _inputs,
                    Routes(),
                    event.set,
                    budgets_for(store, "tg"),
                )
            )
        )
        for adapter, store, event in zip(adapters, stores, ready, strict=True)
    ]
    refused = 0

    async def send(adapter: TelegramAdapter, chat: int) -> None:
        nonlocal refused
        try:
            await adapter.send(ConversationKey("tg", str(chat)), Text.of(f"answer in {chat}"), stage="final")
        except RateLimited:  # Telegram's 429 (the core would retry it after retry_after)
            refused += 1

    try:
        async with asyncio.timeout(30):
            await asyncio.gather(*(e.wait() for e in ready))
            started = time.monotonic()
            await asyncio.gather(
                *(
                    send(adapter, -(1000 + 100 * i + n))
                    for i, adapter in enumerate(adapters)
                    for n in range(CHATS_EACH)
                )
            )
            return refused, time.monotonic() - started
    finally:
        for run in runs:
            run.cancel()
        await asyncio.wait(runs)


@pytest.fixture
async def redis_stores(redis_url: str, redis_prefix: str) -> AsyncIterator[list[SessionStore]]:
    stores: list[Any] = [RedisStore(redis_url, prefix=redis_prefix) for _ in range(2)]
    yield stores
    for store in stores:
        await store.close()


async def test_two_processes_on_one_redis_stay_within_the_bots_budget(
    redis_stores: list[SessionStore],
) -> None:
    fake = FakeTelegram(strict_chats=False)
    async with serve_telegram(fake) as url:
        refused, took = await burst(fake, url, redis_stores)
    sent = [c for c in fake.calls if c[0] == "sendMessage"]
    print(f"shared budgets: {len(sent)} sent in {took:.2f} s, 429s by budget {dict(fake.budgets.refused)}")
    assert (
        sum(limit == "global" for _, limit in fake.budgets.refused) == 0
        and fake.count_429 == 0
        and refused == 0
    ), fake.errors
    assert len(sent) == 2 * CHATS_EACH
    assert took > 1.0  # 60 texts at 27 a second: the second process waited for the first one's slots


async def test_without_sharing_two_processes_overrun_the_bots_budget() -> None:
    fake = FakeTelegram(strict_chats=False)
    async with serve_telegram(fake) as url:
        refused, took = await burst(fake, url, [MemoryStore(), MemoryStore()])
    print(f"local budgets: {refused} refused in {took:.2f} s, 429s by budget {dict(fake.budgets.refused)}")
    assert (
        sum(limit == "global" for _, limit in fake.budgets.refused) > 0 and refused > 0
    )  # each process spent the whole budget
