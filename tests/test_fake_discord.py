"""The fake Discord (tests/fakes/discord/) driven by the real discord.py 2.7.1 ``Client``.

These prove the fake is shape-correct for discord.py (login, gateway, parsers, CommandTree, interaction
webhooks, multipart, rate-limit handling, resume, sharding) and strict where Discord is strict, so the
Discord adapter's scenario tests can trust it. Every test runs under ``asyncio.timeout`` and ends with
no leaked tasks, no loop-level errors, no ResourceWarnings and no exceptions in event handlers.
"""

from __future__ import annotations

import asyncio
import functools
import gc
import io
import json
import sys
import time
import warnings
import zlib
from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Any

import aiohttp
import discord
import pytest
import yarl
from discord import app_commands

from tests.fakes.discord import (
    READ_MESSAGE_HISTORY,
    ApiError,
    Budgets,
    FakeDiscord,
    ShiftClock,
    pings,
    serve_discord,
    shard_of,
)

TIMEOUT = 10.0


def guarded(test: Callable[..., Awaitable[None]]) -> Callable[..., Awaitable[None]]:
    """Run the test body under ``asyncio.timeout(TIMEOUT)``."""

    @functools.wraps(test)
    async def run(*args: Any, **kwargs: Any) -> None:
        async with asyncio.timeout(TIMEOUT):
            await test(*args, **kwargs)

    return run


class Bots:
    """Runs discord.py clients against the fake; :meth:`stop` closes them and collects handler errors."""

    def __init__(self, fake: FakeDiscord) -> None:
        self.fake = fake
        self.running: list[tuple[discord.Client, asyncio.Task[None]]] = []
        self.handler_errors: list[tuple[str, BaseException | None]] = []

    def client(self, cls: type[discord.Client] = discord.Client, *, content: bool = True, **kw: Any) -> Any:
        intents = discord.Intents.default()
        intents.message_content = content
        client = cls(intents=intents, guild_ready_timeout=0.05, **kw)

        async def on_error(event: str, *args: Any, **kwargs: Any) -> None:
            self.handler_errors.append((event, sys.exc_info()[1]))

        client.on_error = on_error  # type: ignore[method-assign]
        return client

    def tree(self, client: discord.Client) -> app_commands.CommandTree[Any]:
        tree: app_commands.CommandTree[Any] = app_commands.CommandTree(client)

        async def on_error(interaction: discord.Interaction, error: app_commands.AppCommandError) -> None:
            self.handler_errors.append(("app_command", error))

        tree.on_error = on_error  # type: ignore[method-assign]
        return tree

    async def start(self, client: discord.Client) -> Any:
        """Start ``client`` and wait for on_ready (re-raising a failed start)."""
        task = asyncio.create_task(client.start(self.fake.token))
        self.running.append((client, task))
        while not client.is_ready():
            if task.done():
                task.result()
            await asyncio.sleep(0.01)
        return client

    async def stop(self) -> None:
        async with asyncio.timeout(5):
            for client, task in self.running:
                await client.close()
                await task


class NoWait(discord.Client):
    """Skips discord.py's 5-s pause before a non-initial IDENTIFY."""

    async def before_identify_hook(self, shard_id: int | None, *, initial: bool = False) -> None:
        return None


class ShardedNoWait(discord.AutoShardedClient):
    async def before_identify_hook(self, shard_id: int | None, *, initial: bool = False) -> None:
        return None


@pytest.fixture(autouse=True)
async def no_leaks() -> AsyncIterator[None]:
    """Fail a test that leaves tasks running, loop-level errors or ResourceWarnings behind."""
    gc.collect()  # garbage of earlier tests must not be blamed on this one
    loop = asyncio.get_running_loop()
    before, problems = asyncio.all_tasks(), []
    old_handler = loop.get_exception_handler()
    loop.set_exception_handler(lambda _loop, ctx: problems.append(ctx))
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always", ResourceWarning)
        yield
        deadline = time.monotonic() + 2
        while (
            left := asyncio.all_tasks() - before - {asyncio.current_task()}
        ) and time.monotonic() < deadline:
            await asyncio.sleep(0.02)
        gc.collect()
        await asyncio.sleep(0)
    loop.set_exception_handler(old_handler)
    assert not left, f"leaked tasks: {left}"
    assert not problems, problems
    assert not [w for w in caught if issubclass(w.category, ResourceWarning)]


@pytest.fixture
def clock() -> ShiftClock:
    return ShiftClock()


@pytest.fixture
def fake(clock: ShiftClock) -> FakeDiscord:
    return FakeDiscord(clock=clock)


@pytest.fixture
async def url(fake: FakeDiscord, monkeypatch: pytest.MonkeyPatch) -> AsyncIterator[str]:
    async with serve_discord(fake) as base:
        monkeypatch.setattr(discord.http.Route, "BASE", f"{base}/api/v10")
        monkeypatch.setattr(discord.gateway.DiscordWebSocket, "DEFAULT_GATEWAY", yarl.URL(fake.gateway_url))
        yield base


@pytest.fixture
async def bots(fake: FakeDiscord, url: str) -> AsyncIterator[Bots]:
    runner = Bots(fake)
    try:
        yield runner
    finally:
        await runner.stop()
    assert runner.handler_errors == []


