"""Receiving on Telegram: updates (long polling or a webhook) → :class:`~bridge.Incoming` → ``host.deliver``.

**Which updates count.** Private chats: every message is a turn. Groups: a message counts when it
mentions the bot, replies to one of the bot's messages or is a command (``/cmd`` or
``/cmd@this_bot``), or always with ``trigger = "all"``. Forum topics are conversations of their own.
Keys are ``ConversationKey(adapter, chat, topic)``; the core applies ``scope`` (the author's id is
the user). An update's ``update_id`` is the message's id, so a redelivered update is answered once.

**Attachments** (photo: the largest size, document, audio, voice, video, video note, animation)
cross as references: ``source`` holds the ``file_id`` and ``declared_size`` the size Telegram
reports, so the turn refuses a file over the limits without fetching it and fetches the others with
``adapter.fetch`` (:mod:`adapters.telegram.files`). Nothing here awaits a download: one chat's large
file never holds up another chat's messages (house rule 8). The caption is the message text. An
album (media group) arrives as one update per file, and each is a message of its own.

**Button presses** (callback queries): the inline "Stop" button is the ``stop`` command of the
presser's conversation where it sits. A quick reply (:mod:`adapters.telegram.choices`) is a message
of its value from the presser, replying to the pressed message; its id is the callback query's
(``cq:<id>``: one per press, the same when Telegram delivers the update again). Every press is
answered (answerCallbackQuery, so the client stops spinning); a stale one only with a short note.

**Delivery.** ``host.deliver`` returns once the message is recorded in the durable inbox; only then
is the update confirmed to Telegram: by the polling offset (:mod:`adapters.telegram.catchup`) or by
answering the webhook call 200. While the store is down an update is only held in memory
(``deliver`` returns False): polling keeps its offset before it and asks again every
:data:`adapters.telegram.catchup.HELD_POLL_S`; the webhook answers 503, so Telegram sends it again.
A failure handling one update is logged and the update counts as handled (a poisoned update must
not block the bot). Transient ``getUpdates`` failures (network, 5xx, 409 while another process
polls) are retried with back-off; a rejected token stops the adapter with a clear error.

**Webhook:** ``setWebhook(url, secret_token)`` at start, and a ``POST`` route on the bridge's HTTP
listener that answers 403 unless ``X-Telegram-Bot-Api-Secret-Token`` matches (constant time).
"""

from __future__ import annotations

import asyncio
import contextlib
import hmac
import json
from typing import Any

import structlog
from telegram import Bot, CallbackQuery, Message, Update, User
from telegram.constants import ChatType
from telegram.error import Conflict, Forbidden, InvalidToken, RetryAfter, TelegramError

from adapters.telegram.catchup import HELD_POLL_S, Offsets
from adapters.telegram.choices import Keyboards, is_choice, stores_values
from adapters.telegram.config import TelegramConfig
from adapters.telegram.errors import rejected_token, retry_seconds
from adapters.telegram.send import STOP_DATA
from bridge import (
    AccessRules,
    Attachment,
    Author,
    BridgeError,
    ConfigError,
    ConversationKey,
    Host,
    HttpRequest,
    HttpResponse,
    Incoming,
    MessageRef,
)

log = structlog.get_logger(__name__)
ALLOWED_UPDATES = ["message", "callback_query"]
SECRET_HEADER = "x-telegram-bot-api-secret-token"
_MEDIA = (  # (attribute, name when the file has none)
    ("document", "document"),
    ("audio", "audio"),
    ("voice", "voice.ogg"),
    ("video", "video.mp4"),
    ("video_note", "video_note.mp4"),
    ("animation", "animation.mp4"),
)


