"""The world of the fake Discord (:mod:`tests.fakes.discord`): users, guilds with roles, channels and
members, DM channels and threads, plus the JSON payloads discord.py parses (users, members, channels,
GUILD_CREATE, messages).
"""

from __future__ import annotations

from typing import Any

from tests.fakes.discord.checks import mentioned
from tests.fakes.discord.model import (
    Snowflakes,
    StoredFile,
    StoredInteraction,
    StoredMessage,
    now_iso,
    shard_of,
)
from tests.fakes.discord.rules import VIEW_CHANNEL, denied

EVERYONE_PERMS = "1071698660929"  # view channels, send messages, read history, use commands, ...
BOT_PERMS = "2248473465835073"  # EVERYONE_PERMS plus manage messages/threads, attach files, embed links


class World:
    """Users, guilds, channels and messages; ``guild_id``, ``channel_id``, ``channel2_id``,
    ``member_role_id``, ``user_id`` (alice) and ``user2_id`` (bob) name the default world."""

    def __init__(self, token: str, bot_name: str, guild_name: str) -> None:
        self.token, self.url = token, ""
        self.new_id = Snowflakes()
        self.users: dict[str, dict[str, Any]] = {}
        self.guilds: dict[str, dict[str, Any]] = {}
        self.members: dict[str, dict[str, dict[str, Any]]] = {}  # guild id -> user id -> member
        self.channels: dict[str, dict[str, Any]] = {}  # guild channels, threads and DMs
        self.messages: dict[str, StoredMessage] = {}
        self.attachments: dict[str, StoredFile] = {}
        self.interactions: dict[str, StoredInteraction] = {}
        self.bot_id = self.add_user(bot_name, bot=True)
        self.app_id = self.bot_id
        self.user_id = self.add_user("alice", global_name="Alice")
        self.user2_id = self.add_user("bob", global_name="Bob")
        self.guild_id = self.add_guild(guild_name)
        self.channel_id, self.channel2_id = self.guilds[self.guild_id]["channel_ids"][:2]
        self.member_role_id = self.guilds[self.guild_id]["roles"][1]["id"]

    # --------------------------------------------------------------------------------------- building
    def add_user(self, username: str, *, bot: bool = False, global_name: str | None = None) -> str:
        """A new user (member of guilds created later; else use :meth:`add_member`); returns its id."""
        uid = self.new_id()
        self.users[uid] = {
            "id": uid,
            "username": username,
            "discriminator": "0",
            "global_name": global_name if global_name is not None else (None if bot else username.title()),
            "avatar": None,
            "bot": bot,
            "public_flags": 0,
            "flags": 0,
            "banner": None,
            "accent_color": None,
            "avatar_decoration_data": None,
        }
        return uid

    def add_guild(self, name: str, *, shard: tuple[int, int] | None = None) -> str:
        """A guild with @everyone and "member" roles, text channels #general and #random, and the bot and
        every non-bot user as members; ``shard=(id, count)`` picks an id owned by that shard."""
        gid = self.new_id()
        while shard is not None and shard_of(gid, shard[1]) != shard[0]:
            gid = self.new_id()
        member_role = self.new_id()
        self.guilds[gid] = {
            "id": gid,
            "name": name,
            "owner_id": self.user_id,
            "roles": [
                self._role(gid, "@everyone", 0, EVERYONE_PERMS),
                self._role(member_role, "member", 1, "0"),
            ],
            "channel_ids": [],
            "joined_at": now_iso(),
        }
        self.members[gid] = {}
        for uid, user in self.users.items():
            if uid == self.bot_id or not user["bot"]:
                self.add_member(gid, uid, [member_role])
        for cname in ("general", "random"):
            self.add_channel(gid, cname)
        return gid

    def add_channel(self, guild_id: str, name: str, *, type: int = 0) -> str:
        cid = self.new_id()
        guild = self.guilds[guild_id]
        self.channels[cid] = {
            "id": cid,
            "type": type,
            "guild_id": guild_id,
            "name": name,
            "position": len(guild["channel_ids"]),
            "permission_overwrites": [],
            "topic": None,
            "nsfw": False,
            "last_message_id": None,
            "rate_limit_per_user": 0,
            "parent_id": None,
            "flags": 0,
        }
        guild["channel_ids"].append(cid)
        return cid

    def add_member(self, guild_id: str, user_id: str, roles: list[str] | None = None) -> None:
        self.members[guild_id][user_id] = {
            "roles": list(roles or []),
            "nick": None,
            "avatar": None,
            "joined_at": now_iso(),
            "premium_since": None,
            "deaf": False,
            "mute": False,
            "flags": 0,
            "pending": False,
            "communication_disabled_until": None,
        }

    def dm_channel(self, user_id: str | int) -> str:
        """The DM channel between the bot and ``user_id`` (created on first use)."""
        uid = str(user_id)
        assert uid in self.users, f"unknown user {uid}"
        for cid, ch in self.channels.items():
            if ch["type"] == 1 and ch["recipients"][0]["id"] == uid:
                return cid
        cid = self.new_id()
        self.channels[cid] = {
            "id": cid,
            "type": 1,
            "recipients": [self.users[uid]],
            "last_message_id": None,
            "flags": 0,
        }
        return cid

    @staticmethod
    def _role(rid: str, name: str, position: int, perms: str) -> dict[str, Any]:
        return {
            "id": rid,
            "name": name,
            "color": 0,
            "colors": {"primary_color": 0, "secondary_color": None, "tertiary_color": None},
            "hoist": False,
            "icon": None,
            "unicode_emoji": None,
            "position": position,
            "permissions": perms,
            "managed": False,
            "mentionable": False,
            "flags": 0,
        }

    # --------------------------------------------------------------------------------------- payloads
    def member_payload(self, guild_id: str, user_id: str, *, user: bool = True) -> dict[str, Any]:
        member = dict(self.members[guild_id][user_id])
        return member | {"user": self.users[user_id]} if user else member

    def guild_payload(self, guild_id: str) -> dict[str, Any]:
        """GUILD_CREATE ``d``: ``member_count == len(members)`` so discord.py does not chunk."""
        g = self.guilds[guild_id]
        members = [self.member_payload(guild_id, uid) for uid in self.members[guild_id]]
        chans = [self.channels[c] for c in g["channel_ids"]]
        threads = [
            c
            for c in self.channels.values()
            if c.get("guild_id") == guild_id
            and c["type"] in (10, 11, 12)
            and not c["thread_metadata"]["archived"]
            and not denied(c, self.channels.get(str(c.get("parent_id"))), self.bot_id, VIEW_CHANNEL)
        ]  # "all active threads in the guild that current user has permission to view"
        return {
            **{k: v for k, v in g.items() if k != "channel_ids"},
            "icon": None,
            "splash": None,
            "discovery_splash": None,
            "banner": None,
            "description": None,
            "features": [],
            "emojis": [],
            "stickers": [],
            "afk_channel_id": None,
            "afk_timeout": 300,
            "verification_level": 0,
            "default_message_notifications": 1,
            "explicit_content_filter": 0,
            "mfa_level": 0,
            "nsfw_level": 0,
            "premium_tier": 0,
            "premium_subscription_count": 0,
            "premium_progress_bar_enabled": False,
            "system_channel_id": g["channel_ids"][0] if g["channel_ids"] else None,
            "system_channel_flags": 0,
            "rules_channel_id": None,
            "public_updates_channel_id": None,
            "vanity_url_code": None,
            "preferred_locale": "en-US",
            "application_id": None,
            "max_members": 500000,
            "large": False,
            "unavailable": False,
            "lazy": True,
            "member_count": len(members),
            "members": members,
            "channels": chans,
            "threads": threads,
            "presences": [],
            "voice_states": [],
            "stage_instances": [],
            "guild_scheduled_events": [],
            "soundboard_sounds": [],
        }

    def message_payload(self, msg: StoredMessage, *, gateway: bool = False) -> dict[str, Any]:
        """The message object: REST answers and gateway dispatches (``gateway`` adds ``guild_id``-scoped
        ``member`` objects, as MESSAGE_CREATE carries them)."""
        everyone, user_ids, role_ids = mentioned(msg.content)
        allowed = next(
            (w.pings for w in reversed(msg.writes) if w.kind == "create" or "content" in w.body), frozenset()
        )
        if msg.from_bot:  # only the mentions its last content write allowed are parsed
            everyone = "everyone" in allowed
            user_ids = [u for u in user_ids if f"user:{u}" in allowed]
            role_ids = [r for r in role_ids if f"role:{r}" in allowed]
        mentions = [self.users[u] for u in user_ids if u in self.users]
        ref = self.messages.get((msg.message_reference or {}).get("message_id", ""))
        reply_ping = not msg.from_bot or f"reply:{ref.author_id if ref else ''}" in allowed
        if msg.type == 19 and ref is not None and ref.author_id not in user_ids and reply_ping:
            mentions.append(self.users[ref.author_id])  # a reply pings the replied-to author by default
        guild = msg.guild_id if msg.guild_id in self.members else None
        if gateway and guild:
            gm = self.members[guild]
            mentions = [
                m | ({"member": self.member_payload(guild, m["id"], user=False)} if m["id"] in gm else {})
                for m in mentions
            ]
        out: dict[str, Any] = {
            "id": msg.id,
            "channel_id": msg.channel_id,
            "type": msg.type,
            "content": msg.content,
            "author": self.users[msg.author_id],
            "attachments": [f.payload(self.url) for f in msg.attachments],
            "embeds": msg.embeds,
            "mentions": mentions,
            "mention_roles": [r for r in role_ids if guild],
            "mention_everyone": everyone,
            "pinned": False,
            "tts": False,
            "timestamp": msg.created_at,
            "edited_timestamp": msg.edited_at,
            "flags": msg.flags,
            "components": msg.components,
        }
        if msg.guild_id:
            out["guild_id"] = msg.guild_id
            if gateway and msg.author_id in self.members.get(msg.guild_id, {}):
                out["member"] = self.member_payload(msg.guild_id, msg.author_id, user=False)
        if msg.nonce is not None:
            out["nonce"] = msg.nonce
        if msg.message_reference:
            out["message_reference"] = msg.message_reference
            out["referenced_message"] = self.message_payload(ref) if ref and ref is not msg else None
        inter = self.interactions.get(msg.interaction_id or "")
        if inter is not None:
            out["webhook_id"] = out["application_id"] = self.app_id
            out["interaction_metadata"] = {
                "id": inter.id,
                "type": inter.type,
                "user": self.users[inter.user_id],
                "authorizing_integration_owners": {"0": inter.guild_id}
                if inter.guild_id
                else {"1": inter.user_id},
            }
        return out