@guarded
async def test_login_ready_and_zlib_stream(fake: FakeDiscord, bots: Bots, url: str) -> None:
    client = await bots.start(bots.client())
    assert client.user.id == int(fake.bot_id) and client.application_id == int(fake.app_id)
    guild = client.get_guild(int(fake.guild_id))
    assert guild is not None and guild.member_count == 3
    assert {c.name for c in guild.text_channels} == {"general", "random"}
    assert [(c.method, c.route) for c in fake.calls[:2]] == [
        ("GET", "/users/@me"),
        ("GET", "/oauth2/applications/@me"),
    ]
    (conn,) = fake.connections
    assert conn.query["compress"] == "zlib-stream" and conn.zlib is not None  # discord.py's default
    assert fake.identifies[0]["intents"] == client.intents.value
    assert [r.op for r in fake.gateway_log[:2]] == [1, 2]  # first heartbeat is sent before IDENTIFY
    stranger = discord.Client(intents=discord.Intents.default())
    with pytest.raises(discord.LoginFailure):
        await stranger.login("wrong-token")
    await stranger.close()
    assert fake.errors[-1].status == 401


@guarded
async def test_heartbeats_are_acknowledged(fake: FakeDiscord, bots: Bots) -> None:
    fake.heartbeat_interval = 40  # ms
    client = await bots.start(bots.client())
    beats = await fake.wait_for(lambda: [r.d for r in fake.gateway_log if r.op == 1][2:])
    (session,) = fake.sessions.values()
    assert beats[-1] == session.seq and client.latency < 1.0  # discord.py measured the op 11 ACKs


@guarded
async def test_gateway_protocol_on_the_wire(fake: FakeDiscord, url: str) -> None:
    """Raw websocket: HELLO, heartbeat ACK, zlib-stream frames, text fallback for zstd, close codes."""
    async with aiohttp.ClientSession() as http:
        async with http.ws_connect(f"{fake.gateway_url}?v=10&encoding=json&compress=zlib-stream") as ws:
            inflate = zlib.decompressobj()
            hello = await ws.receive_bytes()
            assert hello.endswith(b"\x00\x00\xff\xff")
            assert json.loads(inflate.decompress(hello))["d"]["heartbeat_interval"] == 45000
            await ws.send_json({"op": 2, "d": {"token": fake.token, "intents": 513, "shard": [0, 1]}})
            ready = json.loads(inflate.decompress(await ws.receive_bytes()))
            assert (ready["t"], ready["s"], ready["d"]["shard"]) == ("READY", 1, [0, 1])
            assert ready["d"]["resume_gateway_url"] == fake.gateway_url
            guild = json.loads(inflate.decompress(await ws.receive_bytes()))
            assert guild["t"] == "GUILD_CREATE" and guild["d"]["member_count"] == len(guild["d"]["members"])
        async with http.ws_connect(f"{fake.gateway_url}?v=10&encoding=json&compress=zstd-stream") as ws:
            assert (await ws.receive_json())["op"] == 10  # plain text frames
            await ws.send_json({"op": 1, "d": None})
            assert (await ws.receive_json())["op"] == 11
            await ws.send_json({"op": 6, "d": {"token": fake.token, "session_id": "nope", "seq": 1}})
            assert await ws.receive_json() == {"op": 9, "d": False, "s": None, "t": None}
            await ws.send_json({"op": 2, "d": {"token": "bad", "intents": 1}})
            assert (await ws.receive()).type is aiohttp.WSMsgType.CLOSE and ws.close_code == 4004
        async with http.ws_connect(f"{fake.gateway_url}?v=10&encoding=json") as ws:
            await ws.receive_json()
            await ws.send_json({"op": 8, "d": {"guild_id": fake.guild_id}})
            assert (await ws.receive()).type is aiohttp.WSMsgType.CLOSE and ws.close_code == 4003


@guarded
async def test_tree_sync_round_trips_and_invalid_commands_get_50035(fake: FakeDiscord, bots: Bots) -> None:
    client = await bots.start(bots.client())
    tree = bots.tree(client)

    @tree.command(name="ask", description="Ask the model")
    async def ask(
        interaction: discord.Interaction,
        prompt: str,
        count: app_commands.Range[int, 1, 5] = 1,
        file: discord.Attachment | None = None,
    ) -> None:
        pass

    synced = await tree.sync()
    assert [c.name for c in synced] == ["ask"] and fake.command_writes == 1
    body = fake.calls_to("PUT /applications/*/commands")[0][0]
    assert [o["name"] for o in body["options"]] == ["prompt", "count", "file"]
    assert [c.id for c in await tree.fetch_commands()] == [synced[0].id]
    version = fake.find_command("ask")["version"]
    again = await tree.sync()  # identical: same id and version, but it still counts as a write
    assert again[0].id == synced[0].id and fake.command_writes == 2
    assert fake.find_command("ask")["version"] == version
    single = {"name": "ping", "description": "Ping", "type": 1}
    created = await client.http.upsert_global_command(client.application_id, single)
    assert created["application_id"] == fake.app_id and fake.command_writes == 3
    await tree.sync()  # the bulk overwrite removes /ping again
    assert [c["name"] for c in fake.commands["global"].values()] == ["ask"]
    guild = discord.Object(fake.guild_id)
    tree.copy_global_to(guild=guild)
    assert [c.name for c in await tree.sync(guild=guild)] == ["ask"]
    assert fake.find_command("ask", fake.guild_id)["guild_id"] == fake.guild_id
    good = {"name": "ok", "description": "fine", "type": 1}
    bad_cases = {
        "0.name": [good | {"name": "Has Caps"}],
        "0.description": [good | {"description": "x" * 101}],
        "0.options.1.required": [
            good
            | {
                "options": [
                    {"type": 3, "name": "a", "description": "a"},
                    {"type": 3, "name": "b", "description": "b", "required": True},
                ]
            }
        ],
        "0.options.0.min_value": [
            good | {"options": [{"type": 3, "name": "a", "description": "a", "min_value": 1}]}
        ],
        "0.options.0.choices": [
            good
            | {
                "options": [
                    {
                        "type": 3,
                        "name": "a",
                        "description": "a",
                        "choices": [{"name": str(i), "value": str(i)} for i in range(26)],
                    }
                ]
            }
        ],
        "1.name": [good, dict(good)],
    }
    for path, payload in bad_cases.items():
        with pytest.raises(discord.HTTPException) as info:
            await client.http.bulk_upsert_global_commands(client.application_id, payload)
        assert (info.value.status, info.value.code) == (400, 50035)
        assert f"In {path}:" in info.value.text, info.value.text
    assert fake.command_writes == 5  # rejected writes do not count


