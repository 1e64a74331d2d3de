"""Quick replies on Telegram: ``TelegramAdapter.offer`` and the presses that come back.

End to end: real python-telegram-bot, the fake Bot API, a real Gradio app behind ``bridge serve``.
The test calls ``offer`` on the running adapter (the core's call sites are not needed for that) and
presses the buttons as a user would.
"""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import pytest

from adapters.telegram.adapter import TelegramAdapter
from adapters.telegram.choices import BUTTONS_MAX, LABEL_MAX, keyboard
from bridge import Choice, Host, MessageGone, MessageRef
from tests.fakes.telegram import FakeTelegram, StoredMessage, serve_telegram
from tests.fakes.telegram.bridge import (
    GROUP,
    PRIVATE,
    WEBHOOK_SECRET,
    bridge_on,
    free_port,
    running,
    texts,
    webhook,
)
from tests.faults.harness import stopping
from tests.faults.test_store import redis_on

LONG = "Erzähl mir mehr über die zweite Möglichkeit, mit allen Einzelheiten, bitte!"  # > 64 bytes
CHOICES = (Choice("yes please", "Yes"), Choice("no", "No"), Choice(LONG, LONG))


@pytest.fixture
def fake() -> FakeTelegram:
    return FakeTelegram(per_chat_per_s=1.0, burst=3)


@pytest.fixture
def adapters(monkeypatch: pytest.MonkeyPatch) -> list[TelegramAdapter]:
    """The Telegram adapters ``bridge serve`` runs, newest last."""
    seen: list[TelegramAdapter] = []
    run = TelegramAdapter.run

    async def recording(self: TelegramAdapter, host: Host) -> None:
        seen.append(self)
        await run(self, host)

    monkeypatch.setattr(TelegramAdapter, "run", recording)
    return seen


async def answer(fake: FakeTelegram, chat: int, needle: str) -> StoredMessage:
    """The bot's message in ``chat`` whose text contains ``needle`` (waiting for it)."""
    found: StoredMessage = await fake.wait_for(
        lambda: next((m for m in fake.sent(chat) if needle in (m.text or "") and not m.deleted), None),
        timeout=30,
    )
    return found


async def offer(adapter: TelegramAdapter, msg: StoredMessage, choices: Sequence[Choice] = CHOICES) -> None:
    await adapter.offer(MessageRef(chat=str(msg.chat_id), id=str(msg.message_id)), choices)


def buttons(msg: StoredMessage) -> list[list[tuple[str, str]]]:
    rows = (msg.reply_markup or {}).get("inline_keyboard", [])
    return [[(b["text"], b["callback_data"]) for b in row] for row in rows]


def reply_target(msg: StoredMessage) -> Any:
    return msg.extra.get("reply_to_message", {}).get("message_id")


def test_keyboard_carries_short_values_and_indexes_long_ones() -> None:
    fits = "x" * (64 - len("bridge:c:"))  # exactly 64 bytes of callback_data
    markup, stored = keyboard(
        [
            Choice(fits, "A"),
            Choice("é" * 28, "B"),  # 28 characters, 56 bytes: over 64 with the prefix
            Choice("  ", "blank value"),
            Choice("v", "  "),
            Choice("w", "word " * 20),
        ]
    )
    rows = [[(b.text, b.callback_data) for b in row] for row in markup.inline_keyboard]
    assert rows[0] == [("A", "bridge:c:" + fits), ("B", "bridge:ci:1"), ("v", "bridge:c:v")]
    assert stored == {"1": "é" * 28}  # only the value that does not fit is stored
    (label, data), *_ = rows[1]
    assert len(rows[1]) == 1 and data == "bridge:c:w"  # a long label alone on its row
    assert len(label) == LABEL_MAX and label.endswith("…")
    many, _ = keyboard([Choice(str(i), str(i)) for i in range(150)])
    assert sum(len(r) for r in many.inline_keyboard) == BUTTONS_MAX
    assert all(len(r) <= 3 for r in many.inline_keyboard)


async def test_a_pressed_choice_is_the_next_message(
    fake: FakeTelegram, current_apps: dict[str, str], adapters: list[TelegramAdapter]
) -> None:
    async with bridge_on(fake, current_apps["text"]):
        fake.push_text(PRIVATE, "hello")
        first = await answer(fake, PRIVATE, "echo: hello")
        await offer(adapters[-1], first)
        shown = buttons(first)
        assert shown[0] == [("Yes", "bridge:c:yes please"), ("No", "bridge:c:no")]
        assert shown[1][0][1] == "bridge:ci:2" and shown[1][0][0].endswith("…")
        press = fake.push_callback(PRIVATE, first.message_id, "bridge:c:yes please")
        second = await answer(fake, PRIVATE, "echo: yes please")
        await fake.wait_for(lambda: first.reply_markup is None)  # pressed: the keyboard is gone
    assert "turn=2" in (second.text or "")  # the same conversation, one turn later
    assert reply_target(second) == first.message_id
    assert press["callback_query"]["id"] in fake.callback_answers
    assert fake.errors == []


