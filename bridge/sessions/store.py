"""The one session-store contract: JSON dicts under string keys, with expiry and bounds.

Keys are namespaced strings (``"session:tg:123"``, ``"state:tg:offset"``). Every store:

- keeps a value as its JSON text, so ``get`` returns a fresh copy with JSON's types (tuples come
  back as lists, non-string dict keys as strings); mutating a value after ``put`` or after ``get``
  never changes what is stored;
- returns None for a missing or expired key, and never lists an expired key in ``keys``;
- expires a value ``ttl`` seconds after its ``put`` (``ttl`` > 0; ``math.inf`` keeps it forever;
  None means the store's ``default_ttl``, which None in turn makes "forever"); an overwrite sets a
  new expiry;
- holds at most ``max_entries`` keys: a put beyond the bound evicts the least-recently-*written*
  keys (an overwrite counts as a write, a read does not; expired keys may go first);
- refuses, leaving any old value in place, a value that is not a dict or not JSON
  (:class:`StoreError`) or whose compact UTF-8 JSON is over ``max_value_bytes`` (:class:`ValueTooLarge`);
- raises :class:`StoreError` for any operation after ``close``; ``close`` may be called twice.

Stores never log values (they hold chat history). :func:`open_store` builds a store from the
``[bridge].state`` URL. Each store also holds the bridge's durable inbox, ``store.inbox``
(:mod:`bridge.sessions.inbox`), on the same backend.
"""

from __future__ import annotations

import json
import math
from pathlib import Path
from typing import TYPE_CHECKING, Any, Protocol, runtime_checkable

from bridge.errors import BridgeError, ConfigError

if TYPE_CHECKING:
    from bridge.sessions.inbox import Inbox

# Expired entries are swept once per this many writes (reads already hide them).
PURGE_EVERY = 256

ACCEPTED_URLS = '"memory://", "sqlite:///relative/path.db" or "sqlite:////absolute/path.db"'
REDIS_UNAVAILABLE = (
    "redis:// state stores need the redis package: pip install 'gradio-bridge[redis]' "
    "(or use sqlite:///PATH or memory://)"
)


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


@runtime_checkable
class SessionStore(Protocol):
    """Async key → JSON-dict storage with expiry and bounds; the module docstring is the contract."""

    @property
    def inbox(self) -> Inbox:
        """The durable inbox, on the same backend (:mod:`bridge.sessions.inbox`)."""
        ...

    async def get(self, key: str) -> dict[str, Any] | None:
        """The live value under ``key`` (a fresh copy), or None when missing or expired."""
        ...

    async def put(self, key: str, value: dict[str, Any], ttl: float | None = None) -> None:
        """Store ``value`` under ``key``, replacing any old value; ``ttl`` in seconds (None: default)."""
        ...

    async def delete(self, key: str) -> None:
        """Forget ``key``; deleting a missing key is not an error."""
        ...

    async def keys(self, prefix: str = "") -> list[str]:
        """The live keys starting with ``prefix`` (case-sensitive, literal), sorted."""
        ...

    async def close(self) -> None:
        """Flush and release resources; later operations raise StoreError."""
        ...

    async def ping(self) -> None:
        """Check the store can be used now (open the file, reach the server); StoreError if not."""
        ...


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


def open_store(
    url: str,
    *,
    default_ttl: float | None = None,
    max_entries: int = 100_000,
    max_value_bytes: int = 1_000_000,
    base_dir: str | Path | None = None,
) -> SessionStore:
    """The store for a ``[bridge].state`` URL; ConfigError (naming the accepted forms) for anything else.

    ``sqlite:///rel/path.db`` is relative to ``base_dir`` (default: the working directory);
    ``sqlite:////abs/path.db`` is absolute. Parent directories are created when the store opens.
    ``redis://`` and ``rediss://`` build a :class:`~bridge.sessions.redis.RedisStore`, which connects
    on its first operation. The URL is never echoed in errors with its password.
    """
    from bridge.sessions.memory import MemoryStore
    from bridge.sessions.sqlite import SqliteStore

    options: dict[str, Any] = {
        "default_ttl": default_ttl,
        "max_entries": max_entries,
        "max_value_bytes": max_value_bytes,
    }
    every_url = f'{ACCEPTED_URLS}, or "redis://HOST:PORT/DB" to share state between bridge processes'
    scheme, sep, rest = url.strip().partition("://")
    scheme = scheme.lower()
    if not sep:
        raise ConfigError(f"the state store is not a URL; use {every_url}", "bridge.state")
    if scheme in ("redis", "rediss"):
        check_options(default_ttl, max_entries, max_value_bytes)  # so a ValueError below is the URL's
        try:
            from bridge.sessions.redis import ACCEPTED_REDIS_URLS, RedisStore
        except ImportError:
            raise ConfigError(REDIS_UNAVAILABLE, "bridge.state") from None
        try:
            return RedisStore(url, **options)
        except ValueError as exc:
            raise ConfigError(f"{exc}; use {ACCEPTED_REDIS_URLS}", "bridge.state") from None
    if scheme == "memory":
        if rest:
            raise ConfigError(f"memory:// takes nothing after it; use {ACCEPTED_URLS}", "bridge.state")
        return MemoryStore(**options)
    if scheme == "sqlite":
        raw = rest[1:] if rest.startswith("/") else ""
        if not raw or raw.endswith("/") or raw == "/":
            raise ConfigError(
                f"a sqlite state store needs a file path after three slashes; use {ACCEPTED_URLS}",
                "bridge.state",
            )
        path = Path(raw)
        if not path.is_absolute():
            path = Path(base_dir if base_dir is not None else Path.cwd()) / path
        return SqliteStore(path, **options)
    raise ConfigError(f"unsupported state store {scheme + '://'!r}; use {every_url}", "bridge.state")
