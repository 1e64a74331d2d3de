"""Application commands of the fake Discord (:mod:`tests.fakes.discord`): the global and guild command
routes (``GET``/``PUT`` lists, ``POST`` single upsert, ``GET``/``PATCH``/``DELETE`` one) with Discord's
validation: chat-input names ``^[-_\\w]{1,32}$`` and lowercase, descriptions 1-100, ≤25 options with
valid unique names, required before optional, ≤25 choices and autocomplete (not both) only on
STRING/INTEGER/NUMBER,
``min_value``/``max_value`` only on INTEGER(4)/NUMBER(10), ``min_length``/``max_length`` only on
STRING(3); a violation is 400/50035 with the path (``"0.options.1.name"``). Commands are matched by
(name, type) so an upsert keeps the id; ``version`` changes when the definition does. ``command_writes``
counts accepted write requests (PUT, POST, PATCH, DELETE).
"""

from __future__ import annotations

import re
from typing import Any

from tests.fakes.discord.interactions import Interactions
from tests.fakes.discord.rest import Handler, Req
from tests.fakes.discord.rules import MISSING_ACCESS, error, form_error, too_long, unknown

_NAME = re.compile(r"[-_\w]{1,32}")
_DEFAULTS: dict[str, Any] = {
    "type": 1,
    "options": [],
    "default_member_permissions": None,
    "dm_permission": True,
    "nsfw": False,
    "contexts": None,
    "integration_types": [0],
    "name_localizations": None,
    "description_localizations": None,
}


def _bad_name(name: Any) -> bool:
    return not (isinstance(name, str) and _NAME.fullmatch(name) and name == name.lower())


def _length(path: str, value: Any, low: int, high: int) -> None:
    if not isinstance(value, str) or not low <= len(value) <= high:
        raise form_error(path, f"Must be between {low} and {high} in length.", "BASE_TYPE_BAD_LENGTH")


def _only(path: str, option: dict[str, Any], keys: tuple[str, ...], types: tuple[int, ...]) -> None:
    for key in keys:
        if option.get(key) is not None and option.get("type") not in types:
            raise form_error(
                f"{path}.{key}",
                f"{key} is not allowed for this option type",
                "APPLICATION_COMMAND_OPTION_INVALID",
            )


def check_options(options: Any, path: str, level: int = 0) -> None:
    """``level``: 0 = a command's options, 1 = inside a group, 2 = inside a subcommand."""
    if not isinstance(options, list):
        raise form_error(path, "Must be an array.", "BASE_TYPE_ARRAY")
    if len(options) > 25:
        raise too_long(path, 25)
    subs = [o.get("type") in (1, 2) for o in options if isinstance(o, dict)]
    if any(subs) and not all(subs):
        raise form_error(
            path,
            "Sub-command and sub-command group option types are mutually exclusive to all other types",
            "APPLICATION_COMMAND_OPTIONS_TYPE_INVALID",
        )
    names: set[str] = set()
    optional_seen = False
    for i, o in enumerate(options):
        at = f"{path}.{i}"
        kind = o.get("type") if isinstance(o, dict) else None
        if (
            kind not in range(1, 12)
            or (kind == 2 and level)
            or (kind == 1 and level == 2)
            or (level == 1 and kind != 1)
        ):
            raise form_error(
                f"{at}.type",
                "Invalid option type for this position",
                "APPLICATION_COMMAND_OPTION_TYPE_INVALID",
            )
        if _bad_name(o.get("name")):
            raise form_error(f"{at}.name", "Command name is invalid", "APPLICATION_COMMAND_INVALID_NAME")
        if o["name"] in names:
            raise form_error(
                f"{at}.name",
                "Application command option names must be unique",
                "APPLICATION_COMMAND_OPTION_NAME_ALREADY_EXISTS",
            )
        names.add(o["name"])
        _length(f"{at}.description", o.get("description"), 1, 100)
        if kind in (1, 2):
            check_options(o.get("options") or [], f"{at}.options", 1 if kind == 2 else 2)
            continue
        if o.get("required") and optional_seen:
            raise form_error(
                f"{at}.required",
                "Required options must be placed before non-required options",
                "APPLICATION_COMMAND_OPTIONS_REQUIRED_INVALID",
            )
        optional_seen = optional_seen or not o.get("required")
        _only(at, o, ("min_value", "max_value"), (4, 10))
        _only(at, o, ("min_length", "max_length"), (3,))
        _only(at, o, ("channel_types",), (7,))
        _only(at, o, ("choices",), (3, 4, 10))
        _only(at, o, ("autocomplete",), (3, 4, 10))
        choices = o.get("choices") or []
        if len(choices) > 25:
            raise too_long(f"{at}.choices", 25)
        if choices and o.get("autocomplete"):
            raise form_error(
                f"{at}.autocomplete",
                "Autocomplete cannot be used with choices",
                "APPLICATION_COMMAND_AUTOCOMPLETE_INVALID",
            )
        for j, choice in enumerate(choices):
            _length(f"{at}.choices.{j}.name", choice.get("name"), 1, 100)
            value: Any = choice.get("value")
            ok = (str,) if kind == 3 else (int,) if kind == 4 else (int, float)
            if not isinstance(value, ok) or isinstance(value, bool) or (kind == 3 and len(str(value)) > 100):
                raise form_error(f"{at}.choices.{j}.value", "Invalid choice value", "BASE_TYPE_INVALID")


