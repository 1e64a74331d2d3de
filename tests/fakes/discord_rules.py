"""Discord API rules for the fake in :mod:`tests.fakes.discord`: error bodies, the test clock, rate-limit
windows, message-body validation and mention (ping) analysis. Codes and wording follow the real API
(discord-api-docs ``opcodes-and-status-codes``, ``message.mdx``), so bot code that matches on them is
exercised for real: e.g. discord.py renders a 50035 body as ``"Invalid Form Body\\nIn content: Must be
2000 or fewer in length."``.
"""

from __future__ import annotations

import hashlib
import math
import re
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Any

MB = 1024 * 1024
CONTENT_LIMIT = 2000
MAX_FILES = 10
MAX_EMBEDS = 10
EPHEMERAL, LOADING, COMPONENTS_V2 = 1 << 6, 1 << 7, 1 << 15
# Regular messages parse every mention kind by default; interaction responses and webhooks only users.
CHANNEL_PARSE = ("users", "roles", "everyone")
WEBHOOK_PARSE = ("users",)
_MENTION = re.compile(r"@(everyone|here)|<@!?(\d+)>|<@&(\d+)>")
_UNKNOWN = {
    "channel": 10003,
    "guild": 10004,
    "message": 10008,
    "user": 10013,
    "webhook": 10015,
    "interaction": 10062,
    "application command": 10063,
}


class ApiError(Exception):
    """An error reply: HTTP ``status`` with the JSON body ``{"message", "code"[, "errors"]}``, or for 429
    ``{"message", "retry_after", "global"}``. ``headers`` are added to the response."""

    def __init__(
        self,
        status: int,
        code: int,
        message: str,
        errors: dict[str, Any] | None = None,
        *,
        retry_after: float | None = None,
        is_global: bool = False,
        body: Any = None,
        headers: dict[str, str] | None = None,
    ) -> None:
        super().__init__(message)
        self.status, self.code, self.message, self.errors = status, code, message, errors
        self.retry_after, self.is_global, self.raw, self.headers = retry_after, is_global, body, headers or {}

    def body(self) -> Any:
        if self.raw is not None:
            return self.raw
        if self.status == 429:
            return {"message": self.message, "retry_after": self.retry_after, "global": self.is_global}
        out: dict[str, Any] = {"message": self.message, "code": self.code}
        if self.errors:
            out["errors"] = self.errors
        return out


def form_error(path: str, message: str, code: str = "BASE_TYPE_INVALID") -> ApiError:
    """400/50035 with Discord's nested ``errors`` object; ``path`` is dotted (``"0.options.1.name"``)."""
    errors: dict[str, Any] = {"_errors": [{"code": code, "message": message}]}
    for part in reversed(path.split(".")):
        errors = {part: errors}
    return ApiError(400, 50035, "Invalid Form Body", errors)


def too_long(path: str, limit: int) -> ApiError:
    return form_error(path, f"Must be {limit} or fewer in length.", "BASE_TYPE_MAX_LENGTH")


def unknown(kind: str) -> ApiError:
    """404 ``Unknown Channel`` / ``Unknown Message`` / ... with the matching code."""
    return ApiError(404, _UNKNOWN[kind], f"Unknown {kind.title() if kind != 'application command' else kind}")


UNAUTHORIZED = (401, 0, "401: Unauthorized")
ACKNOWLEDGED = (400, 40060, "Interaction has already been acknowledged.")
BAD_WEBHOOK_TOKEN = (401, 50027, "Invalid Webhook Token")
EMPTY = (400, 50006, "Cannot send an empty message")
TOO_LARGE = (413, 40005, "Request entity too large")
NOT_AUTHOR = (403, 50005, "Cannot edit a message authored by another user")
THREAD_EXISTS = (400, 160004, "A thread has already been created for this message")
MISSING_ACCESS = (403, 50001, "Missing Access")


def error(spec: tuple[int, int, str]) -> ApiError:
    return ApiError(*spec)


class ShiftClock:
    """``time.monotonic()`` plus an offset that tests move with :meth:`advance`. It keeps pace with real
    time, which matters: discord.py sleeps the advertised ``Reset-After``/``retry_after`` for real."""

    def __init__(self) -> None:
        self.offset = 0.0

    def __call__(self) -> float:
        return time.monotonic() + self.offset

    def advance(self, seconds: float) -> None:
        self.offset += seconds


# --------------------------------------------------------------------------------------------- budgets
@dataclass
class Window:
    """A fixed window as Discord's buckets behave: ``limit`` requests, reset ``period`` s after the first."""

    limit: int
    period: float
    start: float = -math.inf
    used: int = 0

    def _roll(self, now: float) -> None:
        if now >= self.start + self.period:
            self.start, self.used = now, 0

    def wait(self, now: float) -> float:
        self._roll(now)
        return 0.0 if self.used < self.limit else self.start + self.period - now

    def take(self, now: float) -> None:
        self._roll(now)
        self.used += 1

    def state(self, now: float) -> tuple[int, int, float]:
        """(limit, remaining, reset_after)."""
        self._roll(now)
        reset = self.start + self.period - now if self.used else self.period
        return self.limit, max(self.limit - self.used, 0), reset


