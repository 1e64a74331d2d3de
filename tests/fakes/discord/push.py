"""Scenario input for the fake Discord (:mod:`tests.fakes.discord`): what users do. Messages
(MESSAGE_CREATE, with attachments served by the fake), slash-command invocations, component clicks and
typing into an autocomplete option (INTERACTION_CREATE types 2, 3 and 4), built like Discord builds them
and dispatched to the owning shard; :meth:`Pushes.redeliver` dispatches an interaction again.
"""

from __future__ import annotations

import secrets
from collections.abc import Callable, Iterable
from typing import Any

from tests.fakes.discord.commands import Commands
from tests.fakes.discord.model import StoredFile, StoredInteraction, StoredMessage
from tests.fakes.discord.world import BOT_PERMS, EVERYONE_PERMS

FileSpec = tuple[str, bytes, str | None]


def _infer_type(value: Any) -> int:
    """The option type of a value for an unregistered command (``strict_commands=False``)."""
    if isinstance(value, tuple):
        return 11  # (filename, bytes, content type)
    if isinstance(value, bool):
        return 5
    return 4 if isinstance(value, int) else 10 if isinstance(value, float) else 3


class Pushes(Commands):
    """Push helpers; ``strict_commands`` and ``clock`` are set by ``FakeDiscord.__init__``."""

    strict_commands: bool
    clock: Callable[[], float]

    async def push_message(
        self,
        channel_id: str | int | None = None,
        author_id: str | int | None = None,
        content: str = "",
        *,
        mentions_bot: bool = False,
        attachments: Iterable[FileSpec] = (),
        guild: bool = True,
        reference: str | int | None = None,
        embeds: list[dict[str, Any]] | None = None,
    ) -> dict[str, Any]:
        """A user's message (MESSAGE_CREATE). ``guild=False`` means a DM (``channel_id`` defaults to the
        author's DM channel); ``mentions_bot`` prefixes ``<@bot>`` unless the content has it;
        ``reference`` makes it a reply. Returns the dispatched payload."""
        author = str(author_id or self.user_id)
        assert author in self.users, f"unknown user {author}"
        cid = str(channel_id or (self.channel_id if guild else self.dm_channel(author)))
        channel = self.channels[cid]
        assert bool(channel.get("guild_id")) == guild, (
            f"channel {cid} is not a {'guild' if guild else 'DM'} channel"
        )
        assert not guild or author in self.members[channel["guild_id"]], f"{author} is not a member"
        if mentions_bot and not {f"<@{self.bot_id}>", f"<@!{self.bot_id}>"} & set(content.split()):
            content = f"<@{self.bot_id}> {content}"
        msg = self._new_message(channel, author, from_bot=False)
        msg.content, msg.embeds = content, embeds or []
        msg.attachments = [self._file(spec, msg.id) for spec in attachments]
        if reference is not None:
            target = self.messages[str(reference)]
            msg.type, msg.message_reference = (
                19,
                {"type": 0, "message_id": target.id, "channel_id": target.channel_id},
            )
            if msg.guild_id:
                msg.message_reference["guild_id"] = msg.guild_id
        self._store(msg)
        await self._dispatch_message(msg, "MESSAGE_CREATE")
        return self.message_payload(msg, gateway=True)

    def _file(self, spec: FileSpec, message_id: str | None = None) -> StoredFile:
        name, data, ctype = spec
        f = StoredFile(self.new_id(), name, ctype, data, message_id)
        self.attachments[f.id] = f
        return f

    async def push_interaction(
        self,
        name: str,
        options: dict[str, Any] | None = None,
        *,
        channel_id: str | int | None = None,
        user_id: str | int | None = None,
        attachments: dict[str, FileSpec] | None = None,
        guild: bool = True,
        locale: str = "en-US",
    ) -> StoredInteraction:
        """A slash command invocation (INTERACTION_CREATE type 2). Option types come from the registered
        command (with ``strict_commands`` it must be registered; unknown options and missing required
        ones fail); ``attachments`` maps option name → (filename, bytes, content type) for type 11."""
        uid = str(user_id or self.user_id)
        channel = self.channels[str(channel_id or (self.channel_id if guild else self.dm_channel(uid)))]
        top, *path = name.split()
        cmd = self.find_command(top, channel.get("guild_id"))
        assert cmd is not None or not self.strict_commands, (
            f"/{top} is not registered (sync the commands first)"
        )
        specs: list[dict[str, Any]] | None = cmd.get("options", []) if cmd else None
        for part in path:
            assert specs is None or any(o["name"] == part for o in specs), f"/{name}: no subcommand {part}"
            specs = next((o.get("options", []) for o in specs if o["name"] == part), None) if specs else None
        resolved: dict[str, dict[str, Any]] = {}
        given = {**(options or {}), **(attachments or {})}
        opts = [self._option(top, k, v, specs, resolved) for k, v in given.items()]
        missing = [o["name"] for o in specs or [] if o.get("required") and o["name"] not in given]
        assert not missing, f"/{name}: required options missing: {missing}"
        for i, part in enumerate(reversed(path)):
            opts = [{"name": part, "type": 1 if i == 0 else 2, "options": opts}]
        data: dict[str, Any] = {
            "id": cmd["id"] if cmd else self.new_id(),
            "name": top,
            "type": 1,
            "options": opts,
        }
        if cmd and cmd.get("guild_id"):
            data["guild_id"] = cmd["guild_id"]
        if resolved:
            data["resolved"] = resolved
        return await self._interact(2, channel, uid, data, locale)

    def _option(
        self, cmd: str, name: str, value: Any, specs: list[dict[str, Any]] | None, resolved: dict[str, Any]
    ) -> dict[str, Any]:
        spec = next((o for o in specs or [] if o["name"] == name), None)
        assert specs is None or spec is not None, f"/{cmd} has no option {name!r}"
        kind = spec["type"] if spec else _infer_type(value)
        if kind == 11:
            f = self._file(value)
            resolved.setdefault("attachments", {})[f.id] = f.payload(self.url)
            value = f.id
        elif kind in (6, 9) and str(value) in self.users:
            value = str(value)
            resolved.setdefault("users", {})[value] = self.users[value]
        elif kind == 7:
            value = str(value)
            resolved.setdefault("channels", {})[value] = self.channels[value] | {
                "permissions": EVERYONE_PERMS
            }
        choices = [c["value"] for c in (spec or {}).get("choices") or []]
        assert not choices or value in choices, f"/{cmd} {name}: {value!r} is not one of {choices}"
        return {"name": name, "type": kind, "value": value}

    async def push_component(
        self,
        custom_id: str,
        message_id: str | int,
        *,
        channel_id: str | int | None = None,
        user_id: str | int | None = None,
        values: list[str] | None = None,
    ) -> StoredInteraction:
        """A click on component ``custom_id`` of a stored message (INTERACTION_CREATE type 3); the message
        must carry that component. A select menu needs ``values``, each one of its options', as many as
        its ``min_values``..``max_values`` allow."""
        msg = self.messages[str(message_id)]
        assert not msg.deleted, f"message {message_id} is deleted"
        stack, comp = list(msg.components), None
        while stack and comp is None:
            c = stack.pop()
            comp = c if c.get("custom_id") == custom_id else None
            stack += c.get("components") or []
        assert comp is not None, f"message {message_id} has no component {custom_id!r}"
        if comp["type"] in (3, 5, 6, 7, 8):
            assert values is not None, f"select {custom_id!r} needs values"
            low, high = comp.get("min_values", 1), comp.get("max_values", 1)
            assert low <= len(values) <= high, f"select {custom_id!r} takes {low}..{high} values"
            known = [o["value"] for o in comp.get("options") or []]
            assert comp["type"] != 3 or set(values) <= set(known), f"{values} not among {known}"
        else:
            assert values is None, f"{custom_id!r} is not a select menu"
        data = {"custom_id": custom_id, "component_type": comp["type"]} | (
            {"values": values} if values is not None else {}
        )
        channel = self.channels[str(channel_id or msg.channel_id)]
        inter = await self._interact(3, channel, str(user_id or self.user_id), data, "en-US", msg)
        return inter

    async def push_autocomplete(
        self,
        name: str,
        option: str,
        typed: str,
        options: dict[str, Any] | None = None,
        *,
        channel_id: str | int | None = None,
        user_id: str | int | None = None,
        guild: bool = True,
    ) -> StoredInteraction:
        """Typing ``typed`` into option ``option`` of the registered command ``name`` (INTERACTION_CREATE
        type 4, the option ``focused``; ``options`` are others already filled in). As on Discord, only an
        option registered with ``autocomplete: true`` asks. The answer is in ``callbacks`` (type 8)."""
        uid = str(user_id or self.user_id)
        channel = self.channels[str(channel_id or (self.channel_id if guild else self.dm_channel(uid)))]
        cmd = self.find_command(name, channel.get("guild_id"))
        assert cmd is not None, f"/{name} is not registered (sync the commands first)"
        specs = {o["name"]: o for o in cmd.get("options", [])}
        assert option in specs and specs[option].get("autocomplete"), f"/{name} {option}: no autocomplete"
        opts = [{"name": k, "type": specs[k]["type"], "value": v} for k, v in (options or {}).items()]
        opts.append({"name": option, "type": specs[option]["type"], "value": typed, "focused": True})
        data: dict[str, Any] = {"id": cmd["id"], "name": name, "type": 1, "options": opts}
        return await self._interact(4, channel, uid, data, "en-US")

    async def redeliver(self, inter: StoredInteraction) -> None:
        """Dispatch ``inter`` again, unchanged (as a gateway replaying an event would)."""
        await self.dispatch("INTERACTION_CREATE", inter.payload, guild_id=inter.guild_id)

    async def _interact(
        self,
        kind: int,
        channel: dict[str, Any],
        uid: str,
        data: dict[str, Any],
        locale: str,
        msg: StoredMessage | None = None,
    ) -> StoredInteraction:
        iid, gid = self.new_id(), channel.get("guild_id")
        assert uid in self.users and (not gid or uid in self.members[gid]), (
            f"{uid} cannot use {channel['id']}"
        )
        token = f"aW50ZXJhY3Rpb246{iid}:{secrets.token_urlsafe(48)}"
        payload: dict[str, Any] = {
            "id": iid,
            "application_id": self.app_id,
            "type": kind,
            "token": token,
            "version": 1,
            "data": data,
            "channel_id": channel["id"],
            "channel": channel | ({"permissions": EVERYONE_PERMS} if gid else {}),
            "app_permissions": BOT_PERMS,
            "locale": locale,
            "entitlements": [],
            "entitlement_sku_ids": [],
            "authorizing_integration_owners": {"0": gid} if gid else {"1": uid},
            "context": 0 if gid else 1,
            "attachment_size_limit": self.upload_limit,
        }
        if gid:
            member = self.member_payload(gid, uid) | {"permissions": EVERYONE_PERMS}
            payload |= {
                "guild_id": gid,
                "guild": {"id": gid, "locale": "en-US", "features": []},
                "guild_locale": "en-US",
                "member": member,
            }
        else:
            payload["user"] = self.users[uid]
        if msg is not None:
            payload["message"] = self.message_payload(msg)
        inter = StoredInteraction(
            iid, token, kind, channel["id"], gid, uid, self.clock(), payload, msg.id if msg else None
        )
        self.interactions[iid] = inter
        await self.dispatch("INTERACTION_CREATE", payload, guild_id=gid)
        return inter
