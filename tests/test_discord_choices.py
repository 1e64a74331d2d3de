"""Quick replies and example autocomplete on Discord: real discord.py against the fake Discord.

Most tests run the adapter alone (``adapter_on``: deliveries are recorded, the state is a memory
store that can outlive a run); one runs the whole bridge with a real Gradio app for a full turn.
"""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import time
from collections.abc import AsyncIterator, Sequence
from dataclasses import dataclass, field
from typing import Any

import pytest

from adapters.discord.adapter import DiscordAdapter
from adapters.discord.choices import split, suggestions
from adapters.discord.commands import command_payloads
from adapters.discord.config import DiscordConfig
from bridge import (
    AdapterState,
    AppInputs,
    Choice,
    ConversationKey,
    Host,
    Incoming,
    MessageGone,
    MessageRef,
    Text,
)
from bridge.sessions import MemoryStore
from tests.fakes.discord import FakeDiscord, StoredMessage, serve_discord
from tests.fakes.discord.bridge import bot_texts, bridge_on, config_for, restore_discord_urls

MP = pytest.MonkeyPatch
EPHEMERAL = 64


@pytest.fixture
def fake() -> FakeDiscord:
    return FakeDiscord(message_edits=None)


@pytest.fixture(autouse=True)
def _restore_discord_urls(monkeypatch: MP) -> None:
    restore_discord_urls(monkeypatch)


@dataclass
class Running:
    adapter: DiscordAdapter
    delivered: list[Incoming] = field(default_factory=list)


@contextlib.asynccontextmanager
async def adapter_on(
    fake: FakeDiscord,
    *,
    state: AdapterState | None = None,
    examples: Sequence[str] = (),
    **table: Any,
) -> AsyncIterator[Running]:
    """The adapter alone, connected to the (already served) fake, until the block ends."""
    config = config_for(fake, fake.url, "http://127.0.0.1:9", **table).adapters["dc"]
    assert isinstance(config, DiscordConfig)
    run = Running(DiscordAdapter("dc", config, lambda _: fake.token))

    async def deliver(msg: Incoming) -> bool:
        # The core keys each message by the adapter's scope (Bot.deliver); recorded here as it would.
        run.delivered.append(dataclasses.replace(msg, key=msg.key.scoped(config.scope, msg.author.id)))
        return True

    async def inputs() -> AppInputs:
        return AppInputs(examples=tuple(examples))

    ready = asyncio.Event()
    host = Host(deliver, state or AdapterState(MemoryStore(), "dc"), inputs, ready=ready.set)
    task = asyncio.create_task(run.adapter.run(host))
    try:
        await fake.wait_for(lambda: ready.is_set() or task.done(), timeout=30)
        await fake.wait_for(lambda: fake.find_command("chat") or task.done(), timeout=30)
        if task.done():
            task.result()
        yield run
    finally:
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task


def buttons(msg: StoredMessage) -> list[dict[str, Any]]:
    return [c for row in msg.components for c in row["components"] if c["type"] == 2]


def callback_types(fake: FakeDiscord, interaction_id: str) -> list[int]:
    return [c.type for c in fake.callbacks if c.interaction_id == interaction_id]


async def test_offer_shows_buttons_and_a_press_is_a_message_of_the_presser(fake: FakeDiscord) -> None:
    async with serve_discord(fake), adapter_on(fake, scope="user") as run:
        key = ConversationKey("dc", fake.channel_id, None, fake.user_id)
        ref = await run.adapter.send(key, Text.of("Which one?"), None)
        long_label = "a very long label " * 8
        await run.adapter.offer(
            ref, [Choice("yes", "Yes"), Choice("no", "No"), Choice("no", "No again"), Choice("x", long_label)]
        )
        msg = fake.messages[ref.id]
        shown = buttons(msg)
        assert [b["custom_id"] for b in shown] == ["bridge:c:yes", "bridge:c:no", "bridge:c:x"]
        assert shown[0]["label"] == "Yes" and msg.content == "Which one?"
        assert len(shown[2]["label"]) <= 80 and shown[2]["label"].endswith("…")
        # bob presses a choice under alice's reply: it is bob's message, in bob's conversation there
        press = await fake.push_component("bridge:c:no", ref.id, user_id=fake.user2_id)
        await fake.wait_for(lambda: run.delivered)
        [incoming] = run.delivered
        assert incoming.text == "no" and incoming.command is None
        assert incoming.key == ConversationKey("dc", fake.channel_id, None, fake.user2_id)
        assert incoming.author.id == fake.user2_id and incoming.shared and incoming.id == press.id
        assert incoming.reply_to == MessageRef(fake.channel_id, ref.id, None)
        assert callback_types(fake, press.id) == [6]  # a deferred update, within the 3 s
        await fake.wait_for(lambda: msg.components == [])  # removed once delivered: no second press
        assert msg.content == "Which one?"
    assert not fake.errors, fake.errors