@guarded
async def test_message_with_attachment_reaches_on_message(fake: FakeDiscord, bots: Bots) -> None:
    client = await bots.start(bots.client())
    got: dict[str, tuple[discord.Message, list[bytes]]] = {}

    @client.event
    async def on_message(message: discord.Message) -> None:
        got[message.author.name] = (message, [await a.read() for a in message.attachments])

    await fake.push_message(
        fake.channel_id, fake.user_id, "hello", attachments=[("notes.txt", b"abc", "text/plain")]
    )
    await fake.push_message(None, fake.user2_id, "psst", guild=False)
    carol = fake.add_user("carol")
    fake.add_member(fake.guild_id, carol)
    await fake.push_message(fake.channel2_id, carol, "hey bot", mentions_bot=True)
    await fake.wait_for(lambda: len(got) == 3)
    (m1, data), (dm, _), (m3, _) = got["alice"], got["bob"], got["carol"]
    assert (m1.content, m1.guild.id, m1.channel.name, data) == (
        "hello",
        int(fake.guild_id),
        "general",
        [b"abc"],
    )
    assert m1.attachments[0].filename == "notes.txt" and m1.attachments[0].url.startswith(fake.url)
    assert isinstance(m1.author, discord.Member) and m1.author.name == "alice"
    assert isinstance(dm.channel, discord.DMChannel) and dm.guild is None and dm.author.name == "bob"
    assert client.user in m3.mentions and m3.content == f"<@{fake.bot_id}> hey bot"


@guarded
async def test_message_content_intent_is_enforced(fake: FakeDiscord, bots: Bots) -> None:
    client = await bots.start(bots.client(content=False))
    got: list[discord.Message] = []
    client.event(_collector(got))
    await fake.push_message(content="secret", attachments=[("a.txt", b"1", None)])
    await fake.push_message(content="for you", mentions_bot=True)
    await fake.push_message(content="dm", guild=False)
    await fake.wait_for(lambda: len(got) == 3)
    assert [(m.content, len(m.attachments)) for m in got] == [
        ("", 0),
        (f"<@{fake.bot_id}> for you", 0),
        ("dm", 0),
    ]


def _collector(into: list[discord.Message]) -> Any:
    async def on_message(message: discord.Message) -> None:
        if not message.author.bot:
            into.append(message)

    return on_message


@guarded
async def test_allowed_mentions_are_recorded_and_pings_detected(fake: FakeDiscord, bots: Bots) -> None:
    client = await bots.start(bots.client())
    channel = client.get_channel(int(fake.channel_id))
    text = f"@everyone look <@{fake.user_id}>"
    quiet = await channel.send(text, allowed_mentions=discord.AllowedMentions.none())
    await quiet.edit(content=text + "!", allowed_mentions=discord.AllowedMentions.none())
    stored = fake.messages[str(quiet.id)]
    assert [w.allowed_mentions for w in stored.writes] == [{"parse": []}, {"parse": []}]
    assert [w.kind for w in stored.writes] == ["create", "edit"] and stored.edits[0].content == text + "!"
    assert not fake.would_ping() and not quiet.mention_everyone and quiet.mentions == []
    await quiet.edit(content=text)  # an edit without allowed_mentions is parsed with the defaults
    assert fake.would_ping(quiet.id)
    assert fake.pinging_writes()[0][1].pings == {"everyone", f"user:{fake.user_id}"}
    asked = await fake.push_message(content="question")
    question = channel.get_partial_message(int(asked["id"]))
    silent = await question.reply("answer", mention_author=False)
    pinged = await question.reply("answer", mention_author=True)
    assert fake.messages[str(silent.id)].writes[0].pings == set()
    assert fake.messages[str(pinged.id)].writes[0].pings == {f"reply:{fake.user_id}"}
    assert fake.messages[str(pinged.id)].message_reference["message_id"] == asked["id"]
    loud = await channel.send(
        f"hi <@{fake.user_id}>", allowed_mentions=discord.AllowedMentions(users=True, everyone=False)
    )
    assert fake.messages[str(loud.id)].writes[0].pings == {f"user:{fake.user_id}"}


