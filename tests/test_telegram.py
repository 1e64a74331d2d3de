"""The Telegram adapter end to end: real python-telegram-bot, the fake Bot API, a real Gradio app.

Chats: private (drafts), groups (edits, triggers), forum topics; formatting; Stop; files. Modes,
restarts and injected failures are in ``test_telegram_modes.py``.
"""

from __future__ import annotations

import asyncio
import re
from typing import Any

import pytest

from tests.apps.text import long_markdown
from tests.fakes.telegram import FakeTelegram, serve_telegram
from tests.fakes.telegram.bridge import FORUM, GROUP, PRIVATE, bridge_on, free_port, running, texts, webhook


@pytest.fixture
def fake() -> FakeTelegram:
    return FakeTelegram(per_chat_per_s=1.0, burst=3)


async def test_private_chat_streams_as_drafts_and_remembers(fake: FakeTelegram, apps: dict[str, str]) -> None:
    async with bridge_on(fake, apps["text"]):
        fake.push_text(PRIVATE, "hello")
        await fake.wait_for(lambda: any("echo: hello" in t for t in texts(fake, PRIVATE)), timeout=30)
        fake.push_text(PRIVATE, "again")
        await fake.wait_for(
            lambda: any("turn=2" in t and "echo: again" in t for t in texts(fake, PRIVATE)), timeout=30
        )
        fake.push_text(PRIVATE, "/reset")
        await fake.wait_for(lambda: any("New conversation" in t for t in texts(fake, PRIVATE)), timeout=30)
        fake.push_text(PRIVATE, "fresh")
        await fake.wait_for(
            lambda: any("turn=1" in t and "echo: fresh" in t for t in texts(fake, PRIVATE)), timeout=30
        )
    assert fake.count_429 == 0, fake.errors
    answer = next(m for m in fake.sent(PRIVATE) if "echo: hello" in (m.text or ""))
    assert not answer.edits and answer.reply_markup is None  # sent once, final, no Stop button
    assert answer.extra.get("reply_to_message", {}).get("text") == "hello"
    drafts = [d for d in fake.drafts if d.chat_id == PRIVATE]
    assert drafts  # status previewed as a draft (the slow reply in the Stop test shows partial text)
    assert len({d.draft_id for d in drafts}) == 3  # one draft per chat turn; /reset answers at once
    assert {c["command"] for c in fake.commands["default/"]} == {
        "start",
        "help",
        "reset",
        "stop",
        "retry",
        "settings",
    }


async def test_drafts_refused_fall_back_to_edits(fake: FakeTelegram, current_apps: dict[str, str]) -> None:
    fake.fail_next("sendMessageDraft", 400, description="Bad Request: TEXTDRAFT_PEER_INVALID", count=50)
    async with bridge_on(fake, current_apps["text"]):
        fake.push_text(PRIVATE, "hello")
        await fake.wait_for(lambda: any("echo: hello" in t for t in texts(fake, PRIVATE)), timeout=30)
        fake.push_text(PRIVATE, "more")
        await fake.wait_for(lambda: any("echo: more" in t for t in texts(fake, PRIVATE)), timeout=30)
    assert len(fake.calls_to("sendMessageDraft")) == 1  # refused once, never asked again in that chat
    assert [t for t in texts(fake, PRIVATE) if "echo:" in t] == [
        "turn=1 n=0 temp=0.7 style=plain shout=False echo: hello",
        "turn=2 n=2 temp=0.7 style=plain shout=False echo: more",
    ]