async def test_a_press_in_a_thread_and_in_a_dm_keys_that_conversation(fake: FakeDiscord) -> None:
    async with serve_discord(fake), adapter_on(fake) as run:
        started = await run.adapter.send(ConversationKey("dc", fake.channel_id), Text.of("topic"), None)
        channel = await run.adapter._out().channel(fake.channel_id)
        thread = str((await channel.get_partial_message(int(started.id)).create_thread(name="topic")).id)
        ref = await run.adapter.send(ConversationKey("dc", fake.channel_id, thread), Text.of("pick"), None)
        await run.adapter.offer(ref, [Choice("go on", "Go on")])
        await fake.push_component("bridge:c:go on", ref.id, channel_id=thread)
        dm = fake.dm_channel(fake.user_id)
        dm_ref = await run.adapter.send(ConversationKey("dc", dm), Text.of("pick"), None)
        await run.adapter.offer(dm_ref, [Choice("private", "Private")])
        await fake.push_component("bridge:c:private", dm_ref.id)
        await fake.wait_for(lambda: len(run.delivered) == 2)
    in_thread, in_dm = run.delivered
    assert in_thread.key == ConversationKey("dc", fake.channel_id, thread) and in_thread.text == "go on"
    assert in_thread.reply_to == MessageRef(fake.channel_id, ref.id, thread)
    assert in_dm.key == ConversationKey("dc", dm) and not in_dm.shared and in_dm.text == "private"


async def test_a_long_value_is_stored_and_survives_a_restart(fake: FakeDiscord) -> None:
    state = AdapterState(MemoryStore(), "dc")
    value = "Tell me everything about " + "the history of the printing press, " * 5
    async with serve_discord(fake):
        async with adapter_on(fake, state=state) as run:
            ref = await run.adapter.send(ConversationKey("dc", fake.channel_id), Text.of("More?"), None)
            await run.adapter.offer(ref, [Choice(value, "Everything"), Choice("short", "Short")])
        [long_button, short] = buttons(fake.messages[ref.id])
        assert long_button["custom_id"].startswith("bridge:h:") and len(long_button["custom_id"]) <= 100
        assert short["custom_id"] == "bridge:c:short"
        async with adapter_on(fake) as lost:  # a store without the value: the presser is told
            await fake.push_component(long_button["custom_id"], ref.id)
            note = await fake.wait_for(lambda: next((m for m in fake.sent() if m.flags & EPHEMERAL), None))
        async with adapter_on(fake, state=state) as again:  # a new process on the same store
            await fake.push_component(long_button["custom_id"], ref.id)
            await fake.wait_for(lambda: again.delivered)
    assert [m.text for m in again.delivered] == [value]
    assert lost.delivered == [] and "no longer available" in note.content


async def test_more_than_25_choices_go_into_select_menus(fake: FakeDiscord) -> None:
    assert [split(n) for n in (1, 25, 26, 45, 46, 65, 66, 105, 106, 125, 200)] == [
        1, 25, 20, 20, 15, 15, 10, 5, 0, 0, 0,
    ]  # fmt: skip
    choices = [Choice(f"value {i}" + ("!" * 95 if i == 50 else ""), f"Option {i}") for i in range(60)]
    async with serve_discord(fake), adapter_on(fake) as run:
        ref = await run.adapter.send(ConversationKey("dc", fake.channel_id), Text.of("So many"), None)
        await run.adapter.offer(ref, choices)
        msg = fake.messages[ref.id]
        rows = [row["components"] for row in msg.components]
        assert [len(r) for r in rows] == [5, 5, 5, 1, 1]
        menus = [r[0] for r in rows[3:]]
        assert [m["custom_id"] for m in menus] == ["bridge:s:0", "bridge:s:1"]
        assert [len(m["options"]) for m in menus] == [25, 20]
        shown = [b["label"] for b in buttons(msg)] + [o["label"] for m in menus for o in m["options"]]
        assert shown == [c.label for c in choices]  # all 60, in order
        long_option = menus[1]["options"][50 - 40]
        await fake.push_component("bridge:s:1", ref.id, values=[long_option["value"]])
        await fake.wait_for(lambda: run.delivered)
        assert run.delivered[0].text == choices[50].value
        await fake.wait_for(lambda: msg.components == [])
        too_many = [Choice(f"v{i}", f"V{i}") for i in range(130)]
        ref2 = await run.adapter.send(ConversationKey("dc", fake.channel_id), Text.of("Too many"), None)
        await run.adapter.offer(ref2, too_many)  # the most a message holds: 5 menus of 25
        assert [len(r["components"][0]["options"]) for r in fake.messages[ref2.id].components] == [25] * 5
    assert not fake.errors, fake.errors