@guarded
async def test_strict_message_bodies(fake: FakeDiscord, bots: Bots) -> None:
    client = await bots.start(bots.client())
    channel = client.get_channel(int(fake.channel_id))
    with pytest.raises(discord.HTTPException) as info:
        await channel.send("x" * 2001)
    assert (info.value.status, info.value.code) == (400, 50035)
    assert info.value.text == "Invalid Form Body\nIn content: Must be 2000 or fewer in length."
    with pytest.raises(discord.HTTPException) as info:
        await channel.send()
    assert info.value.code == 50006
    route = discord.http.Route("POST", "/channels/{channel_id}/messages", channel_id=channel.id)
    with pytest.raises(discord.HTTPException) as info:
        await client.http.request(route, json={"embeds": [{"title": "t"}] * 11})
    assert "In embeds: Must be 10 or fewer in length." in info.value.text
    fake.upload_limit = 100
    with pytest.raises(discord.HTTPException) as info:
        await channel.send(file=discord.File(io.BytesIO(b"x" * 101), "big.bin"))
    assert (info.value.status, info.value.code) == (413, 40005)
    assert [e.code for e in fake.errors] == [50035, 50006, 50035, 40005] and fake.sent() == []


@guarded
async def test_multipart_files_are_recorded_and_served(fake: FakeDiscord, bots: Bots) -> None:
    client = await bots.start(bots.client())
    channel = client.get_channel(int(fake.channel_id))
    files = [discord.File(io.BytesIO(b"one"), "a.txt"), discord.File(io.BytesIO(b"\x89PNG"), "b.png")]
    msg = await channel.send("two files", files=files)
    assert [(f.filename, f.data) for f in fake.files] == [("a.txt", b"one"), ("b.png", b"\x89PNG")]
    assert fake.calls[-1].body["attachments"] == [
        {"id": 0, "filename": "a.txt"},
        {"id": 1, "filename": "b.png"},
    ]
    assert await msg.attachments[1].read() == b"\x89PNG"
    edited = await msg.edit(attachments=[msg.attachments[0]])
    assert [a.filename for a in edited.attachments] == ["a.txt"]
    fetched = await channel.fetch_message(msg.id)
    assert (fetched.content, [a.filename for a in fetched.attachments]) == ("two files", ["a.txt"])
    assert (await client.fetch_channel(channel.id)).name == "general"
    async with channel.typing():
        pass
    assert fake.typing_calls == [fake.channel_id]
    await msg.delete()
    assert fake.messages[str(msg.id)].deleted
    with pytest.raises(discord.NotFound):
        await channel.fetch_message(msg.id)


@guarded
async def test_create_thread_from_message_dispatches_thread_create(fake: FakeDiscord, bots: Bots) -> None:
    client = await bots.start(bots.client())
    created: list[discord.Thread] = []

    @client.event
    async def on_thread_create(thread: discord.Thread) -> None:
        created.append(thread)

    channel = client.get_channel(int(fake.channel_id))
    msg = await channel.send("start")
    thread = await msg.create_thread(name="Conversation")
    assert (thread.id, thread.parent_id, thread.type) == (
        msg.id,
        channel.id,
        discord.ChannelType.public_thread,
    )
    await thread.send("inside")
    await fake.wait_for(lambda: created)
    assert created[0].id == thread.id and fake.threads[str(thread.id)]["name"] == "Conversation"
    assert [m.content for m in fake.channel_messages(thread.id)] == ["inside"]
    with pytest.raises(discord.HTTPException) as info:
        await msg.create_thread(name="again")
    assert info.value.code == 160004
    with pytest.raises(discord.HTTPException) as info:
        await channel.create_thread(name="x" * 101, type=discord.ChannelType.public_thread)
    assert "In name: Must be between 1 and 100 in length." in info.value.text


async def _ready_with_ask(bots: Bots, handler: Any) -> tuple[Any, app_commands.CommandTree[Any]]:
    client = await bots.start(bots.client())
    tree = bots.tree(client)

    @tree.command(name="ask", description="Ask the model")
    async def ask(
        interaction: discord.Interaction, prompt: str, file: discord.Attachment | None = None
    ) -> None:
        await handler(interaction, prompt, file)

    await tree.sync()
    return client, tree


@guarded
async def test_slash_command_defer_edit_and_followup(fake: FakeDiscord, bots: Bots) -> None:
    seen: dict[str, Any] = {}

    async def handler(interaction: discord.Interaction, prompt: str, file: discord.Attachment | None) -> None:
        seen["file"] = await file.read() if file else None
        await interaction.response.defer(thinking=True)
        await interaction.edit_original_response(content="thinking about " + prompt)
        await interaction.edit_original_response(
            content="answer", allowed_mentions=discord.AllowedMentions.none()
        )
        reply = await interaction.followup.send(
            "here", file=discord.File(io.BytesIO(b"data"), "out.txt"), wait=True
        )
        seen["followup"] = reply.id
        await reply.edit(content="here!")
        with pytest.raises(discord.InteractionResponded):
            await interaction.response.defer()
        with pytest.raises(discord.HTTPException) as info:  # a raw second callback: the fake refuses it
            await discord.InteractionResponse(interaction).defer()
        seen["second"] = (info.value.status, info.value.code)

    client, _ = await _ready_with_ask(bots, handler)
    interactions: list[discord.Interaction] = []
    client.event(_named("on_interaction", interactions.append))
    inter = await fake.push_interaction(
        "ask", {"prompt": "life"}, attachments={"file": ("q.txt", b"question", "text/plain")}
    )
    await fake.wait_for(lambda: "second" in seen)
    assert interactions[0].id == int(inter.id) and seen["file"] == b"question"
    original = fake.messages[inter.original_id or ""]
    assert (original.content, original.flags, original.type) == ("answer", 0, 20)
    assert [(w.kind, w.route) for w in original.writes] == [
        ("create", "interaction"),
        ("edit", "webhook"),
        ("edit", "webhook"),
    ]
    followup = fake.messages[str(seen["followup"])]
    assert inter.followups == [followup.id] and [f.data for f in followup.attachments] == [b"data"]
    assert (followup.content, followup.edits[0].route) == ("here!", "webhook")
    assert [c.type for c in fake.callbacks] == [5] and seen["second"] == (400, 40060)
    assert original.channel_id == fake.channel_id and not fake.would_ping()


