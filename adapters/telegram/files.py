"""Telegram's file transfer rules: uploads by kind, and downloads of the files users sent.

Out: images up to 10 MB with ``sendPhoto`` (Telegram's photo limit; larger ones as documents),
audio with ``sendAudio``, video with ``sendVideo``, anything else with ``sendDocument``; the core
keeps each file within ``max_upload_bytes`` (50 MB on the cloud Bot API).

In: a user's file crosses the contract as a reference (``source = (("file_id", …),)`` and the size
Telegram reports); :class:`Downloads` fetches it when the turn asks (``adapter.fetch``), never the
receive loop. ``getFile`` is a Bot API call and takes one of the adapter's call slots for a moment;
the transfer itself does not, so files arriving slowly never hold up another chat's messages.
Transfers have their own limit (:data:`TRANSFERS` at once, the rest wait) so they cannot take all
of the HTTP connections the calls need.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable
from typing import Any, BinaryIO

from telegram import Bot

from adapters.telegram.errors import call
from bridge import Attachment, LocalFile

PHOTO_MAX = 10 * 1024 * 1024  # sendPhoto takes up to 10 MB
TRANSFERS = 64  # downloads at once; python-telegram-bot's pool holds 256 connections


class Downloads:
    """The files users sent, fetched for their turns."""

    def __init__(self, slot: asyncio.Semaphore) -> None:
        self._slot = slot  # one of the adapter's Bot API call slots
        self._transfers = asyncio.Semaphore(TRANSFERS)

    async def fetch(self, bot: Bot, attachment: Attachment) -> Attachment:
        """The bytes of the file ``attachment`` refers to (getFile, then the download)."""
        async with self._slot:
            tg_file = await call(bot.get_file(dict(attachment.source)["file_id"]))
        async with self._transfers:
            data = bytes(await call(tg_file.download_as_bytearray()))
        return Attachment(name=attachment.name, data=data, mime_type=attachment.mime_type)


def upload(bot: Bot, chat: int, f: LocalFile, fh: BinaryIO, extra: dict[str, Any]) -> Awaitable[Any]:
    """The call sending ``f`` by its kind (see the module docstring)."""
    if f.kind == "image" and f.size <= PHOTO_MAX:
        return bot.send_photo(chat_id=chat, photo=fh, filename=f.name, **extra)
    if f.kind == "audio":
        return bot.send_audio(chat_id=chat, audio=fh, filename=f.name, **extra)
    if f.kind == "video":
        return bot.send_video(chat_id=chat, video=fh, filename=f.name, **extra)
    return bot.send_document(chat_id=chat, document=fh, filename=f.name, **extra)
