"""Files of the fake Telegram Bot API (:mod:`tests.fakes.telegram`): sendPhoto/sendDocument/sendAudio/
sendVideo (an upload, an ``attach://`` part or a known ``file_id``; uploads up to 50 MB, not empty) and
getFile (downloads up to 20 MB), as on the cloud Bot API. Each returns the ``result`` or raises
:class:`ApiError`.
"""

from __future__ import annotations

from typing import Any

from tests.fakes.telegram.rules import CAPTION_LIMIT, ApiError, bad, check_reply_markup, formatted
from tests.fakes.telegram.store import FOLDERS, MB, ChatStore, Params, StoredFile, Upload


class Media(ChatStore):
    """The file methods; files are kept in ``files`` (id → :class:`StoredFile`), the bot's also in
    ``sent_files``."""

    def _new_file(
        self, kind: str, name: str | None, data: bytes, mime: str | None, chat_id: Any
    ) -> StoredFile:
        n = len(self.files) + 1
        ext = "jpg" if kind == "photo" else (name.rsplit(".", 1)[-1] if name and "." in name else "bin")
        f = StoredFile(
            f"{kind}-{n:04d}", f"u{n:04d}", kind, name, mime, data, f"{FOLDERS[kind]}/file_{n}.{ext}", chat_id
        )
        self.files[f.file_id] = f
        return f

    def _media(self, kind: str, f: StoredFile, p: Params) -> Any:
        base: dict[str, Any] = {
            "file_id": f.file_id,
            "file_unique_id": f.file_unique_id,
            "file_size": len(f.data),
        }
        dims = {"width": p.get("width", 1), "height": p.get("height", 1)}
        if kind == "photo":
            return [base | dims]
        named = base | {k: v for k, v in (("file_name", f.name), ("mime_type", f.mime)) if v}
        if kind == "document":
            return named
        return named | {"duration": p.get("duration", 1)} | (dims if kind == "video" else {})

    async def _send_media(self, kind: str, p: Params) -> Any:
        chat = self._chat(p)
        value = p.get(kind)
        if isinstance(value, str) and value.startswith("attach://"):
            value = p.get(value.removeprefix("attach://"))
        if isinstance(value, Upload):
            if len(value.data) > 50 * MB:
                raise ApiError(413, "Request Entity Too Large")
            if not value.data:
                raise bad("file must be non-empty")
            f = self._new_file(kind, value.name, value.data, value.mime, chat["id"])
        elif isinstance(value, str) and value in self.files:
            f = self.files[value]
        else:
            raise bad(
                "wrong file identifier/HTTP URL specified" if value else f"there is no {kind} in the request"
            )
        caption, entities = formatted(p, "caption", limit=CAPTION_LIMIT, empty_ok=True)
        markup = check_reply_markup(p.get("reply_markup"))
        extra = self._placement(chat, p)
        self.budgets.take(chat["id"])
        self.sent_files.append(f)
        media = {kind: self._media(kind, f, p)}
        msg = self._store(
            chat,
            self.bot_user,
            text=caption or None,
            entities=entities,
            reply_markup=markup,
            media=media,
            extra=extra,
        )
        return self._wire(msg)

    async def _get_file(self, p: Params) -> Any:
        f = self.files.get(p.get("file_id", ""))
        if f is None:
            raise bad("invalid file_id")
        if len(f.data) > 20 * MB:
            raise bad("file is too big")
        return {
            "file_id": f.file_id,
            "file_unique_id": f.file_unique_id,
            "file_size": len(f.data),
            "file_path": f.path,
        }
