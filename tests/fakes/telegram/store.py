"""Chats, messages and the records of the fake Telegram Bot API (:mod:`tests.fakes.telegram`), and the Bot API
methods that act on them: sendMessage, editMessageText, editMessageReplyMarkup, deleteMessage,
sendMessageDraft, sendChatAction, set/get/deleteMyCommands, answerCallbackQuery, getMe (files and their
methods are in :mod:`~tests.fakes.telegram.media`). Each returns the ``result`` or raises :class:`ApiError`.
"""

from __future__ import annotations

import time
from collections import defaultdict
from dataclasses import dataclass, field
from typing import Any

from tests.fakes.telegram.rules import (
    CHAT_ACTIONS,
    Budgets,
    bad,
    check_commands,
    check_reply_markup,
    formatted,
)

NOT_MODIFIED = (
    "message is not modified: specified new message content and reply markup are exactly the same as a "
    "current content and reply markup of the message"
)
MB = 1024 * 1024
FOLDERS = {"photo": "photos", "document": "documents", "audio": "music", "video": "videos"}
Params = dict[str, Any]


@dataclass
class Upload:
    """A multipart file part as received."""

    name: str | None
    mime: str | None
    data: bytes = field(repr=False)


@dataclass
class StoredFile:
    """A file the fake knows: uploaded by the bot or pushed by a user. ``path`` is its getFile path."""

    file_id: str
    file_unique_id: str
    kind: str
    name: str | None
    mime: str | None
    data: bytes = field(repr=False)
    path: str
    chat_id: int | str | None = None


@dataclass
class StoredMessage:
    """One message in ``FakeTelegram.messages[chat_id][message_id]``; ``text`` is the caption for media."""

    chat_id: int | str
    message_id: int
    sender: dict[str, Any]
    from_bot: bool
    text: str | None = None
    entities: list[dict[str, Any]] = field(default_factory=list)
    reply_markup: Any = None
    media: dict[str, Any] = field(default_factory=dict)
    extra: dict[str, Any] = field(default_factory=dict)
    edits: list[dict[str, Any]] = field(default_factory=list)  # earlier {text, entities, reply_markup}
    deleted: bool = False
    date: int = field(default_factory=lambda: int(time.time()))
    edit_date: int | None = None


@dataclass
class Draft:
    chat_id: int
    draft_id: int
    text: str
    entities: list[dict[str, Any]]
    message_thread_id: int | None = None


def make_user(uid: int, first_name: str = "Alice", username: str | None = "alice") -> dict[str, Any]:
    user: dict[str, Any] = {"id": uid, "is_bot": False, "first_name": first_name, "language_code": "en"}
    return {**user, "username": username} if username else user


