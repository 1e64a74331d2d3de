"""The store for a ``[bridge].state`` URL: ``memory://``, ``sqlite:///PATH`` or ``redis://HOST:PORT/DB``."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from bridge.errors import ConfigError
from bridge.sessions.base import check_options
from bridge.sessions.memory import MemoryStore
from bridge.sessions.sqlite import SqliteStore
from bridge.sessions.store import SessionStore

ACCEPTED_URLS = '"memory://", "sqlite:///relative/path.db" or "sqlite:////absolute/path.db"'
REDIS_UNAVAILABLE = (
    "redis:// state stores need the redis package: pip install 'gradio-bridge[redis]' "
    "(or use sqlite:///PATH or memory://)"
)


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
