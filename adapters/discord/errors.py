"""discord.py's errors → the bridge's (:mod:`bridge` errors), for every REST call the adapter makes.

The core keeps retrying a reply's final text through transient failures until a long deadline and
gives up at once on permanent ones, so :func:`call` sorts them:

* **429** → :class:`~bridge.RateLimited`. discord.py sleeps through the short ones itself; what
  reaches us is a wait over ``max_ratelimit_timeout`` (30 s), or a 429 without Discord's JSON body
  and ``Via`` header (Cloudflare), which discord.py raises at once.
* **Unknown Message (10008) on an edit** → :class:`~bridge.MessageGone`: someone deleted the
  message; the core posts a new one.
* **Other 4xx** (403 Missing Access/Permissions, 404 Unknown Channel, 400 invalid bodies, 401 a
  revoked token, 413 too large) and discord.py's own refusals (``ClientException``) → permanent:
  the same request gets the same answer.
* **5xx**, network failures (``aiohttp.ClientError``, ``OSError``) and timeouts → transient.

How long one call can take before it raises (discord.py 2.7.1 ``HTTPClient.request`` and the
webhook adapter, on aiohttp's default session timeout of 300 s in all and 30 s to connect): 500,
502, 504 and 524 are retried 5 times, sleeping 1, 3, 5, 7 and 9 s, so a failing API answers after
about 25 s (webhook and interaction calls retry every 5xx the same way, channel calls raise 503 at
once); a refused connection raises ``ClientConnectorError`` at once; an address that drops packets
raises after the 30 s connect timeout; a server that accepts and never answers holds the call for
the full 300 s. Each of those then counts as one transient failure here.

Two more places where discord.py's errors meet the bridge: :func:`login_errors` turns a rejected
token or a refused privileged intent at start-up into a permanent error saying what to fix, and
:func:`acknowledge` answers an interaction without raising when it was answered already or too late.
"""

from __future__ import annotations

import contextlib
from collections.abc import Awaitable, Iterator
from typing import TypeVar

import aiohttp
import discord
import structlog

from bridge import MessageGone, PlatformError, RateLimited

log = structlog.get_logger(__name__)

UNKNOWN_MESSAGE = 10008
T = TypeVar("T")


async def call(awaitable: Awaitable[T], *, what: str = "the request", edit: bool = False) -> T:
    """Await a discord.py call, raising its failure as a bridge error (see the module docstring).

    ``what`` names the request in messages; ``edit`` makes Unknown Message a :class:`MessageGone`.
    """
    try:
        return await awaitable
    except discord.RateLimited as exc:
        raise RateLimited(exc.retry_after, "Discord rate limit") from exc
    except discord.HTTPException as exc:
        raise http_error(exc, what, edit=edit) from exc
    except discord.ClientException as exc:
        raise PlatformError(f"Discord refused {what}: {exc}", permanent=True) from exc
    except (TimeoutError, discord.DiscordException, aiohttp.ClientError, OSError) as exc:
        raise PlatformError(f"Discord could not be reached for {what} ({type(exc).__name__})") from exc


def http_error(exc: discord.HTTPException, what: str, *, edit: bool = False) -> PlatformError:
    """The bridge error for an HTTP error answer of Discord's."""
    if exc.status == 429:
        return RateLimited(_retry_after(exc), "Discord rate limit")
    if edit and exc.code == UNKNOWN_MESSAGE:
        return MessageGone(f"the Discord message to edit no longer exists ({what})")
    if exc.status >= 500:
        return PlatformError(f"Discord failed {what} (HTTP {exc.status}); it may work later")
    reason = exc.text or f"HTTP {exc.status}"
    return PlatformError(f"Discord refused {what}: {reason}", permanent=True)


def _retry_after(exc: discord.HTTPException) -> float:
    """The wait a 429 asked for (its ``Retry-After`` header), 1 s when it gave none."""
    headers = getattr(exc.response, "headers", None) or {}
    try:
        return max(0.1, float(headers.get("Retry-After", 1.0)))
    except (TypeError, ValueError):
        return 1.0


@contextlib.contextmanager
def login_errors(adapter: str, token_env: str) -> Iterator[None]:
    """Raise discord.py's start-up refusals as permanent errors naming the fix (never the token)."""
    try:
        yield
    except discord.LoginFailure:
        raise PlatformError(
            f"Discord rejected the bot token of adapter '{adapter}' (from ${token_env})", permanent=True
        ) from None
    except discord.PrivilegedIntentsRequired:
        raise PlatformError(
            f"adapter '{adapter}': enable the Message Content intent for the bot in the "
            "Discord Developer Portal, or set message_content_intent = false",
            permanent=True,
        ) from None


async def acknowledge(response: Awaitable[object]) -> None:
    """Answer an interaction; one answered already (a redelivery: 40060) or too late (10062) is
    logged, not raised: the work it asks for may still have to be done."""
    try:
        await response
    except (discord.HTTPException, discord.InteractionResponded) as exc:
        log.info("interaction not answered", error=str(exc))
