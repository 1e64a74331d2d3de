"""The fake Telegram Bot API (tests/fakes/telegram/) driven by the real python-telegram-bot 22.8.

These prove the fake is shape-correct for PTB (updates parse, files round-trip, errors map to PTB's
exceptions) and strict where Telegram is strict, so later adapter tests can trust it.
"""

from __future__ import annotations

import asyncio
import contextlib
import datetime as dtm
import io
import socket
import time
from collections.abc import AsyncIterator
from typing import Any

import pytest
from telegram import Bot, InlineKeyboardButton, InlineKeyboardMarkup, Message, MessageEntity, Update
from telegram.error import BadRequest, Conflict, InvalidToken, NetworkError, RetryAfter
from telegram.ext import (
    Application,
    ApplicationBuilder,
    CallbackQueryHandler,
    CommandHandler,
    ContextTypes,
    MessageHandler,
    filters,
)

from tests.fakes.telegram import FakeTelegram, serve_telegram

Ctx = ContextTypes.DEFAULT_TYPE


@pytest.fixture
def fake() -> FakeTelegram:
    return FakeTelegram()


@pytest.fixture
async def url(fake: FakeTelegram) -> AsyncIterator[str]:
    async with serve_telegram(fake) as base:
        yield base


@pytest.fixture
async def bot(fake: FakeTelegram, url: str) -> AsyncIterator[Bot]:
    async with Bot(fake.token, base_url=f"{url}/bot", base_file_url=f"{url}/file/bot") as b:
        yield b


def build(fake: FakeTelegram, url: str) -> Application[Any, Any, Any, Any, Any, Any]:
    return (
        ApplicationBuilder().token(fake.token).base_url(f"{url}/bot").base_file_url(f"{url}/file/bot").build()
    )


@contextlib.asynccontextmanager
async def polling(app: Application[Any, Any, Any, Any, Any, Any]) -> AsyncIterator[None]:
    """PTB's lifecycle without run_polling (which owns the loop): start, and stop in reverse."""
    await app.initialize()
    assert app.updater is not None
    await app.updater.start_polling(timeout=1, poll_interval=0)
    await app.start()
    try:
        yield
    finally:
        await app.updater.stop()
        await app.stop()
        await app.shutdown()


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def texts(fake: FakeTelegram, chat_id: int) -> list[str | None]:
    return [m.text for m in fake.sent(chat_id)]


async def test_get_me_commands_and_token(fake: FakeTelegram, url: str, bot: Bot) -> None:
    me = await bot.get_me()
    assert (me.id, me.username, me.is_bot) == (123456, "fake_bot", True)
    assert await bot.set_my_commands([("new", "Start a new conversation"), ("help", "Show help")])
    assert [c.command for c in await bot.get_my_commands()] == ["new", "help"]
    assert fake.commands["default/"][0] == {"command": "new", "description": "Start a new conversation"}
    with pytest.raises(BadRequest, match=r"(?i)bot_command_invalid"):
        await bot.set_my_commands([("New", "uppercase is refused")])
    with pytest.raises(InvalidToken):  # a wrong token gets 401, raised by Bot.initialize
        async with Bot("999:WRONG", base_url=f"{url}/bot"):
            pass


async def test_polling_delivers_a_message_and_the_reply_arrives(fake: FakeTelegram, url: str) -> None:
    app = build(fake, url)

    async def echo(update: Update, context: Ctx) -> None:
        assert update.message and update.effective_user
        await context.bot.send_chat_action(update.message.chat_id, "typing")
        await update.message.reply_text(f"echo: {update.message.text} from @{update.effective_user.username}")

    app.add_handler(MessageHandler(filters.TEXT & ~filters.COMMAND, echo))
    async with polling(app):
        fake.push_text(42, "hello")
        await fake.wait_for(lambda: fake.sent(42))
    assert texts(fake, 42) == ["echo: hello from @alice"]
    methods = [m for m, _ in fake.calls]
    assert methods[:3] == ["getMe", "deleteWebhook", "getUpdates"]
    assert fake.calls_to("getUpdates")[0]["timeout"] == 1
    assert fake.calls_to("sendChatAction") == [{"chat_id": 42, "action": "typing"}]
    assert fake.messages[42][1].text == "hello" and not fake.messages[42][1].from_bot


