"""The Discord adapter end to end: real discord.py, the fake Discord, a real Gradio app.

Slash commands and threads, mentions and DMs, generated options, pings, long replies, Stop,
files. Failures, reconnects and command sync are in ``test_discord_modes.py``.
"""

from __future__ import annotations

import asyncio
import re

import pytest

from tests.apps.text import long_markdown
from tests.fakes.discord import FakeDiscord
from tests.fakes.discord.bridge import bot_texts, bridge_on

MP = pytest.MonkeyPatch


@pytest.fixture
def fake() -> FakeDiscord:
    return FakeDiscord()


def reply_in(fake: FakeDiscord, channel: str, needle: str) -> str | None:
    return next((t for t in bot_texts(fake, channel) if needle in t), None)


async def test_slash_command_streams_into_a_thread_that_keeps_the_session(
    fake: FakeDiscord, apps: dict[str, str], monkeypatch: MP
) -> None:
    async with bridge_on(fake, apps["text"], monkeypatch):
        await fake.push_interaction("chat", {"message": "hello there"})
        thread = await fake.wait_for(lambda: next(iter(fake.threads), None), timeout=30)
        await fake.wait_for(lambda: reply_in(fake, thread, "echo: hello there"), timeout=30)
        await fake.push_message(thread, content="and more")  # no mention needed in the bot's thread
        await fake.wait_for(lambda: reply_in(fake, thread, "turn=2"), timeout=30)
        await fake.push_interaction("chat", {"message": "second topic"})
        await fake.wait_for(lambda: len(fake.threads) == 2, timeout=30)
        other = next(t for t in fake.threads if t != thread)
        await fake.wait_for(lambda: reply_in(fake, other, "echo: second topic"), timeout=30)
    assert "turn=1" in (reply_in(fake, other, "echo:") or "")
    assert fake.threads[thread]["name"] == "hello there"
    assert not fake.would_ping() and fake.count_429 == 0, fake.errors


async def test_mentions_in_channels_and_dms_start_conversations(
    fake: FakeDiscord, current_apps: dict[str, str], monkeypatch: MP
) -> None:
    async with bridge_on(fake, current_apps["text"], monkeypatch):
        await fake.push_message(fake.channel_id, content="nobody asked me")
        await fake.push_message(fake.channel_id, content="hi bot", mentions_bot=True)
        await fake.wait_for(lambda: reply_in(fake, fake.channel_id, "echo: hi bot"), timeout=30)
        dm = fake.dm_channel(fake.user_id)
        await fake.push_message(dm, content="in private", guild=False)
        await fake.wait_for(lambda: reply_in(fake, dm, "echo: in private"), timeout=30)
        await fake.push_message(dm, content="again", guild=False)
        await fake.wait_for(lambda: reply_in(fake, dm, "turn=2"), timeout=30)
        await asyncio.sleep(0.5)
    assert not any("nobody asked me" in t for t in bot_texts(fake, fake.channel_id))
    answer = next(m for m in fake.channel_messages(fake.channel_id) if "echo: hi bot" in m.content)
    assert answer.message_reference is not None  # replies to the user's message
    assert answer.edits  # streamed by edits
    assert fake.typing_calls  # "typing…" while it was written


async def test_generated_options_reach_the_app_and_settings_persist(
    fake: FakeDiscord, current_apps: dict[str, str], monkeypatch: MP
) -> None:
    async with bridge_on(fake, current_apps["text"], monkeypatch, threads=False):
        chat = fake.find_command("chat", None)
        assert chat is not None
        names = {o["name"] for o in chat["options"]}
        assert {"message", "temperature", "style", "shout", "max_words"} <= names
        style = next(o for o in chat["options"] if o["name"] == "style")
        assert [c["value"] for c in style["choices"]] == ["plain", "formal", "pirate"]
        await fake.push_interaction("chat", {"message": "opts", "temperature": 1.2, "style": "pirate"})
        await fake.wait_for(lambda: reply_in(fake, fake.channel_id, "echo: opts"), timeout=30)
        await fake.push_interaction("settings", {"shout": True})
        await fake.wait_for(lambda: reply_in(fake, fake.channel_id, "shout = True"), timeout=30)
        await fake.push_interaction("chat", {"message": "later"})
        await fake.wait_for(lambda: reply_in(fake, fake.channel_id, "ECHO: LATER"), timeout=30)
        await fake.push_interaction("chat", {"message": "bad", "temperature": 1.25})
        await fake.wait_for(lambda: reply_in(fake, fake.channel_id, "step"), timeout=30)
    first = reply_in(fake, fake.channel_id, "echo: opts") or ""
    assert "temp=1.2" in first and "style=pirate" in first  # this turn only:
    assert "TEMP=0.7" in (reply_in(fake, fake.channel_id, "ECHO: LATER") or "")


async def test_everyone_in_app_output_pings_nobody(
    fake: FakeDiscord, current_apps: dict[str, str], monkeypatch: MP
) -> None:
    async with bridge_on(fake, current_apps["text"], monkeypatch):
        await fake.push_message(fake.channel_id, content="mention please", mentions_bot=True)
        await fake.wait_for(lambda: reply_in(fake, fake.channel_id, "@everyone"), timeout=30)
        await fake.push_interaction("chat", {"message": "mention please"})
        thread = await fake.wait_for(lambda: next(iter(fake.threads), None), timeout=30)
        await fake.wait_for(lambda: reply_in(fake, thread, "@everyone"), timeout=30)
    writes = [w for m in fake.sent() for w in m.writes]
    assert writes and all(w.allowed_mentions is not None for w in writes)  # every send and every edit
    assert fake.pinging_writes() == []


