"""The Discord adapter under failures and operations: 429s, gateway resumes, command sync, in-place
interaction replies, access lists, shards."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator, Awaitable
from pathlib import Path
from typing import Any

import discord
import pytest

from adapters.discord.adapter import DiscordAdapter
from adapters.discord.config import DiscordConfig
from adapters.discord.pacing import GlobalPacer
from adapters.discord.send import Sender
from bridge import (
    AdapterState,
    AppInputs,
    ConversationKey,
    Host,
    Incoming,
    MessageGone,
    PlatformError,
    RateLimited,
    Text,
)
from bridge.app import serve
from bridge.sessions import MemoryStore
from tests.fakes.discord import FakeDiscord, serve_discord, shard_of
from tests.fakes.discord.bridge import bot_texts, bridge_on, config_for, restore_discord_urls, running
from tests.fakes.serving import one_bot_config, serving

MP = pytest.MonkeyPatch


@pytest.fixture
def fake() -> FakeDiscord:
    return FakeDiscord()


@pytest.fixture(autouse=True)
def _restore_discord_urls(monkeypatch: MP) -> None:
    restore_discord_urls(monkeypatch)


def finals(fake: FakeDiscord, channel: str, needle: str) -> list[str]:
    return [t for t in bot_texts(fake, channel) if needle in t]


async def test_injected_429s_and_5xx_deliver_the_final_text_once(
    fake: FakeDiscord, current_apps: dict[str, str], monkeypatch: MP
) -> None:
    async with bridge_on(fake, current_apps["text"], monkeypatch, threads=False):
        fake.fail_next("PATCH /channels/*/messages/*", 429, retry_after=0.6, count=3)
        fake.fail_next("create_message", 500)
        await fake.push_message(fake.channel_id, content="slow", mentions_bot=True)
        await fake.wait_for(lambda: finals(fake, fake.channel_id, "w29"), timeout=60)
        await asyncio.sleep(2)
    done = finals(fake, fake.channel_id, "w29")
    assert len(done) == 1 and done[0].startswith("w0 w1") and "(" not in done[0]
    assert fake.count_429 >= 3 and not fake.would_ping()


async def test_gateway_reconnect_mid_stream_resumes(
    fake: FakeDiscord, current_apps: dict[str, str], monkeypatch: MP
) -> None:
    async with bridge_on(fake, current_apps["text"], monkeypatch, threads=False):
        await fake.push_message(fake.channel_id, content="slow", mentions_bot=True)
        await fake.wait_for(lambda: finals(fake, fake.channel_id, "w3"), timeout=30)
        await fake.reconnect()
        await fake.wait_for(lambda: fake.resumes, timeout=30)
        await fake.drop_connection(code=None)  # and once more, abruptly
        await fake.push_message(fake.channel_id, content="after resume", mentions_bot=True)
        await fake.wait_for(lambda: finals(fake, fake.channel_id, "echo: after resume"), timeout=30)
        await fake.wait_for(lambda: finals(fake, fake.channel_id, "w29"), timeout=60)
    assert len(fake.identifies) == 1  # resumed, never re-identified
    assert len(finals(fake, fake.channel_id, "w29")) == 1


async def test_commands_are_registered_only_when_they_change(
    fake: FakeDiscord, current_apps: dict[str, str], tmp_path: Path
) -> None:
    state = {"state": f"sqlite:///{tmp_path / 'state.db'}"}
    async with serve_discord(fake) as url:
        async with running(fake, url, current_apps["text"], bridge=state):
            writes = fake.command_writes
        async with running(fake, url, current_apps["text"], bridge=state):
            await asyncio.sleep(1)
            assert fake.command_writes == writes  # same app, same commands: nothing written
        async with running(fake, url, current_apps["mm"], bridge=state):
            await fake.wait_for(lambda: fake.command_writes > writes, timeout=30)
    chat = fake.find_command("chat", None)
    assert chat is not None and any(o["name"] == "file" for o in chat["options"])


async def test_without_threads_the_reply_replaces_the_deferred_response(
    fake: FakeDiscord, current_apps: dict[str, str], monkeypatch: MP
) -> None:
    async with bridge_on(fake, current_apps["text"], monkeypatch, threads=False):
        interaction = await fake.push_interaction("chat", {"message": "in place"})
        await fake.wait_for(lambda: finals(fake, fake.channel_id, "echo: in place"), timeout=30)
        long = await fake.push_interaction("chat", {"message": "long please"})
        await fake.wait_for(lambda: finals(fake, fake.channel_id, "The end."), timeout=90)
        await asyncio.sleep(1.5)
    assert [c.type for c in fake.callbacks if c.interaction_id == interaction.id] == [5]  # deferred
    answer = fake.messages[str(interaction.original_id)]
    assert "echo: in place" in answer.content and answer.components == []
    pieces = [m for m in fake.channel_messages(fake.channel_id) if m.from_bot and m.id != long.original_id]
    assert len(pieces) >= 5  # the long reply goes on in channel messages (they never expire)
    assert not fake.threads


async def test_guild_and_role_lists(fake: FakeDiscord, current_apps: dict[str, str], monkeypatch: MP) -> None:
    async with bridge_on(fake, current_apps["text"], monkeypatch, allow_roles=["vip"]):
        await fake.push_interaction("chat", {"message": "let me in"})
        await fake.wait_for(lambda: fake.callbacks, timeout=30)
        await fake.push_message(fake.channel_id, content="me too", mentions_bot=True)
        dm = fake.dm_channel(fake.user_id)
        await fake.push_message(dm, content="private", guild=False)
        await asyncio.sleep(1.5)
    refusal = fake.callbacks[0]
    assert refusal.type == 4 and refusal.data["flags"] & 64  # ephemeral: only the user sees it
    assert "not allowed" in refusal.data["content"]
    public = [m for m in fake.sent() if not m.flags & 64]
    assert public == [] and not fake.threads


async def test_shards_in_separate_adapters_each_answer_their_guilds(
    fake: FakeDiscord, current_apps: dict[str, str]
) -> None:
    other = fake.add_guild("Second", shard=(1 - shard_of(fake.guild_id, 2), 2))
    other_channel = fake.guilds[other]["channel_ids"][0]
    async with serve_discord(fake) as url:
        common: dict[str, Any] = {
            "type": "discord",
            "token_env": "DC_TOKEN",
            "api_base_url": f"{url}/api/v10",
            "gateway_url": fake.gateway_url,
            "shard_count": 2,
        }
        shards = {"s0": {**common, "shard_ids": [0]}, "s1": {**common, "shard_ids": [1]}}
        async with serving(one_bot_config(current_apps["text"], shards, {"DC_TOKEN": fake.token})):
            await fake.wait_for(lambda: fake.find_command("chat", None), timeout=60)
            await fake.push_message(fake.channel_id, content="first guild", mentions_bot=True)
            await fake.push_message(other_channel, content="second guild", mentions_bot=True)
            await fake.wait_for(lambda: finals(fake, fake.channel_id, "echo: first guild"), timeout=30)
            await fake.wait_for(lambda: finals(fake, other_channel, "echo: second guild"), timeout=30)
    assert sorted(tuple(i["shard"]) for i in fake.identifies) == [(0, 2), (1, 2)]
    assert fake.command_writes == 1  # only the process with shard 0 registers commands


async def test_a_reply_outliving_the_interaction_token_goes_on_in_the_channel(
    current_apps: dict[str, str], monkeypatch: MP
) -> None:
    # A 9-s reply against tokens that live 3 s (the adapter stops using them after 2 s).
    monkeypatch.setattr("adapters.discord.send.TOKEN_LIFETIME_S", 2.0)
    fake = FakeDiscord(token_ttl=3.0)
    async with bridge_on(fake, current_apps["text"], monkeypatch, threads=False):
        interaction = await fake.push_interaction("chat", {"message": "slow"})
        await fake.wait_for(lambda: finals(fake, fake.channel_id, "w29"), timeout=60)
        await asyncio.sleep(1.5)
    original = fake.messages[str(interaction.original_id)]
    assert "w29" not in original.content  # frozen when the token ran out
    moved = [m for m in fake.channel_messages(fake.channel_id) if m.from_bot and m.id != original.id]
    assert len(moved) == 1 and moved[0].content.startswith("w0 w1") and "w29" in moved[0].content
    assert not [e for e in fake.errors if e.status == 401]  # never used an expired token


async def test_a_rejected_token_stops_the_bridge_without_showing_it(
    fake: FakeDiscord, current_apps: dict[str, str], capfd: pytest.CaptureFixture[str]
) -> None:
    async with serve_discord(fake) as url:
        config = config_for(fake, url, current_apps["text"], token="wrong-TOKEN-value")
        async with asyncio.timeout(30):
            assert await serve(config, install_signals=False) == 1
    out, err = capfd.readouterr()
    assert "rejected the bot token" in out + err and "$DC_TOKEN" in out + err
    assert "wrong-TOKEN-value" not in out + err


async def test_a_refused_message_content_intent_says_where_to_enable_it(
    current_apps: dict[str, str], capfd: pytest.CaptureFixture[str]
) -> None:
    fake = FakeDiscord(allowed_intents=0)  # the Developer Portal allows no privileged intent
    async with serve_discord(fake) as url:
        config = config_for(fake, url, current_apps["text"])
        async with asyncio.timeout(30):
            assert await serve(config, install_signals=False) == 1
    out, err = capfd.readouterr()
    assert "Message Content intent" in out + err and "Developer Portal" in out + err


@contextlib.asynccontextmanager
async def logged_in(fake: FakeDiscord, monkeypatch: MP) -> AsyncIterator[tuple[Sender, discord.Client]]:
    """A sender on a discord.py client set up like the adapter's, logged in to the fake over REST."""
    monkeypatch.setattr(discord.http.Route, "BASE", f"{fake.url}/api/v10")
    client = discord.Client(intents=discord.Intents.default(), max_ratelimit_timeout=30.0)
    await client.login(fake.token)
    try:
        yield Sender(client, "quote", GlobalPacer()), client
    finally:
        await client.close()


