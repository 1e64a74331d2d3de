"""Slash commands: built from ``bridge.COMMANDS`` and the app's settings, registered, read back.

:func:`command_payloads` gives the application commands as Discord API JSON (pure functions over
plain dicts), with a stable hash; :func:`register` puts them on Discord (``PUT
/applications/{id}/commands``, or per guild) only when that hash, the application or the guild list
changed since the last registration, which is kept in the adapter's state (Discord allows 200
command creates a day per guild), and only from the process running shard 0. The core's values
come back from interactions through :func:`options_to_params` and :func:`settings_command_args`.

Every payload satisfies Discord's rules: names match ``^[-_a-z0-9]{1,32}$`` and are unique per command,
descriptions are 1-100 characters, required options come first, at most 25 options per command and
25 choices per option, choice names and values 1-100 characters.
"""

from __future__ import annotations

import asyncio
import hashlib
import json
import math
import re
import shlex
import unicodedata
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import discord
import structlog

from adapters.discord.config import DiscordConfig
from bridge import COMMANDS, AdapterState, AppInputs, BridgeError, Host, Setting, splits_cluster

log = structlog.get_logger(__name__)

CHAT_INPUT = 1
STRING, INTEGER, BOOLEAN, NUMBER, ATTACHMENT = 3, 4, 5, 10, 11
MAX_OPTIONS = 25
MAX_CHOICES = 25
MAX_TEXT = 100  # descriptions, choice names and values, thread names
MESSAGE, FILE, RESET, OTHER = "message", "file", "reset", "other"
STATE_KEY = "commands"  # the last registration: {hash, application, guilds}
INPUTS_TIMEOUT_S = 60.0
_LIMIT = 2**53  # Discord's bound on min_value / max_value
_TYPES = {"integer": INTEGER, "number": NUMBER, "boolean": BOOLEAN, "choice": STRING, "text": STRING}


@dataclass(frozen=True, slots=True)
class CommandSet:
    """The commands to register, and what the adapter needs to read their interactions back.

    ``option_params`` maps each generated option name to its ``Setting.name`` (the same options on the
    chat command and on ``/settings``). ``omitted`` names the settable params past the 25-option cap:
    ``/settings`` then has an ``other`` option taking ``name=value`` words for them. ``hash`` is the
    sha256 of the payloads' canonical JSON: equal hashes mean identical commands. ``examples`` are
    the app's examples the chat command's ``message`` autocompletes with (those that fit a choice).
    """

    payloads: list[dict[str, Any]]
    option_params: dict[str, str]
    omitted: tuple[str, ...]
    hash: str
    examples: tuple[str, ...] = ()


