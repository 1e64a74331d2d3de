"""Catching up after a restart: messages sent to the Discord bot while it was down are answered.

Real discord.py against the fake Discord and a real Gradio app (its replies say ``turn=N … echo:
TEXT``); the bridge is stopped and started again on the same SQLite state file. While it is down,
messages pushed to the fake are only stored (no gateway session gets them), as on Discord.
"""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any

import pytest

from bridge import AdapterState
from bridge.sessions import open_store
from tests.fakes.discord import FakeDiscord, StoredMessage, serve_discord
from tests.fakes.discord.bridge import restore_discord_urls, running

MP = pytest.MonkeyPatch


@pytest.fixture
def fake() -> FakeDiscord:
    return FakeDiscord()


@pytest.fixture(autouse=True)
def _restore_discord_urls(monkeypatch: MP) -> None:
    restore_discord_urls(monkeypatch)


def state(tmp_path: Path) -> dict[str, Any]:
    return {"state": f"sqlite:///{tmp_path / 'state.db'}"}


def answers(fake: FakeDiscord, channel: str) -> list[StoredMessage]:
    """The bot's finished replies in a channel (Stop button gone), oldest first."""
    return [
        m
        for m in fake.channel_messages(channel)
        if m.from_bot and not m.deleted and "echo:" in m.content and not m.components
    ]


def echoed(fake: FakeDiscord, channel: str) -> list[str]:
    """``"turn=N: TEXT"`` of each finished reply."""
    out = []
    for m in answers(fake, channel):
        turn = m.content.split()[0].removeprefix("turn=")
        out.append(f"{turn}: {m.content.split('echo: ', 1)[1]}")
    return out


async def finished(fake: FakeDiscord, channel: str, count: int, timeout: float = 60) -> None:
    await fake.wait_for(lambda: len(answers(fake, channel)) >= count, timeout=timeout)


async def stored_channels(tmp_path: Path) -> dict[str, Any]:
    store = open_store(state(tmp_path)["state"])
    try:
        return ((await AdapterState(store, "dc").get("catchup")) or {}).get("channels", {})
    finally:
        await store.close()


async def test_missed_messages_in_a_thread_and_a_dm_are_answered_once_in_order(
    fake: FakeDiscord, current_apps: dict[str, str], tmp_path: Path
) -> None:
    dm = fake.dm_channel(fake.user_id)
    async with serve_discord(fake) as url:
        async with running(fake, url, current_apps["text"], bridge=state(tmp_path)):
            await fake.push_interaction("chat", {"message": "hello there"})
            thread = await fake.wait_for(lambda: next(iter(fake.threads), None), timeout=30)
            await finished(fake, thread, 1)
            await fake.push_message(thread, content="and more")
            await fake.push_message(dm, content="in private", guild=False)
            await finished(fake, thread, 2)
            await finished(fake, dm, 1)
        missed = [
            await fake.push_message(thread, content="missed one"),
            await fake.push_message(thread, content="missed two"),
            await fake.push_message(dm, content="missed in private", guild=False),
        ]
        async with running(fake, url, current_apps["text"], bridge=state(tmp_path)):
            await finished(fake, thread, 4)
            await finished(fake, dm, 2)
            await fake.push_message(thread, content="live again")
            await finished(fake, thread, 5)
            await asyncio.sleep(1)  # time for anything answered twice to show
    assert echoed(fake, thread) == [
        "1: hello there",
        "2: and more",
        "3: missed one",
        "4: missed two",
        "5: live again",
    ]
    assert echoed(fake, dm) == ["1: in private", "2: missed in private"]
    replied_to = [(m.message_reference or {}).get("message_id") for m in answers(fake, thread)[2:4]]
    assert replied_to == [missed[0]["id"], missed[1]["id"]]  # each answer replies to its message
    assert not fake.would_ping()