async def refused(call: Awaitable[object]) -> PlatformError:
    with pytest.raises(PlatformError) as caught:
        await call
    return caught.value


async def test_discord_errors_become_permanent_or_transient_bridge_errors(monkeypatch: MP) -> None:
    fake = FakeDiscord(message_creates=None)  # discord.py would wait out the window of 5 per 5 s
    key = ConversationKey("dc", fake.channel_id)
    async with contextlib.AsyncExitStack() as client:
        async with serve_discord(fake):
            sender, _ = await client.enter_async_context(logged_in(fake, monkeypatch))
            ref = await sender.send(key, Text.of("hello"), None, "final")
            fake.fail_next("create_message", 403, code=50013, message="Missing Permissions")
            error = await refused(sender.send(key, Text.of("x"), None, "final"))
            assert error.permanent and "Missing Permissions" in str(error)
            fake.fail_next("create_message", 400, code=50035, message="Invalid Form Body")
            assert (await refused(sender.send(key, Text.of("x"), None, "final"))).permanent
            fake.fail_next("create_message", 401, message="401: Unauthorized")
            assert (await refused(sender.send(key, Text.of("x"), None, "final"))).permanent
            fake.fail_next("create_message", 503)  # discord.py retries 500/502/504/524 only
            error = await refused(sender.send(key, Text.of("x"), None, "final"))
            assert not error.permanent and not isinstance(error, RateLimited)
            fake.fail_next("create_message", 429, retry_after=31)  # over max_ratelimit_timeout (30 s)
            error = await refused(sender.send(key, Text.of("x"), None, "final"))
            assert isinstance(error, RateLimited) and error.retry_after == 31 and not error.permanent
            fake.fail_next("create_message", 429, body="<html>banned</html>")  # Cloudflare: no JSON
            assert isinstance(await refused(sender.send(key, Text.of("x"), None, "final")), RateLimited)
            fake.messages[ref.id].deleted = True
            assert isinstance(await refused(sender.edit(ref, Text.of("new text"), "final")), MessageGone)
            error = await refused(sender.send(ConversationKey("dc", "1234"), Text.of("x"), None, "final"))
            assert error.permanent and "Unknown Channel" in str(error) and not isinstance(error, MessageGone)
            fake.deny_bot(fake.channel2_id)
            error = await refused(
                sender.send(ConversationKey("dc", fake.channel2_id), Text.of("x"), None, "final")
            )
            assert error.permanent and "Missing Access" in str(error)
            assert [m.content for m in fake.sent()] == ["hello"]
        # The fake has stopped: the REST API refuses connections, which may work later.
        error = await refused(sender.send(key, Text.of("x"), None, "final"))
        assert not error.permanent and "could not be reached" in str(error)


async def test_a_rejected_token_or_intent_is_permanent(current_apps: dict[str, str]) -> None:
    for fake, token in ((FakeDiscord(), "wrong-token"), (FakeDiscord(allowed_intents=0), None)):
        secret = token or fake.token
        async with serve_discord(fake) as url:
            table = config_for(fake, url, current_apps["text"]).adapters["dc"]
            assert isinstance(table, DiscordConfig)
            adapter = DiscordAdapter("dc", table, lambda _, secret=secret: secret)
            host = Host(deliver=_ignore, state=AdapterState(MemoryStore(), "dc"), inputs=_no_inputs)
            async with asyncio.timeout(30):
                error = await refused(adapter.run(host))
        assert error.permanent and ("token" in str(error) or "intent" in str(error))


async def _ignore(_: Incoming) -> None:
    return None


async def _no_inputs() -> AppInputs:
    return AppInputs()