def _up(seconds: float) -> float:
    return max(math.ceil(seconds * 1000) / 1000, 0.001)


@dataclass
class Budgets:
    """Rate limits: ``message_creates`` per channel, ``message_edits`` per message, ``global_requests``
    per bot; each ``(count, period_s)`` or ``None`` (off). A rejected request consumes nothing."""

    message_creates: tuple[int, float] | None = (5, 5.0)
    message_edits: tuple[int, float] | None = (5, 5.0)
    global_requests: tuple[int, float] | None = (50, 1.0)
    clock: Callable[[], float] = time.monotonic
    _windows: dict[tuple[str, str], Window] = field(default_factory=dict)

    def window(self, kind: str, key: str) -> Window | None:
        spec = {"create": self.message_creates, "edit": self.message_edits, "global": self.global_requests}[
            kind
        ]
        if spec is None:
            return None
        win = self._windows.get((kind, key))
        if win is None or (win.limit, win.period) != spec:
            win = self._windows[(kind, key)] = Window(*spec)
        return win

    def take(self, keys: Iterable[tuple[str, str]]) -> None:
        """Consume one request from every window in ``keys`` or raise the 429 of the longest wait."""
        now = self.clock()
        wins = [(kind, w) for kind, key in keys if (w := self.window(kind, key)) is not None]
        waits = [(w.wait(now), kind) for kind, w in wins]
        wait, kind = max(waits, default=(0.0, ""))
        if wait > 0:
            raise rate_limited(wait, is_global=kind == "global", scope="global" if kind == "global" else "user")
        for _, w in wins:
            w.take(now)

    def headers(self, kind: str, key: str, route: str) -> dict[str, str]:
        """``X-RateLimit-*`` for the window (a nominal unlimited one when that budget is off)."""
        win = self.window(kind, key)
        limit, remaining, reset = win.state(self.clock()) if win else (50, 50, 1.0)
        reset = _up(reset)
        return {
            "X-RateLimit-Limit": str(limit),
            "X-RateLimit-Remaining": str(remaining),
            "X-RateLimit-Reset-After": f"{reset:.3f}",
            "X-RateLimit-Reset": f"{time.time() + reset:.3f}",
            "X-RateLimit-Bucket": hashlib.sha1(route.encode()).hexdigest()[:32],
        }


def rate_limited(retry_after: float, *, is_global: bool = False, scope: str = "user") -> ApiError:
    """The 429 discord.py honours: ``Via`` header + JSON body with a float ``retry_after``."""
    wait = _up(retry_after)
    headers = {"Via": "1.1 google", "Retry-After": str(math.ceil(wait)), "X-RateLimit-Scope": scope}
    if is_global:
        headers["X-RateLimit-Global"] = "true"
    return ApiError(
        429, 0, "You are being rate limited.", retry_after=wait, is_global=is_global, headers=headers
    )


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
            raise form_error(f"{path}.parse.{i}", f"Value must be one of {set(CHANNEL_PARSE)}.", "BASE_TYPE_CHOICES")
    for kind in ("users", "roles"):
        if kind in parse and am.get(kind):
            raise form_error(
                path, f"parse:[\"{kind}\"] and {kind}: [ids...] are mutually exclusive.", "MESSAGE_ALLOWED_MENTIONS_PARSE_EXCLUSIVE"
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
        raise form_error(f"{prefix}embeds", "Embed size exceeds maximum size of 6000", "MAX_EMBED_SIZE_EXCEEDED")


def _count(components: list[dict[str, Any]]) -> int:
    return sum(1 + _count(c.get("components") or []) for c in components)


def check_components(components: Any, flags: int, prefix: str) -> None:
    """Legacy layout: ≤5 action rows of 1–5 children; buttons need ``custom_id`` (≤100, unique) or a
    link ``url``; labels ≤80. With IS_COMPONENTS_V2 only the total (≤40) is checked."""
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
            raise form_error(f"{path}.{i}.components", "Must be between 1 and 5 in length.", "BASE_TYPE_BAD_LENGTH")
        for j, c in enumerate(children):
            at, cid = f"{path}.{i}.components.{j}", c.get("custom_id")
            if c.get("type") == 2 and c.get("style") == 5:
                if not c.get("url") or cid:
                    raise form_error(at, "A link button needs a url and no custom_id.", "COMPONENT_LAYOUT_INVALID")
            elif not isinstance(cid, str) or not 1 <= len(cid) <= 100:
                raise form_error(f"{at}.custom_id", "Must be between 1 and 100 in length.", "BASE_TYPE_BAD_LENGTH")
            elif cid in seen:
                raise form_error(f"{at}.custom_id", "Component custom id cannot be duplicated", "COMPONENT_CUSTOM_ID_DUPLICATED")
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
            f"{prefix}content", "Cannot use content or embeds with IS_COMPONENTS_V2.", "MESSAGE_CANNOT_USE_LEGACY_FIELDS_WITH_COMPONENTS_V2"
        )
    check_allowed_mentions(body.get("allowed_mentions"), prefix)
    nonce = body.get("nonce")
    if nonce is not None and len(str(nonce)) > 25:
        raise too_long(f"{prefix}nonce", 25)
