"""python-telegram-bot's errors as the bridge's: waits, permanent refusals, a deleted message, retries."""

from __future__ import annotations

from typing import Any

from telegram.error import BadRequest, ChatMigrated, Forbidden, InvalidToken, RetryAfter, TelegramError

from adapters.telegram.intake import retry_seconds
from bridge import MessageGone, PlatformError, RateLimited


async def call(coro: Any) -> Any:
    """PTB's errors as the bridge's: waits, permanent refusals, and failures worth retrying."""
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