def _named(name: str, sink: Any) -> Any:
    async def handler(*args: Any) -> None:
        sink(*args)

    handler.__name__ = name
    return handler


@guarded
async def test_first_followup_after_defer_replaces_the_loading_message(fake: FakeDiscord, bots: Bots) -> None:
    async def handler(interaction: discord.Interaction, prompt: str, file: discord.Attachment | None) -> None:
        await interaction.response.defer(thinking=True)
        await interaction.followup.send("first")
        await interaction.followup.send("second")

    await _ready_with_ask(bots, handler)
    inter = await fake.push_interaction("ask", {"prompt": "x"})
    await fake.wait_for(lambda: inter.followups)
    assert fake.messages[inter.original_id or ""].content == "first"
    assert [fake.messages[m].content for m in inter.followups] == ["second"]


@guarded
async def test_late_callbacks_and_expired_tokens_fail(
    fake: FakeDiscord, bots: Bots, clock: ShiftClock
) -> None:
    outcome: dict[str, Any] = {}

    async def handler(interaction: discord.Interaction, prompt: str, file: discord.Attachment | None) -> None:
        try:
            if prompt == "late":
                clock.advance(3.1)  # the 3-s window passes without sleeping
                await interaction.response.defer()
            else:
                await interaction.response.defer()
                clock.advance(15 * 60 + 1)
                await interaction.edit_original_response(content="too late")
        except discord.HTTPException as exc:
            outcome[prompt] = (type(exc), exc.status, exc.code)

    await _ready_with_ask(bots, handler)
    await fake.push_interaction("ask", {"prompt": "late"})
    await fake.wait_for(lambda: outcome)  # one at a time: the clock is shared
    await fake.push_interaction("ask", {"prompt": "slow"})
    await fake.wait_for(lambda: len(outcome) == 2)
    assert outcome["late"] == (discord.NotFound, 404, 10062)
    assert outcome["slow"] == (discord.HTTPException, 401, 50027)


@guarded
async def test_button_click_reaches_on_interaction(fake: FakeDiscord, bots: Bots) -> None:
    client = await bots.start(bots.client())
    clicks: list[discord.Interaction] = []

    class Regenerate(discord.ui.View):
        def __init__(self) -> None:
            super().__init__(timeout=None)

        @discord.ui.button(label="Again", custom_id="regen")
        async def again(self, interaction: discord.Interaction, button: discord.ui.Button[Any]) -> None:
            clicks.append(interaction)
            if len(clicks) == 1:
                await interaction.response.defer()  # type 6 for components
                await interaction.edit_original_response(content="regenerated")
            else:
                await interaction.response.edit_message(content="clicked twice", view=None)

    seen: list[discord.Interaction] = []
    client.event(_named("on_interaction", seen.append))
    channel = client.get_channel(int(fake.channel_id))
    msg = await channel.send("reply", view=Regenerate())
    stored = fake.messages[str(msg.id)]
    await fake.push_component("regen", msg.id)
    await fake.wait_for(lambda: stored.content == "regenerated")
    await fake.push_component("regen", msg.id, user_id=fake.user2_id)
    await fake.wait_for(lambda: stored.content == "clicked twice")
    assert [c.data["custom_id"] for c in seen] == ["regen", "regen"]  # type: ignore[index]
    assert [c.type for c in seen] == [discord.InteractionType.component] * 2 and clicks == seen
    assert clicks[0].message.id == msg.id and clicks[1].user.name == "bob"
    assert [c.type for c in fake.callbacks] == [6, 7] and stored.components == []
    with pytest.raises(AssertionError):
        await fake.push_component("nope", msg.id)


@guarded
async def test_edit_budget_429_is_retried_transparently(fake: FakeDiscord, bots: Bots) -> None:
    fake.budgets.message_edits = (3, 0.4)
    client = await bots.start(bots.client())
    msg = await client.get_channel(int(fake.channel_id)).send("0")
    for i in range(1, 6):
        await msg.edit(content=str(i))
    stored = fake.messages[str(msg.id)]
    assert stored.content == "5" and len(stored.edits) == 5
    assert fake.count_429 >= 1 and fake.errors[0].status == 429


@guarded
async def test_create_budget_is_advertised_so_discord_py_waits(fake: FakeDiscord, bots: Bots) -> None:
    fake.budgets.message_creates = (2, 0.3)
    client = await bots.start(bots.client())
    channel = client.get_channel(int(fake.channel_id))
    start = time.monotonic()
    for i in range(3):
        await channel.send(str(i))
    assert time.monotonic() - start >= 0.25 and fake.count_429 == 0
    assert [m.content for m in fake.sent(fake.channel_id)] == ["0", "1", "2"]


@guarded
async def test_injected_failures(fake: FakeDiscord, bots: Bots) -> None:
    client = await bots.start(bots.client())
    channel = client.get_channel(int(fake.channel_id))
    fake.fail_next("create_message", 500)
    msg = await channel.send("survives a 500")  # discord.py retries 5xx after 1 s
    fake.fail_next("PATCH /channels/*/messages/*", 429, retry_after=0.05, is_global=True)
    await msg.edit(content="survives a 429")
    fake.fail_next("POST /channels/{channel_id}/typing", 403, code=50013, message="Missing Permissions")
    with pytest.raises(discord.Forbidden) as info:
        await channel.typing().__aenter__()
    assert info.value.code == 50013
    assert [(e.status, e.route) for e in fake.errors] == [
        (500, "/channels/{channel_id}/messages"),
        (429, "/channels/{channel_id}/messages/{message_id}"),
        (403, "/channels/{channel_id}/typing"),
    ]
    assert fake.messages[str(msg.id)].content == "survives a 429" and len(fake.sent()) == 1


