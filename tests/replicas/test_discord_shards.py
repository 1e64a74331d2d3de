"""Two Discord shard processes of one bot on one Redis: each answers its shards' guilds once (slash
commands through their own interactions), and a shard process replaced mid-reply has its message
taken over by the process that runs the shard next (:class:`bridge.Partitions`)."""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest

from bridge.app import serve
from bridge.config import Config
from tests.fakes.discord import FakeDiscord, serve_discord, shard_of
from tests.fakes.discord.bridge import bot_texts, restore_discord_urls
from tests.fakes.serving import one_bot_config
from tests.faults.harness import BridgeProcess, stopping, toml
from tests.redis_server import redis_prefix_fixture, redis_url_fixture  # noqa: F401 - fixtures

MP = pytest.MonkeyPatch


@contextlib.asynccontextmanager
async def process(config: Config) -> AsyncIterator[asyncio.Task[int]]:
    """One shard process (``bridge serve`` on its own store and consumer), stopped as SIGTERM does."""
    task = asyncio.create_task(serve(config, install_signals=False))
    try:
        yield task
    finally:
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task


def texts(fake: FakeDiscord, channel: str, needle: str) -> list[str]:
    return [t for t in bot_texts(fake, channel) if needle in t]


def table(fake: FakeDiscord, url: str) -> dict[str, Any]:
    return {
        "type": "discord",
        "token_env": "DC_TOKEN",
        "api_base_url": f"{url}/api/v10",
        "gateway_url": fake.gateway_url,
        "shard_count": 2,
        "threads": False,
        "turns_per_minute": 0,
        "max_in_flight_per_user": 100,  # one user writes every message here
    }


def shard_config(fake: FakeDiscord, url: str, app: str, state: str, n: int) -> Config:
    """Shard ``n``'s process: the same bot and adapter name in each (one inbox, two partitions)."""
    bridge = {"state": state, "shutdown_timeout_s": 1}
    return one_bot_config(
        app, {"dc": {**table(fake, url), "shard_ids": [n]}}, {"DC_TOKEN": fake.token}, bridge
    )


async def test_two_shard_processes_answer_many_channels_once_each_in_order(
    current_apps: dict[str, str], redis_url: str, redis_prefix: str, monkeypatch: MP
) -> None:
    restore_discord_urls(monkeypatch)
    fake = FakeDiscord()
    guilds = [fake.guild_id, fake.add_guild("Second", shard=(1 - shard_of(fake.guild_id, 2), 2))]
    channels = [fake.add_channel(g, f"room-{i}") for g in guilds for i in range(10)]
    state = f"{redis_url}?prefix={redis_prefix}"
    async with (
        serve_discord(fake) as url,
        process(shard_config(fake, url, current_apps["text"], state, 0)),
        process(shard_config(fake, url, current_apps["text"], state, 1)),
    ):
        await fake.wait_for(lambda: len(fake.identifies) == 2 and fake.find_command("chat", None), timeout=60)
        for n in range(3):
            for channel in channels:
                await fake.push_message(channel, content=f"q{n} in {channel}", mentions_bot=True)

        def answered() -> bool:
            return all(texts(fake, c, f"echo: q2 in {c}") for c in channels)

        await fake.wait_for(answered, timeout=90)
        await asyncio.sleep(1.5)  # a second answer would come now
    for channel in channels:
        for n in range(3):
            (answer,) = texts(fake, channel, f"echo: q{n} in {channel}")  # once
            assert f"turn={n + 1} " in answer, answer  # in order: each saw the ones before
    assert fake.count_429 == 0, fake.errors


