"""The Telegram adapter: python-telegram-bot's ``Bot`` ↔ the bridge's adapter contract.

Receiving is :mod:`adapters.telegram.intake` (polling or webhook) and
:mod:`adapters.telegram.incoming` (which updates count, conversation keys, attachments). Sending:

* Private chats stream as a draft (``sendMessageDraft``: a live preview, no message yet) and the
  final text is sent with ``sendMessage``. When Telegram refuses drafts in a chat (e.g.
  ``TEXTDRAFT_PEER_INVALID``) that chat streams by edits from then on.
* Groups get a placeholder that is edited as the reply grows, with an inline "Stop" button that
  the final edit removes.
* ``offer`` puts quick replies under a sent message as an inline keyboard
  (:mod:`adapters.telegram.choices`: what each button carries, and how a press comes back).
* Text goes out as plain text plus entities (:mod:`adapters.telegram.render`), so nothing can fail
  to parse. The adapter paces itself within Telegram's flood budgets (:mod:`adapters.telegram.pacing`):
  an intermediate text that would exceed them is refused with ``RateLimited`` (the streamer drops it
  and backs off); a final text waits for its turn. ``RetryAfter`` becomes ``RateLimited``; "message
  is not modified" is not an error.
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import itertools
from collections import OrderedDict
from collections.abc import AsyncIterator, Awaitable, Callable, Sequence
from typing import Any

import structlog
from telegram import Bot, BotCommand, InlineKeyboardButton, InlineKeyboardMarkup, MessageEntity, Update
from telegram.constants import ChatAction
from telegram.error import BadRequest, TelegramError

from adapters.telegram.choices import Keyboards
from adapters.telegram.config import TelegramConfig
from adapters.telegram.errors import call
from adapters.telegram.files import fetch_file, upload
from adapters.telegram.incoming import STOP_DATA, UpdateReader
from adapters.telegram.intake import poll, serve_webhook, start_bot
from adapters.telegram.pacing import Pacer
from adapters.telegram.render import MAX_LEN, message, text_length, utf16_len
from bridge import (
    COMMANDS,
    Attachment,
    Capabilities,
    Choice,
    ConfigError,
    ConversationKey,
    Host,
    LocalFile,
    MessageGone,
    MessageRef,
    PlatformError,
    RateLimited,
    Stage,
    repeating,
)

log = structlog.get_logger(__name__)
_STOP = InlineKeyboardMarkup([[InlineKeyboardButton("⏹ Stop", callback_data=STOP_DATA)]])
_MATERIALIZED_MAX = 10_000  # drafts remembered after their real message was sent
_CALL_SLOTS = 24  # Bot API calls in flight at once (more only queue up in the HTTP pool)


class TelegramAdapter:
    """One Telegram bot."""

    Config = TelegramConfig

    def __init__(self, name: str, config: TelegramConfig, secret: Callable[[str], str]) -> None:
        self.name = name
        self.config = config
        self._token = secret(config.token_env)
        self._webhook_secret = secret(config.webhook_secret_env) if config.webhook_secret_env else ""
        # The core splits replies by the length of the rendered text in UTF-16 units, Telegram's unit.
        self.capabilities = Capabilities(
            max_text_len=MAX_LEN,
            text_length=text_length,
            min_edit_interval_s=1.0,
            can_edit=True,
            can_stream_draft=config.drafts,
            max_files=10,
            max_file_bytes=config.max_upload_bytes,
            max_incoming_bytes=config.max_download_bytes,
            markup="markdown",
        )
        self._bot: Bot | None = None
        self._keyboards: Keyboards | None = None
        self._pacer = Pacer()
        self._slots = asyncio.Semaphore(_CALL_SLOTS)
        self._draft_ids = itertools.count(1)
        self._no_drafts: set[str] = set()  # chats where Telegram refused a draft
        self._materialized: OrderedDict[str, int] = OrderedDict()  # "chat:draft" → its real message

    # -- receiving -------------------------------------------------------------------------
    async def run(self, host: Host) -> None:
        """Receive (polling or webhook) until cancelled."""
        bot = Bot(self._token, base_url=self.config.api_base_url, base_file_url=self.config.file_base_url)
        await start_bot(bot, self.name, self.config.token_env)
        async with bot:  # already initialized: this only shuts it down at the end
            self._bot = bot
            keyboards = self._keyboards = Keyboards(
                bot, host.state, lambda chat, make: self._paced(chat, "final", make)
            )
            reader = UpdateReader(self.name, self.config, bot, bot.username or "", keyboards)
            await bot.set_my_commands(
                [BotCommand("start", "What this bot does")]
                + [BotCommand(name, text[:256]) for name, text in COMMANDS.items()]
            )
            host.ready()

            async def handle(update: Update) -> bool:
                incoming = await reader.read(update)
                if incoming is None:
                    return True
                if durable := await host.deliver(incoming):
                    reader.delivered(update)
                return durable

            try:
                if self.config.mode == "polling":
                    await poll(
                        bot, host.state, handle, self.config.poll_timeout_s, self.name, self.config.token_env
                    )
                else:
                    if host.routes is None:
                        raise ConfigError(
                            f'adapters.{self.name}.mode: "webhook" needs [bridge].http, the listener '
                            "Telegram's calls arrive on"
                        )
                    assert self.config.webhook_url is not None
                    await serve_webhook(
                        bot,
                        host.routes,
                        self.config.webhook_path,
                        self.config.webhook_url,
                        self._webhook_secret,
                        handle,
                        self.name,
                    )
            finally:
                await keyboards.close()
                self._bot = self._keyboards = None

    # -- sending ---------------------------------------------------------------------------
    async def send(
        self, to: ConversationKey, text: str, reply_to: MessageRef | None = None, *, stage: Stage = "final"
    ) -> MessageRef:
        """Post rendered text (a draft while streaming in a private chat); replies to ``reply_to``."""
        if stage != "final" and self._drafts_in(to.chat):
            draft_id = next(self._draft_ids)
            if await self._draft(int(to.chat), to.thread, draft_id, text):
                data = (("draft", str(draft_id)), ("reply", reply_to.id if reply_to else ""))
                return MessageRef(chat=to.chat, id=f"draft-{draft_id}", thread=to.thread, data=data)
        message_id = await self._send(int(to.chat), to.thread, text, reply_to.id if reply_to else "", stage)
        return MessageRef(chat=to.chat, id=str(message_id), thread=to.thread)

    async def edit(self, ref: MessageRef, text: str, *, stage: Stage = "final") -> MessageRef:
        """Replace the text; a draft is updated, or becomes a real message (whose handle is returned)."""
        data = dict(ref.data)
        message_id = self._message_id(ref)
        if message_id is None:
            draft = data["draft"]
            drafting = stage != "final" and self._drafts_in(ref.chat)
            if drafting and await self._draft(int(ref.chat), ref.thread, int(draft), text):
                return ref
            sent = await self._send(int(ref.chat), ref.thread, text, data.get("reply", ""), stage)
            self._remember(f"{ref.chat}:{draft}", sent)
            return MessageRef(chat=ref.chat, id=str(sent), thread=ref.thread)
        body, entities = self._render(text)
        bot = self._require_bot()
        await self._paced(
            int(ref.chat),
            stage,
            lambda: bot.edit_message_text(
                chat_id=int(ref.chat),
                message_id=message_id,
                text=body,
                entities=entities,
                reply_markup=self._markup(stage),
            ),
        )
        return ref

    async def offer(self, ref: MessageRef, choices: Sequence[Choice]) -> None:
        """Quick replies as an inline keyboard under message ``ref`` (:mod:`adapters.telegram.choices`)."""
        message_id = self._message_id(ref)
        if self._keyboards is None:
            raise PlatformError("the Telegram bot is not running", permanent=True)
        if message_id is None:  # a draft that never became a message: nothing to put buttons on
            raise MessageGone("Telegram: the draft was never sent as a message")
        await self._keyboards.offer(int(ref.chat), message_id, choices)

    async def send_files(
        self, to: ConversationKey, files: Sequence[LocalFile], reply_to: MessageRef | None = None
    ) -> None:
        """Photos, audio and video as such; everything else as documents."""
        bot = self._require_bot()
        extra: dict[str, Any] = {"message_thread_id": int(to.thread)} if to.thread else {}
        if reply_to is not None and not reply_to.data:
            extra |= {"reply_to_message_id": int(reply_to.id), "allow_sending_without_reply": True}
        chat = int(to.chat)
        for f in files:
            with f.path.open("rb") as fh:
                await self._paced(chat, "final", functools.partial(upload, bot, chat, f, fh, extra))

    async def fetch(self, attachment: Attachment) -> Attachment:
        """Download a file a user sent (getFile, then the file itself)."""
        async with self._slots:
            fetched: Attachment = await call(fetch_file(self._require_bot(), attachment))
        return fetched

    @contextlib.asynccontextmanager
    async def typing(self, to: ConversationKey) -> AsyncIterator[None]:
        """ "typing…" every 4 s (Telegram shows it for 5 s) while the block runs."""

        async def show() -> None:
            with contextlib.suppress(TelegramError):
                async with self._slots:
                    await self._require_bot().send_chat_action(
                        chat_id=int(to.chat),
                        action=ChatAction.TYPING,
                        message_thread_id=int(to.thread) if to.thread else None,
                    )

        async with repeating(show, 4):
            yield

    # -- helpers ---------------------------------------------------------------------------
    def _drafts_in(self, chat: str) -> bool:
        # Drafts exist in private chats only (positive chat ids are users).
        return self.config.drafts and int(chat) > 0 and chat not in self._no_drafts

    async def _draft(self, chat_id: int, thread: str | None, draft_id: int, text: str) -> bool:
        """Show ``text`` as draft ``draft_id``; False when Telegram refuses drafts in this chat."""
        body, entities = self._render(text)
        if (wait := self._pacer.reserve(chat_id, draft=True)) > 0:
            raise RateLimited(wait, "Telegram budget for drafts in this chat")
        try:
            async with self._slots:
                await call(
                    self._require_bot().send_message_draft(
                        chat_id=chat_id,
                        draft_id=draft_id,
                        text=body,
                        entities=entities,
                        message_thread_id=int(thread) if thread else None,
                    )
                )
        except PlatformError as exc:
            if not isinstance(exc.__cause__, BadRequest):
                raise
            log.info("drafts refused; streaming by edits here", adapter=self.name, reason=str(exc))
            self._no_drafts.add(str(chat_id))
            return False
        return True

    async def _send(self, chat_id: int, thread: str | None, text: str, reply_to: str, stage: Stage) -> int:
        body, entities = self._render(text)
        kwargs: dict[str, Any] = {"message_thread_id": int(thread)} if thread else {}
        if reply_to:
            kwargs |= {"reply_to_message_id": int(reply_to), "allow_sending_without_reply": True}
        bot = self._require_bot()
        sent = await self._paced(
            chat_id,
            stage,
            lambda: bot.send_message(
                chat_id=chat_id, text=body, entities=entities, reply_markup=self._markup(stage), **kwargs
            ),
        )
        return int(sent.message_id)

    def _markup(self, stage: Stage) -> InlineKeyboardMarkup | None:
        return _STOP if stage != "final" and self.config.stop_button else None

    def _message_id(self, ref: MessageRef) -> int | None:
        """The Telegram message ``ref`` is (a draft: the message it became), or None."""
        draft = dict(ref.data).get("draft")
        return int(ref.id) if draft is None else self._materialized.get(f"{ref.chat}:{draft}")

    def _remember(self, draft: str, message_id: int) -> None:
        self._materialized[draft] = message_id
        while len(self._materialized) > _MATERIALIZED_MAX:
            self._materialized.popitem(last=False)

    async def _paced(self, chat_id: int, stage: Stage, make_call: Callable[[], Awaitable[Any]]) -> Any:
        """Make one API call within the budgets: intermediate texts are refused, final ones wait.

        The budget is taken only once a call slot is held, so the call goes out when it is counted
        (calls queued in the HTTP pool would otherwise reach Telegram in bursts).
        """
        while True:
            async with self._slots:
                wait = self._pacer.reserve(chat_id, final=stage == "final")
                if wait == 0:
                    return await call(make_call())
            if stage != "final":
                raise RateLimited(wait, "Telegram budget for this chat")
            await asyncio.sleep(wait)

    def _require_bot(self) -> Bot:
        if self._bot is None:
            raise PlatformError("the Telegram bot is not running", permanent=True)
        return self._bot

    @staticmethod
    def _render(text: str) -> tuple[str, list[MessageEntity]]:
        body, entities = message(text)
        if (size := utf16_len(body)) > MAX_LEN:  # the core splits by text_length: a bug if it happens
            raise PlatformError(
                f"a reply chunk rendered to {size} UTF-16 units, over Telegram's {MAX_LEN}; this is a bug "
                "in the bridge's splitting, please report it",
                permanent=True,
            )
        return body, [
            MessageEntity(e.type, e.offset, e.length, url=e.url, language=e.language) for e in entities
        ]
