"""Message-body checks and mention (ping) analysis for the fake Discord (:mod:`tests.fakes.discord`).
Limits per discord-api-docs ``message.mdx``: content ≤2000, ≤10 embeds (title 256, description 4096,
field 256/1024, footer 2048, author 256, 6000 in total), legacy components ≤5 action rows of ≤5 buttons
or one select menu (``components/reference.mdx``), ≤40 components with IS_COMPONENTS_V2 (which forbids
content and embeds). discord.py renders a 50035 body as
``"Invalid Form Body\\nIn content: Must be 2000 or fewer in length."``.
"""

from __future__ import annotations

import re
from typing import Any

from tests.fakes.discord.rules import COMPONENTS_V2, form_error, too_long

CONTENT_LIMIT = 2000
MAX_EMBEDS = 10
# Regular messages parse every mention kind by default; interaction responses and webhooks only users.
CHANNEL_PARSE = ("users", "roles", "everyone")
WEBHOOK_PARSE = ("users",)
_MENTION = re.compile(r"@(everyone|here)|<@!?(\d+)>|<@&(\d+)>")


# ------------------------------------------------------------------------------------------- mentions
def pings(
    content: str | None,
    allowed_mentions: dict[str, Any] | None,
    *,
    default_parse: tuple[str, ...] = CHANNEL_PARSE,
    replied_user: str | None = None,
) -> frozenset[str]:
    """What a write would ping: ``"everyone"`` (``@everyone``/``@here``), ``"user:<id>"``, ``"role:<id>"``,
    ``"reply:<id>"``. Without ``allowed_mentions`` Discord parses with ``default_parse``; with it, only
    the listed ``parse`` kinds and explicit ``users``/``roles`` ids (and ``replied_user``) ping."""
    am = allowed_mentions
    parse = set(default_parse if am is None else am.get("parse") or ())
    users = set() if am is None else {str(u) for u in am.get("users") or ()}
    roles = set() if am is None else {str(r) for r in am.get("roles") or ()}
    out: set[str] = set()
    for m in _MENTION.finditer(content or ""):
        if m.group(1) and "everyone" in parse:
            out.add("everyone")
        elif m.group(2) and ("users" in parse or m.group(2) in users):
            out.add(f"user:{m.group(2)}")
        elif m.group(3) and ("roles" in parse or m.group(3) in roles):
            out.add(f"role:{m.group(3)}")
    if replied_user and (am is None or am.get("replied_user")):
        out.add(f"reply:{replied_user}")
    return frozenset(out)


def mentioned(content: str) -> tuple[bool, list[str], list[str]]:
    """(mention_everyone, user ids, role ids) written in ``content``."""
    everyone, users, roles = False, [], []
    for m in _MENTION.finditer(content):
        everyone = everyone or bool(m.group(1))
        if m.group(2) and m.group(2) not in users:
            users.append(m.group(2))
        if m.group(3) and m.group(3) not in roles:
            roles.append(m.group(3))
    return everyone, users, roles


# ------------------------------------------------------------------------------------- message bodies
def check_allowed_mentions(am: Any, prefix: str) -> None:
    if am is None:
        return
    path = f"{prefix}allowed_mentions"
    if not isinstance(am, dict):
        raise form_error(path, "Must be an object.", "MODEL_TYPE_CONVERT")
    parse = am.get("parse") or []
    for i, kind in enumerate(parse):
        if kind not in CHANNEL_PARSE:
            raise form_error(
                f"{path}.parse.{i}", f"Value must be one of {set(CHANNEL_PARSE)}.", "BASE_TYPE_CHOICES"
            )
    for kind in ("users", "roles"):
        if kind in parse and am.get(kind):
            raise form_error(
                path,
                f'parse:["{kind}"] and {kind}: [ids...] are mutually exclusive.',
                "MESSAGE_ALLOWED_MENTIONS_PARSE_EXCLUSIVE",
            )


def check_embeds(embeds: Any, prefix: str) -> None:
    if not isinstance(embeds, list):
        raise form_error(f"{prefix}embeds", "Must be an array.", "BASE_TYPE_ARRAY")
    if len(embeds) > MAX_EMBEDS:
        raise too_long(f"{prefix}embeds", MAX_EMBEDS)
    total = 0
    for i, e in enumerate(embeds):
        parts = {
            "title": (e.get("title"), 256),
            "description": (e.get("description"), 4096),
            "footer.text": ((e.get("footer") or {}).get("text"), 2048),
            "author.name": ((e.get("author") or {}).get("name"), 256),
        }
        for j, f in enumerate(e.get("fields") or []):
            parts[f"fields.{j}.name"] = (f.get("name"), 256)
            parts[f"fields.{j}.value"] = (f.get("value"), 1024)
        if len(e.get("fields") or []) > 25:
            raise too_long(f"{prefix}embeds.{i}.fields", 25)
        for key, (text, limit) in parts.items():
            if text is not None and len(str(text)) > limit:
                raise too_long(f"{prefix}embeds.{i}.{key}", limit)
            total += len(str(text or ""))
    if total > 6000:
        raise form_error(
            f"{prefix}embeds", "Embed size exceeds maximum size of 6000", "MAX_EMBED_SIZE_EXCEEDED"
        )


def _count(components: list[dict[str, Any]]) -> int:
    return sum(1 + _count(c.get("components") or []) for c in components)


SELECTS = (3, 5, 6, 7, 8)


