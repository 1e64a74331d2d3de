"""The relay's promise in process: each message answered exactly once, through faults of the app and
the platform, and across a restart of the bridge (a recording adapter, real Gradio apps, real stores)."""

from __future__ import annotations

import asyncio
import re
from pathlib import Path

from bridge.errors import MessageGone, PlatformError, RateLimited
from bridge.retrying import RetryPolicy
from bridge.sessions import SqliteStore
from bridge.turn import TurnSettings
from tests.test_relay import Relay


async def wait_for_text(relay: Relay, pattern: str, timeout: float = 60.0) -> None:
    async with asyncio.timeout(timeout):
        while not any(re.search(pattern, m.text) for m in relay.adapter.messages.values()):
            await asyncio.sleep(0.02)


def answers_to(relay: Relay, text: str) -> list[str]:
    """The final texts of bot messages that answer ``text`` (the test app echoes the message)."""
    return [m.text for m in relay.adapter.messages.values() if f"echo: {text}" in m.text]


async def test_a_redelivered_message_is_answered_once(current_apps: dict[str, str]) -> None:
    relay = await Relay(current_apps["text"]).start()
    try:
        relay.adapter.push("hello", id="update-7")
        relay.adapter.push("hello", id="update-7")  # the platform delivered it again
        relay.adapter.push("again", id="update-8")
        await relay.settle()
        assert len(answers_to(relay, "hello")) == 1
        assert "turn=2" in answers_to(relay, "again")[0]
    finally:
        await relay.close()


async def test_an_app_that_goes_quiet_ends_the_reply_with_a_note(current_apps: dict[str, str]) -> None:
    # `slow` streams a word every 0.3 s: an idle limit of 0.1 s is crossed after the first word.
    relay = await Relay(current_apps["text"], TurnSettings(idle_timeout_s=0.1)).start()
    try:
        relay.adapter.push("slow")
        relay.adapter.push("next")
        await relay.settle()
        quiet, nxt = relay.adapter.finals()
        assert quiet.startswith("w0") and "stopped responding" in quiet and "w29" not in quiet
        assert "turn=2" in nxt, "the conversation goes on, the cut reply in its history"
    finally:
        await relay.close()


async def test_a_turn_past_its_deadline_ends_with_a_note(current_apps: dict[str, str]) -> None:
    relay = await Relay(current_apps["text"], TurnSettings(turn_timeout_s=1.0)).start()
    try:
        relay.adapter.push("slow")
        await relay.settle()
        (final,) = relay.adapter.finals()
        assert "took too long" in final and "w29" not in final
    finally:
        await relay.close()


async def test_platform_failures_and_rate_limits_never_reach_the_reply(current_apps: dict[str, str]) -> None:
    settings = TurnSettings(delivery=RetryPolicy(deadline_s=60, base_s=0.05, cap_s=0.2))
    relay = await Relay(current_apps["text"], settings).start()
    try:
        transient = [PlatformError("502 Bad Gateway"), RateLimited(0.1), PlatformError("connection reset")]
        relay.adapter.fail_next = transient * 4
        relay.adapter.push("hello")
        await relay.settle()
        (final,) = relay.adapter.finals()
        assert "echo: hello" in final and "refused" not in final
        assert len(answers_to(relay, "hello")) == 1
    finally:
        await relay.close()


async def test_a_deleted_placeholder_is_posted_anew(current_apps: dict[str, str]) -> None:
    relay = await Relay(current_apps["text"]).start()
    try:
        relay.adapter.push("slow")
        await wait_for_text(relay, r"w1")
        relay.adapter.fail_next = [MessageGone()]
        await relay.settle()
        finals = relay.adapter.finals()
        assert len(finals) == 1 and finals[0].startswith("w0 w1") and "w29" in finals[0]
    finally:
        await relay.close()


async def test_a_permanent_refusal_gives_one_short_note(current_apps: dict[str, str]) -> None:
    relay = await Relay(current_apps["text"]).start()
    try:
        relay.adapter.push("slow")
        await wait_for_text(relay, r"w1")
        relay.adapter.frozen = set(relay.adapter.messages)
        await relay.settle()
        texts = [m.text for m in relay.adapter.messages.values()]
        notes = [t for t in texts if "interrupted: the platform refused" in t]
        assert len(texts) == 2 and len(notes) == 1 and "can't be edited" in notes[0]
    finally:
        await relay.close()


async def test_a_restart_mid_reply_answers_in_the_same_message(
    current_apps: dict[str, str], tmp_path: Path
) -> None:
    store = SqliteStore(tmp_path / "state.db")
    first = await Relay(current_apps["text"], store=store).start()
    first.adapter.push("one")
    await wait_for_text(first, r"echo: one$")
    first.adapter.push("slow")
    first.adapter.push("queued behind")
    await wait_for_text(first, r"w2")
    assert first.task is not None
    first.task.cancel()  # the bridge stops: its workers are cancelled mid-reply
    await first.router.cancel()
    await first.close()
    cut = [m for m in first.adapter.messages.values() if m.text.startswith("w0")]
    assert len(cut) == 1 and "interrupted" in cut[0].text
    store2 = SqliteStore(tmp_path / "state.db")
    second = await Relay(current_apps["text"], store=store2, messages=first.adapter.messages).start()
    try:
        await second.settle()
        slow = [m for m in second.adapter.messages.values() if m.text.startswith("w0")]
        assert len(slow) == 1 and "w29" in slow[0].text and "interrupted" not in slow[0].text
        assert "turn=3" in answers_to(second, "queued behind")[0]
        assert len(answers_to(second, "queued behind")) == 1
        assert await store2.inbox.pending() == []
    finally:
        await second.close()
        await store.close()
        await store2.close()


async def test_a_bug_while_answering_still_gets_a_note(current_apps: dict[str, str]) -> None:
    """An exception no turn expects (a bug) ends in a note to the user, never silence; the next
    message is answered normally."""
    relay = await Relay(current_apps["text"]).start()
    runner = relay.bot.runner
    chat = runner.chat

    async def buggy(msg, journal, text=None):  # type: ignore[no-untyped-def]
        if msg.text == "boom":
            raise RuntimeError("a bug")
        await chat(msg, journal, text)

    runner.chat = buggy  # type: ignore[method-assign]
    try:
        relay.adapter.push("boom", id="u1")
        relay.adapter.push("fine", id="u2")
        await relay.settle()
        texts = [m.text for m in relay.adapter.messages.values()]
        assert sum("Something went wrong in the bridge" in t for t in texts) == 1, texts
        assert len(answers_to(relay, "fine")) == 1
    finally:
        await relay.close()
