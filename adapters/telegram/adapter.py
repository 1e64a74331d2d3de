"""The Telegram adapter: python-telegram-bot's Application ↔ the bridge's adapter contract.

Receives with long polling; private chats answer every message, groups answer mentions, replies
to the bot and commands (or everything with ``trigger = "all"``); forum topics are conversations
of their own. Text goes out as plain text plus entities (:mod:`adapters.telegram.render`), so
nothing can fail to parse. Telegram's errors become ``bridge`` errors here: ``RetryAfter`` →
``RateLimited`` (the streamer backs off), "message is not modified" is swallowed.
"""

from __future__ import annotations

import asyncio
import contextlib
import warnings
from collections.abc import AsyncIterator, Callable, Sequence
from typing import Any

from telegram import Message, MessageEntity, Update
from telegram.constants import ChatAction, ChatType
from telegram.error import BadRequest, RetryAfter, TelegramError
from telegram.ext import Application, ApplicationBuilder, ContextTypes, MessageHandler, filters

from adapters.telegram.config import TelegramConfig
from adapters.telegram.pacing import Pacer
from adapters.telegram.render import render_chunks
from bridge import (
    Attachment,
    Author,
    Capabilities,
    ConversationKey,
    Deliver,
    Incoming,
    LocalFile,
    MessageRef,
    PlatformError,
    RateLimited,
    Stage,
)

_DOWNLOAD_LIMIT = 20 * 1024 * 1024  # what the cloud Bot API lets bots download