async def test_group_streams_by_edits_on_mention_or_reply(
    fake: FakeTelegram, current_apps: dict[str, str]
) -> None:
    async with bridge_on(fake, current_apps["text"]):
        fake.push_text(GROUP, "just chatting")
        fake.push_text(GROUP, "@fake_bot hi there")
        await fake.wait_for(lambda: any("echo: hi there" in t for t in texts(fake, GROUP)), timeout=30)
        answer = next(m for m in fake.sent(GROUP) if "echo: hi there" in (m.text or ""))
        fake.push_text(GROUP, "and a follow-up", reply_to_message_id=answer.message_id)
        await fake.wait_for(lambda: any("echo: and a follow-up" in t for t in texts(fake, GROUP)), timeout=30)
        fake.push_text(GROUP, "/help@other_bot")
        await asyncio.sleep(1)
    assert not any("just chatting" in t or "Commands" in t for t in texts(fake, GROUP))
    assert answer.edits and answer.reply_markup is None  # a placeholder edited into the answer
    assert any(e.get("reply_markup") for e in answer.edits)  # Stop button while streaming
    assert not fake.calls_to("sendMessageDraft")  # drafts are for private chats only
    assert fake.count_429 == 0, fake.errors


async def test_topics_and_users_are_separate_conversations(
    fake: FakeTelegram, current_apps: dict[str, str]
) -> None:
    async with bridge_on(fake, current_apps["text"]):
        fake.push_text(FORUM, "@fake_bot one", thread_id=11)
        await fake.wait_for(lambda: any("echo: one" in t for t in texts(fake, FORUM)), timeout=30)
        fake.push_text(FORUM, "@fake_bot two", thread_id=22)
        await fake.wait_for(lambda: any("echo: two" in t for t in texts(fake, FORUM)), timeout=30)
        fake.push_text(FORUM, "@fake_bot three", thread_id=11)
        await fake.wait_for(lambda: any("echo: three" in t for t in texts(fake, FORUM)), timeout=30)
    by_text = {m.text: m for m in fake.sent(FORUM) if m.text and "echo:" in m.text}
    one, two, three = (next(m for t, m in by_text.items() if t.endswith(w)) for w in ("one", "two", "three"))
    assert "turn=1" in (one.text or "") and "turn=1" in (two.text or "") and "turn=2" in (three.text or "")
    assert one.extra["message_thread_id"] == 11 and two.extra["message_thread_id"] == 22


async def test_user_scope_in_groups(fake: FakeTelegram, current_apps: dict[str, str]) -> None:
    async with bridge_on(fake, current_apps["text"], scope="user", trigger="all"):
        fake.push_text(GROUP, "from alice", user=7)
        await fake.wait_for(lambda: any("echo: from alice" in t for t in texts(fake, GROUP)), timeout=30)
        fake.push_text(GROUP, "from bob", user=8)
        await fake.wait_for(lambda: any("echo: from bob" in t for t in texts(fake, GROUP)), timeout=30)
    assert all("turn=1" in t for t in texts(fake, GROUP) if "echo:" in t)


async def test_long_reply_splits_cleanly(fake: FakeTelegram, current_apps: dict[str, str]) -> None:
    doc = long_markdown()
    sections = len(re.findall(r"def section_\d+", doc))
    async with bridge_on(fake, current_apps["text"]):
        fake.push_text(GROUP, "@fake_bot long please")
        await fake.wait_for(lambda: any("The end." in t for t in texts(fake, GROUP)), timeout=60)
        await asyncio.sleep(1.5)  # any late edit would show now
    parts = [m for m in fake.sent(GROUP) if m.text]
    whole = "\n".join(m.text or "" for m in parts)
    assert len(doc) > 10_000 and len(parts) >= 3
    for i in range(1, sections + 1):
        assert whole.count(f"def section_{i}(values") == 1, i
        assert whole.count(f"Paragraph {i}: the bridge relays every token") == 1, i
    assert not any((m.text or "").endswith(" …") for m in parts), "no message is cut short"
    for m in parts:  # every code line sits inside a pre entity of its own message: fences never broke
        utf16 = (m.text or "").encode("utf-16-le")
        pre = [(e["offset"], e["offset"] + e["length"]) for e in m.entities if e["type"] == "pre"]
        for hit in re.finditer(r"def section_\d+", m.text or ""):
            at = len((m.text or "")[: hit.start()].encode("utf-16-le")) // 2
            assert any(a <= at < b for a, b in pre), (m.message_id, hit.group())
        assert len(utf16) // 2 <= 4096
    assert "```" not in whole and "**" not in whole
    assert fake.errors == [] and fake.count_429 == 0


