"""Messages and threads of the fake Discord (:mod:`tests.fakes.discord`): create/get/edit/delete under
``/channels/{id}/messages`` and thread creation, plus the message bookkeeping shared with interaction
responses (:meth:`Messages._compose`): body checks, files, attachments kept on edit, the empty-message
rule, ping analysis of every write, and MESSAGE_CREATE/UPDATE/DELETE and THREAD_CREATE dispatches (the
bot's own non-ephemeral messages are dispatched too, as Discord does).
"""

from __future__ import annotations

from typing import Any

from tests.fakes.discord.checks import CHANNEL_PARSE, check_body, pings
from tests.fakes.discord.model import StoredFile, StoredMessage, Upload, Write, now_iso
from tests.fakes.discord.rest import Handler, Req, Rest
from tests.fakes.discord.rules import (
    EMPTY,
    EPHEMERAL,
    LOADING,
    MAX_FILES,
    MB,
    NOT_AUTHOR,
    THREAD_EXISTS,
    ApiError,
    error,
    form_error,
    too_long,
    unknown,
)
from tests.fakes.discord.session import DIRECT_MESSAGES, GUILD_MESSAGES, GUILDS, MESSAGE_CONTENT

TEXT_TYPES = (0, 1, 5, 10, 11, 12)
ARCHIVE_MINUTES = (60, 1440, 4320, 10080)