async def test_choices_on_replies_to_slash_commands(fake: FakeDiscord) -> None:
    async with serve_discord(fake), adapter_on(fake, threads=False) as run:
        await fake.push_interaction("chat", {"message": "hello"})
        await fake.wait_for(lambda: run.delivered)
        asked = run.delivered.pop()
        assert asked.reply_to is not None
        # The first part replaces "thinking…", the second is a follow-up.
        first = await run.adapter.send(asked.key, Text.of("first part"), asked.reply_to)
        second = await run.adapter.send(asked.key, Text.of("second part"), asked.reply_to)
        await run.adapter.offer(first, [Choice("a", "A")])
        await run.adapter.offer(second, [Choice("b", "B")])
        assert [b["custom_id"] for b in buttons(fake.messages[first.id])] == ["bridge:c:a"]
        assert [b["custom_id"] for b in buttons(fake.messages[second.id])] == ["bridge:c:b"]
        await fake.push_component("bridge:c:b", second.id)
        await fake.wait_for(lambda: run.delivered and fake.messages[second.id].components == [])
        assert run.delivered[0].text == "b" and run.delivered[0].key == asked.key
        fake.messages[first.id].deleted = True
        with pytest.raises(MessageGone):
            await run.adapter.offer(first, [Choice("c", "C")])
        sender = run.adapter._out()
        sender.clock = lambda: time.monotonic() + 15 * 60  # the interaction token has expired
        before = len(fake.sent(fake.channel_id))
        await run.adapter.offer(second, [Choice("later", "Later")])  # so they come on a new message
        late = fake.sent(fake.channel_id)[before:]
        assert [[b["custom_id"] for b in buttons(m)] for m in late] == [["bridge:c:later"]]
        channel_ref = await run.adapter.send(asked.key, Text.of("plain"), None)
        fake.messages[channel_ref.id].deleted = True
        with pytest.raises(MessageGone):
            await run.adapter.offer(channel_ref, [Choice("c", "C")])


async def test_refused_pressers_get_a_private_answer(fake: FakeDiscord) -> None:
    async with serve_discord(fake), adapter_on(fake, block_guilds=[fake.guild_id]) as run:
        ref = await run.adapter.send(ConversationKey("dc", fake.channel_id), Text.of("pick"), None)
        await run.adapter.offer(ref, [Choice("yes", "Yes")])
        press = await fake.push_component("bridge:c:yes", ref.id)
        await fake.wait_for(lambda: callback_types(fake, press.id))
        await asyncio.sleep(0.2)
    assert run.delivered == [] and buttons(fake.messages[ref.id])
    [answer] = [c for c in fake.callbacks if c.interaction_id == press.id]
    assert answer.type == 4 and answer.data["flags"] & EPHEMERAL


async def test_the_stop_button_stays_the_stop_command(fake: FakeDiscord) -> None:
    async with serve_discord(fake), adapter_on(fake) as run:
        key = ConversationKey("dc", fake.channel_id)
        ref = await run.adapter.send(key, Text.of("streaming…"), None, stage="partial")
        assert [b["custom_id"] for b in buttons(fake.messages[ref.id])] == ["bridge:stop"]
        await fake.push_component("bridge:stop", ref.id)
        await fake.wait_for(lambda: run.delivered)
        assert run.delivered[0].command == "stop"
        await run.adapter.edit(ref, Text.of("done"), stage="final")
        assert fake.messages[ref.id].components == []
        await run.adapter.offer(ref, [Choice("stop", "Stop")])  # a choice that says "stop" is text
        await fake.push_component("bridge:c:stop", ref.id)
        await fake.wait_for(lambda: len(run.delivered) == 2)
        assert run.delivered[1].command is None and run.delivered[1].text == "stop"


async def test_chat_message_autocompletes_from_the_examples(fake: FakeDiscord) -> None:
    long_example = "Please summarise " + "this long example " * 8
    examples = ["What is Discord?", "Tell me a joke", "what time is it", long_example]
    examples += [f"Example {i}" for i in range(30)]
    async with serve_discord(fake), adapter_on(fake, examples=examples) as run:
        chat = fake.find_command("chat")
        assert chat is not None
        message = next(o for o in chat["options"] if o["name"] == "message")
        assert message.get("autocomplete") is True
        typed = await fake.push_autocomplete("chat", "message", "wha")
        everything = await fake.push_autocomplete("chat", "message", "")
        joke = await fake.push_autocomplete("chat", "message", " JOKE", guild=False)
        await fake.wait_for(lambda: all(callback_types(fake, i.id) for i in (typed, everything, joke)))
    answers = {c.interaction_id: c for c in fake.callbacks if c.type == 8}
    assert [c["value"] for c in answers[typed.id].data["choices"]] == ["What is Discord?", "what time is it"]
    shown = [c["value"] for c in answers[everything.id].data["choices"]]
    assert len(shown) == 25 and shown[:3] == examples[:3] and long_example not in shown
    assert [c["name"] for c in answers[joke.id].data["choices"]] == ["Tell me a joke"]
    assert run.delivered == [] and not fake.errors, fake.errors


