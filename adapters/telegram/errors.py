"""python-telegram-bot's errors as the bridge's (:mod:`bridge.errors`), at the adapter's boundary.

Every Bot API call the adapter makes goes through :func:`call`: a flood wait (``RetryAfter``)
becomes ``RateLimited``; "message is not modified" is success (None); a deleted or uneditable
message is ``MessageGone``; a refusal (400, 403, a rejected token, a migrated chat) is a permanent
``PlatformError``; anything else (network, timeouts, 5xx) a ``PlatformError`` worth retrying. A
rejected token is worded by :func:`rejected_token`, which names the variable, never the token.
"""

from __future__ import annotations

from typing import Any

from telegram.error import BadRequest, ChatMigrated, Forbidden, InvalidToken, RetryAfter, TelegramError

from bridge import MessageGone, PlatformError, RateLimited


async def call(coro: Any) -> Any:
    """Await one Bot API call, its errors raised as the bridge's (see the module docstring)."""
    try:
        return await coro
    except RetryAfter as exc:
        raise RateLimited(retry_seconds(exc), "Telegram flood control") from exc
    except BadRequest as exc:
        text = exc.message.lower()
        if "not modified" in text:
            return None
        if "message to edit not found" in text or "message can't be edited" in text:
            raise MessageGone(f"Telegram: {exc.message}") from exc
        raise PlatformError(f"Telegram refused the request: {exc.message}", permanent=True) from exc
    except (Forbidden, InvalidToken, ChatMigrated) as exc:
        raise PlatformError(f"Telegram refused the request: {exc.message}", permanent=True) from exc
    except TelegramError as exc:  # NetworkError, TimedOut, 5xx: Telegram may answer later
        raise PlatformError(f"Telegram request failed: {exc}") from exc


def rejected_token(adapter: str, token_env: str) -> PlatformError:
    """The error for a token Telegram refuses: names the variable, never the token (PTB's does)."""
    return PlatformError(
        f"Telegram rejected the bot token of adapter '{adapter}' (from ${token_env})", permanent=True
    )


def retry_seconds(exc: RetryAfter) -> float:
    """``retry_after`` in seconds, whichever type this PTB version gives."""
    delay = exc.retry_after
    return delay.total_seconds() if hasattr(delay, "total_seconds") else float(delay)
