"""Discord API rules for the fake in :mod:`tests.fakes.discord`: error bodies, the test clock and the
rate-limit windows (message-body checks and ping analysis are in :mod:`tests.fakes.discord.checks`).
Codes and wording follow the real API (discord-api-docs ``opcodes-and-status-codes``), so bot code that
matches on them is exercised for real.
"""

from __future__ import annotations

import hashlib
import math
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Any

MB = 1024 * 1024
MAX_FILES = 10
EPHEMERAL, LOADING, COMPONENTS_V2 = 1 << 6, 1 << 7, 1 << 15
_UNKNOWN = {
    "channel": 10003,
    "guild": 10004,
    "message": 10008,
    "member": 10007,
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
VIEW_CHANNEL, READ_MESSAGE_HISTORY = 1 << 10, 1 << 16


def denied(channel: dict[str, Any], parent: dict[str, Any] | None, user_id: str, permission: int) -> bool:
    """Whether ``user_id`` lacks ``permission`` in a guild channel (a thread: its parent's), from the
    channel's ``permission_overwrites``: the member's own overwrite decides, else @everyone's (the role
    whose id is the guild's). Every other permission comes from @everyone's role, which grants
    viewing and reading history; DMs deny nothing."""
    source = parent if channel.get("type") in (10, 11, 12) and parent is not None else channel
    guild_id = channel.get("guild_id")
    if not guild_id:
        return False
    overwrites = {str(o["id"]): o for o in source.get("permission_overwrites") or []}
    for target in (user_id, guild_id):
        o = overwrites.get(str(target))
        if o is not None and (int(o.get("allow", 0)) | int(o.get("deny", 0))) & permission:
            return bool(int(o.get("deny", 0)) & permission)
    return False


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
            raise rate_limited(
                wait, is_global=kind == "global", scope="global" if kind == "global" else "user"
            )
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