async def test_long_reply_splits_with_fences_closed_and_reopened(
    fake: FakeDiscord, current_apps: dict[str, str], monkeypatch: MP
) -> None:
    doc = long_markdown()
    sections = len(re.findall(r"def section_\d+", doc))
    async with bridge_on(fake, current_apps["text"], monkeypatch, threads=False):
        await fake.push_message(fake.channel_id, content="long please", mentions_bot=True)
        await fake.wait_for(lambda: reply_in(fake, fake.channel_id, "The end."), timeout=90)
        await asyncio.sleep(2)
    parts = bot_texts(fake, fake.channel_id)
    assert len(doc) > 10_000 and len(parts) >= 6
    whole = "\n".join(parts)
    for i in range(1, sections + 1):
        assert whole.count(f"def section_{i}(values") == 1, i
        assert whole.count(f"Paragraph {i}: the bridge relays every token") == 1, i
    for text in parts:
        assert 0 < len(text) <= 2000 and text.strip()
        assert text.count("```") % 2 == 0, text[-200:]  # every piece closes the fences it opens
    assert fake.errors == [] or all(e.status == 429 for e in fake.errors)


async def test_stop_button_and_reset(
    fake: FakeDiscord, current_apps: dict[str, str], monkeypatch: MP
) -> None:
    async with bridge_on(fake, current_apps["text"], monkeypatch):
        await fake.push_interaction("chat", {"message": "slow"})
        thread = await fake.wait_for(lambda: next(iter(fake.threads), None), timeout=30)
        streaming = await fake.wait_for(
            lambda: next(
                (m for m in fake.channel_messages(thread) if m.components and "w3" in m.content), None
            ),
            timeout=30,
        )
        button = streaming.components[0]["components"][0]
        await fake.push_component(button["custom_id"], streaming.id, channel_id=thread)
        await fake.wait_for(lambda: "(stopped)" in streaming.content, timeout=30)
        assert streaming.components == [] and "w29" not in streaming.content
        await fake.push_message(thread, content="after stop")
        await fake.wait_for(lambda: reply_in(fake, thread, "echo: after stop"), timeout=30)
        await fake.push_interaction("reset", {}, channel_id=thread)
        await fake.wait_for(lambda: any("New conversation" in t for t in _all_texts(fake)), timeout=30)
        await fake.push_message(thread, content="fresh start")
        await fake.wait_for(lambda: reply_in(fake, thread, "echo: fresh start"), timeout=30)
    assert "turn=1" in (reply_in(fake, thread, "echo: fresh start") or "")


async def test_files_in_and_out(fake: FakeDiscord, current_apps: dict[str, str], monkeypatch: MP) -> None:
    async with bridge_on(fake, current_apps["mm"], monkeypatch, threads=False):
        await fake.push_message(
            fake.channel_id,
            content="read this",
            mentions_bot=True,
            attachments=[("notes.txt", b"hello file", "text/plain")],
        )
        await fake.wait_for(lambda: reply_in(fake, fake.channel_id, "names=notes.txt sizes=10"), timeout=30)
        await fake.push_interaction(
            "chat", {"message": "with option", "file": ("pic.png", b"\x89PNG" + b"0" * 50, "image/png")}
        )
        await fake.wait_for(lambda: reply_in(fake, fake.channel_id, "names=pic.png"), timeout=30)
        await fake.push_message(fake.channel_id, content="image please", mentions_bot=True)
        await fake.wait_for(lambda: any(f.filename.endswith(".png") for f in fake.files), timeout=30)
        await fake.push_message(
            fake.channel_id,
            content="big",
            mentions_bot=True,
            attachments=[("big.bin", b"0" * (20 * 1024 * 1024 + 1), "application/octet-stream")],
        )
        await fake.wait_for(lambda: reply_in(fake, fake.channel_id, "larger than the limit"), timeout=30)


def _all_texts(fake: FakeDiscord) -> list[str]:
    return [m.content for m in fake.sent()]


async def test_files_over_the_reported_upload_limit_get_a_note(
    current_apps: dict[str, str], monkeypatch: MP
) -> None:
    fake = FakeDiscord(upload_limit=64)  # interactions report it as attachment_size_limit
    async with bridge_on(fake, current_apps["mm"], monkeypatch, threads=False):
        await fake.push_interaction("chat", {"message": "image please"})
        await fake.wait_for(
            lambda: any("Too large to upload here" in t for t in _all_texts(fake)), timeout=30
        )
    assert fake.files == [] and not [e for e in fake.errors if e.status == 413]


async def test_thoughts_can_hide_behind_spoilers(
    fake: FakeDiscord, current_apps: dict[str, str], monkeypatch: MP
) -> None:
    async with bridge_on(fake, current_apps["thought"], monkeypatch, threads=False, thoughts="spoiler"):
        await fake.push_message(fake.channel_id, content="think", mentions_bot=True)
        text = await fake.wait_for(lambda: reply_in(fake, fake.channel_id, "final answer: 42"), timeout=30)
    assert "💭 **Thinking**" in text and "||thinking done||" in text
    assert text.rstrip().endswith("final answer: 42")  # the answer itself stays readable


async def test_without_permission_to_open_threads_the_reply_stays_in_the_channel(
    fake: FakeDiscord, current_apps: dict[str, str], monkeypatch: MP
) -> None:
    async with bridge_on(fake, current_apps["text"], monkeypatch):
        fake.fail_next("start_thread_from_message", 403, code=50013, message="Missing Permissions")
        await fake.push_interaction("chat", {"message": "no threads here"})
        await fake.wait_for(lambda: reply_in(fake, fake.channel_id, "echo: no threads here"), timeout=30)
    answer = next(m for m in fake.channel_messages(fake.channel_id) if "echo: no threads" in m.content)
    assert not fake.threads and answer.message_reference is not None  # replies to the prompt's echo