class Receiver:
    """Receives for one running bot (``bot.username`` from getMe) until cancelled."""

    def __init__(self, adapter: str, config: TelegramConfig, bot: Bot, keyboards: Keyboards) -> None:
        self.adapter = adapter
        self.config = config
        self.bot = bot
        self.username = bot.username or ""
        self.keyboards = keyboards
        self._rules = AccessRules.of(config)  # the core's lists: a refused press keeps the keyboard

    async def run(self, host: Host, webhook_secret: str) -> None:
        """Hand every update for the bot to ``host.deliver``, by polling or by webhook."""
        if self.config.mode == "polling":
            await self._poll(host)
            return
        if host.routes is None:
            raise ConfigError(
                f'adapters.{self.adapter}.mode: "webhook" needs [bridge].http, the listener '
                "Telegram's calls arrive on"
            )
        await self._serve_webhook(host, webhook_secret)

    async def handle(self, host: Host, update: Update) -> bool:
        """Read and deliver one update; whether it is durable (see the module docstring)."""
        try:
            incoming = await self.read(update)
            if incoming is None:
                return True
            if durable := await host.deliver(incoming):
                self.delivered(update)
            return durable
        except Exception:
            log.exception(
                "handling a Telegram update failed", adapter=self.adapter, update_id=update.update_id
            )
            return True

    async def read(self, update: Update) -> Incoming | None:
        """The message the update carries for the bridge, or None when it is not for the bot."""
        if update.callback_query is not None:
            return await self._callback(update.callback_query)
        msg = update.message
        if msg is None or msg.from_user is None or msg.from_user.is_bot or not self._triggered(msg):
            return None
        thread = _topic(msg)
        return Incoming(
            key=self._key(msg, thread),
            author=_author(msg.from_user),
            text=self._strip_mention(msg.text or msg.caption or ""),
            attachments=attachments(msg),
            reply_to=MessageRef(chat=str(msg.chat_id), id=str(msg.message_id), thread=thread),
            shared=msg.chat.type != ChatType.PRIVATE,
            id=str(update.update_id),
        )

    def delivered(self, update: Update) -> None:
        """``update`` was recorded durably: a pressed quick reply's keyboard goes away (not when the
        access lists refuse the presser: their press must not use up everyone's choice)."""
        query = update.callback_query
        msg = query.message if query is not None else None
        if query is None or not is_choice(query.data) or not isinstance(msg, Message):
            return  # (an inaccessible message was never delivered: read() answered it with a note)
        press = Incoming(ConversationKey(self.adapter, str(msg.chat_id)), _author(query.from_user), "")
        if self._rules.admits(press):
            self.keyboards.settle(msg.chat_id, msg.message_id, stores_values(msg.reply_markup))

    # -- polling and webhook -----------------------------------------------------------------
    async def _poll(self, host: Host) -> None:
        await self.bot.delete_webhook()
        offsets = await Offsets.load(host.state)
        try:
            while True:
                updates = await self._get_updates(offsets.next)
                held = False
                for update in updates:
                    held = not await self.handle(host, update) or held
                    if not held:  # never confirm past an update only memory holds
                        offsets.confirm(update.update_id)
                if held:
                    await asyncio.sleep(HELD_POLL_S)
        finally:
            await asyncio.shield(offsets.close())

    async def _get_updates(self, offset: int | None) -> tuple[Update, ...]:
        """The next updates from ``offset``, retrying until Telegram gives them."""
        delay, timeout = 0.0, self.config.poll_timeout_s
        while True:
            try:
                return await self.bot.get_updates(
                    offset=offset, timeout=timeout, allowed_updates=ALLOWED_UPDATES, read_timeout=timeout + 10
                )
            except (InvalidToken, Forbidden):
                raise rejected_token(self.adapter, self.config.token_env) from None
            except RetryAfter as exc:
                await asyncio.sleep(retry_seconds(exc))
            except (Conflict, TelegramError) as exc:
                delay = min(30.0, max(1.0, delay * 2))
                what = "another process polls this bot" if isinstance(exc, Conflict) else type(exc).__name__
                log.warning(
                    "getUpdates failed; retrying", adapter=self.adapter, reason=what, retry_in_s=delay
                )
                await asyncio.sleep(delay)

    async def _serve_webhook(self, host: Host, secret: str) -> None:
        """Register the webhook and serve it on ``host.routes`` until cancelled."""
        assert host.routes is not None and self.config.webhook_url is not None
        secret_bytes, path = secret.encode(), self.config.webhook_path

        async def receive(request: HttpRequest) -> HttpResponse:
            if not hmac.compare_digest(request.headers.get(SECRET_HEADER, "").encode(), secret_bytes):
                log.warning("webhook call with a wrong secret token refused", adapter=self.adapter)
                return HttpResponse(403, {"error": "forbidden"})
            try:
                update = Update.de_json(json.loads(request.body), self.bot)
            except (ValueError, TypeError, KeyError) as exc:
                log.warning("webhook body is not an update", adapter=self.adapter, error=type(exc).__name__)
                return HttpResponse(400, {"error": "not an update"})
            if not await self.handle(host, update):
                return HttpResponse(503, {"error": "the bridge cannot store the update yet; send it again"})
            return HttpResponse(200, {})

        host.routes.add("POST", path, receive)
        try:
            await self.bot.set_webhook(
                url=self.config.webhook_url, secret_token=secret, allowed_updates=ALLOWED_UPDATES
            )
            await asyncio.Event().wait()
        finally:
            host.routes.remove("POST", path)

    # -- reading -----------------------------------------------------------------------------
    async def _callback(self, query: CallbackQuery) -> Incoming | None:
        """The Stop button, or a quick reply; anything else is answered with a note and ignored."""
        msg = query.message
        # Deleted or too old for the bot to see. PTB 22.8 parses such a message (date 0) as a
        # Message, not an InaccessibleMessage: ``is_accessible`` tells.
        if not isinstance(msg, Message) or not msg.is_accessible:
            await _answer(query, "This message is no longer available.")
            return None
        thread, who, shared = _topic(msg), _author(query.from_user), msg.chat.type != ChatType.PRIVATE
        key = self._key(msg, thread)
        if query.data == STOP_DATA:
            await _answer(query, "Stopping…")
            return Incoming(key=key, author=who, text="/stop", command="stop", shared=shared)
        value = await self._choice(query, msg)
        if value is None:
            return None
        reply_to = MessageRef(chat=str(msg.chat_id), id=str(msg.message_id), thread=thread)
        return Incoming(
            key=key, author=who, text=value, reply_to=reply_to, shared=shared, id=f"cq:{query.id}"
        )

    async def _choice(self, query: CallbackQuery, msg: Message) -> str | None:
        """The value of a pressed quick reply (the press answered), or None (answered with a note)."""
        if not is_choice(query.data):
            await _answer(query, "This button no longer works.")
            return None
        try:
            value = await self.keyboards.value(msg.chat_id, msg.message_id, str(query.data))
        except BridgeError as exc:  # the store is down: the buttons stay, a later press works
            log.warning("reading a quick reply's value failed", adapter=self.adapter, error=str(exc))
            await _answer(query, "Sorry, that did not work. Please try again in a moment.")
            return None
        await _answer(query, None if value is not None else "This choice is no longer available.")
        return value

    def _key(self, msg: Message, thread: str | None) -> ConversationKey:
        return ConversationKey(self.adapter, str(msg.chat_id), thread)

    def _triggered(self, msg: Message) -> bool:
        if msg.chat.type == ChatType.PRIVATE or self.config.trigger == "all":
            return True
        text = msg.text or msg.caption or ""
        if text.startswith("/"):
            word = text.split()[0]
            return "@" not in word or word.lower().endswith("@" + self.username.lower())
        if self.username and f"@{self.username.lower()}" in text.lower():
            return True
        replied = msg.reply_to_message
        return bool(replied and replied.from_user and replied.from_user.username == self.username)

    def _strip_mention(self, text: str) -> str:
        if not self.username:
            return text
        word = text.split(" ", 1)[0]
        if word.startswith("/") and word.lower().endswith("@" + self.username.lower()):
            return word.rsplit("@", 1)[0] + text[len(word) :]
        return text.replace(f"@{self.username}", "").strip()