async def test_shard_processes_answer_their_guilds_once_and_take_a_shard_over(
    current_apps: dict[str, str], redis_url: str, redis_prefix: str, monkeypatch: MP
) -> None:
    restore_discord_urls(monkeypatch)
    fake = FakeDiscord()
    other = fake.add_guild("Second", shard=(1 - shard_of(fake.guild_id, 2), 2))
    by_shard = {shard_of(fake.guild_id, 2): fake.channel_id, 1 - shard_of(fake.guild_id, 2): ""}
    by_shard[1 - shard_of(fake.guild_id, 2)] = fake.guilds[other]["channel_ids"][0]
    async with serve_discord(fake) as url:
        state = f"{redis_url}?prefix={redis_prefix}"

        def shard(n: int) -> Config:
            return shard_config(fake, url, current_apps["text"], state, n)

        async with process(shard(0)):
            one = process(shard(1))
            await one.__aenter__()
            await fake.wait_for(lambda: fake.find_command("chat", None), timeout=60)
            for n, channel in by_shard.items():
                await fake.push_message(channel, content=f"hello shard {n}", mentions_bot=True)
                await fake.push_interaction("chat", {"message": f"command on shard {n}"}, channel_id=channel)
            for n, channel in by_shard.items():
                await fake.wait_for(
                    lambda c=channel, n=n: texts(fake, c, f"echo: hello shard {n}"), timeout=30
                )
                await fake.wait_for(
                    lambda c=channel, n=n: texts(fake, c, f"echo: command on shard {n}"), timeout=30
                )
            # The process of shard 1 stops mid-reply; the next process to run shard 1 finishes it.
            await fake.push_message(by_shard[1], content="slow one", mentions_bot=True)
            await fake.wait_for(lambda: texts(fake, by_shard[1], "w3"), timeout=30)
            await one.__aexit__(None, None, None)
            assert "w29" not in texts(fake, by_shard[1], "w3")[0]
            async with process(shard(1)):
                await fake.wait_for(lambda: texts(fake, by_shard[1], "w29"), timeout=60)
                await asyncio.sleep(1.5)  # a second answer would come now
    for n, channel in by_shard.items():
        assert len(texts(fake, channel, f"echo: hello shard {n}")) == 1
        assert len(texts(fake, channel, f"echo: command on shard {n}")) == 1
    (slow,) = texts(fake, by_shard[1], "w3")  # resumed in the same message
    assert "w29" in slow and "interrupted" not in slow
    # Each slash command was answered through its own interaction: by the process that received it.
    # (Answered elsewhere, the deferred "thinking…" would stay and the answer be a channel message.)
    for n, channel in by_shard.items():
        (command,) = [i for i in fake.interactions.values() if i.type == 2 and i.channel_id == channel]
        (answer,) = [m for m in fake.channel_messages(channel) if f"echo: command on shard {n}" in m.content]
        assert command.response_type == 5 and answer.id == command.original_id
    assert fake.count_429 == 0, fake.errors


def shard_process(tmp: Path, fake: FakeDiscord, url: str, app: str, state: str, n: int) -> BridgeProcess:
    """Shard ``n``'s ``bridge serve`` in a child process (the faults harness, with a Discord bot)."""
    home = tmp / f"shard{n}-{len(list(tmp.glob(f'shard{n}-*')))}"
    home.mkdir(parents=True)
    proc = BridgeProcess(home, "http://127.0.0.1:9", app, state)
    tables = {
        "bridge": {
            "state": state,
            "http": f"127.0.0.1:{proc.http_port}",
            "log_format": "json",
            "shutdown_timeout_s": 3,
        },
        "spaces": {"app": {"src": app}},
        "adapters": {"dc": {**table(fake, url), "space": "app", "shard_ids": [n]}},
    }
    proc.config.write_text(toml(tables))
    proc.env["DC_TOKEN"] = fake.token
    return proc


async def test_a_shard_process_killed_mid_reply_is_taken_over_by_its_replacement(
    tmp_path: Path, current_apps: dict[str, str], redis_url: str, redis_prefix: str, monkeypatch: MP
) -> None:
    """SIGKILL the process of shard 1 while it writes a reply; the process the orchestrator starts
    for shard 1 finishes that reply in the same message (within seconds: the dead lease, then the
    app's answer), and shard 0's process answers its guild meanwhile."""
    restore_discord_urls(monkeypatch)
    fake = FakeDiscord()
    other = fake.add_guild("Second", shard=(1 - shard_of(fake.guild_id, 2), 2))
    channel = {shard_of(fake.guild_id, 2): fake.channel_id}
    channel[1 - shard_of(fake.guild_id, 2)] = fake.guilds[other]["channel_ids"][0]
    state = f"{redis_url}?prefix={redis_prefix}"
    async with serve_discord(fake) as url:
        procs = [shard_process(tmp_path, fake, url, current_apps["text"], state, n) for n in (0, 1)]
        with stopping(procs):
            for proc in procs:
                proc.start()
            for proc in procs:
                await proc.wait_up()
            await fake.wait_for(lambda: len(fake.identifies) >= 2, timeout=60)
            await fake.push_message(channel[1], content="slow on shard 1", mentions_bot=True)
            await fake.wait_for(lambda: texts(fake, channel[1], "w3"), timeout=60)
            procs[1].kill()
            killed = time.monotonic()
            await fake.push_message(channel[0], content="meanwhile on shard 0", mentions_bot=True)
            await fake.wait_for(lambda: texts(fake, channel[0], "echo: meanwhile on shard 0"), timeout=30)
            procs.append(shard_process(tmp_path, fake, url, current_apps["text"], state, 1))
            procs[-1].start()
            await fake.wait_for(lambda: texts(fake, channel[1], "w29"), timeout=60)
            took = time.monotonic() - killed
            await asyncio.sleep(1.5)  # a second answer would come now
            assert procs[-1].logged("taking over unanswered messages"), procs[-1].tail()
    (reply,) = texts(fake, channel[1], "w3")  # the same message, finished
    assert "w29" in reply and "interrupted" not in reply
    assert len(texts(fake, channel[0], "echo: meanwhile on shard 0")) == 1
    print(f"shard takeover: answered {took:.1f} s after the SIGKILL")
    assert took < 30