def check_select(c: dict[str, Any], at: str) -> None:
    """A select menu: placeholder ≤150, 0 ≤ min_values ≤ max_values ≤ 25; a string select (type 3) has
    1-25 options with label and value 1-100 (values unique), description ≤100, and max_values no more
    than its options."""
    if len(str(c.get("placeholder") or "")) > 150:
        raise too_long(f"{at}.placeholder", 150)
    low, high = int(c.get("min_values", 1)), int(c.get("max_values", 1))
    if not 0 <= low <= high <= 25 or high < 1:
        raise form_error(f"{at}.max_values", "Invalid min/max values.", "BASE_TYPE_BAD_INT")
    if c.get("type") != 3:
        return
    options = c.get("options")
    if not isinstance(options, list) or not 1 <= len(options) <= 25:
        raise form_error(f"{at}.options", "Must be between 1 and 25 in length.", "BASE_TYPE_BAD_LENGTH")
    if high > len(options):
        raise form_error(f"{at}.max_values", "Must be less than or equal to the options.", "BASE_TYPE_MAX")
    values: set[str] = set()
    for k, o in enumerate(options):
        for key in ("label", "value"):
            text = o.get(key)
            if not isinstance(text, str) or not 1 <= len(text) <= 100:
                raise form_error(
                    f"{at}.options.{k}.{key}", "Must be between 1 and 100 in length.", "BASE_TYPE_BAD_LENGTH"
                )
        if len(str(o.get("description") or "")) > 100:
            raise too_long(f"{at}.options.{k}.description", 100)
        if o["value"] in values:
            raise form_error(
                f"{at}.options.{k}.value",
                "Select option values must be unique",
                "SELECT_OPTION_VALUE_DUPLICATED",
            )
        values.add(o["value"])


def check_components(components: Any, flags: int, prefix: str) -> None:
    """Legacy layout: ≤5 action rows of 1-5 buttons or one select menu; buttons and menus need a
    ``custom_id`` (1-100, unique in the message), link buttons a ``url`` instead; button styles 1-6,
    labels ≤80, a label or an emoji; menus per :func:`check_select`. With IS_COMPONENTS_V2 only the
    total (≤40) is checked."""
    path = f"{prefix}components"
    if not isinstance(components, list):
        raise form_error(path, "Must be an array.", "BASE_TYPE_ARRAY")
    if flags & COMPONENTS_V2:
        if _count(components) > 40:
            raise too_long(path, 40)
        return
    if len(components) > 5:
        raise too_long(path, 5)
    seen: set[str] = set()
    for i, row in enumerate(components):
        if row.get("type") != 1:
            raise form_error(f"{path}.{i}.type", "Value must be one of {1}.", "BASE_TYPE_CHOICES")
        children = row.get("components") or []
        if not 1 <= len(children) <= 5:
            raise form_error(
                f"{path}.{i}.components", "Must be between 1 and 5 in length.", "BASE_TYPE_BAD_LENGTH"
            )
        if any(c.get("type") in SELECTS for c in children) and len(children) > 1:
            raise form_error(
                f"{path}.{i}.components",
                "A select menu must be alone in its row.",
                "COMPONENT_LAYOUT_WIDTH_EXCEEDED",
            )
        for j, c in enumerate(children):
            at, cid = f"{path}.{i}.components.{j}", c.get("custom_id")
            if c.get("type") not in (2, *SELECTS):
                raise form_error(f"{at}.type", "Invalid component type here.", "BASE_TYPE_CHOICES")
            if c.get("type") == 2 and (
                c.get("style") not in range(1, 7) or not (c.get("label") or c.get("emoji"))
            ):
                raise form_error(
                    at, "A button needs a valid style and a label or emoji.", "COMPONENT_INVALID"
                )
            if c.get("type") in SELECTS:
                check_select(c, at)
            if c.get("type") == 2 and c.get("style") == 5:
                if not c.get("url") or cid:
                    raise form_error(
                        at, "A link button needs a url and no custom_id.", "COMPONENT_LAYOUT_INVALID"
                    )
            elif not isinstance(cid, str) or not 1 <= len(cid) <= 100:
                raise form_error(
                    f"{at}.custom_id", "Must be between 1 and 100 in length.", "BASE_TYPE_BAD_LENGTH"
                )
            elif cid in seen:
                raise form_error(
                    f"{at}.custom_id",
                    "Component custom id cannot be duplicated",
                    "COMPONENT_CUSTOM_ID_DUPLICATED",
                )
            seen.add(cid or "")
            if len(str(c.get("label") or "")) > 80:
                raise too_long(f"{at}.label", 80)


def check_body(body: dict[str, Any], prefix: str = "") -> None:
    """Field-level checks of a message create/edit body (``prefix`` = ``"data."`` inside callbacks)."""
    content = body.get("content")
    if content is not None and not isinstance(content, str):
        raise form_error(f"{prefix}content", "Could not interpret as string.", "BASE_TYPE_STRING")
    if content and len(content) > CONTENT_LIMIT:
        raise too_long(f"{prefix}content", CONTENT_LIMIT)
    if body.get("embeds") is not None:
        check_embeds(body["embeds"], prefix)
    if body.get("components") is not None:
        check_components(body["components"], int(body.get("flags") or 0), prefix)
    if int(body.get("flags") or 0) & COMPONENTS_V2 and (content or body.get("embeds")):
        raise form_error(
            f"{prefix}content",
            "Cannot use content or embeds with IS_COMPONENTS_V2.",
            "MESSAGE_CANNOT_USE_LEGACY_FIELDS_WITH_COMPONENTS_V2",
        )
    check_allowed_mentions(body.get("allowed_mentions"), prefix)
    nonce = body.get("nonce")
    if nonce is not None and len(str(nonce)) > 25:
        raise too_long(f"{prefix}nonce", 25)