async def test_group_topic_command_reaches_command_handler(fake: FakeTelegram, url: str) -> None:
    app = build(fake, url)
    seen: list[list[str]] = []

    async def ask(update: Update, context: Ctx) -> None:
        assert update.message
        seen.append(list(context.args or []))
        await update.message.reply_text("on it")

    app.add_handler(CommandHandler("ask", ask))
    async with polling(app):
        fake.push_text(-100777, "/ask@fake_bot what is up", thread_id=9)
        fake.push_text(-100777, "/ask@other_bot not for us", thread_id=9)  # PTB filters it out
        reply = await fake.wait_for(lambda: fake.sent(-100777))
    assert seen == [["what", "is", "up"]]
    chat = fake.chats[-100777]
    assert chat["type"] == "supergroup" and chat["is_forum"] and chat["title"]
    assert reply[0].extra["message_thread_id"] == 9 and reply[0].extra["is_topic_message"]
    assert fake.pushed[0]["message"]["entities"] == [{"type": "bot_command", "offset": 0, "length": 13}]


async def test_restart_does_not_redeliver_processed_updates(fake: FakeTelegram, url: str) -> None:
    handled: list[tuple[int, str]] = []

    async def record(update: Update, context: Ctx) -> None:
        assert update.message and update.message.text
        handled.append((len(apps), update.message.text))

    apps: list[Any] = []
    for text in ("first", "second"):
        app = build(fake, url)
        apps.append(app)
        app.add_handler(MessageHandler(filters.TEXT, record))
        async with polling(app):
            fake.push_text(42, text)
            expected = (len(apps), text)
            await fake.wait_for(lambda: expected in handled)  # noqa: B023 (awaited within the iteration)
    assert handled == [(1, "first"), (2, "second")]
    assert fake.updates == []  # both confirmed by PTB's last getUpdates on stop
    assert {"offset": 2, "timeout": 0} in fake.calls_to("getUpdates")


async def test_get_updates_offsets_long_poll_and_conflict(fake: FakeTelegram, url: str, bot: Bot) -> None:
    fake.push_text(42, "a")
    fake.push_text(42, "b")
    first = await bot.get_updates(timeout=0)
    assert [u.update_id for u in first] == [1, 2]
    assert [u.update_id for u in await bot.get_updates(timeout=0)] == [1, 2]  # unconfirmed: again
    assert await bot.get_updates(offset=3, timeout=0) == ()
    assert fake.updates == []

    held = asyncio.create_task(bot.get_updates(offset=3, timeout=5))
    await fake.wait_for(lambda: len(fake.calls_to("getUpdates")) == 4)
    started = time.monotonic()
    fake.push_text(42, "c")
    assert [u.message.text for u in await held if u.message] == ["c"]
    assert time.monotonic() - started < 1  # answered at once, not at the timeout

    # PTB gives getUpdates its own one-connection pool, so a second poller needs a second Bot
    older = asyncio.create_task(bot.get_updates(offset=4, timeout=5))
    await fake.wait_for(lambda: len(fake.calls_to("getUpdates")) == 5)
    async with Bot(fake.token, base_url=f"{url}/bot") as other:
        assert await other.get_updates(offset=4, timeout=0) == ()
    with pytest.raises(Conflict, match="terminated by other getUpdates"):
        await older


async def test_shutdown_releases_held_long_polls() -> None:
    fake = FakeTelegram()
    async with serve_telegram(fake) as base:
        bot = Bot(fake.token, base_url=f"{base}/bot")
        await bot.initialize()
        held = asyncio.create_task(bot.get_updates(timeout=30, read_timeout=40))
        await fake.wait_for(lambda: fake.calls_to("getUpdates"))
        started = time.monotonic()
    try:
        assert await held == ()
        assert time.monotonic() - started < 1
    finally:
        await bot.shutdown()