async def test_more_missed_than_catch_up_messages_answers_the_last_ones_after_a_note(
    fake: FakeDiscord, current_apps: dict[str, str], tmp_path: Path
) -> None:
    dm = fake.dm_channel(fake.user_id)
    async with serve_discord(fake) as url:
        options: dict[str, Any] = {"bridge": state(tmp_path), "catch_up_messages": 2}
        async with running(fake, url, current_apps["text"], **options):
            await fake.push_message(dm, content="first", guild=False)
            await finished(fake, dm, 1)
        for i in range(1, 6):
            await fake.push_message(dm, content=f"missed {i}", guild=False)
        async with running(fake, url, current_apps["text"], **options):
            await finished(fake, dm, 3)
            await asyncio.sleep(1)
    assert echoed(fake, dm) == ["1: first", "2: missed 4", "3: missed 5"]
    notes = [m for m in fake.sent(dm) if m.content.startswith("I was offline")]
    assert [n.content for n in notes] == ["I was offline and missed 5 messages here; answering the last 2."]
    assert int(notes[0].id) < int(answers(fake, dm)[1].id)  # the note comes first


async def test_with_catch_up_off_nothing_missed_is_answered(
    fake: FakeDiscord, current_apps: dict[str, str], tmp_path: Path
) -> None:
    dm = fake.dm_channel(fake.user_id)
    async with serve_discord(fake) as url:
        async with running(fake, url, current_apps["text"], bridge=state(tmp_path)):
            await fake.push_message(dm, content="first", guild=False)
            await finished(fake, dm, 1)
        await fake.push_message(dm, content="missed", guild=False)
        async with running(fake, url, current_apps["text"], bridge=state(tmp_path), catch_up=False):
            await fake.wait_for(lambda: len(fake.identifies) == 2, timeout=30)  # connected again
            await fake.push_message(dm, content="live", guild=False)
            await finished(fake, dm, 2)
            await asyncio.sleep(1)
    assert echoed(fake, dm) == ["1: first", "2: live"]
    assert fake.history_queries == []


async def test_deleted_and_unreadable_channels_are_dropped_and_the_rest_caught_up(
    fake: FakeDiscord, current_apps: dict[str, str], tmp_path: Path
) -> None:
    dm = fake.dm_channel(fake.user_id)
    async with serve_discord(fake) as url:
        async with running(fake, url, current_apps["text"], bridge=state(tmp_path)):
            await fake.push_interaction("chat", {"message": "to be deleted"})
            gone = await fake.wait_for(lambda: next(iter(fake.threads), None), timeout=30)
            await fake.push_interaction("chat", {"message": "to be hidden"}, channel_id=fake.channel2_id)
            hidden = await fake.wait_for(lambda: len(fake.threads) == 2 and list(fake.threads)[1], timeout=30)
            await fake.push_message(dm, content="first", guild=False)
            await finished(fake, gone, 1)
            await finished(fake, hidden, 1)
            await finished(fake, dm, 1)
            await asyncio.sleep(1.5)  # the list is written at most once a second
        assert set(await stored_channels(tmp_path)) == {gone, hidden, dm}
        await fake.push_message(hidden, content="nobody will read this")
        await fake.delete_channel(gone)
        fake.deny_bot(fake.channel2_id)  # the hidden thread's parent: the thread is unreadable too
        await fake.push_message(dm, content="missed", guild=False)
        async with running(fake, url, current_apps["text"], bridge=state(tmp_path)):
            await finished(fake, dm, 2)
            await fake.wait_for(lambda: len(fake.history_queries) == 1, timeout=30)
            await asyncio.sleep(1.5)
    assert echoed(fake, dm) == ["1: first", "2: missed"]
    assert [cid for cid, _ in fake.history_queries] == [dm]  # the others failed before reading
    assert {(e.status, e.code) for e in fake.errors} == {(404, 10003), (403, 50001)}
    assert set(await stored_channels(tmp_path)) == {dm}