class TelegramAdapter:
    """One Telegram bot."""

    Config = TelegramConfig

    def __init__(self, name: str, config: TelegramConfig, secret: Callable[[str], str]) -> None:
        self.name = name
        self.config = config
        self._token = secret(config.token_env)
        # 4096 is the limit after rendering; Markdown is rarely shorter than its rendering, and the
        # margin covers UTF-16 growth. send/edit split again on the rendered text if needed.
        self.capabilities = Capabilities(
            max_text_len=3800,
            min_edit_interval_s=1.0,
            can_edit=True,
            max_files=10,
            max_file_bytes=50 * 1024 * 1024,
            markup="markdown",
        )
        self._app: Application[Any, Any, Any, Any, Any, Any] | None = None
        self._username = ""
        self._deliver: Deliver | None = None
        self._pacer = Pacer()

    # -- receiving -------------------------------------------------------------------------
    async def run(self, deliver: Deliver) -> None:
        """Poll until cancelled."""
        self._deliver = deliver
        app = (
            ApplicationBuilder()
            .token(self._token)
            .base_url(self.config.api_base_url)
            .base_file_url(self.config.file_base_url)
            .concurrent_updates(True)
            .build()
        )
        app.add_handler(MessageHandler(filters.ALL, self._on_message))
        self._app = app
        await app.initialize()
        try:
            self._username = app.bot.username or ""
            assert app.updater is not None
            await app.updater.start_polling(timeout=self.config.poll_timeout_s, poll_interval=0)
            await app.start()
            await asyncio.Event().wait()
        finally:
            with contextlib.suppress(Exception):
                if app.updater is not None and app.updater.running:
                    await app.updater.stop()
                if app.running:
                    await app.stop()
            await app.shutdown()

    async def _on_message(self, update: Update, _: ContextTypes.DEFAULT_TYPE) -> None:
        msg = update.effective_message
        if msg is None or msg.from_user is None or msg.from_user.is_bot or self._deliver is None:
            return
        if not self._triggered(msg):
            return
        text = self._strip_mention(msg.text or msg.caption or "")
        attachments = tuple(await self._attachments(msg))
        user = msg.from_user
        thread = str(msg.message_thread_id) if msg.is_topic_message and msg.message_thread_id else None
        key = ConversationKey.for_scope(self.name, self.config.scope, str(msg.chat_id), str(user.id), thread)
        author = Author(
            id=str(user.id),
            name=user.username or user.full_name,
            names=tuple(n for n in (user.username, user.full_name) if n),
        )
        ref = MessageRef(chat=str(msg.chat_id), id=str(msg.message_id), thread=thread)
        await self._deliver(
            Incoming(key=key, author=author, text=text, attachments=attachments, reply_to=ref)
        )

    def _triggered(self, msg: Message) -> bool:
        if msg.chat.type == ChatType.PRIVATE or self.config.trigger == "all":
            return True
        text = msg.text or msg.caption or ""
        if text.startswith("/"):
            word = text.split()[0]
            return "@" not in word or word.lower().endswith("@" + self._username.lower())
        if self._username and f"@{self._username.lower()}" in text.lower():
            return True
        replied = msg.reply_to_message
        return bool(replied and replied.from_user and replied.from_user.username == self._username)

    def _strip_mention(self, text: str) -> str:
        if not self._username:
            return text
        word = text.split(" ", 1)[0]
        if word.startswith("/") and word.lower().endswith("@" + self._username.lower()):
            return word.rsplit("@", 1)[0] + text[len(word) :]
        return text.replace(f"@{self._username}", "").strip()

    async def _attachments(self, msg: Message) -> list[Attachment]:
        candidates: list[tuple[Any, str, str | None]] = []
        if msg.photo:
            candidates.append((msg.photo[-1], "photo.jpg", "image/jpeg"))
        for media, fallback in (
            (msg.document, "document"),
            (msg.audio, "audio"),
            (msg.voice, "voice.ogg"),
            (msg.video, "video.mp4"),
        ):
            if media is not None:
                candidates.append(
                    (media, getattr(media, "file_name", None) or fallback, getattr(media, "mime_type", None))
                )
        out = []
        for media, name, mime in candidates:
            if media.file_size and media.file_size > _DOWNLOAD_LIMIT:
                continue  # the turn's size check then explains the limit
            tg_file = await media.get_file()
            data = bytes(await tg_file.download_as_bytearray())
            out.append(Attachment(name=name, data=data, mime_type=mime))
        return out

    # -- sending ---------------------------------------------------------------------------
    async def send(
        self, to: ConversationKey, text: str, reply_to: MessageRef | None = None, *, stage: Stage = "final"
    ) -> MessageRef:
        """Post rendered text; replies to the user's message when given."""
        body, entities = self._render(text)
        kwargs: dict[str, Any] = {}
        if to.thread:
            kwargs["message_thread_id"] = int(to.thread)
        if reply_to is not None:
            kwargs["reply_to_message_id"] = int(reply_to.id)
            kwargs["allow_sending_without_reply"] = True
        await self._pace(int(to.chat), stage)
        sent = await self._call(
            self._bot().send_message(chat_id=int(to.chat), text=body, entities=entities, **kwargs)
        )
        return MessageRef(chat=str(sent.chat_id), id=str(sent.message_id), thread=to.thread)

    async def edit(self, ref: MessageRef, text: str, *, stage: Stage = "final") -> None:
        """Replace the text; "not modified" is not an error."""
        body, entities = self._render(text)
        await self._pace(int(ref.chat), stage)
        await self._call(
            self._bot().edit_message_text(
                chat_id=int(ref.chat), message_id=int(ref.id), text=body, entities=entities
            )
        )

    async def send_files(
        self, to: ConversationKey, files: Sequence[LocalFile], reply_to: MessageRef | None = None
    ) -> None:
        """Photos, audio and video as such; everything else as documents."""
        bot = self._bot()
        thread = {"message_thread_id": int(to.thread)} if to.thread else {}
        for f in files:
            await self._pace(int(to.chat), "final")
            with f.path.open("rb") as fh:
                if f.kind == "image":
                    call = bot.send_photo(chat_id=int(to.chat), photo=fh, filename=f.name, **thread)
                elif f.kind == "audio":
                    call = bot.send_audio(chat_id=int(to.chat), audio=fh, filename=f.name, **thread)
                elif f.kind == "video":
                    call = bot.send_video(chat_id=int(to.chat), video=fh, filename=f.name, **thread)
                else:
                    call = bot.send_document(chat_id=int(to.chat), document=fh, filename=f.name, **thread)
                await self._call(call)

    @contextlib.asynccontextmanager
    async def typing(self, to: ConversationKey) -> AsyncIterator[None]:
        """ "typing…" every 4 s (Telegram shows it for 5 s) while the block runs."""

        async def keep_typing() -> None:
            while True:
                with contextlib.suppress(TelegramError):
                    await self._bot().send_chat_action(
                        chat_id=int(to.chat),
                        action=ChatAction.TYPING,
                        message_thread_id=int(to.thread) if to.thread else None,
                    )
                await asyncio.sleep(4)

        task = asyncio.create_task(keep_typing())
        try:
            yield
        finally:
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task

    # -- helpers ---------------------------------------------------------------------------
    async def _pace(self, chat_id: int, stage: Stage) -> None:
        """Keep within the chat's budget: intermediate texts are refused, final ones wait."""
        while (wait := self._pacer.reserve(chat_id)) > 0:
            if stage != "final":
                raise RateLimited(wait, "Telegram budget for this chat")
            await asyncio.sleep(wait)

    def _bot(self) -> Any:
        if self._app is None:
            raise PlatformError("the Telegram bot is not running")
        return self._app.bot

    @staticmethod
    def _render(text: str) -> tuple[str, list[MessageEntity]]:
        chunks = render_chunks(text or "…")
        body, entities = chunks[0] if chunks else ("…", [])
        if len(chunks) > 1:  # only when rendering grew past the limit: keep the message valid
            body = body.rstrip() + " …"
        return body, [
            MessageEntity(e.type, e.offset, e.length, url=e.url, language=e.language) for e in entities
        ]

    @staticmethod
    async def _call(coro: Any) -> Any:
        try:
            return await coro
        except RetryAfter as exc:
            with warnings.catch_warnings():  # PTB 22 warns that the int will become a timedelta
                warnings.simplefilter("ignore")
                delay = exc.retry_after
            seconds = delay.total_seconds() if hasattr(delay, "total_seconds") else float(delay)
            raise RateLimited(seconds, "Telegram flood control") from exc
        except BadRequest as exc:
            if "not modified" in exc.message.lower():
                return None
            raise PlatformError(f"Telegram refused the request: {exc.message}") from exc
        except TelegramError as exc:
            raise PlatformError(f"Telegram request failed: {exc}") from exc