async def test_edits_not_modified_history_and_keyboard(fake: FakeTelegram, bot: Bot) -> None:
    fake.add_chat(42)
    keyboard = InlineKeyboardMarkup([[InlineKeyboardButton("Stop", callback_data="stop:1")]])
    msg = await bot.send_message(42, "Thinking", reply_markup=keyboard)
    with pytest.raises(BadRequest) as exc:
        await bot.edit_message_text("Thinking", chat_id=42, message_id=msg.message_id, reply_markup=keyboard)
    assert "message is not modified" in exc.value.message.lower()
    await bot.edit_message_text(
        "Thinking about it", chat_id=42, message_id=msg.message_id, reply_markup=keyboard
    )
    edited = await bot.edit_message_text("Thinking about it", chat_id=42, message_id=msg.message_id)
    assert (
        isinstance(edited, Message) and edited.reply_markup is None and edited.edit_date
    )  # same text, keyboard dropped: a real change
    stored = fake.messages[42][msg.message_id]
    assert [e["text"] for e in stored.edits] == ["Thinking", "Thinking about it"]
    assert stored.text == "Thinking about it" and stored.reply_markup is None
    with pytest.raises(BadRequest, match=r"(?i)message to edit not found"):
        await bot.edit_message_text("x", chat_id=42, message_id=999)
    with pytest.raises(BadRequest, match=r"(?i)button_data_invalid"):
        big = InlineKeyboardMarkup([[InlineKeyboardButton("x", callback_data="x" * 65)]])
        await bot.send_message(42, "hi", reply_markup=big)
    assert await bot.delete_message(42, msg.message_id) and stored.deleted


async def test_inline_keyboards_are_checked_like_telegram(fake: FakeTelegram, bot: Bot) -> None:
    fake.add_chat(42)
    fake.budgets.per_chat_per_s = None  # many edits in a row: not what this test is about
    msg = await bot.send_message(42, "Pick one")
    keyboard = InlineKeyboardMarkup([[InlineKeyboardButton("Yes", callback_data="c:yes")]])
    await bot.edit_message_reply_markup(42, msg.message_id, reply_markup=keyboard)
    assert fake.messages[42][msg.message_id].reply_markup["inline_keyboard"][0][0]["text"] == "Yes"
    with pytest.raises(BadRequest, match=r"(?i)message is not modified"):
        await bot.edit_message_reply_markup(42, msg.message_id, reply_markup=keyboard)
    await bot.edit_message_reply_markup(42, msg.message_id)  # removed
    with pytest.raises(BadRequest, match=r"(?i)message is not modified"):
        await bot.edit_message_reply_markup(42, msg.message_id)
    with pytest.raises(BadRequest, match=r"(?i)message to edit not found"):
        await bot.edit_message_reply_markup(42, 999, reply_markup=keyboard)
    refused = {
        "button_text_invalid": [[InlineKeyboardButton(" ", callback_data="x")]],
        "button_data_invalid": [[InlineKeyboardButton("x", callback_data="é" * 33)]],  # 66 bytes
        "text buttons are unallowed": [[InlineKeyboardButton("x", callback_data="")]],
        "reply markup is too long": [[InlineKeyboardButton("x", callback_data=str(i))] for i in range(101)],
    }
    for error, rows in refused.items():
        with pytest.raises(BadRequest, match=f"(?i){error}"):
            await bot.edit_message_reply_markup(42, msg.message_id, reply_markup=InlineKeyboardMarkup(rows))
    fits = InlineKeyboardMarkup([[InlineKeyboardButton("x", callback_data="é" * 32)]])  # 64 bytes
    await bot.edit_message_reply_markup(42, msg.message_id, reply_markup=fits)
    with pytest.raises(AssertionError, match="no button"):  # only a button on screen can be pressed
        fake.push_callback(42, msg.message_id, "c:yes")
    update = Update.de_json(fake.push_callback(42, msg.message_id, "é" * 32, inaccessible=True), bot)
    assert update.callback_query and update.callback_query.message
    assert not update.callback_query.message.is_accessible


