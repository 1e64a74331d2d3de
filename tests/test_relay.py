"""The relay core in process: router → commands/turn → streamer → a recording adapter, real Gradio apps."""

from __future__ import annotations

import asyncio
import re
from collections.abc import AsyncIterator

import pytest

from bridge.adapter import AdapterState, AppInputs, Host
from bridge.bot import assemble
from bridge.errors import RateLimited
from bridge.router import AccessRules, UserLimits
from bridge.sessions import MemoryStore, SessionStore
from bridge.spaces import SpaceHandle, SpaceSettings
from bridge.testing import RecordingAdapter, Sent
from bridge.text import Prose, Thought
from bridge.turn import TurnSettings


class Relay:
    """Router → inbox → commands/turn → streamer → a recording adapter, in this process.

    ``store`` and ``messages`` (the platform's messages) may come from an earlier Relay, to model a
    bridge restart; call :meth:`start` after construction when the store holds unanswered messages.
    """

    def __init__(
        self,
        url: str,
        settings: TurnSettings | None = None,
        store: SessionStore | None = None,
        messages: dict[str, Sent] | None = None,
        **limits: int,
    ) -> None:
        self.adapter = RecordingAdapter(messages=messages)
        self.store = store or MemoryStore()
        self.space = SpaceHandle(SpaceSettings(name="t", src=url))
        bot = assemble(
            self.adapter,
            self.space,
            self.store,
            settings or TurnSettings(),
            AccessRules(block_users=frozenset({"mallory"})),
            UserLimits(**{"max_in_flight": 20, "per_minute": 0, **limits}),
        )
        self.router, self.bot = bot.router, bot
        self.task: asyncio.Task[None] | None = None

    async def start(self) -> Relay:
        """Read the inbox an earlier run left, then run the adapter."""
        await self.bot.intake.load()

        async def inputs() -> AppInputs:
            return AppInputs()

        host = Host(
            self.bot.deliver, AdapterState(self.store, self.adapter.name), inputs, ready=self.bot.ready
        )
        self.task = asyncio.create_task(self.adapter.run(host))
        return self

    async def settle(self) -> None:
        self.adapter.end()
        assert self.task is not None, "start() the relay first"
        await self.task
        async with asyncio.timeout(120):
            await self.router.drain()

    async def close(self) -> None:
        await self.space.aclose()


@pytest.fixture
async def relay(apps: dict[str, str]) -> AsyncIterator[Relay]:
    r = await Relay(apps["text"]).start()
    yield r
    await r.close()


def turns(texts: list[str]) -> list[int]:
    return [int(m.group(1)) for t in texts if (m := re.search(r"turn=(\d+)", t))]


async def test_two_conversations_concurrently_kept_apart(relay: Relay) -> None:
    a = relay.adapter
    for i in range(2):
        a.push(f"a{i}", chat="A")
        a.push(f"b{i}", chat="B", user="u2")
    a.push("a2", chat="A")
    await relay.settle()
    assert turns(a.finals("A")) == [1, 2, 3]
    assert turns(a.finals("B")) == [1, 2]
    streamed = next(m for m in a.messages.values() if m.key.chat == "A")
    assert len(streamed.history) >= 2  # placeholder or status, then the final text


async def test_the_adapter_is_given_typed_blocks(current_apps: dict[str, str]) -> None:
    relay = await Relay(current_apps["thought"]).start()
    try:
        relay.adapter.push("hi")
        await relay.settle()
    finally:
        await relay.close()
    (reply,) = relay.adapter.messages.values()
    assert reply.stage == "final" and reply.shown.blocks == (
        Thought("Thinking", "thinking done"),
        Thought("Used tool search", "searched the web", tool=True),
        Prose("final answer: 42"),
    )
    assert reply.text.startswith("> 💭 **Thinking**\n> thinking done\n\n> 🔧 **Used tool search**")


async def test_app_text_that_reads_like_a_thought_is_prose(relay: Relay) -> None:
    relay.adapter.push("see:\n> 💭 **Thinking**\n> not a thought")
    await relay.settle()
    (reply,) = relay.adapter.messages.values()
    assert all(isinstance(b, Prose) for b in reply.shown.blocks), reply.shown
    assert "echo: see:\n> 💭 **Thinking**\n> not a thought" in reply.text


async def test_commands_reset_settings_retry(relay: Relay) -> None:
    a = relay.adapter
    for text in (
        "one",
        "two",
        "/reset",
        "three",
        "/settings temperature=1.5 style=formal",
        "four",
        "/settings temperature=7",
        "/retry",
        "/help",
    ):
        a.push(text)
    await relay.settle()
    finals = a.finals()
    assert turns(finals) == [1, 2, 1, 2, 2]  # reset started over; retry re-asked turn 2
    assert "New conversation" in finals[2]
    assert "temperature = 1.5" in finals[4] and "style = 'formal'" in finals[4]
    assert "temp=1.5 style=formal" in finals[5] and "echo: four" in finals[5]
    assert "above the maximum 2" in finals[6]
    assert finals[7] == finals[5]  # /retry re-asked the last message in place of the old answer
    assert "/settings" in finals[8]


async def test_errors_become_replies_and_conversation_goes_on(relay: Relay) -> None:
    a = relay.adapter
    for text in ("boom", "mid", "hello"):
        a.push(text)
    await relay.settle()
    boom, mid, hello = a.finals()
    assert "The app reported an error: boom-boom" in boom
    assert mid.startswith("partial answer") and "mid-fail" in mid
    assert "turn=1" in hello


async def test_stop_keeps_partial_reply(relay: Relay) -> None:
    a = relay.adapter
    a.push("slow")
    for _ in range(400):
        await asyncio.sleep(0.05)
        if any("w1" in m.text for m in a.messages.values()):
            break
    a.push("/stop")
    a.push("next")
    await relay.settle()
    a.push("/stop")  # nothing runs now
    stopped, nxt = a.finals()
    assert stopped.startswith("w0 w1") and "(stopped)" in stopped and "w29" not in stopped
    assert "turn=2" in nxt


async def test_access_rules_and_limits(apps: dict[str, str]) -> None:
    r = await Relay(apps["text"], max_in_flight=1, per_minute=0).start()
    try:
        a = r.adapter
        a.push("hi", user="mallory")
        a.push("slow", chat="X")
        a.push("second", chat="X")
        await r.settle()
        texts = [m.text for m in a.messages.values()]
        assert "not allowed" in texts[0] or any("not allowed" in t for t in texts)
        assert any("waiting for an answer" in t for t in texts)
    finally:
        await r.close()


async def test_rate_limited_edits_still_deliver_final_once(relay: Relay) -> None:
    a = relay.adapter
    a.fail_next = [RateLimited(0.2), RateLimited(0.2)]
    a.push("hello")
    await relay.settle()
    (final,) = a.finals()
    assert "echo: hello" in final
    assert sum(1 for m in a.messages.values() if "echo: hello" in m.text) == 1


async def test_files_in_and_out(apps: dict[str, str], tmp_path) -> None:  # type: ignore[no-untyped-def]
    from pathlib import Path

    from bridge.model import Attachment

    r = await Relay(apps["mm"]).start()
    try:
        png = Path(__file__).parent / "apps" / "assets" / "green.png"
        r.adapter.push("look", attachments=(Attachment.from_path(png),))
        r.adapter.push("image please")
        await r.settle()
        assert "files=1" in r.adapter.finals()[0]
        ((_, files),) = r.adapter.files
        assert files[0][1].startswith(b"\x89PNG")
    finally:
        await r.close()