def check_command(cmd: Any, path: str = "") -> None:
    """Validate one command definition; ``path`` prefixes error keys (``"3"`` inside a bulk list)."""
    at = f"{path}." if path else ""
    if not isinstance(cmd, dict):
        raise form_error(path or "_", "Must be an object.", "MODEL_TYPE_CONVERT")
    kind = cmd.get("type", 1)
    if kind not in (1, 2, 3, 4):
        raise form_error(f"{at}type", "Value must be one of {1, 2, 3, 4}.", "BASE_TYPE_CHOICES")
    if kind == 1:
        if _bad_name(cmd.get("name")):
            raise form_error(f"{at}name", "Command name is invalid", "APPLICATION_COMMAND_INVALID_NAME")
        _length(f"{at}description", cmd.get("description"), 1, 100)
        check_options(cmd.get("options") or [], f"{at}options")
        return
    _length(f"{at}name", cmd.get("name"), 1, 32)
    if cmd.get("description") or cmd.get("options"):
        raise form_error(
            f"{at}description",
            "Context menu commands cannot have a description or options",
            "APPLICATION_COMMAND_CONTEXT_MENU_INVALID",
        )


class Commands(Interactions):
    def _init_commands(self) -> None:
        self.commands: dict[str, dict[str, dict[str, Any]]] = {"global": {}}  # scope -> id -> command
        self.command_writes = 0

    def _routes(self) -> list[tuple[str, str, str, Handler, str]]:
        out = super()._routes()
        for scope, base in (
            ("global", "/applications/{application_id}"),
            ("guild", "/applications/{application_id}/guilds/{guild_id}"),
        ):
            many, one = base + "/commands", base + "/commands/{command_id}"
            out += [
                (f"get_{scope}_commands", "GET", many, self._list_commands, "bot"),
                (f"bulk_upsert_{scope}_commands", "PUT", many, self._bulk_commands, "bot"),
                (f"upsert_{scope}_command", "POST", many, self._create_command, "bot"),
                (f"get_{scope}_command", "GET", one, self._get_command, "bot"),
                (f"edit_{scope}_command", "PATCH", one, self._edit_command, "bot"),
                (f"delete_{scope}_command", "DELETE", one, self._delete_command, "bot"),
            ]
        return out

    def find_command(self, name: str, guild_id: str | None = None, type: int = 1) -> dict[str, Any] | None:
        """The registered command ``name`` visible in ``guild_id`` (guild commands first)."""
        scopes = [str(guild_id), "global"] if guild_id else ["global"]
        for scope in scopes:
            for cmd in self.commands.get(scope, {}).values():
                if cmd["name"] == name and cmd["type"] == type:
                    return cmd
        return None

    def _scope(self, req: Req) -> dict[str, dict[str, Any]]:
        if req.params["application_id"] != self.app_id:
            raise error(MISSING_ACCESS)
        gid = req.params.get("guild_id")
        if gid is not None and gid not in self.guilds:
            raise unknown("guild")
        return self.commands.setdefault(gid or "global", {})

    def _upsert(
        self, scope: dict[str, dict[str, Any]], cmd: dict[str, Any], gid: str | None
    ) -> dict[str, Any]:
        kind = cmd.get("type", 1)
        old = next((c for c in scope.values() if c["name"] == cmd["name"] and c["type"] == kind), None)
        cid = cmd.get("id") or (old["id"] if old else self.new_id())
        new = _DEFAULTS | cmd | {"id": cid, "application_id": self.app_id}
        new |= {"guild_id": gid} if gid else {}
        same = old is not None and {k: v for k, v in old.items() if k != "version"} == new
        new["version"] = old["version"] if same and old else self.new_id()
        scope[new["id"]] = new
        return new

    async def _list_commands(self, req: Req) -> Any:
        return list(self._scope(req).values())

    async def _bulk_commands(self, req: Req) -> Any:
        scope = self._scope(req)
        if not isinstance(req.body, list):
            raise form_error("_", "Must be an array.", "BASE_TYPE_ARRAY")
        if len(req.body) > 100:
            raise too_long("_", 100)
        seen: set[tuple[str, int]] = set()
        for i, cmd in enumerate(req.body):
            check_command(cmd, str(i))
            key = (cmd["name"], cmd.get("type", 1))
            if key in seen:
                raise form_error(
                    f"{i}.name",
                    "Application command names must be unique",
                    "APPLICATION_COMMANDS_DUPLICATE_NAME",
                )
            seen.add(key)
        result = [self._upsert(scope, cmd, req.params.get("guild_id")) for cmd in req.body]
        for cid in [c for c in scope if c not in {r["id"] for r in result}]:
            del scope[cid]
        self.command_writes += 1
        return result

    async def _create_command(self, req: Req) -> Any:
        scope = self._scope(req)
        check_command(req.body)
        self.command_writes += 1
        return self._upsert(scope, req.body, req.params.get("guild_id"))

    def _command(self, req: Req) -> dict[str, Any]:
        cmd = self._scope(req).get(req.params["command_id"])
        if cmd is None:
            raise unknown("application command")
        return cmd

    async def _get_command(self, req: Req) -> Any:
        return self._command(req)

    async def _edit_command(self, req: Req) -> Any:
        cmd = self._command(req)
        merged = {k: v for k, v in cmd.items() if k not in ("id", "application_id", "version", "guild_id")}
        merged |= req.body if isinstance(req.body, dict) else {}
        check_command(merged)
        self.command_writes += 1
        del self._scope(req)[cmd["id"]]
        return self._upsert(self._scope(req), merged | {"id": cmd["id"]}, req.params.get("guild_id"))

    async def _delete_command(self, req: Req) -> Any:
        cmd = self._command(req)
        del self._scope(req)[cmd["id"]]
        self.command_writes += 1
        return None