def attachments(msg: Message) -> tuple[Attachment, ...]:
    """References to the message's files (never their bytes), with the sizes Telegram reports."""
    found: list[tuple[Any, str, str | None]] = []
    if msg.photo:
        found.append((msg.photo[-1], "photo.jpg", "image/jpeg"))
    for attr, fallback in _MEDIA:
        if (media := getattr(msg, attr)) is not None:
            found.append(
                (media, getattr(media, "file_name", None) or fallback, getattr(media, "mime_type", None))
            )
    return tuple(
        Attachment(
            name=name,
            mime_type=mime,
            declared_size=media.file_size,
            source=(("file_id", str(media.file_id)),),
        )
        for media, name, mime in found
    )


def _topic(msg: Message) -> str | None:
    """The forum topic a message belongs to (a conversation of its own), or None."""
    return str(msg.message_thread_id) if msg.is_topic_message and msg.message_thread_id else None


def _author(user: User) -> Author:
    return Author(
        id=str(user.id),
        name=user.username or user.full_name,
        names=tuple(n for n in (user.username, user.full_name) if n),
    )


async def _answer(query: CallbackQuery, text: str | None = None) -> None:
    """Answer a press; a query answered before (an update delivered again) or too old is let be."""
    with contextlib.suppress(TelegramError):
        await query.answer(text)