@guarded
async def test_reconnect_resumes_and_replays_missed_events(fake: FakeDiscord, bots: Bots) -> None:
    client = await bots.start(bots.client(NoWait))
    got: list[discord.Message] = []
    client.event(_collector(got))
    resumed: list[bool] = []
    client.event(_named("on_resumed", lambda: resumed.append(True)))
    fake.accept_connections.clear()  # hold the reconnect so the message is sent while disconnected
    assert await fake.reconnect() == 1
    await fake.push_message(content="while you were away")
    fake.accept_connections.set()
    await fake.wait_for(lambda: got and resumed)
    assert got[0].content == "while you were away" and fake.resumes[0][2] >= 1
    assert [r.op for r in fake.gateway_log].count(6) == 1
    await fake.drop_connection(code=None)  # abrupt: the client sees 1006 and resumes
    await fake.wait_for(lambda: len(fake.resumes) == 2 and fake.connections and fake.connections[0].session)
    await fake.push_message(content="after the drop")
    await fake.wait_for(lambda: len(got) == 2)
    fake.forget_sessions()  # RESUME is now refused with op 9: the client identifies again
    await fake.drop_connection()
    await fake.wait_for(lambda: len(fake.identifies) == 2 and client.is_ready() and fake.sessions)
    await fake.push_message(content="new session")
    await fake.wait_for(lambda: len(got) == 3)
    assert fake.resumes[-1][2] == -1 and got[2].content == "new session"


@guarded
async def test_two_shards_each_get_their_guilds_events(fake: FakeDiscord, bots: Bots) -> None:
    other = fake.add_guild("Second", shard=(1 - shard_of(fake.guild_id, 2), 2))
    fake.recommended_shards = 2  # AutoShardedClient asks GET /gateway/bot
    client = await bots.start(bots.client(ShardedNoWait))
    assert client.shard_count == 2 and sorted(s.shard_id for s in fake.sessions.values()) == [0, 1]
    assert {g.id: g.shard_id for g in client.guilds} == {
        int(fake.guild_id): shard_of(fake.guild_id, 2),
        int(other): shard_of(other, 2),
    }
    got: list[discord.Message] = []
    client.event(_collector(got))
    await fake.push_message(content="first guild")
    await fake.push_message(fake.guilds[other]["channel_ids"][0], content="second guild")
    await fake.push_message(content="dm", guild=False)
    await fake.wait_for(lambda: len(got) == 3)
    by_shard = {
        s.shard_id: [f["d"]["content"] for f in s.sent if f["t"] == "MESSAGE_CREATE"]
        for s in fake.sessions.values()
    }
    assert by_shard[shard_of(other, 2)] == ["second guild"] + (["dm"] if shard_of(other, 2) == 0 else [])
    assert by_shard[shard_of(fake.guild_id, 2)][0] == "first guild"


@guarded
async def test_push_helpers_are_strict(fake: FakeDiscord) -> None:
    with pytest.raises(AssertionError, match="not registered"):
        await fake.push_interaction("ask", {"prompt": "x"})
    fake.commands["global"]["1"] = {
        "id": "1",
        "name": "ask",
        "type": 1,
        "options": [{"type": 3, "name": "prompt", "description": "p", "required": True}],
    }
    with pytest.raises(AssertionError, match="required options missing"):
        await fake.push_interaction("ask", {})
    with pytest.raises(AssertionError, match="no option"):
        await fake.push_interaction("ask", {"prompt": "x", "extra": 1})
    with pytest.raises(AssertionError, match="not a member"):
        await fake.push_message(author_id=fake.add_user("stranger"))


@guarded
async def test_send_message_response_ephemeral_and_limits(fake: FakeDiscord, bots: Bots) -> None:
    outcome: dict[str, Any] = {}

    async def handler(interaction: discord.Interaction, prompt: str, file: discord.Attachment | None) -> None:
        try:
            await interaction.response.send_message(prompt, ephemeral=prompt == "secret")
            outcome[prompt] = (await interaction.original_response()).content
        except discord.HTTPException as exc:
            outcome[prompt] = exc.text

    client, _ = await _ready_with_ask(bots, handler)
    got: list[discord.Message] = []
    client.event(_named("on_message", got.append))
    secret = await fake.push_interaction("ask", {"prompt": "secret"})
    await fake.wait_for(lambda: outcome)
    public = await fake.push_interaction("ask", {"prompt": "public"})
    await fake.push_interaction("ask", {"prompt": "x" * 2001})
    private = await fake.push_interaction("ask", {"prompt": "in dm"}, guild=False)
    await fake.wait_for(lambda: len(outcome) == 4 and len(got) == 2)
    assert outcome["secret"] == "secret" and outcome["public"] == "public"
    assert outcome["x" * 2001] == "Invalid Form Body\nIn data.content: Must be 2000 or fewer in length."
    assert fake.messages[secret.original_id or ""].flags == 64  # ephemeral: stored, never dispatched
    assert sorted(m.id for m in got) == sorted(int(i.original_id or 0) for i in (public, private))
    assert [c.type for c in fake.callbacks] == [4, 4, 4] and outcome["in dm"] == "in dm"
    assert fake.messages[private.original_id or ""].channel_id == fake.dm_channel(fake.user_id)