def test_autocomplete_is_registered_only_with_examples_that_fit() -> None:
    def message_option(examples: Sequence[str]) -> dict[str, Any]:
        chat = command_payloads([], multimodal=False, examples=examples).payloads[0]
        return next(o for o in chat["options"] if o["name"] == "message")

    assert "autocomplete" not in message_option([])
    assert "autocomplete" not in message_option(["x" * 101, "  "])
    assert message_option(["hi"])["autocomplete"] is True
    with_examples = command_payloads([], multimodal=False, examples=["hi"])
    assert with_examples.hash != command_payloads([], multimodal=False).hash  # so it re-registers
    assert with_examples.examples == ("hi",)
    assert [c.value for c in suggestions(("Hello there", "Say hello", "Bye"), "hel")] == [
        "Hello there",
        "Say hello",
    ]


async def test_a_press_is_a_turn_of_the_app_and_a_redelivered_press_is_answered_once(
    current_apps: dict[str, str], monkeypatch: MP
) -> None:
    fake = FakeDiscord()
    adapters: list[DiscordAdapter] = []
    original_run = DiscordAdapter.run

    async def run(self: DiscordAdapter, host: Host) -> None:
        adapters.append(self)
        await original_run(self, host)

    monkeypatch.setattr(DiscordAdapter, "run", run)
    async with bridge_on(fake, current_apps["text"], monkeypatch, threads=False):
        await fake.push_message(fake.channel_id, content="hello", mentions_bot=True)
        answer = await fake.wait_for(
            lambda: next((m for m in fake.sent(fake.channel_id) if m.content.endswith("echo: hello")), None),
            timeout=30,
        )
        await adapters[0].offer(MessageRef(fake.channel_id, answer.id), [Choice("tell me more", "More")])
        press = await fake.push_component("bridge:c:tell me more", answer.id)
        await fake.wait_for(lambda: answer.components == [], timeout=30)
        await fake.redeliver(press)  # the same interaction again: acknowledged already, answered once
        reply = await fake.wait_for(
            lambda: next((m for m in fake.sent(fake.channel_id) if "echo: tell me more" in m.content), None),
            timeout=30,
        )
        await asyncio.sleep(1.5)
    assert reply.content.startswith("turn=2")  # the same conversation went on
    assert reply.message_reference is not None and reply.message_reference["message_id"] == answer.id
    assert sum("echo: tell me more" in t for t in bot_texts(fake, fake.channel_id)) == 1
    assert callback_types(fake, press.id) == [6]  # the redelivery's acknowledgement was refused
    assert [e.code for e in fake.errors] == [40060], fake.errors


async def test_the_apps_options_become_buttons_and_examples_autocomplete(
    current_apps: dict[str, str], monkeypatch: MP
) -> None:
    """The core offers a reply's ``options`` itself; the app's examples reach ``/chat message``."""
    fake = FakeDiscord()
    async with bridge_on(fake, current_apps["extras"], monkeypatch, threads=False):
        await fake.push_message(fake.channel_id, content="hello", mentions_bot=True)
        answer = await fake.wait_for(
            lambda: next((m for m in fake.sent(fake.channel_id) if "bridge:c:no" in str(m.components)), None),
            timeout=30,
        )
        assert "extras turn=1 echo: hello" in answer.content
        labels = [c["label"] for row in answer.components for c in row["components"]]
        assert labels == ["yes please", "No, thanks"]
        await fake.push_component("bridge:c:no", answer.id)
        reply = await fake.wait_for(
            lambda: next((m for m in fake.sent(fake.channel_id) if "echo: no" in m.content), None), timeout=30
        )
        await fake.wait_for(lambda: fake.find_command("chat") is not None, timeout=30)
        typed = await fake.push_autocomplete("chat", "message", "what")
        await fake.wait_for(lambda: callback_types(fake, typed.id), timeout=30)
    assert reply.content.startswith("extras turn=2 echo: no")
    suggested = next(c for c in fake.callbacks if c.type == 8 and c.interaction_id == typed.id)
    assert [c["value"] for c in suggested.data["choices"]] == ["what can you do?"]
