"""Sending on Telegram: messages, drafts, edits, files and "typing…", within the flood budgets.

* Private chats stream as a draft (``sendMessageDraft``: a live preview, no message yet); the final
  text is sent with ``sendMessage``. A draft's handle is ``MessageRef(id="draft-<n>", data=(("draft",
  n), ("reply", message replied to)))``; editing it with final text sends the message and returns
  the message's own handle, which the core uses from then on (nothing here remembers which draft
  became which message). When Telegram refuses drafts in a chat (e.g. ``TEXTDRAFT_PEER_INVALID``)
  that chat streams by edits from then on.
* Groups get a message edited as the reply grows, with an inline "Stop" button (``callback_data``
  :data:`STOP_DATA`, read by :mod:`adapters.telegram.receive`) that the final edit removes.
* Text goes out as plain text plus entities (:mod:`adapters.telegram.render`), so nothing can fail
  to parse; the core splits replies by ``text_length``, so a piece over Telegram's limit is a bug.
* Every call is paced (:mod:`adapters.telegram.pacing`; the bot-wide and per-group windows are shared
  by every process serving the bot, through ``host.budget``) and holds one of :data:`CALL_SLOTS` while it
  is made: an intermediate text over the budget is refused with ``RateLimited`` (the streamer drops
  it and backs off); a final text waits for its turn. Errors are mapped by
  :func:`adapters.telegram.errors.call`.
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import itertools
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator, Sequence
from typing import Any

import structlog
from telegram import Bot, InlineKeyboardButton, InlineKeyboardMarkup, MessageEntity
from telegram.constants import ChatAction
from telegram.error import BadRequest, TelegramError

from adapters.telegram.config import TelegramConfig
from adapters.telegram.errors import call
from adapters.telegram.files import upload
from adapters.telegram.pacing import Pacer
from adapters.telegram.render import MAX_LEN, message, utf16_len
from bridge import ConversationKey, LocalFile, MessageRef, PlatformError, RateLimited, Stage, Text, repeating

log = structlog.get_logger(__name__)
STOP_DATA = "bridge:stop"  # callback_data of the Stop button
_STOP = InlineKeyboardMarkup([[InlineKeyboardButton("⏹ Stop", callback_data=STOP_DATA)]])
CALL_SLOTS = 24  # Bot API calls in flight at once (more only queue up in the HTTP pool)
TYPING_EVERY_S = 4.0  # Telegram shows "typing…" for 5 s


class Sender:
    """The sending side of one bot; :attr:`bot` is there while :meth:`running`."""

    def __init__(self, adapter: str, config: TelegramConfig) -> None:
        self.adapter = adapter
        self.config = config
        self._bot: Bot | None = None
        self.slots = asyncio.Semaphore(CALL_SLOTS)
        self.pacer = Pacer()  # the adapter's run shares its per-bot windows (``Pacer.share``)
        self._draft_ids = itertools.count(1)
        self._no_drafts: set[str] = set()  # chats where Telegram refused a draft

    @contextlib.contextmanager
    def running(self, bot: Bot) -> Iterator[None]:
        """Send with ``bot`` while the block runs (the adapter's ``run``)."""
        self._bot = bot
        try:
            yield
        finally:
            self._bot = None

    @property
    def bot(self) -> Bot:
        """The running bot; a permanent ``PlatformError`` when the adapter is not running."""
        if self._bot is None:
            raise PlatformError("the Telegram bot is not running", permanent=True)
        return self._bot

    async def send(
        self, to: ConversationKey, text: Text, reply_to: MessageRef | None, stage: Stage
    ) -> MessageRef:
        """Post ``text`` (a draft while streaming in a private chat), replying to ``reply_to``."""
        if stage != "final" and self._drafts_in(to.chat):
            draft_id = next(self._draft_ids)
            if await self._draft(int(to.chat), to.thread, draft_id, text):
                data = (("draft", str(draft_id)), ("reply", reply_to.id if reply_to else ""))
                return MessageRef(chat=to.chat, id=f"draft-{draft_id}", thread=to.thread, data=data)
        message_id = await self._send(int(to.chat), to.thread, text, reply_to.id if reply_to else "", stage)
        return MessageRef(chat=to.chat, id=str(message_id), thread=to.thread)

    async def edit(self, ref: MessageRef, text: Text, stage: Stage) -> MessageRef:
        """Replace the text; a draft is updated, or becomes a message whose handle is returned."""
        message_id = message_of(ref)
        if message_id is None:
            data = dict(ref.data)
            drafting = stage != "final" and self._drafts_in(ref.chat)
            if drafting and await self._draft(int(ref.chat), ref.thread, int(data["draft"]), text):
                return ref
            sent = await self._send(int(ref.chat), ref.thread, text, data.get("reply", ""), stage)
            return MessageRef(chat=ref.chat, id=str(sent), thread=ref.thread)
        body, entities = rendered(text)
        edit = functools.partial(
            self.bot.edit_message_text,
            chat_id=int(ref.chat),
            message_id=message_id,
            text=body,
            entities=entities,
            reply_markup=self._markup(stage),
        )
        await self.paced(int(ref.chat), stage, edit)
        return ref

    async def files(
        self, to: ConversationKey, files: Sequence[LocalFile], reply_to: MessageRef | None
    ) -> None:
        """Each file by its kind (:func:`adapters.telegram.files.upload`), replying to ``reply_to``."""
        extra: dict[str, Any] = {"message_thread_id": int(to.thread)} if to.thread else {}
        if reply_to is not None and message_of(reply_to) is not None:
            extra |= {"reply_to_message_id": int(reply_to.id), "allow_sending_without_reply": True}
        chat = int(to.chat)
        for f in files:
            with f.path.open("rb") as fh:
                await self.paced(chat, "final", functools.partial(upload, self.bot, chat, f, fh, extra))

    @contextlib.asynccontextmanager
    async def typing(self, to: ConversationKey) -> AsyncIterator[None]:
        """ "typing…" every :data:`TYPING_EVERY_S` while the block runs (failures are let be)."""

        async def show() -> None:
            with contextlib.suppress(TelegramError):
                async with self.slots:
                    await self.bot.send_chat_action(
                        chat_id=int(to.chat),
                        action=ChatAction.TYPING,
                        message_thread_id=int(to.thread) if to.thread else None,
                    )

        async with repeating(show, TYPING_EVERY_S):
            yield

    async def paced(self, chat_id: int, stage: Stage, make_call: Callable[[], Awaitable[Any]]) -> Any:
        """Make one API call within the budgets: intermediate texts are refused, final ones wait.

        The budget is taken only once a call slot is held, so the call goes out when it is counted
        (calls queued in the HTTP pool would otherwise reach Telegram in bursts).
        """
        while True:
            async with self.slots:
                wait = await self.pacer.reserve(chat_id, final=stage == "final")
                if wait == 0:
                    return await call(make_call())
            if stage != "final":
                raise RateLimited(wait, "Telegram budget for this chat")
            await asyncio.sleep(wait)

    def _drafts_in(self, chat: str) -> bool:
        # Drafts exist in private chats only (positive chat ids are users).
        return self.config.drafts and int(chat) > 0 and chat not in self._no_drafts

    async def _draft(self, chat_id: int, thread: str | None, draft_id: int, text: Text) -> bool:
        """Show ``text`` as draft ``draft_id``; False when Telegram refuses drafts in this chat."""
        body, entities = rendered(text)
        if (wait := await self.pacer.reserve(chat_id, draft=True)) > 0:
            raise RateLimited(wait, "Telegram budget for drafts in this chat")
        try:
            async with self.slots:
                await call(
                    self.bot.send_message_draft(
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
            log.info("drafts refused; streaming by edits here", adapter=self.adapter, reason=str(exc))
            self._no_drafts.add(str(chat_id))
            return False
        return True

    async def _send(self, chat_id: int, thread: str | None, text: Text, reply_to: str, stage: Stage) -> int:
        body, entities = rendered(text)
        kwargs: dict[str, Any] = {"message_thread_id": int(thread)} if thread else {}
        if reply_to:
            kwargs |= {"reply_to_message_id": int(reply_to), "allow_sending_without_reply": True}
        send = functools.partial(
            self.bot.send_message,
            chat_id=chat_id,
            text=body,
            entities=entities,
            reply_markup=self._markup(stage),
            **kwargs,
        )
        sent = await self.paced(chat_id, stage, send)
        return int(sent.message_id)

    def _markup(self, stage: Stage) -> InlineKeyboardMarkup | None:
        return _STOP if stage != "final" and self.config.stop_button else None


def message_of(ref: MessageRef) -> int | None:
    """The Telegram message ``ref`` is; None for a draft (it is no message yet)."""
    return None if dict(ref.data).get("draft") is not None else int(ref.id)


def rendered(text: Text) -> tuple[str, list[MessageEntity]]:
    """The body and entities of the message showing ``text`` (a chunk within the core's limit)."""
    body, entities = message(text)
    if (size := utf16_len(body)) > MAX_LEN:  # the core splits by text_length: a bug if it happens
        raise PlatformError(
            f"a reply chunk rendered to {size} UTF-16 units, over Telegram's {MAX_LEN}; this is a bug "
            "in the bridge's splitting, please report it",
            permanent=True,
        )
    return body, [MessageEntity(e.type, e.offset, e.length, url=e.url, language=e.language) for e in entities]