class Messages(Rest):
    def _routes(self) -> list[tuple[str, str, str, Handler, str]]:
        msgs = "/channels/{channel_id}/messages"
        return [
            *super()._routes(),
            ("create_message", "POST", msgs, self._create_message, "bot"),
            ("get_message", "GET", msgs + "/{message_id}", self._get_message, "bot"),
            ("edit_message", "PATCH", msgs + "/{message_id}", self._edit_message, "bot"),
            ("delete_message", "DELETE", msgs + "/{message_id}", self._delete_message, "bot"),
            (
                "start_thread_from_message",
                "POST",
                msgs + "/{message_id}/threads",
                self._thread_from_message,
                "bot",
            ),
            ("start_thread", "POST", "/channels/{channel_id}/threads", self._start_thread, "bot"),
        ]

    # --------------------------------------------------------------------------------- shared pieces
    def _compose(
        self,
        msg: StoredMessage,
        body: Any,
        uploads: list[Upload],
        *,
        route: str,
        prefix: str = "",
        default_parse: tuple[str, ...] = CHANNEL_PARSE,
        allow_empty: bool = False,
    ) -> None:
        """Apply a create (``msg.writes`` empty) or edit body to ``msg`` after Discord's checks; record
        the write. Raises :class:`ApiError` and leaves ``msg`` untouched on a bad body."""
        if not isinstance(body, dict):
            raise form_error(prefix.rstrip(".") or "content", "Must be an object.", "MODEL_TYPE_CONVERT")
        check_body(body, prefix)
        if len(uploads) > MAX_FILES:
            raise too_long(f"{prefix}attachments", MAX_FILES)
        if (
            any(len(u.data) > self.upload_limit for u in uploads)
            or sum(len(u.data) for u in uploads) > 25 * MB
        ):
            raise ApiError(413, 40005, "Request entity too large")
        creating = not msg.writes
        attachments = self._attachments(msg, body, uploads, prefix)
        content = (body["content"] or "") if "content" in body else msg.content
        embeds = (body["embeds"] or []) if "embeds" in body else msg.embeds
        components = (body["components"] or []) if "components" in body else msg.components
        if not (
            allow_empty
            or content
            or attachments
            or embeds
            or components
            or body.get("sticker_ids")
            or body.get("poll")
        ):
            raise error(EMPTY)
        ref = body.get("message_reference") if creating else None
        replied = self._reference(msg, ref, prefix) if ref else None
        msg.content, msg.embeds, msg.components, msg.attachments = content, embeds, components, attachments
        if "flags" in body and body["flags"] is not None:
            keep = msg.flags & EPHEMERAL
            msg.flags = (int(body["flags"]) & ~LOADING) | keep if not creating else int(body["flags"])
        if not creating:
            msg.flags &= ~LOADING
            msg.edited_at = now_iso()
        msg.allowed_mentions = body.get("allowed_mentions")
        if creating and body.get("nonce") is not None:
            msg.nonce = str(body["nonce"])
        for f in attachments:
            if f.message_id is None:
                f.message_id = msg.id
                self.attachments[f.id] = f
                self.files.append(f)
        write_pings = (
            pings(content, msg.allowed_mentions, default_parse=default_parse, replied_user=replied)
            if "content" in body or replied
            else frozenset()
        )
        kind = "create" if creating else "edit"
        msg.writes.append(
            Write(kind, route, content, msg.allowed_mentions, body, write_pings, self.budgets.clock())
        )

    def _attachments(
        self, msg: StoredMessage, body: dict[str, Any], uploads: list[Upload], prefix: str
    ) -> list[StoredFile]:
        """Existing attachments named in ``attachments`` are kept (all of them when the key is absent);
        entries whose ``id`` is an upload index describe new files ``files[id]``."""
        by_index = {u.index: u for u in uploads}
        new: list[StoredFile] = []
        entries = body.get("attachments")
        if entries is None:
            kept = list(msg.attachments)
        else:
            kept = []
            existing = {f.id: f for f in msg.attachments}
            for i, entry in enumerate(entries):
                aid = str(entry.get("id"))
                if aid in existing:
                    kept.append(existing[aid])
                elif aid.isdigit() and int(aid) in by_index:
                    up = by_index.pop(int(aid))
                    new.append(
                        StoredFile(
                            self.new_id(),
                            entry.get("filename") or up.filename,
                            up.content_type,
                            up.data,
                            description=entry.get("description"),
                        )
                    )
                else:
                    raise form_error(
                        f"{prefix}attachments.{i}.id", "Unknown attachment.", "ATTACHMENT_NOT_FOUND"
                    )
        new += [StoredFile(self.new_id(), u.filename, u.content_type, u.data) for u in by_index.values()]
        return kept + new

    def _reference(self, msg: StoredMessage, ref: dict[str, Any], prefix: str) -> str | None:
        """Validate a reply's ``message_reference``; return the replied-to author (None for bots)."""
        target = self.messages.get(str(ref.get("message_id")))
        if target is None or target.deleted or target.channel_id != msg.channel_id:
            if ref.get("fail_if_not_exists", True):
                raise form_error(
                    f"{prefix}message_reference", "Unknown message", "MESSAGE_REFERENCE_UNKNOWN_MESSAGE"
                )
            return None
        msg.type = 19
        msg.message_reference = {"type": 0, "message_id": target.id, "channel_id": target.channel_id}
        if msg.guild_id:
            msg.message_reference["guild_id"] = msg.guild_id
        return None if target.from_bot else target.author_id

    def _new_message(
        self, channel: dict[str, Any], author_id: str, *, from_bot: bool, type: int = 0
    ) -> StoredMessage:
        guild_id = channel.get("guild_id")
        return StoredMessage(self.new_id(), channel["id"], guild_id, author_id, from_bot=from_bot, type=type)

    def _store(self, msg: StoredMessage) -> None:
        self.messages[msg.id] = msg
        if msg.channel_id in self.channels:
            self.channels[msg.channel_id]["last_message_id"] = msg.id

    async def _dispatch_message(self, msg: StoredMessage, event: str) -> None:
        """MESSAGE_CREATE/UPDATE/DELETE to the owning shard; ephemeral messages are not dispatched.
        Sessions without the MESSAGE_CONTENT intent get empty content/embeds/attachments/components
        unless the message is a DM, mentions the bot, or is the bot's own (Discord's rule)."""
        if msg.flags & EPHEMERAL:
            return
        intent = GUILD_MESSAGES if msg.guild_id else DIRECT_MESSAGES
        if event == "MESSAGE_DELETE":
            data = {"id": msg.id, "channel_id": msg.channel_id} | (
                {"guild_id": msg.guild_id} if msg.guild_id else {}
            )
            await self.dispatch(event, data, guild_id=msg.guild_id, intent=intent)
            return
        full = self.message_payload(msg, gateway=True)
        exempt = not msg.guild_id or msg.from_bot or any(u["id"] == self.bot_id for u in full["mentions"])
        for session in [s for s in self.sessions.values() if s.owns(msg.guild_id) and s.intents & intent]:
            blank = not exempt and not session.intents & MESSAGE_CONTENT
            data = (
                full | {"content": "", "embeds": [], "attachments": [], "components": []} if blank else full
            )
            await self._send(session, event, data)
        self._notify()

    def _edited_message(self, req: Req) -> str | None:
        return req.params["message_id"] if req.name == "edit_message" else None

    def _message_in(self, channel_id: str, message_id: str) -> StoredMessage:
        msg = self.messages.get(message_id)
        if msg is None or msg.deleted or msg.channel_id != channel_id or msg.flags & EPHEMERAL:
            raise unknown("message")
        return msg

    # ------------------------------------------------------------------------------------------ routes
    async def _create_message(self, req: Req) -> Any:
        channel = self._channel(req.params["channel_id"])
        if channel["type"] not in TEXT_TYPES:
            raise ApiError(400, 50008, "Cannot send messages in a non-text channel")
        body = req.body if isinstance(req.body, dict) else {}
        nonce = body.get("nonce")
        if body.get("enforce_nonce") and nonce is not None:
            for old in self.messages.values():
                if old.channel_id == channel["id"] and old.from_bot and old.nonce == str(nonce):
                    return self.message_payload(old)  # Discord de-duplicates retries by nonce
        msg = self._new_message(channel, self.bot_id, from_bot=True)
        self._compose(msg, req.body, req.uploads, route="channel")
        self._store(msg)
        await self._dispatch_message(msg, "MESSAGE_CREATE")
        return self.message_payload(msg)

    async def _get_message(self, req: Req) -> Any:
        self._channel(req.params["channel_id"])
        return self.message_payload(self._message_in(req.params["channel_id"], req.params["message_id"]))

    async def _edit_message(self, req: Req) -> Any:
        self._channel(req.params["channel_id"])
        msg = self._message_in(req.params["channel_id"], req.params["message_id"])
        if not msg.from_bot:
            raise error(NOT_AUTHOR)
        self._compose(msg, req.body, req.uploads, route="channel")
        await self._dispatch_message(msg, "MESSAGE_UPDATE")
        return self.message_payload(msg)

    async def _delete_message(self, req: Req) -> Any:
        self._channel(req.params["channel_id"])
        msg = self._message_in(req.params["channel_id"], req.params["message_id"])
        msg.deleted = True
        await self._dispatch_message(msg, "MESSAGE_DELETE")
        return None

    # ----------------------------------------------------------------------------------------- threads
    async def _thread_from_message(self, req: Req) -> Any:
        parent = self._thread_parent(req.params["channel_id"])
        msg = self._message_in(parent["id"], req.params["message_id"])
        if msg.thread_id:
            raise error(THREAD_EXISTS)
        thread = await self._new_thread(parent, req.body, 11, msg.id)  # a message's thread shares its id
        msg.thread_id = thread["id"]
        return thread

    async def _start_thread(self, req: Req) -> Any:
        parent = self._thread_parent(req.params["channel_id"])
        kind = (req.body or {}).get("type") or 12  # Discord's default is a private thread
        if kind not in (10, 11, 12):
            raise form_error("type", "Value must be one of {10, 11, 12}.", "BASE_TYPE_CHOICES")
        return await self._new_thread(parent, req.body, kind, self.new_id())

    def _thread_parent(self, channel_id: str) -> dict[str, Any]:
        parent = self._channel(channel_id)
        if parent["type"] not in (0, 5):
            raise ApiError(400, 50024, "Cannot execute action on this channel type")
        return parent

    async def _new_thread(
        self, parent: dict[str, Any], body: Any, kind: int, thread_id: str
    ) -> dict[str, Any]:
        body = body if isinstance(body, dict) else {}
        name = body.get("name")
        if not isinstance(name, str) or not 1 <= len(name) <= 100:
            raise form_error("name", "Must be between 1 and 100 in length.", "BASE_TYPE_BAD_LENGTH")
        archive = body.get("auto_archive_duration", 4320)
        if archive not in ARCHIVE_MINUTES:
            raise form_error(
                "auto_archive_duration", f"Value must be one of {set(ARCHIVE_MINUTES)}.", "BASE_TYPE_CHOICES"
            )
        now = now_iso()
        meta = {
            "archived": False,
            "auto_archive_duration": archive,
            "archive_timestamp": now,
            "locked": False,
            "create_timestamp": now,
        }
        thread = {
            "id": thread_id,
            "type": kind,
            "guild_id": parent["guild_id"],
            "parent_id": parent["id"],
            "owner_id": self.bot_id,
            "name": name,
            "last_message_id": None,
            "message_count": 0,
            "member_count": 1,
            "total_message_sent": 0,
            "rate_limit_per_user": int(body.get("rate_limit_per_user") or 0),
            "flags": 0,
            "applied_tags": [],
            "thread_metadata": meta
            | ({"invitable": bool(body.get("invitable", True))} if kind == 12 else {}),
        }
        self.channels[thread_id] = thread
        await self.dispatch(
            "THREAD_CREATE", thread | {"newly_created": True}, guild_id=parent["guild_id"], intent=GUILDS
        )
        return thread

    @property
    def threads(self) -> dict[str, dict[str, Any]]:
        """Thread channels by id, oldest first."""
        return {cid: c for cid, c in self.channels.items() if c["type"] in (10, 11, 12)}