@pytest.mark.parametrize(
    "text",
    [
        "*unbalanced _under `tick",
        "<b>not html</b> & <i",
        "emoji 👩‍👩‍👧‍👦 and flags 🇺🇦 **bold 🎉**",
        "RTL שלום עולם **מודגש** مرحبا",
        "[broken link(http://x) ``` half fence",
        "\\*escaped\\* ~~strike~~ ||spoiler|| > quote",
    ],
)
async def test_adversarial_markdown_is_never_rejected(
    fake: FakeTelegram, current_apps: dict[str, str], text: str
) -> None:
    async with bridge_on(fake, current_apps["text"]):
        fake.push_text(GROUP, f"@fake_bot {text}")
        await fake.wait_for(
            lambda: any("echo:" in t and "❌" not in t for t in texts(fake, GROUP)), timeout=30
        )
        await asyncio.sleep(0.5)
    assert fake.errors == []


async def test_stop_button_and_stop_command(fake: FakeTelegram, current_apps: dict[str, str]) -> None:
    async with bridge_on(fake, current_apps["text"]):
        fake.push_text(GROUP, "@fake_bot slow")
        streaming = await fake.wait_for(
            lambda: next((m for m in fake.sent(GROUP) if m.reply_markup and "w3" in (m.text or "")), None),
            timeout=30,
        )
        button = streaming.reply_markup["inline_keyboard"][0][0]
        assert "Stop" in button["text"]
        fake.push_callback(GROUP, streaming.message_id, button["callback_data"])
        await fake.wait_for(lambda: "(stopped)" in (streaming.text or ""), timeout=30)
        assert streaming.reply_markup is None and "w29" not in (streaming.text or "")
        assert fake.callback_answers  # the button press was answered

        fake.push_text(PRIVATE, "slow")
        await fake.wait_for(lambda: any("w3" in d.text for d in fake.drafts), timeout=30)
        fake.push_text(PRIVATE, "/stop")
        await fake.wait_for(lambda: any("(stopped)" in t for t in texts(fake, PRIVATE)), timeout=30)
    assert not any("w29" in t for t in texts(fake, PRIVATE))


async def test_files_in_and_out(fake: FakeTelegram, current_apps: dict[str, str]) -> None:
    async with bridge_on(fake, current_apps["mm"]):
        fake.push_document(PRIVATE, "notes.txt", b"hello file", "text/plain", caption="read this")
        await fake.wait_for(
            lambda: any("files=1 names=notes.txt sizes=10" in t for t in texts(fake, PRIVATE)), timeout=30
        )
        fake.push_photo(PRIVATE, b"\xff\xd8\xff" + b"0" * 100, caption="a photo")
        await fake.wait_for(lambda: any("names=photo.jpg" in t for t in texts(fake, PRIVATE)), timeout=30)
        fake.push_text(PRIVATE, "image please")
        photo = await fake.wait_for(
            lambda: next((m for m in fake.sent(PRIVATE) if "photo" in m.media), None), timeout=30
        )
        fake.push_text(PRIVATE, "filedict please")
        doc = await fake.wait_for(
            lambda: next((m for m in fake.sent(PRIVATE) if "document" in m.media), None), timeout=30
        )
        fake.push_document(PRIVATE, "big.bin", b"0" * (20 * 1024 * 1024 + 1), "application/octet-stream")
        await fake.wait_for(
            lambda: any("big.bin" in t and "larger than the limit" in t for t in texts(fake, PRIVATE)), 30
        )
    assert doc.media["document"]["file_name"] == "notes.txt"
    assert photo.media["photo"]
    assert len(fake.calls_to("getFile")) == 2  # the oversize file was never fetched


