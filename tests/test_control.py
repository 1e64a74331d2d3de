"""``/stop`` across processes that share a Redis store: the process running the reply stops it."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator
from dataclasses import dataclass

import pytest

from bridge.bot import Bot, assemble
from bridge.commands import Commands
from bridge.control import StopRelay, relay_for
from bridge.inbox import Journal
from bridge.model import Author, ConversationKey, Incoming
from bridge.router import AccessRules, UserLimits
from bridge.sessions import MemoryStore, SessionStore, open_store
from bridge.spaces import SpaceHandle, SpaceSettings
from bridge.testing import RecordingAdapter
from bridge.turn import TurnSettings
from tests.redis_server import redis_prefix_fixture, redis_url_fixture  # noqa: F401 - fixtures

KEY = ConversationKey("mem", "c1")


@dataclass
class Process:
    """One bridge process's pieces for one bot: adapter, the bot (runner, commands), relay."""

    adapter: RecordingAdapter
    bot: Bot
    store: SessionStore
    relay: StopRelay
    space: SpaceHandle

    @property
    def commands(self) -> Commands:
        return self.bot.commands


@contextlib.asynccontextmanager
async def process(url: str, app_url: str, prefix: str) -> AsyncIterator[Process]:
    store = open_store(f"{url}?prefix={prefix}")
    relay = relay_for(store)
    assert relay is not None
    relay.timeout_s = 1.0
    adapter = RecordingAdapter()
    space = SpaceHandle(SpaceSettings(name="t", src=app_url))
    limits = UserLimits(max_in_flight=10, per_minute=0)
    bot = assemble(adapter, space, store, TurnSettings(), AccessRules(), limits, relay=relay)
    listener = asyncio.create_task(relay.serve(bot.stops.stop))
    try:
        async with asyncio.timeout(10):
            while not relay._listening.is_set():
                await asyncio.sleep(0.02)
        yield Process(adapter, bot, store, relay, space)
    finally:
        listener.cancel()
        await asyncio.wait({listener})
        await bot.aclose()
        await space.aclose()
        await store.close()


def bot_of(p: Process) -> Bot:
    return p.bot


async def test_a_conversation_takes_one_turn_at_a_time_across_processes(
    redis_url: str, redis_prefix: str, current_apps: dict[str, str]
) -> None:
    """The second message lands on the other process while the first is answered: it is answered
    after the first (whichever process holds the conversation's partition), and sees it in history."""
    async with (
        process(redis_url, current_apps["text"], redis_prefix) as one,
        process(redis_url, current_apps["text"], redis_prefix) as two,
    ):
        first, second = bot_of(one), bot_of(two)

        def texts() -> list[str]:
            return [m.text for p in (one, two) for m in p.adapter.messages.values()]

        await first.deliver(message("first question, a slow one"))
        async with asyncio.timeout(30):
            while not any("w1" in t for t in texts()):
                await asyncio.sleep(0.05)
        await second.deliver(message("second question"))  # same chat, landing on the other process
        async with asyncio.timeout(60):
            while not any("echo: second question" in t for t in texts()):
                await asyncio.sleep(0.05)
    done_first = next(t for t in texts() if "w29" in t)
    answer = next(t for t in texts() if "echo: second question" in t)
    assert "(stopped)" not in done_first
    assert "turn=2" in answer  # it waited for the first turn and saw it in the history


def message(text: str) -> Incoming:
    return Incoming(key=KEY, author=Author(id="u1"), text=text)


async def test_stop_reaches_the_process_running_the_reply(
    redis_url: str, redis_prefix: str, current_apps: dict[str, str]
) -> None:
    async with (
        process(redis_url, current_apps["text"], redis_prefix) as one,
        process(redis_url, current_apps["text"], redis_prefix) as two,
    ):
        running = asyncio.create_task(one.commands.handle(message("slow"), Journal()))
        async with asyncio.timeout(30):
            while not any("w3" in m.text for m in one.adapter.messages.values()):
                await asyncio.sleep(0.05)
        await two.commands.handle(message("/stop"), Journal())  # arrives at the other process
        async with asyncio.timeout(30):
            await running
    reply = next(m.text for m in one.adapter.messages.values() if "w3" in m.text)
    assert "(stopped)" in reply and "w29" not in reply
    assert not any("Nothing to stop" in m.text for m in two.adapter.messages.values())


async def test_stop_with_nothing_running_anywhere_says_so(
    redis_url: str, redis_prefix: str, current_apps: dict[str, str]
) -> None:
    async with (
        process(redis_url, current_apps["text"], redis_prefix) as one,
        process(redis_url, current_apps["text"], redis_prefix),
    ):
        await one.commands.handle(message("/stop"), Journal())
    assert [m.text for m in one.adapter.messages.values()] == ["Nothing to stop: no reply is being written."]


def test_one_process_stores_have_no_relay() -> None:
    assert relay_for(MemoryStore()) is None


@pytest.mark.parametrize("raw", ["not json", '{"op": "stop"}', '{"op": "stop", "id": 1, "key": {"x": 1}}'])
async def test_malformed_control_messages_are_ignored(raw: str) -> None:
    relay = StopRelay(client=None, channel="c")
    stopped: list[ConversationKey] = []

    async def stop(key: ConversationKey) -> bool:
        stopped.append(key)
        return True

    await relay._handle(raw, stop)
    assert stopped == []
