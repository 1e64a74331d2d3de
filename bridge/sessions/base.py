"""What every store backend shares: its errors, the JSON coding of values, and expiry arithmetic.

The contract these serve is :mod:`bridge.sessions.store`; the backends (memory, SQLite, Redis) and
the durable inbox import from here, never from each other, so the package has no import circle.
"""

from __future__ import annotations

import json
import math
from typing import Any

from bridge.errors import BridgeError

# Expired entries are swept once per this many writes (reads already hide them).
PURGE_EVERY = 256


class StoreError(BridgeError):
    """A store refused a value or could not do its job (closed, unreadable file, full disk)."""


class ValueTooLarge(StoreError):
    """A value's JSON is ``size`` bytes, over the store's ``limit`` (``max_value_bytes``)."""

    def __init__(self, key: str, size: int, limit: int) -> None:
        super().__init__(
            f"the value for {key!r} is {size:,} bytes as JSON, over the store's limit of {limit:,} bytes "
            "(max_value_bytes); store less (for example trim the chat history) or raise the limit"
        )
        self.key = key
        self.size = size
        self.limit = limit


def check_options(default_ttl: float | None, max_entries: int, max_value_bytes: int) -> None:
    """Raise ValueError for store options that cannot work."""
    check_ttl(default_ttl, "default_ttl")
    if max_entries < 1:
        raise ValueError(f"max_entries must be at least 1, got {max_entries}")
    if max_value_bytes < 1:
        raise ValueError(f"max_value_bytes must be at least 1, got {max_value_bytes}")


def check_ttl(ttl: float | None, name: str = "ttl") -> None:
    """Raise ValueError unless ``ttl`` is None or a positive number of seconds (``math.inf`` allowed)."""
    if ttl is not None and not ttl > 0:  # `not >` also rejects NaN
        raise ValueError(
            f"{name} must be None or a positive number of seconds (math.inf: forever), got {ttl!r}"
        )


def expiry(now: float, ttl: float | None, default_ttl: float | None) -> float | None:
    """The absolute expiry time for a put at ``now``, or None for "never"."""
    check_ttl(ttl)
    seconds = default_ttl if ttl is None else ttl
    return None if seconds is None or math.isinf(seconds) else now + seconds


def is_live(expires_at: float | None, now: float) -> bool:
    """Whether an entry expiring at ``expires_at`` is still visible at ``now`` (expired at the instant)."""
    return expires_at is None or expires_at > now


def encode(key: str, value: dict[str, Any], max_value_bytes: int) -> str:
    """``value`` as compact JSON text, or StoreError / ValueTooLarge explaining why it cannot be stored."""
    if not isinstance(value, dict):
        raise StoreError(f"the value for {key!r} must be a dict, not {type(value).__name__}")
    try:
        text = json.dumps(value, ensure_ascii=False, allow_nan=False, separators=(",", ":"))
    except (TypeError, ValueError) as exc:  # unknown types, circular references, NaN/Infinity
        raise StoreError(
            f"the value for {key!r} is not JSON ({exc}); store only dicts, lists, strings, "
            "finite numbers, booleans and None"
        ) from exc
    try:
        size = len(text.encode())
    except UnicodeEncodeError:  # a lone surrogate: JSON can still carry it escaped
        text = json.dumps(value, allow_nan=False, separators=(",", ":"))
        size = len(text)
    if size > max_value_bytes:
        raise ValueTooLarge(key, size, max_value_bytes)
    return text


def decode(text: str) -> dict[str, Any]:
    """The dict stored as ``text`` by :func:`encode`."""
    value = json.loads(text)
    if not isinstance(value, dict):
        raise StoreError("a stored value is not a JSON object; the state file was changed by something else")
    return value