def command_payloads(
    params: Sequence[Setting], *, multimodal: bool, chat_command: str = "chat", examples: Sequence[str] = ()
) -> CommandSet:
    """The CHAT_INPUT commands: the chat command, ``/settings``, ``/reset``, ``/stop``, ``/retry``, ``/help``.

    The chat command (``chat_command``, validated by the config) takes a required ``message``, an
    optional ``file`` when the app is ``multimodal``, then one optional option per settable param, in
    order: sliders and numbers as INTEGER (``precision == 0``, or an integral step, minimum and
    default) or NUMBER with ``min_value``/``max_value``; checkboxes as BOOLEAN; dropdowns and radios
    as STRING with ``choices`` (free text described in words when there are more than 25, custom
    values are allowed, or a choice does not fit 100 characters; multiselect: comma-separated);
    textboxes as STRING. Other components (files, images, state…) get no option. ``/settings`` takes
    the same options plus ``reset`` (BOOLEAN) and, when params were left out, ``other`` (STRING).
    ``message`` autocompletes (``autocomplete: true``) when one of ``examples`` fits a choice value
    (non-blank, at most 100 UTF-16 units; Discord cannot suggest longer ones).
    """
    settable = [p for p in params if _kind(p) is not None]
    fixed = 2 if multimodal else 1
    room = MAX_OPTIONS - fixed if len(settable) <= MAX_OPTIONS - fixed else MAX_OPTIONS - 2
    taken = {MESSAGE, FILE, RESET, OTHER}
    options: list[dict[str, Any]] = []
    mapping: dict[str, str] = {}
    for param in settable[:room]:
        option = _option(param, _unique(_names(param), taken))
        mapping[option["name"]] = param.name
        options.append(option)
    omitted = tuple(p.name for p in settable[room:])
    chat_text = "Send a message to the app" + (" (more settings: /settings)" if omitted else "")
    offered = tuple(dict.fromkeys(e for e in examples if e.strip() and units(e) <= MAX_TEXT))
    complete = {"autocomplete": True} if offered else {}
    chat = [_opt(MESSAGE, STRING, "What to say to the app", required=True, max_length=6000, **complete)]
    if multimodal:
        chat.append(_opt(FILE, ATTACHMENT, "A file for the app (an image, audio, a document…)"))
    settings = [*(dict(o) for o in options), _opt(RESET, BOOLEAN, "Restore the defaults")]
    if omitted:
        example = f"{omitted[0]}=…" if len(omitted[0]) < 40 else "name=value"
        settings.append(_opt(OTHER, STRING, clip(f"More settings as name=value words, e.g. {example}")))
    payloads = [_command(chat_command, chat_text, [*chat, *options])]
    payloads += [
        _command(name, text, settings if name == "settings" else []) for name, text in COMMANDS.items()
    ]
    canonical = json.dumps(payloads, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    digest = hashlib.sha256(canonical.encode()).hexdigest()
    return CommandSet(payloads, mapping, omitted, digest, offered)


async def app_commands(host: Host, config: DiscordConfig, adapter: str) -> CommandSet:
    """The commands for the app's inputs; without settings options when the app cannot say in time."""
    try:
        async with asyncio.timeout(INPUTS_TIMEOUT_S):
            inputs = await host.inputs()
    except (BridgeError, TimeoutError) as exc:
        log.warning("app inputs unknown; commands without settings options", adapter=adapter, error=str(exc))
        inputs = AppInputs(multimodal=True)
    return command_payloads(
        inputs.settings, multimodal=inputs.multimodal, chat_command=config.command, examples=inputs.examples
    )


async def register(
    client: discord.Client, state: AdapterState, config: DiscordConfig, commands: CommandSet, adapter: str
) -> None:
    """Register ``commands`` (see the module docstring: only when changed, only from shard 0's process).

    A refusal is logged, not raised: the commands registered before keep working.
    """
    if config.shard_ids is not None and 0 not in config.shard_ids:
        return  # the process running shard 0 registers them
    app_id = client.application_id
    assert app_id is not None
    wanted = {"hash": commands.hash, "application": str(app_id), "guilds": sorted(config.command_guilds)}
    if await state.get(STATE_KEY) == wanted:
        log.info("slash commands unchanged; not registered again", adapter=adapter)
        return
    try:
        if config.command_guilds:
            for guild in config.command_guilds:
                await client.http.bulk_upsert_guild_commands(app_id, int(guild), commands.payloads)
        else:
            await client.http.bulk_upsert_global_commands(app_id, commands.payloads)
    except discord.HTTPException as exc:
        log.error("registering slash commands failed", adapter=adapter, status=exc.status, error=exc.text)
        return
    await state.put(STATE_KEY, wanted)
    log.info("slash commands registered", adapter=adapter, commands=len(commands.payloads))


def options_to_params(
    options: Sequence[Mapping[str, Any]], option_params: Mapping[str, str]
) -> dict[str, Any]:
    """An interaction's ``data.options`` (``[{name, type, value}]``) → ``{Setting.name: value}``.

    Only generated options count (``message``, ``file``, ``reset``, ``other`` and unknown names are
    skipped). Values are passed as Discord sent them; the core validates them (a choice's label
    stands for its value).
    """
    return {option_params[o["name"]]: o.get("value") for o in options if o.get("name") in option_params}


def settings_args(values: Mapping[str, Any]) -> str:
    """``name=value`` words for the core's ``/settings`` parser: shell-quoted, booleans ``true``/``false``."""
    return " ".join(shlex.quote(f"{name}={_word(value)}") for name, value in values.items())


def settings_command_args(options: Sequence[Mapping[str, Any]], commands: CommandSet) -> str:
    """The core's ``/settings`` arguments for a ``/settings`` interaction.

    ``reset: true`` gives ``"reset"`` (other options are then ignored: the core restores the defaults
    only on its own); otherwise the generated options as :func:`settings_args` words followed by the
    raw ``other`` text. An empty string shows the current settings.
    """
    if any(o.get("name") == RESET and o.get("value") is True for o in options):
        return "reset"
    words = settings_args(options_to_params(options, commands.option_params))
    other = next((str(o.get("value") or "") for o in options if o.get("name") == OTHER), "")
    return " ".join(w for w in (words, other.strip()) if w)


def units(text: str) -> int:
    # Discord measures names like JavaScript strings; counting UTF-16 units is never too lenient.
    return len(text.encode("utf-16-le", "surrogatepass")) // 2


def _kind(setting: Setting) -> int | None:
    """The option type for ``setting``, or None when it cannot be set from a slash command."""
    return _TYPES.get(setting.kind)


def _names(param: Setting) -> str:
    """``param``'s option name before de-duplication: its name, else its label, slugged."""
    for source in (param.name, param.label or ""):
        plain = unicodedata.normalize("NFKD", source.lower())
        slug = "_".join(re.sub(r"[^-_a-z0-9\s]", "", plain).split())
        slug = re.sub(r"_{2,}", "_", slug).strip("_-")[:32].strip("_-")
        if slug:
            return slug
    return f"param_{param.index + 1}"


def _unique(base: str, taken: set[str]) -> str:
    name, n = base, 2
    while name in taken:
        suffix = f"_{n}"
        name, n = base[: 32 - len(suffix)] + suffix, n + 1
    taken.add(name)
    return name


def _option(param: Setting, name: str) -> dict[str, Any]:
    kind = _kind(param)
    assert kind is not None
    label = " ".join((param.label or param.name).split()) or name
    extra: dict[str, Any] = {}
    if kind in (INTEGER, NUMBER):
        low, high = _bound(param.minimum, kind, math.ceil), _bound(param.maximum, kind, math.floor)
        if low is not None and (high is None or low <= high):
            extra["min_value"] = low
        if high is not None and (low is None or low <= high):
            extra["max_value"] = high
        ends = ["" if extra.get(k) is None else _show(extra[k]) for k in ("min_value", "max_value")]
        span = f"{ends[0]}..{ends[1]}, " if extra else ""
        return _opt(name, kind, clip(f"{label} ({span}default {_show(param.default)})"), **extra)
    if kind == BOOLEAN or param.choices is None:
        return _opt(name, kind, clip(f"{label} (default {_show(param.default)})"))
    choices = None if param.multiple or param.free else _choices(param.choices)
    if choices is not None:
        return _opt(name, kind, clip(f"{label} (default {_show(param.default)})"), choices=choices)
    listed = ", ".join(_show(value) for _, value in param.choices)
    how = "comma-separated, any of" if param.multiple else "one of" if not param.free else "e.g."
    return _opt(name, kind, clip(f"{label}: {how} {listed}"))


def _choices(pairs: Iterable[tuple[str, Any]]) -> list[dict[str, str]] | None:
    """Discord choices, or None when they cannot be offered faithfully (too many, too long, empty)."""
    found: list[dict[str, str]] = []
    seen: set[str] = set()
    for label, value in pairs:
        # The core accepts a choice's label as well as its value, so a long value goes as its label.
        text = next((t for t in (str(value), label) if t.strip() and units(t) <= MAX_TEXT), None)
        if text is None:
            return None
        if text not in seen:
            seen.add(text)
            found.append({"name": clip(label) or clip(text), "value": text})
    return found if 0 < len(found) <= MAX_CHOICES else None


def _bound(value: float | None, kind: int, round_in: Callable[[float], int]) -> int | float | None:
    if value is None or not math.isfinite(value):
        return None
    value = max(-_LIMIT, min(_LIMIT, value))
    if kind == INTEGER or float(value).is_integer():
        return int(round_in(value))
    return value


def _show(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, float):
        return f"{value:g}"
    if isinstance(value, str):
        return repr(value)
    return "none" if value is None else str(value)


def _word(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, list | tuple):
        return ",".join(_word(v) for v in value)
    return "" if value is None else str(value)


def clip(text: str, limit: int = MAX_TEXT) -> str:
    """``text`` with whitespace collapsed, cut to ``limit`` UTF-16 units with a final ``…``."""
    text = " ".join(text.split())
    if units(text) <= limit:
        return text
    end = min(len(text), limit - 1)
    while end > 0 and (units(text[:end]) > limit - 1 or (end < len(text) and splits_cluster(text, end))):
        end -= 1
    return text[:end].rstrip() + "…"


def _opt(name: str, kind: int, description: str, *, required: bool = False, **extra: Any) -> dict[str, Any]:
    option: dict[str, Any] = {"type": kind, "name": name, "description": description or name, **extra}
    if required:
        option["required"] = True
    return option


def _command(name: str, description: str, options: list[dict[str, Any]]) -> dict[str, Any]:
    return {
        "type": CHAT_INPUT,
        "name": name,
        "description": description,
        "options": options,
        "contexts": [0, 1, 2],  # guild channels, the bot's DMs, group DMs
        "integration_types": [0],  # installed to a guild (the bot user), not to a user account
    }