async def test_a_long_value_survives_a_restart(
    fake: FakeTelegram, current_apps: dict[str, str], adapters: list[TelegramAdapter], tmp_path: Path
) -> None:
    state = {"state": f"sqlite:///{tmp_path / 'state.db'}"}
    async with serve_telegram(fake) as url:
        async with running(fake, url, current_apps["text"], bridge=state):
            fake.push_text(PRIVATE, "hello")
            first = await answer(fake, PRIVATE, "echo: hello")
            await offer(adapters[-1], first)
        async with running(fake, url, current_apps["text"], bridge=state):
            fake.push_callback(PRIVATE, first.message_id, "bridge:ci:2")
            await answer(fake, PRIVATE, f"echo: {LONG}")
            await fake.wait_for(lambda: first.reply_markup is None)
    assert len(adapters) == 2  # a new adapter, with nothing of the first in memory


async def test_a_press_delivered_twice_is_answered_once(
    fake: FakeTelegram, current_apps: dict[str, str], adapters: list[TelegramAdapter]
) -> None:
    port = free_port()
    async with (
        serve_telegram(fake) as url,
        running(fake, url, current_apps["text"], bridge={"http": f"127.0.0.1:{port}"}, **webhook(port)),
    ):
        fake.push_text(PRIVATE, "hello")
        first = await answer(fake, PRIVATE, "echo: hello")
        await offer(adapters[-1], first)
        press = fake.push_callback(PRIVATE, first.message_id, "bridge:c:no")
        await answer(fake, PRIVATE, "echo: no")
        await fake.wait_for(lambda: first.reply_markup is None)
        assert await fake.post_webhook(press, secret_token=WEBHOOK_SECRET) == 200  # Telegram again
        await asyncio.sleep(1.5)  # a second answer would be here by now
        fake.push_text(PRIVATE, "still there?")
        await answer(fake, PRIVATE, "echo: still there?")
    assert sum("echo: no" in t for t in texts(fake, PRIVATE)) == 1


async def test_user_scope_puts_a_press_in_the_pressers_conversation(
    fake: FakeTelegram, current_apps: dict[str, str], adapters: list[TelegramAdapter]
) -> None:
    async with bridge_on(fake, current_apps["text"], scope="user", trigger="all"):
        fake.push_text(GROUP, "one", user=7)
        await answer(fake, GROUP, "echo: one")
        fake.push_text(GROUP, "two", user=7)
        alices = await answer(fake, GROUP, "echo: two")
        await offer(adapters[-1], alices)
        fake.push_callback(GROUP, alices.message_id, "bridge:c:yes please", user=8)
        bobs = await answer(fake, GROUP, "echo: yes please")
        fake.push_text(GROUP, "three", user=7)
        third = await answer(fake, GROUP, "echo: three")
    assert "turn=2" in (alices.text or "")
    assert "turn=1" in (bobs.text or "")  # Bob's own conversation, not Alice's
    assert "turn=3" in (third.text or "")  # Alice's went on undisturbed
    assert reply_target(bobs) == alices.message_id


async def test_a_refused_presser_leaves_the_choices(
    fake: FakeTelegram, current_apps: dict[str, str], adapters: list[TelegramAdapter]
) -> None:
    async with bridge_on(fake, current_apps["text"], trigger="all", allow_users=["7"]):
        fake.push_text(GROUP, "hi", user=7)
        first = await answer(fake, GROUP, "echo: hi")
        await offer(adapters[-1], first)
        fake.push_callback(GROUP, first.message_id, "bridge:c:no", user=8)
        await answer(fake, GROUP, "not allowed")
        await asyncio.sleep(0.5)
        assert first.reply_markup is not None  # still there for the people the bot serves
        fake.push_callback(GROUP, first.message_id, "bridge:c:no", user=7)
        await answer(fake, GROUP, "echo: no")
        await fake.wait_for(lambda: first.reply_markup is None)