@pytest.mark.parametrize("mode", ["polling", "webhook"])
async def test_a_slow_download_holds_up_no_other_chat(current_apps: dict[str, str], mode: str) -> None:
    # Chat A's 19 MB document trickles in; chat B's message is answered meanwhile (house rule 8).
    fake = FakeTelegram(download_rate=256 * 1024)  # about 76 s for the whole file
    port = free_port()
    modal: dict[str, Any] = (
        {"bridge": {"http": f"127.0.0.1:{port}"}, **webhook(port)} if mode == "webhook" else {}
    )
    other, size = PRIVATE + 1, 19 * 1024 * 1024
    async with serve_telegram(fake) as url, running(fake, url, current_apps["mm"], **modal):
        fake.push_document(PRIVATE, "big.pdf", b"%" * size, "application/pdf", caption="read this")
        await fake.wait_for(lambda: fake.downloading == 1, timeout=30)
        fake.push_text(other, "meanwhile")
        await fake.wait_for(lambda: any("text=meanwhile" in t for t in texts(fake, other)), timeout=30)
        assert fake.downloading == 1 and not fake.downloaded  # A's file is still on its way
        assert not any("names=big.pdf" in t for t in texts(fake, PRIVATE))
        fake.download_rate = None  # the rest comes at once: A is answered too
        await fake.wait_for(
            lambda: any(f"names=big.pdf sizes={size}" in t for t in texts(fake, PRIVATE)), timeout=60
        )
    assert fake.errors == []


async def test_many_slow_downloads_hold_up_no_other_chat(current_apps: dict[str, str]) -> None:
    # More files on their way at once than the adapter makes Bot API calls at once: still answered.
    fake = FakeTelegram(download_rate=2048)  # 32 s for each 64 KiB file
    senders = [PRIVATE + 10 + n for n in range(30)]
    async with bridge_on(fake, current_apps["mm"]):
        for chat in senders:
            fake.push_document(chat, f"f{chat}.txt", b"x" * 65536, "text/plain")
        await fake.wait_for(lambda: fake.downloading == len(senders), timeout=60)
        fake.push_text(PRIVATE, "meanwhile")
        await fake.wait_for(lambda: any("text=meanwhile" in t for t in texts(fake, PRIVATE)), timeout=30)
        assert fake.downloading == len(senders) and not fake.downloaded
        fake.download_rate = None
        await fake.wait_for(
            lambda: all(any(f"names=f{c}.txt" in t for t in texts(fake, c)) for c in senders), timeout=120
        )
    assert fake.errors == []


async def test_text_only_app_explains_attachments(fake: FakeTelegram, current_apps: dict[str, str]) -> None:
    async with bridge_on(fake, current_apps["text"]):
        fake.push_document(PRIVATE, "notes.txt", b"hello", "text/plain", caption="read")
        await fake.wait_for(lambda: any("text only" in t for t in texts(fake, PRIVATE)), timeout=30)
        fake.push_text(PRIVATE, "still there?")
        await fake.wait_for(lambda: any("echo: still there?" in t for t in texts(fake, PRIVATE)), timeout=30)


async def test_refusals_reply_in_private_and_can_be_silent_in_groups(
    fake: FakeTelegram, current_apps: dict[str, str]
) -> None:
    async with bridge_on(fake, current_apps["text"], allow_users=["99"], refuse_in_groups=False):
        fake.push_text(PRIVATE, "let me in")
        await fake.wait_for(lambda: any("not allowed" in t for t in texts(fake, PRIVATE)), timeout=30)
        fake.push_text(GROUP, "@fake_bot let me in")
        await asyncio.sleep(1.5)
    assert texts(fake, GROUP) == []