class ChatStore:
    """Known chats, every message (``messages[chat_id][message_id]``), drafts, files and commands."""

    def __init__(self, token: str, username: str, budgets: Budgets, strict_chats: bool) -> None:
        self.bot_user = {"id": int(token.split(":", 1)[0]), "is_bot": True, "first_name": "Fake Bot"}
        self.bot_user["username"] = username
        self.budgets, self.strict_chats = budgets, strict_chats
        self.chats: dict[int | str, dict[str, Any]] = {}
        self.messages: dict[int | str, dict[int, StoredMessage]] = defaultdict(dict)
        self.drafts: list[Draft] = []
        self.files: dict[str, StoredFile] = {}
        self.sent_files: list[StoredFile] = []
        self.callback_answers: dict[str, Params] = {}
        self.commands: dict[str, list[dict[str, str]]] = {}  # scope key ("default/", "chat:42/en") → list
        self._callbacks: set[str] = set()

    def add_chat(
        self,
        chat_id: int,
        chat_type: str | None = None,
        *,
        title: str | None = None,
        user: dict[str, Any] | None = None,
    ) -> dict[str, Any]:
        """Make a chat known: private when ``chat_id`` > 0, else a supergroup unless ``chat_type`` says."""
        chat_type = chat_type or ("private" if chat_id > 0 else "supergroup")
        assert (chat_type == "private") == (chat_id > 0), "private chats have positive ids, groups negative"
        chat = self.chats.setdefault(chat_id, {"id": chat_id, "type": chat_type})
        if chat_type == "private":
            who = user or make_user(chat_id)
            chat.update({k: who[k] for k in ("first_name", "username") if k in who})
        else:
            chat.setdefault("title", title or f"Group {-chat_id}")
        return chat

    def _chat(self, p: Params) -> dict[str, Any]:
        cid = p.get("chat_id")
        if cid is None or cid == "":
            raise bad("chat_id is empty")
        chat = self.chats.get(cid) or next(
            (c for c in self.chats.values() if f"@{c.get('username')}" == cid), None
        )
        if chat is None and (self.strict_chats or not isinstance(cid, int)):
            raise bad("chat not found")
        return chat or self.add_chat(int(cid))

    def _user(self, chat_id: int, user: dict[str, Any] | int | None) -> dict[str, Any]:
        if isinstance(user, dict):
            return user
        return make_user(user if isinstance(user, int) else (chat_id if chat_id > 0 else 4242))

    def _placement(self, chat: dict[str, Any], p: Params) -> dict[str, Any]:
        """Topic thread and reply target of a new message, checked against the chat."""
        extra: dict[str, Any] = {}
        if thread := p.get("message_thread_id"):
            if chat["type"] != "private" and not chat.get("is_forum"):
                raise bad("message thread not found")
            extra.update(message_thread_id=thread, is_topic_message=True)
        reply = p.get("reply_parameters") or (
            {
                "message_id": p["reply_to_message_id"],
                "allow_sending_without_reply": p.get("allow_sending_without_reply"),
            }
            if p.get("reply_to_message_id")
            else None
        )
        if reply:
            target = self._message(chat["id"], reply.get("message_id"))
            if target is not None and not target.deleted:
                extra["reply_to_message"] = {
                    k: v for k, v in self._wire(target).items() if k != "reply_to_message"
                }
            elif not reply.get("allow_sending_without_reply"):
                raise bad("message to be replied not found")
        return extra

    def _message(self, chat_id: int | str, message_id: Any) -> StoredMessage | None:
        return self.messages[chat_id].get(message_id) if isinstance(message_id, int) else None

    def _store(self, chat: dict[str, Any], sender: dict[str, Any], **kw: Any) -> StoredMessage:
        box = self.messages[chat["id"]]
        msg = StoredMessage(chat["id"], max(box, default=0) + 1, sender, sender.get("is_bot", False), **kw)
        box[msg.message_id] = msg
        return msg

    def _incoming(
        self,
        chat_id: int,
        user: dict[str, Any] | int | None = None,
        chat_type: str | None = None,
        thread_id: int | None = None,
        reply_to_message_id: int | None = None,
        **kw: Any,
    ) -> StoredMessage:
        sender = self._user(chat_id, user)
        chat = self.add_chat(chat_id, chat_type, user=sender)
        if thread_id is not None and chat["type"] == "supergroup":
            chat["is_forum"] = True
        extra = self._placement(
            chat, {"message_thread_id": thread_id, "reply_to_message_id": reply_to_message_id}
        )
        return self._store(chat, sender, extra=extra, **kw)

    def _wire(self, msg: StoredMessage) -> dict[str, Any]:
        out: dict[str, Any] = {
            "message_id": msg.message_id,
            "date": msg.date,
            "chat": dict(self.chats[msg.chat_id]),
        }
        out["from"] = msg.sender
        out.update(msg.media)
        text_key = "caption" if msg.media else "text"
        if msg.text is not None:
            out[text_key] = msg.text
        if msg.entities:
            out["caption_entities" if msg.media else "entities"] = msg.entities
        if msg.reply_markup:
            out["reply_markup"] = msg.reply_markup
        if msg.edit_date:
            out["edit_date"] = msg.edit_date
        return out | msg.extra

    async def _get_me(self, p: Params) -> Any:
        return self.bot_user | {"can_join_groups": True, "can_read_all_group_messages": False}

    async def _send_message(self, p: Params) -> Any:
        chat = self._chat(p)
        text, entities = formatted(p)
        markup = check_reply_markup(p.get("reply_markup"))
        extra = self._placement(chat, p)
        self.budgets.take(chat["id"])
        return self._wire(
            self._store(chat, self.bot_user, text=text, entities=entities, reply_markup=markup, extra=extra)
        )

    def _editable(self, p: Params) -> StoredMessage:
        if p.get("inline_message_id"):
            raise bad("MESSAGE_ID_INVALID")
        msg = self._message(self._chat(p)["id"], p.get("message_id"))
        if msg is None or msg.deleted:
            raise bad("message to edit not found")
        if not msg.from_bot:
            raise bad("message can't be edited")
        return msg

    def _edit(self, msg: StoredMessage, text: str | None, entities: list[dict[str, Any]], markup: Any) -> Any:
        if (text, entities, markup) == (msg.text, msg.entities, msg.reply_markup):
            raise bad(NOT_MODIFIED)
        self.budgets.take(msg.chat_id)
        msg.edits.append({"text": msg.text, "entities": msg.entities, "reply_markup": msg.reply_markup})
        msg.text, msg.entities, msg.reply_markup, msg.edit_date = text, entities, markup, int(time.time())
        return self._wire(msg)

    async def _edit_message_text(self, p: Params) -> Any:
        msg = self._editable(p)
        if msg.media:
            raise bad("there is no text in the message to edit")
        text, entities = formatted(p)  # an edit without reply_markup removes the keyboard, as on Telegram
        return self._edit(msg, text, entities, check_reply_markup(p.get("reply_markup")))

    async def _edit_message_reply_markup(self, p: Params) -> Any:
        msg = self._editable(p)
        return self._edit(msg, msg.text, msg.entities, check_reply_markup(p.get("reply_markup")))

    async def _delete_message(self, p: Params) -> Any:
        chat = self._chat(p)
        msg = self._message(chat["id"], p.get("message_id"))
        if msg is None or msg.deleted:
            raise bad("message to delete not found")
        if not msg.from_bot and chat["type"] != "private":
            raise bad("message can't be deleted")
        msg.deleted = True
        return True

    async def _send_message_draft(self, p: Params) -> Any:
        if not isinstance(p.get("chat_id"), int) or p["chat_id"] <= 0:
            raise bad("TEXTDRAFT_PEER_INVALID")
        self._chat(p)
        if not isinstance(p.get("draft_id"), int) or p["draft_id"] == 0:
            raise bad("DRAFT_ID_INVALID")
        text, entities = formatted(p, empty_ok=True)
        self.drafts.append(Draft(p["chat_id"], p["draft_id"], text, entities, p.get("message_thread_id")))
        return True

    async def _send_chat_action(self, p: Params) -> Any:
        self._chat(p)
        if p.get("action") not in CHAT_ACTIONS:
            raise bad("wrong parameter action in request")
        return True

    @staticmethod
    def _scope_key(p: Params) -> str:
        scope = p.get("scope") or {"type": "default"}
        return (
            ":".join(str(scope[k]) for k in ("type", "chat_id", "user_id") if k in scope)
            + f"/{p.get('language_code', '')}"
        )

    async def _set_my_commands(self, p: Params) -> Any:
        self.commands[self._scope_key(p)] = check_commands(p.get("commands"))
        return True

    async def _get_my_commands(self, p: Params) -> Any:
        return self.commands.get(self._scope_key(p), [])

    async def _delete_my_commands(self, p: Params) -> Any:
        self.commands.pop(self._scope_key(p), None)
        return True

    async def _answer_callback_query(self, p: Params) -> Any:
        qid = p.get("callback_query_id", "")
        if qid not in self._callbacks or qid in self.callback_answers:
            raise bad("query is too old and response timeout expired or query ID is invalid")
        if len(p.get("text") or "") > 200:
            raise bad("MESSAGE_TOO_LONG")
        self.callback_answers[qid] = p
        return True
