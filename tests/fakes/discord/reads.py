"""Reading what the fake Discord (:mod:`tests.fakes.discord`) stores: a channel's history, a guild member,
and the channel changes a test makes while the bot is away (deleting a channel, taking a permission).

``GET /channels/{id}/messages`` follows discord-api-docs ``message.mdx`` (Get Channel Messages):
``limit`` 1-100, default 50 (else 400/50035 ``limit[NUMBER_TYPE_MAX]: int value should be less than or
equal to 100.``, ``NUMBER_TYPE_MIN`` below 1, ``NUMBER_TYPE_COERCE`` for a non-integer); ``around``,
``before`` and ``after`` are "mutually exclusive, only one may be passed at a time": the fake uses one
(``around``, else ``after``, else ``before``; Discord was seen ignoring ``before`` next to ``after``).
Results are newest first: without an anchor the newest ``limit``; ``before`` the ``limit`` right before
that id; ``after`` the ``limit`` right after it (so discord.py's ``history(after=…)`` pages forward
from the newest of each page); ``around`` ``limit // 2`` on each side plus the message itself. Deleted
and ephemeral messages are never listed. Unknown channel → 404/10003; a guild channel the bot may not
view → 403/50001 ``Missing Access`` (on every channel route: sending, typing, threads too); without
``READ_MESSAGE_HISTORY`` → ``[]`` (as documented).
``GET /guilds/{guild_id}/members/{user_id}`` answers the member with its user (10004, 10007 when
unknown).
"""

from __future__ import annotations

from typing import Any

from tests.fakes.discord.messages import TEXT_TYPES, Messages
from tests.fakes.discord.model import StoredMessage
from tests.fakes.discord.rest import Handler, Req
from tests.fakes.discord.rules import (
    EPHEMERAL,
    MISSING_ACCESS,
    READ_MESSAGE_HISTORY,
    VIEW_CHANNEL,
    ApiError,
    denied,
    error,
    form_error,
    unknown,
)
from tests.fakes.discord.session import GUILDS

DEFAULT_LIMIT, MAX_LIMIT = 50, 100


class Reads(Messages):
    history_queries: list[tuple[str, dict[str, str]]]  # (channel id, query) of every history read

    def _routes(self) -> list[tuple[str, str, str, Handler, str]]:
        return [
            *super()._routes(),
            ("get_messages", "GET", "/channels/{channel_id}/messages", self._history, "bot"),
            ("get_member", "GET", "/guilds/{guild_id}/members/{user_id}", self._get_member, "bot"),
        ]

    # ------------------------------------------------------------------------------------- test helpers
    def deny_bot(self, channel_id: str | int, permission: int = VIEW_CHANNEL) -> None:
        """Take ``permission`` (a bit, e.g. ``VIEW_CHANNEL``) from the bot in a guild channel (and its
        threads) with a member overwrite, as a server admin would."""
        channel = self.channels[str(channel_id)]
        assert channel.get("guild_id"), "DMs have no permissions to take"
        overwrites = channel.setdefault("permission_overwrites", [])
        mine = next((o for o in overwrites if o["id"] == self.bot_id), None)
        if mine is None:
            mine = {"id": self.bot_id, "type": 1, "allow": "0", "deny": "0"}
            overwrites.append(mine)
        mine["deny"] = str(int(mine["deny"]) | permission)
        mine["allow"] = str(int(mine["allow"]) & ~permission)

    async def delete_channel(self, channel_id: str | int) -> None:
        """Delete a guild channel or thread (a channel's threads go with it); CHANNEL_DELETE or
        THREAD_DELETE goes to the sessions that own the guild."""
        cid = str(channel_id)
        channel = self.channels.pop(cid)
        guild_id = channel.get("guild_id")
        assert guild_id, "DM channels are closed, not deleted"
        if cid in self.guilds[guild_id]["channel_ids"]:
            self.guilds[guild_id]["channel_ids"].remove(cid)
        if channel["type"] in (10, 11, 12):
            data = {k: channel[k] for k in ("id", "guild_id", "parent_id", "type")}
            await self.dispatch("THREAD_DELETE", data, guild_id=guild_id, intent=GUILDS)
            return
        await self.dispatch("CHANNEL_DELETE", channel, guild_id=guild_id, intent=GUILDS)
        for thread in [t for t in self.channels.values() if t.get("parent_id") == cid]:
            await self.delete_channel(thread["id"])

    # ------------------------------------------------------------------------------------------ routes
    def _channel(self, channel_id: str) -> dict[str, Any]:
        channel = super()._channel(channel_id)
        if self._denied(channel, VIEW_CHANNEL):
            raise error(MISSING_ACCESS)
        return channel

    def _denied(self, channel: dict[str, Any], permission: int) -> bool:
        return denied(channel, self.channels.get(str(channel.get("parent_id"))), self.bot_id, permission)

    async def _history(self, req: Req) -> Any:
        query = req.query
        self.history_queries.append((req.params["channel_id"], dict(query)))
        limit = _limit(query.get("limit"))
        anchors = {k: _snowflake(k, query[k]) for k in ("around", "after", "before") if k in query}
        channel = self._channel(req.params["channel_id"])
        if channel["type"] not in TEXT_TYPES:
            raise ApiError(400, 50024, "Cannot execute action on this channel type")
        if self._denied(channel, READ_MESSAGE_HISTORY):
            return []
        listed = sorted(
            (
                m
                for m in self.messages.values()
                if m.channel_id == channel["id"] and not m.deleted and not m.flags & EPHEMERAL
            ),
            key=lambda m: int(m.id),
        )
        return [self.message_payload(m) for m in reversed(_pick(listed, anchors, limit))]

    async def _get_member(self, req: Req) -> Any:
        gid, uid = req.params["guild_id"], req.params["user_id"]
        if gid not in self.guilds:
            raise unknown("guild")
        if uid not in self.members[gid]:
            raise unknown("member")
        return self.member_payload(gid, uid)


def _pick(listed: list[StoredMessage], anchors: dict[str, int], limit: int) -> list[StoredMessage]:
    """The messages (oldest first) a query selects from ``listed`` (oldest first)."""
    if "around" in anchors:
        at, half = anchors["around"], limit // 2
        older = [m for m in listed if int(m.id) < at][-half:] if half else []
        same = [m for m in listed if int(m.id) == at]
        return older + same + [m for m in listed if int(m.id) > at][:half]
    if "after" in anchors:
        return [m for m in listed if int(m.id) > anchors["after"]][:limit]
    if "before" in anchors:
        return [m for m in listed if int(m.id) < anchors["before"]][-limit:]
    return listed[-limit:]


def _limit(raw: str | None) -> int:
    if raw is None:
        return DEFAULT_LIMIT
    try:
        value = int(raw)
    except ValueError:
        raise form_error("limit", f'Value "{raw}" is not int.', "NUMBER_TYPE_COERCE") from None
    if value > MAX_LIMIT:
        raise form_error(
            "limit", f"int value should be less than or equal to {MAX_LIMIT}.", "NUMBER_TYPE_MAX"
        )
    if value < 1:
        raise form_error("limit", "int value should be greater than or equal to 1.", "NUMBER_TYPE_MIN")
    return value


def _snowflake(name: str, raw: str) -> int:
    if not raw.isdigit():
        raise form_error(name, f'Value "{raw}" is not snowflake.', "NUMBER_TYPE_COERCE")
    return int(raw)