@guarded
async def test_budgets_and_pings_rules(clock: ShiftClock) -> None:
    budgets = Budgets(message_creates=(2, 5.0), message_edits=None, global_requests=(3, 1.0), clock=clock)
    budgets.take([("create", "c1"), ("global", "bot")])
    budgets.take([("create", "c1"), ("global", "bot"), ("edit", "m1")])
    with pytest.raises(ApiError) as info:
        budgets.take([("create", "c1")])
    assert info.value.status == 429 and info.value.headers["Via"] == "1.1 google"
    assert info.value.body() == {
        "message": "You are being rate limited.",
        "retry_after": 5.0,
        "global": False,
    }
    budgets.take([("global", "bot")])
    with pytest.raises(ApiError) as info:
        budgets.take([("global", "bot")])
    assert info.value.body()["global"] is True and info.value.headers["X-RateLimit-Global"] == "true"
    assert budgets.headers("create", "c1", "/x")["X-RateLimit-Remaining"] == "0"
    clock.advance(5)
    budgets.take([("create", "c1"), ("global", "bot")])
    assert pings("@here <@1> <@&2>", None) == {"everyone", "user:1", "role:2"}
    assert pings("@here <@1> <@&2>", None, default_parse=("users",)) == {"user:1"}
    assert pings("<@1> <@3>", {"parse": [], "users": ["3"]}) == {"user:3"}
    assert pings("hi", {"parse": [], "replied_user": True}, replied_user="7") == {"reply:7"}


@guarded
async def test_shutdown_closes_open_sockets_promptly(fake: FakeDiscord) -> None:
    async with aiohttp.ClientSession() as http:
        async with serve_discord(fake) as base:
            ws = await http.ws_connect(f"{fake.gateway_url}?v=10&encoding=json")
            assert base.startswith("http://127.0.0.1:") and (await ws.receive_json())["op"] == 10
            started = time.monotonic()
        assert time.monotonic() - started < 1.0
        msg = await ws.receive()
        assert (msg.type, msg.data) == (aiohttp.WSMsgType.CLOSE, 1001)
        await ws.close()


@guarded
async def test_history_pages_like_discord(fake: FakeDiscord, bots: Bots) -> None:
    ids = [int((await fake.push_message(content=f"m{i}"))["id"]) for i in range(130)]
    fake.messages[str(ids[5])].deleted = True
    client = await bots.start(bots.client())
    channel = client.get_channel(int(fake.channel_id))
    after = [m async for m in channel.history(after=discord.Object(ids[1]), limit=None, oldest_first=True)]
    assert [m.id for m in after] == [i for i in ids[2:] if i != ids[5]]  # every page, in order
    pages = [q for _, q in fake.history_queries]
    # after= asks for the messages right after the id; the next page starts at the newest of the last
    assert pages[0] == {"limit": "100", "after": str(ids[1])} and pages[1]["after"] == str(ids[102])
    newest = [m.content async for m in channel.history(limit=3)]
    assert newest == ["m129", "m128", "m127"]  # newest first by default
    before = [m.content async for m in channel.history(before=discord.Object(ids[10]), limit=3)]
    assert before == ["m9", "m8", "m7"]
    around = sorted([m.id async for m in channel.history(around=discord.Object(ids[50]), limit=5)])
    assert around == ids[48:53]
    raw = await client.http.logs_from(channel.id, 2, before=ids[3], after=ids[0])
    assert [m["content"] for m in raw] == ["m2", "m1"]  # one anchor is used, newest first
    assert len(await client.http.request(discord.http.Route("GET", f"/channels/{channel.id}/messages"))) == 50


@guarded
async def test_history_errors_are_discords(fake: FakeDiscord, bots: Bots) -> None:
    client = await bots.start(bots.client())
    with pytest.raises(discord.HTTPException) as info:
        await client.http.logs_from(fake.channel_id, 101)
    assert (info.value.status, info.value.code) == (400, 50035)
    assert "In limit: int value should be less than or equal to 100." in info.value.text
    with pytest.raises(discord.HTTPException, match="greater than or equal to 1"):
        await client.http.logs_from(fake.channel_id, 0)
    with pytest.raises(discord.NotFound) as gone:
        await client.http.logs_from(1234, 10)
    assert gone.value.code == 10003 and gone.value.text == "Unknown Channel"
    await fake.push_message(fake.channel2_id, content="hidden")
    fake.deny_bot(fake.channel2_id, READ_MESSAGE_HISTORY)
    channel2 = client.get_channel(int(fake.channel2_id))
    assert [m async for m in channel2.history()] == []  # documented: no history, no error
    fake.deny_bot(fake.channel2_id)  # no VIEW_CHANNEL: every channel route is refused
    with pytest.raises(discord.Forbidden) as refused:
        _ = [m async for m in channel2.history()]
    assert (refused.value.code, refused.value.text) == (50001, "Missing Access")
    with pytest.raises(discord.Forbidden):
        await client.fetch_channel(int(fake.channel2_id))
    await fake.delete_channel(fake.channel2_id)
    await fake.wait_for(lambda: client.get_channel(int(fake.channel2_id)) is None)
    with pytest.raises(discord.NotFound):
        await client.fetch_channel(int(fake.channel2_id))
    member = await client.get_guild(int(fake.guild_id)).fetch_member(int(fake.user_id))
    assert member.name == "alice" and [r.id for r in member.roles[1:]] == [int(fake.member_role_id)]
    with pytest.raises(discord.NotFound, match="Unknown Member"):
        await client.get_guild(int(fake.guild_id)).fetch_member(1234)


