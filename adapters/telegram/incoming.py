"""Telegram updates → the bridge's :class:`~bridge.Incoming` messages.

Private chats: every message is a turn. Groups: a message counts when it mentions the bot, replies
to one of the bot's messages or is a command (``/cmd`` or ``/cmd@this_bot``), or always with
``trigger = "all"``. Forum topics are conversations of their own. Attachments (photo, document,
audio, voice, video) are passed on as references (their ``file_id``), fetched through getFile by
the turn (:func:`adapters.telegram.files.fetch_file`), never in the receive loop; the reported size
lets the turn refuse a file over the download limit (20 MB on the cloud Bot API) without fetching
it. An update's ``update_id`` is the message's id, so a redelivered update is answered once.

Button presses (callback queries): the inline "Stop" button is the ``stop`` command of the
conversation it sits in. A quick reply (:mod:`adapters.telegram.choices`) is a message of its value
from the presser, in the conversation a text of theirs in that chat or topic would belong to,
replying to the pressed message; its id is the callback query's (``cq:<id>``: one per press, the
same when Telegram delivers the update again). Every press is answered (answerCallbackQuery, so the
client stops spinning); a stale one only with a short note.
"""

from __future__ import annotations

import contextlib
from typing import Any

import structlog
from telegram import Bot, CallbackQuery, Message, Update, User
from telegram.constants import ChatType
from telegram.error import TelegramError

from adapters.telegram.choices import Keyboards, is_choice, stores_values
from adapters.telegram.config import TelegramConfig
from bridge import AccessRules, Attachment, Author, BridgeError, ConversationKey, Incoming, MessageRef

log = structlog.get_logger(__name__)

STOP_DATA = "bridge:stop"  # callback_data of the Stop button


class UpdateReader:
    """Reads updates for one bot (``username`` without ``@``, from getMe)."""

    def __init__(
        self, adapter: str, config: TelegramConfig, bot: Bot, username: str, keyboards: Keyboards
    ) -> None:
        self.adapter = adapter
        self.config = config
        self.bot = bot
        self.username = username
        self.keyboards = keyboards
        self._rules = AccessRules.of(config)  # the core's lists: a refused press keeps the keyboard

    async def read(self, update: Update) -> Incoming | None:
        """The message the update carries for the bridge, or None when it is not for the bot."""
        if update.callback_query is not None:
            return await self._callback(update.callback_query)
        msg = update.message
        if msg is None or msg.from_user is None or msg.from_user.is_bot or not self._triggered(msg):
            return None
        thread = _topic(msg)
        return Incoming(
            key=self._key(msg, str(msg.from_user.id), thread),
            author=_author(msg.from_user),
            text=self._strip_mention(msg.text or msg.caption or ""),
            attachments=tuple(_attachments(msg)),
            reply_to=MessageRef(chat=str(msg.chat_id), id=str(msg.message_id), thread=thread),
            shared=msg.chat.type != ChatType.PRIVATE,
            id=str(update.update_id),
        )

    def delivered(self, update: Update) -> None:
        """``update`` was read and recorded durably: a pressed quick reply's keyboard goes away (not
        when the access lists refuse the presser: their press must not use up everyone's choice)."""
        query = update.callback_query
        msg = query.message if query is not None else None
        if query is None or not is_choice(query.data) or not isinstance(msg, Message):
            return  # (an inaccessible message was never delivered: read() answered it with a note)
        press = Incoming(ConversationKey(self.adapter, str(msg.chat_id)), _author(query.from_user), "")
        if self._rules.admits(press):
            self.keyboards.settle(msg.chat_id, msg.message_id, stores_values(msg.reply_markup))

    async def _callback(self, query: CallbackQuery) -> Incoming | None:
        """The Stop button, or a quick reply; anything else is answered with a note and ignored."""
        msg = query.message
        # Deleted or too old for the bot to see. PTB 22.8 parses such a message (date 0) as a
        # Message, not an InaccessibleMessage: ``is_accessible`` tells.
        if not isinstance(msg, Message) or not msg.is_accessible:
            await _answer(query, "This message is no longer available.")
            return None
        thread = _topic(msg)
        if query.data == STOP_DATA:
            await _answer(query, "Stopping…")
            return Incoming(
                key=self._key(msg, str(query.from_user.id), thread),
                author=_author(query.from_user),
                text="/stop",
                command="stop",
                shared=msg.chat.type != ChatType.PRIVATE,
            )
        if not is_choice(query.data):
            await _answer(query, "This button no longer works.")
            return None
        try:
            value = await self.keyboards.value(msg.chat_id, msg.message_id, str(query.data))
        except BridgeError as exc:  # the store is down: the buttons stay, a later press works
            log.warning("reading a quick reply's value failed", adapter=self.adapter, error=str(exc))
            await _answer(query, "Sorry, that did not work. Please try again in a moment.")
            return None
        if value is None:
            await _answer(query, "This choice is no longer available.")
            return None
        await _answer(query)
        return Incoming(
            key=self._key(msg, str(query.from_user.id), thread),
            author=_author(query.from_user),
            text=value,
            reply_to=MessageRef(chat=str(msg.chat_id), id=str(msg.message_id), thread=thread),
            shared=msg.chat.type != ChatType.PRIVATE,
            id=f"cq:{query.id}",
        )

    def _key(self, msg: Message, user: str, thread: str | None) -> ConversationKey:
        return ConversationKey.for_scope(self.adapter, self.config.scope, str(msg.chat_id), user, thread)

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


def _attachments(msg: Message) -> list[Attachment]:
    """References to the message's files (photo: the largest size), with the sizes Telegram reports."""
    candidates: list[tuple[Any, str, str | None]] = []
    if msg.photo:
        candidates.append((msg.photo[-1], "photo.jpg", "image/jpeg"))
    for media, fallback in (
        (msg.document, "document"),
        (msg.audio, "audio"),
        (msg.voice, "voice.ogg"),
        (msg.video, "video.mp4"),
        (msg.video_note, "video_note.mp4"),
        (msg.animation, "animation.mp4"),
    ):
        if media is not None:
            name = getattr(media, "file_name", None) or fallback
            candidates.append((media, name, getattr(media, "mime_type", None)))
    return [
        Attachment(
            name=name,
            mime_type=mime,
            declared_size=media.file_size,
            source=(("file_id", str(media.file_id)),),
        )
        for media, name, mime in candidates
    ]


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
