"""The shared inbox on real Redis: consumers split a bot's partitions, each entry goes to one of
them, a conversation's entries come in order, and a dead consumer's entries are taken over once its
lease ends (:mod:`bridge.sessions.redis_queue`, :mod:`bridge.consume`)."""

from __future__ import annotations

import asyncio
from collections import defaultdict
from collections.abc import AsyncIterator
from typing import Any

import pytest

from bridge.consume import Consumer
from bridge.health import StoreHealth
from bridge.inbox import Intake, Journal
from bridge.model import Author, ConversationKey, Incoming
from bridge.router import Router, Verdict
from bridge.serialize import encode_incoming
from bridge.sessions import RedisStore
from bridge.sessions.redis_queue import RedisQueue
from tests.redis_server import redis_prefix_fixture, redis_url_fixture  # noqa: F401 - fixtures

LEASE_S = 0.6


@pytest.fixture
async def stores(redis_url: str, redis_prefix: str) -> AsyncIterator[list[RedisStore]]:
    """Three stores on one prefix: three processes' views of one Redis."""
    made = [RedisStore(f"{redis_url}?prefix={redis_prefix}&partitions=8") for _ in range(3)]
    yield made
    for store in made:
        await store.close()


def queue(store: RedisStore, lease_s: float = LEASE_S) -> RedisQueue:
    q = store.coordination().queue("tg")
    assert isinstance(q, RedisQueue)
    q.lease_s = lease_s
    return q


def message(chat: int, n: int) -> Incoming:
    return Incoming(ConversationKey("tg", str(chat)), Author("u1"), f"m{n}", id=f"{chat}-{n}")


async def add(store: RedisStore, chat: int, n: int) -> None:
    msg = message(chat, n)
    assert await store.inbox.add(f"tg:{msg.id}", str(msg.key), encode_incoming(msg)) is not None


async def test_consumers_split_the_partitions_and_each_entry_goes_to_one(stores: list[RedisStore]) -> None:
    queues = [queue(s) for s in stores]
    await queues[0].join()
    held: list[set[int]] = [set() for _ in queues]
    for _ in range(3):  # every consumer joins, then the first gives up its surplus, the others claim
        for i, q in enumerate(queues):
            share, held[i] = await q.balance()
            surplus = sorted(held[i])[: max(0, len(held[i]) - share)]
            if surplus:
                await q.release(set(surplus))
                held[i] -= set(surplus)
    assert sorted(k for h in held for k in h) == list(range(8)), "every partition held exactly once"
    assert all(2 <= len(h) <= 3 for h in held), held
    for chat in range(20):
        for n in range(3):
            await add(stores[chat % 3], chat, n)
    got: dict[str, list[str]] = defaultdict(list)
    for i, q in enumerate(queues):
        for _, entry in await q.read(held[i], 0.05):
            got[entry.conversation].append(entry.message["text"])
    assert len(got) == 20
    assert all(texts == ["m0", "m1", "m2"] for texts in got.values()), got


async def test_a_dead_consumers_unfinished_entries_are_taken_over_after_its_lease(
    stores: list[RedisStore],
) -> None:
    a, b = queue(stores[0]), queue(stores[1])
    await a.join()
    _, held_a = await a.balance()
    assert held_a == set(range(8))
    for n in range(3):
        await add(stores[2], 7, n)
    taken = await a.read(held_a, 0.05)
    assert [e.message["text"] for _, e in taken] == ["m0", "m1", "m2"]
    await stores[0].inbox.finish(taken[0][1].id)  # a answered the first, then died
    _, held_b = await b.balance()
    assert held_b == set(), "the leases still run"
    await asyncio.sleep(LEASE_S + 0.2)
    _, held_b = await b.balance()
    assert held_b == set(range(8)), "b's share once a is gone: all of them"
    partition = taken[0][0]
    again = await b.takeover(partition)
    assert [e.message["text"] for _, e in again] == ["m1", "m2"], "in order, the answered one not again"
    for _, entry in again:
        await stores[1].inbox.finish(entry.id)
    assert await b.takeover(partition) == []


async def test_a_redelivered_message_is_recorded_once_across_processes(stores: list[RedisStore]) -> None:
    msg = message(1, 0)
    results = await asyncio.gather(
        *(s.inbox.add(f"tg:{msg.id}", str(msg.key), encode_incoming(msg)) for s in stores)
    )
    assert sum(r is not None for r in results) == 1


class Bot:
    """One process's share: an intake, a router and a consumer on its own store, recording answers."""

    def __init__(self, store: RedisStore, answers: list[tuple[str, str, str]], name: str) -> None:
        self.name = name
        self.answers = answers
        health = StoreHealth()
        self.intake = Intake(store, "tg", self.handle, self.note, health, shared=True)
        shared = store.coordination()
        q = shared.queue("tg")
        q.lease_s = LEASE_S
        self.consumer = Consumer(q, self.intake, health)
        self.router = Router(self.intake.handle, self.note, record=self.consumer.record)
        self.slow: asyncio.Event | None = None

    async def handle(self, msg: Incoming, journal: Journal) -> None:
        if self.slow is not None:
            await self.slow.wait()
        await asyncio.sleep(0.01)
        self.answers.append((msg.key.chat, msg.text, self.name))

    async def note(self, msg: Incoming, text: str) -> None:
        self.answers.append((msg.key.chat, text, self.name))


async def wait_for(predicate: Any, timeout: float = 10.0) -> None:
    async with asyncio.timeout(timeout):
        while not predicate():
            await asyncio.sleep(0.02)


async def test_messages_landing_on_any_process_are_answered_once_in_order(stores: list[RedisStore]) -> None:
    answers: list[tuple[str, str, str]] = []
    bots = [Bot(s, answers, f"p{i}") for i, s in enumerate(stores)]
    for bot in bots:
        bot.consumer.start(bot.router.resume)
    try:
        await wait_for(lambda: all(b.consumer.held for b in bots))
        for n in range(4):
            for chat in range(30):
                bot = bots[(chat + n) % 3]  # each chat's messages land on every process in turn
                assert await bot.consumer.record(message(chat, n)) is Verdict.ELSEWHERE
        await wait_for(lambda: len(answers) == 120)
        by_chat: dict[str, list[str]] = defaultdict(list)
        for chat, text, _ in answers:
            by_chat[chat].append(text)
        assert all(texts == ["m0", "m1", "m2", "m3"] for texts in by_chat.values()), by_chat
        assert len({who for _, _, who in answers}) == 3, "every process answered some"
    finally:
        for bot in bots:
            await bot.consumer.aclose()


async def test_a_stopped_process_hands_its_running_reply_to_another(stores: list[RedisStore]) -> None:
    answers: list[tuple[str, str, str]] = []
    first, second = Bot(stores[0], answers, "first"), Bot(stores[1], answers, "second")
    first.slow = asyncio.Event()  # never set: the first process hangs in its reply, then goes
    first.consumer.start(first.router.resume)
    await wait_for(lambda: len(first.consumer.held) == 8)
    await first.consumer.record(message(5, 0))
    await wait_for(lambda: first.router.pending() == 1)
    second.consumer.start(second.router.resume)
    await first.router.cancel()  # the reply is cancelled (shutdown); the partitions are given up
    await first.consumer.aclose()
    try:
        assert not await first.consumer.answered()
        await wait_for(lambda: answers == [("5", "m0", "second")], timeout=5)
        assert await first.consumer.answered(), "answered by the other process counts"
    finally:
        await second.consumer.aclose()
