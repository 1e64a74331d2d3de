"""Files to and from Telegram: uploads by kind, and downloads of the files users sent."""

from __future__ import annotations

from collections.abc import Awaitable
from typing import Any, BinaryIO

from telegram import Bot

from bridge import Attachment, LocalFile


async def fetch_file(bot: Bot, attachment: Attachment) -> Attachment:
    """The bytes of a file an attachment refers to (getFile, then the download)."""
    tg_file = await bot.get_file(dict(attachment.source)["file_id"])
    data = bytes(await tg_file.download_as_bytearray())
    return Attachment(name=attachment.name, data=data, mime_type=attachment.mime_type)


def upload(bot: Bot, chat: int, f: LocalFile, fh: BinaryIO, extra: dict[str, Any]) -> Awaitable[Any]:
    """The call sending ``f``: photos (sendPhoto takes 10 MB), audio, video as such, else a document."""
    if f.kind == "image" and f.size <= 10 * 1024 * 1024:
        return bot.send_photo(chat_id=chat, photo=fh, filename=f.name, **extra)
    if f.kind == "audio":
        return bot.send_audio(chat_id=chat, audio=fh, filename=f.name, **extra)
    if f.kind == "video":
        return bot.send_video(chat_id=chat, video=fh, filename=f.name, **extra)
    return bot.send_document(chat_id=chat, document=fh, filename=f.name, **extra)