async def test_stale_presses_are_answered_and_nothing_breaks(
    fake: FakeTelegram, current_apps: dict[str, str], adapters: list[TelegramAdapter]
) -> None:
    async with bridge_on(fake, current_apps["text"]):
        fake.push_text(PRIVATE, "hello")
        first = await answer(fake, PRIVATE, "echo: hello")
        # A keyboard from elsewhere: a foreign button, and an index whose value was never stored.
        old_buttons = [("old", "legacy:1"), ("gone", "bridge:ci:7")]
        first.reply_markup = {"inline_keyboard": [[{"text": t, "callback_data": d} for t, d in old_buttons]]}
        old = fake.push_callback(PRIVATE, first.message_id, "legacy:1")
        gone = fake.push_callback(PRIVATE, first.message_id, "bridge:ci:7")
        first.reply_markup = None
        await offer(adapters[-1], first)
        hidden = fake.push_callback(PRIVATE, first.message_id, "bridge:c:no", inaccessible=True)
        await fake.wait_for(lambda: len(fake.callback_answers) == 3)
        fake.push_text(PRIVATE, "still there?")
        await answer(fake, PRIVATE, "echo: still there?")
        first.deleted = True
        with pytest.raises(MessageGone):
            await offer(adapters[-1], first)
    said = {qid: a.get("text", "") for qid, a in fake.callback_answers.items()}
    assert "no longer works" in said[old["callback_query"]["id"]]
    assert "no longer available" in said[gone["callback_query"]["id"]]
    assert "no longer available" in said[hidden["callback_query"]["id"]]
    assert not any("echo: no" in t or "legacy" in t for t in texts(fake, PRIVATE))


async def test_a_press_held_in_memory_is_not_confirmed_until_stored(
    fake: FakeTelegram, current_apps: dict[str, str], adapters: list[TelegramAdapter], tmp_path: Path
) -> None:
    """While the store is down a press is only held: the webhook call gets 503 and the keyboard
    stays; once the store is back, Telegram's retry is taken and answered once."""
    fake.webhook_retry_s = 0.5
    redis_port, http_port = free_port(), free_port()
    servers = [redis_on(tmp_path, redis_port)]
    bridge = {"state": f"redis://127.0.0.1:{redis_port}/0", "http": f"127.0.0.1:{http_port}"}
    with stopping(servers):
        async with (
            serve_telegram(fake) as url,
            running(fake, url, current_apps["text"], bridge=bridge, **webhook(http_port)),
        ):
            fake.push_text(PRIVATE, "hello")
            first = await answer(fake, PRIVATE, "echo: hello")
            await offer(adapters[-1], first, CHOICES[:2])
            servers[0].terminate()  # type: ignore[attr-defined]
            await asyncio.to_thread(servers[0].wait, 10)  # type: ignore[attr-defined]
            update_id = fake.push_callback(PRIVATE, first.message_id, "bridge:c:no")["update_id"]
            await fake.wait_for(lambda: (update_id, 503) in fake.webhook_deliveries, timeout=30)
            await asyncio.sleep(1)
            assert first.reply_markup is not None  # not recorded: nothing confirmed, nothing removed
            servers.append(redis_on(tmp_path, redis_port))
            await answer(fake, PRIVATE, "echo: no")
            await fake.wait_for(lambda: (update_id, 200) in fake.webhook_deliveries, timeout=60)
            await fake.wait_for(lambda: first.reply_markup is None)
            await asyncio.sleep(1.5)
    assert sum("echo: no" in t for t in texts(fake, PRIVATE)) == 1


async def test_the_apps_options_and_examples_are_buttons(
    fake: FakeTelegram, current_apps: dict[str, str]
) -> None:
    """The core offers a reply's ``options`` and, on /start, the app's examples."""
    async with bridge_on(fake, current_apps["extras"]):
        fake.push_text(PRIVATE, "hello")
        first = await answer(fake, PRIVATE, "echo: hello")
        await fake.wait_for(lambda: "bridge:c:no" in str(first.reply_markup))
        assert buttons(first) == [[("yes please", "bridge:c:yes please"), ("No, thanks", "bridge:c:no")]]
        assert "**Snippet**" not in (first.text or "") and "print('hello')" in (first.text or "")
        fake.push_callback(PRIVATE, first.message_id, "bridge:c:no")
        second = await answer(fake, PRIVATE, "echo: no")
        fake.push_text(PRIVATE, "/start")
        start = await answer(fake, PRIVATE, "Try one of the app's examples")
        await fake.wait_for(lambda: start.reply_markup is not None)
        examples = [b for row in buttons(start) for b in row]
        fake.push_callback(PRIVATE, start.message_id, examples[1][1])
        third = await answer(fake, PRIVATE, "echo: what can you do?")
    assert "extras turn=2" in (second.text or "")
    assert [text for text, _ in examples] == ["hello there", "what can you do?"]
    assert "extras turn=3" in (third.text or "")
    assert fake.errors == []