async def test_flood_budgets_answer_429_with_retry_after(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PTB_TIMEDELTA", "1")  # PTB 22.8: retry_after as timedelta, no deprecation warning
    now = [100.0]
    fake = FakeTelegram(clock=lambda: now[0])
    fake.add_chat(42)
    fake.add_chat(-1001, "supergroup")
    async with serve_telegram(fake) as base, Bot(fake.token, base_url=f"{base}/bot") as bot:
        for i in range(3):  # the burst
            await bot.send_message(42, f"m{i}")
        with pytest.raises(RetryAfter) as exc:
            await bot.send_message(42, "one too many")
        assert exc.value.retry_after == dtm.timedelta(seconds=1)
        assert fake.errors[-1] == ("sendMessage", 429, "Too Many Requests: retry after 1")
        now[0] += 1.0
        await bot.send_message(42, "after waiting")

        for _ in range(20):  # a group: 1/s per chat is fine, but only 20 per minute
            now[0] += 1.0
            await bot.send_message(-1001, "tick")
        now[0] += 1.0
        with pytest.raises(RetryAfter) as exc:
            await bot.send_message(-1001, "tock")
        assert exc.value.retry_after == dtm.timedelta(seconds=40)
        assert fake.count_429 == 2

        fake.fail_next("sendMessage", 429, retry_after=3)
        fake.fail_next("editMessageText", 502)
        with pytest.raises(RetryAfter) as exc:
            await bot.send_message(42, "x")
        assert exc.value.retry_after == dtm.timedelta(seconds=3)
        with pytest.raises(NetworkError):
            await bot.edit_message_text("x", chat_id=42, message_id=1)
        assert fake.count_429 == 3


async def test_entities_and_lengths_are_validated(fake: FakeTelegram, bot: Bot) -> None:
    fake.add_chat(42)
    ok = await bot.send_message(42, "😀 bold", entities=[MessageEntity("bold", 3, 4)])  # 😀 is 2 UTF-16 units
    assert fake.messages[42][ok.message_id].entities == [{"type": "bold", "offset": 3, "length": 4}]
    for bad_entity in (
        MessageEntity("bold", 3, 5),
        MessageEntity("bold", 0, 0),
        MessageEntity("shout", 0, 1),
    ):
        with pytest.raises(BadRequest, match=r"(?i)can't parse entities"):
            await bot.send_message(42, "😀 bold", entities=[bad_entity])
    await bot.send_message(42, "x" * 4096)
    with pytest.raises(BadRequest, match=r"(?i)message is too long"):
        await bot.send_message(42, "x" * 4097)
    with pytest.raises(BadRequest, match=r"(?i)message is too long"):
        await bot.send_message(42, "😀" * 2049)  # 2049 characters, 4098 UTF-16 units
    await bot.send_message(42, "<b>" + "x" * 4096 + "</b>", parse_mode="HTML")  # counted after parsing
    with pytest.raises(BadRequest, match=r"(?i)message text is empty"):
        await bot.send_message(42, "  \n ")


async def test_parse_modes_are_checked_like_telegram(fake: FakeTelegram, bot: Bot) -> None:
    fake.add_chat(42)
    with pytest.raises(BadRequest) as exc:
        await bot.send_message(42, "<b>unclosed", parse_mode="HTML")
    assert "can't find end tag corresponding to start tag" in exc.value.message.lower()
    with pytest.raises(BadRequest, match=r"(?i)unsupported start tag"):
        await bot.send_message(42, "1 < 2", parse_mode="HTML")
    with pytest.raises(BadRequest) as exc:
        await bot.send_message(42, "Done.", parse_mode="MarkdownV2")
    assert "character '.' is reserved" in exc.value.message.lower()
    msg = await bot.send_message(42, r"*Done*\. Use `x\_y`", parse_mode="MarkdownV2")
    assert msg.text == "Done. Use x_y" and [(e.type, e.offset, e.length) for e in msg.entities] == [
        ("bold", 0, 4),
        ("code", 10, 3),
    ]


async def test_send_message_draft_private_only(fake: FakeTelegram, bot: Bot) -> None:
    fake.add_chat(42)
    fake.add_chat(-1001, "group")
    assert await bot.send_message_draft(42, draft_id=7, text="Partial ans")
    assert await bot.send_message_draft(42, draft_id=7)  # Bot API 10.0: text is optional
    assert [(d.chat_id, d.draft_id, d.text) for d in fake.drafts] == [(42, 7, "Partial ans"), (42, 7, "")]
    with pytest.raises(BadRequest, match=r"(?i)textdraft_peer_invalid"):
        await bot.send_message_draft(-1001, draft_id=7, text="no drafts in groups")
    with pytest.raises(BadRequest):
        await bot.send_message_draft(42, draft_id=0, text="draft_id must be non-zero")


async def test_multipart_uploads_round_trip(fake: FakeTelegram, bot: Bot) -> None:
    fake.add_chat(42)
    fake.budgets.per_chat_per_s = None  # six uploads in a row would hit the per-chat flood limit
    sent = await bot.send_document(
        42, document=b"%PDF-1.4 fake", filename="r.pdf", caption="<i>report</i>", parse_mode="HTML"
    )
    assert sent.document and sent.document.file_name == "r.pdf" and sent.caption == "report"
    stored = fake.sent_files[-1]
    assert (stored.name, stored.data, stored.mime) == ("r.pdf", b"%PDF-1.4 fake", "application/pdf")
    photo = await bot.send_photo(42, photo=io.BytesIO(b"\x89PNG fake"))
    assert photo.photo and fake.sent_files[-1].name == "application.octet-stream"  # PTB's fallback name
    await bot.send_audio(42, audio=b"ID3", filename="a.mp3")
    await bot.send_video(42, video=b"mp4", filename="v.mp4")
    assert [f.kind for f in fake.sent_files] == ["document", "photo", "audio", "video"]
    again = await bot.send_document(42, document=sent.document.file_id)  # resend by file_id
    assert again.document and again.document.file_id == sent.document.file_id
    buf = io.BytesIO()
    await (await bot.get_file(sent.document.file_id)).download_to_memory(buf)
    assert buf.getvalue() == b"%PDF-1.4 fake"


async def test_pushed_files_download_in_a_handler(fake: FakeTelegram, url: str) -> None:
    app = build(fake, url)
    got: list[bytes] = []

    async def on_file(update: Update, context: Ctx) -> None:
        assert update.message
        media = update.message.document or update.message.photo[-1]
        buf = io.BytesIO()
        await (await media.get_file()).download_to_memory(buf)
        got.append(buf.getvalue())
        await update.message.reply_text(f"{len(got[-1])} bytes; caption {update.message.caption}")

    app.add_handler(MessageHandler(filters.Document.ALL | filters.PHOTO, on_file))
    async with polling(app):
        fake.push_document(42, "notes.txt", b"hello file", "text/plain", caption="read this")
        fake.push_photo(42, b"\xff\xd8 jpeg")
        await fake.wait_for(lambda: len(fake.sent(42)) == 2)
    assert got == [b"hello file", b"\xff\xd8 jpeg"]
    assert texts(fake, 42) == ["10 bytes; caption read this", "7 bytes; caption None"]


async def test_callback_query_answer_and_edit(fake: FakeTelegram, url: str) -> None:
    app = build(fake, url)

    async def on_press(update: Update, context: Ctx) -> None:
        query = update.callback_query
        assert query and query.data
        await query.answer("Stopped")
        await query.edit_message_text(f"stopped by {query.data}")

    app.add_handler(CallbackQueryHandler(on_press))
    fake.add_chat(-1002, "group")
    async with polling(app):
        keyboard = InlineKeyboardMarkup([[InlineKeyboardButton("Stop", callback_data="stop:1")]])
        msg = await app.bot.send_message(-1002, "streaming…", reply_markup=keyboard)
        fake.push_callback(-1002, msg.message_id, "stop:1", user=7)
        await fake.wait_for(lambda: fake.messages[-1002][msg.message_id].edits)
    assert [a["text"] for a in fake.callback_answers.values()] == ["Stopped"]
    assert fake.messages[-1002][msg.message_id].text == "stopped by stop:1"


async def test_webhook_mode(fake: FakeTelegram, url: str, bot: Bot) -> None:
    app = build(fake, url)

    async def echo(update: Update, context: Ctx) -> None:
        assert update.message
        await update.message.reply_text(f"hooked: {update.message.text}")

    app.add_handler(MessageHandler(filters.TEXT, echo))
    port = free_port()
    await app.initialize()
    assert app.updater is not None
    await app.updater.start_webhook(
        listen="127.0.0.1",
        port=port,
        url_path="hook",
        webhook_url=f"http://127.0.0.1:{port}/hook",
        secret_token="s3cret",
    )
    await app.start()
    try:
        assert fake.calls_to("setWebhook")[0]["secret_token"] == "s3cret"
        update = fake.push_text(42, "via webhook")
        await fake.wait_for(lambda: fake.sent(42))
        assert texts(fake, 42) == ["hooked: via webhook"]
        assert fake.webhook_deliveries == [(update["update_id"], 200)] and fake.updates == []
        assert await fake.post_webhook(update, secret_token="wrong") == 403
        assert await fake.post_webhook(update, secret_token=None) == 403
        with pytest.raises(Conflict, match="webhook is active"):
            await bot.get_updates()
        info = await bot.get_webhook_info()
        assert info.url == f"http://127.0.0.1:{port}/hook" and info.pending_update_count == 0
    finally:
        await app.updater.stop()
        await app.stop()
        await app.shutdown()


async def test_wait_for_times_out_with_context(fake: FakeTelegram) -> None:
    with pytest.raises(TimeoutError, match="last calls"):
        await fake.wait_for(lambda: False, timeout=0.1)
