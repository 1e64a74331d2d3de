"""The Telegram adapter: python-telegram-bot's ``Bot`` ↔ the bridge's adapter contract.

This module is the lifecycle and the contract's facade; each part of the work has its room:

* :mod:`~adapters.telegram.receive`: updates (polling or webhook) → ``Incoming`` → ``host.deliver``;
  :mod:`~adapters.telegram.catchup`: the polling offset, so nothing sent while down is lost.
* :mod:`~adapters.telegram.send`: messages, drafts, edits, files, "typing…", paced by
  :mod:`~adapters.telegram.pacing`, errors mapped by :mod:`~adapters.telegram.errors`.
* :mod:`~adapters.telegram.render`: Markdown → plain text plus entities.
* :mod:`~adapters.telegram.files`: what kind of upload a file is, and downloads of users' files.
* :mod:`~adapters.telegram.choices`: quick replies as inline keyboards;
  :mod:`~adapters.telegram.commands`: the command menu.

``run`` connects (``getMe`` until it works; a rejected token stops the adapter), registers the
command menu, calls ``host.ready()`` and receives until cancelled. Sending works while it runs.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Sequence
from contextlib import AbstractAsyncContextManager

import structlog
from telegram import Bot
from telegram.error import Forbidden, InvalidToken, TelegramError

from adapters.telegram import commands
from adapters.telegram.choices import Keyboards
from adapters.telegram.config import TelegramConfig
from adapters.telegram.errors import rejected_token
from adapters.telegram.files import Downloads
from adapters.telegram.receive import Receiver
from adapters.telegram.render import MAX_LEN, text_length
from adapters.telegram.send import Sender, message_of
from bridge import (
    Attachment,
    Capabilities,
    Choice,
    ConversationKey,
    Host,
    LocalFile,
    MessageGone,
    MessageRef,
    PlatformError,
    Stage,
    Text,
)

log = structlog.get_logger(__name__)


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
        self._sender = Sender(name, config)
        self._downloads = Downloads(self._sender.slots)
        self._keyboards: Keyboards | None = None

    async def run(self, host: Host) -> None:
        """Connect, then receive (polling or webhook) until cancelled."""
        bot = Bot(self._token, base_url=self.config.api_base_url, base_file_url=self.config.file_base_url)
        await _connect(bot, self.name, self.config.token_env)
        self._sender.pacer.share(host.budget)  # the bot's windows, shared with its other processes
        async with bot:  # already initialized: this only shuts it down at the end
            keyboards = self._keyboards = Keyboards(
                bot, host.state, lambda chat, make: self._sender.paced(chat, "final", make)
            )
            try:
                with self._sender.running(bot):
                    await commands.register(bot)
                    host.ready()
                    await Receiver(self.name, self.config, bot, keyboards).run(host, self._webhook_secret)
            finally:
                await keyboards.close()
                self._keyboards = None

    async def send(
        self, to: ConversationKey, text: Text, reply_to: MessageRef | None = None, *, stage: Stage = "final"
    ) -> MessageRef:
        """Post rendered text (a draft while streaming in a private chat); replies to ``reply_to``."""
        return await self._sender.send(to, text, reply_to, stage)

    async def edit(self, ref: MessageRef, text: Text, *, stage: Stage = "final") -> MessageRef:
        """Replace the text; a draft is updated, or becomes a real message (whose handle is returned)."""
        return await self._sender.edit(ref, text, stage)

    async def offer(self, ref: MessageRef, choices: Sequence[Choice]) -> None:
        """Quick replies as an inline keyboard under message ``ref`` (:mod:`adapters.telegram.choices`)."""
        message_id = message_of(ref)
        if self._keyboards is None:
            raise PlatformError("the Telegram bot is not running", permanent=True)
        if message_id is None:  # a draft: the core offers on the final message, never on a draft
            raise MessageGone("Telegram: the draft was never sent as a message")
        await self._keyboards.offer(int(ref.chat), message_id, choices)

    async def send_files(
        self, to: ConversationKey, files: Sequence[LocalFile], reply_to: MessageRef | None = None
    ) -> None:
        """Photos, audio and video as such; everything else as documents."""
        await self._sender.files(to, files, reply_to)

    async def fetch(self, attachment: Attachment) -> Attachment:
        """Download a file a user sent (getFile, then the file itself); called by the turn."""
        return await self._downloads.fetch(self._sender.bot, attachment)

    def typing(self, to: ConversationKey) -> AbstractAsyncContextManager[None]:
        """ "typing…" while the block runs."""
        return self._sender.typing(to)


async def _connect(bot: Bot, adapter: str, token_env: str) -> None:
    """``getMe`` until it works: a rejected token stops the adapter (PTB's own error would quote the
    token, so it is replaced); an unreachable API is retried with back-off."""
    delay = 1.0
    while True:
        try:
            await bot.initialize()
            return
        except (InvalidToken, Forbidden):
            raise rejected_token(adapter, token_env) from None
        except TelegramError as exc:
            log.warning(
                "Telegram unreachable; retrying", adapter=adapter, error=type(exc).__name__, retry_in_s=delay
            )
            await asyncio.sleep(delay)
            delay = min(60.0, delay * 2)