@guarded
async def test_messages_sent_while_no_session_is_open_are_only_in_the_history(
    fake: FakeDiscord, bots: Bots
) -> None:
    first = await bots.start(bots.client())
    await first.close()
    await fake.wait_for(lambda: not fake.connections)
    # discord.py on aiohttp 3.14 closes with 4000 here, so the old session stays resumable; the
    # message is kept for a RESUME that never comes: a new process IDENTIFYs.
    missed = await fake.push_message(content="while you were away")
    got: list[discord.Message] = []
    second = bots.client()
    second.event(_collector(got))
    await bots.start(second)
    await fake.push_message(content="live")
    await fake.wait_for(lambda: got)
    assert [m.content for m in got] == ["live"]  # a new session replays nothing
    channel = second.get_channel(int(fake.channel_id))
    history = [m async for m in channel.history(after=discord.Object(int(missed["id"]) - 1))]
    assert [m.content for m in history] == ["while you were away", "live"]


def _button(custom_id: str, label: str = "b") -> dict[str, Any]:
    return {"type": 2, "style": 2, "label": label, "custom_id": custom_id}


def _menu(custom_id: str, values: list[str]) -> dict[str, Any]:
    return {"type": 3, "custom_id": custom_id, "options": [{"label": v, "value": v} for v in values]}


@guarded
async def test_component_limits_are_discords(fake: FakeDiscord, bots: Bots) -> None:
    fake.budgets.message_creates = None  # 13 sends in a row
    client = await bots.start(bots.client())
    route = discord.http.Route("POST", "/channels/{channel_id}/messages", channel_id=int(fake.channel_id))

    def rows(*rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
        return [{"type": 1, "components": r} for r in rows]

    full = rows(*([_button(f"{r}.{i}") for i in range(5)] for r in range(5)))
    bad = {
        "6 rows": [*full, *rows([_button("x")])],
        "6 in a row": rows([_button(f"{i}") for i in range(6)]),
        "label 81": rows([_button("x", "l" * 81)]),
        "custom_id 101": rows([_button("x" * 101)]),
        "duplicate id": rows([_button("x")], [_button("x")]),
        "no label": rows([{"type": 2, "style": 2, "custom_id": "x"}]),
        "26 options": rows([_menu("m", [str(i) for i in range(26)])]),
        "value 101": rows([_menu("m", ["v" * 101])]),
        "same value": rows([_menu("m", ["v", "v"])]),
        "menu and button": rows([_menu("m", ["v"]), _button("x")]),
        "menu id = button id": rows([_button("x")], [_menu("x", ["v"])]),
    }
    for name, components in bad.items():
        with pytest.raises(discord.HTTPException) as info:
            await client.http.request(route, json={"content": name, "components": components})
        assert (info.value.status, info.value.code) == (400, 50035), name
    ok = [*full[:4], *rows([_menu("m", [str(i) for i in range(25)])])]
    await client.http.request(route, json={"content": "ok", "components": full})
    await client.http.request(route, json={"content": "ok", "components": ok})
    [_, b] = fake.sent(fake.channel_id)
    with pytest.raises(AssertionError, match="not among"):
        await fake.push_component("m", b.id, values=["nope"])
    with pytest.raises(AssertionError, match="needs values"):
        await fake.push_component("m", b.id)
    await fake.push_component("m", b.id, values=["7"])
    assert fake.interactions[max(fake.interactions, key=int)].payload["data"]["values"] == ["7"]


@guarded
async def test_autocomplete_answers_are_checked_and_given_once(fake: FakeDiscord, bots: Bots) -> None:
    client = await bots.start(bots.client())
    fake.commands["global"]["1"] = {
        "id": "1",
        "name": "ask",
        "type": 1,
        "options": [
            {"type": 3, "name": "prompt", "description": "p", "required": True, "autocomplete": True},
            {"type": 3, "name": "tone", "description": "t"},
        ],
    }
    outcome: list[Any] = []

    async def on_interaction(interaction: discord.Interaction) -> None:
        options = (interaction.data or {})["options"]  # type: ignore[typeddict-item]
        typed = next(o["value"] for o in options if o.get("focused"))
        count = 26 if typed == "many" else 2
        choices = [app_commands.Choice(name=f"{typed} {i}", value=f"{typed} {i}") for i in range(count)]
        try:
            await interaction.response.autocomplete(choices)
            outcome.append("ok")
        except discord.HTTPException as exc:
            outcome.append((exc.status, exc.code))

    client.event(on_interaction)
    with pytest.raises(AssertionError, match="no autocomplete"):
        await fake.push_autocomplete("ask", "tone", "x")
    await fake.push_autocomplete("ask", "prompt", "many")
    await fake.wait_for(lambda: outcome)
    asked = await fake.push_autocomplete("ask", "prompt", "wh", {"tone": "dry"})
    await fake.wait_for(lambda: len(outcome) == 2)
    await fake.redeliver(asked)  # answering the same interaction again
    await fake.wait_for(lambda: len(outcome) == 3)
    assert outcome == [(400, 50035), "ok", (400, 40060)]
    [answer] = [c for c in fake.callbacks if c.interaction_id == asked.id]
    assert answer.type == 8 and [c["value"] for c in answer.data["choices"]] == ["wh 0", "wh 1"]
    data = asked.payload["data"]
    assert data["options"] == [
        {"name": "tone", "type": 3, "value": "dry"},
        {"name": "prompt", "type": 3, "value": "wh", "focused": True},
    ]
