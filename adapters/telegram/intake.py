"""How updates reach the bot: long polling with the offset in the bridge's state, or a webhook.

Polling: ``getUpdates`` from the stored offset; each update is handed over (``host.deliver``
returns once the message is recorded in the bridge's durable inbox) and only then is the offset
past it recorded and confirmed to Telegram, so a restart never skips an accepted update, and an
update delivered again is recognised by its ``update_id`` and answered once. The offset is
written by one background writer that always writes the newest offset (a slow disk must not slow
intake to one update per write), and flushed when polling stops; a hard kill before a write only
makes Telegram deliver those updates again, and the inbox drops them. While the bridge's store is
down, an update is only held in memory (``host.deliver`` returns False): the offset stays before it
and ``getUpdates`` is asked again every :data:`HELD_POLL_S` (it returns the held updates again, which
the inbox drops as already taken, plus new ones), so a process killed before the store is back
loses nothing — Telegram still has the update. Transient failures
(network, 5xx, 409 while another process polls) are retried with back-off; a rejected token stops
the adapter with a clear error.

Webhook: ``setWebhook(url, secret_token)`` at start, and a ``POST`` route on the bridge's HTTP
listener that answers 403 unless ``X-Telegram-Bot-Api-Secret-Token`` matches (compared in constant
time). Telegram redelivers an update until it gets a 200, so the handler answers 200 only once the
update is recorded in the durable inbox (503 while it is only held in memory, so Telegram sends
it again); a redelivered ``update_id`` is answered once.
"""

from __future__ import annotations

import asyncio
import hmac
import json
from collections.abc import Awaitable, Callable

import structlog
from telegram import Bot, Update
from telegram.error import Conflict, Forbidden, InvalidToken, RetryAfter, TelegramError

from bridge import AdapterState, BridgeError, HttpRequest, HttpResponse, PlatformError, Routes

log = structlog.get_logger(__name__)
Handle = Callable[[Update], Awaitable[bool]]
"""Hand one update over; True once it is durable (see the module docstring)."""
ALLOWED_UPDATES = ["message", "callback_query"]
OFFSET_KEY = "offset"
SECRET_HEADER = "x-telegram-bot-api-secret-token"
HELD_POLL_S = 1.0  # while updates are held in memory, getUpdates returns at once: pace it


async def start_bot(bot: Bot, adapter: str, token_env: str) -> None:
    """``getMe`` until it works: a rejected token stops the adapter (PTB's own error would quote the
    token, so it is replaced); an unreachable API is retried with back-off."""
    delay = 1.0
    while True:
        try:
            await bot.initialize()
            return
        except (InvalidToken, Forbidden):
            raise rejected_token(adapter, token_env) from None
        except TelegramError as exc:
            log.warning(
                "Telegram unreachable; retrying", adapter=adapter, error=type(exc).__name__, retry_in_s=delay
            )
            await asyncio.sleep(delay)
            delay = min(60.0, delay * 2)


async def poll(
    bot: Bot, state: AdapterState, handle: Handle, timeout_s: int, adapter: str, token_env: str
) -> None:
    """Receive updates by long polling until cancelled."""
    await bot.delete_webhook()
    stored = await state.get(OFFSET_KEY)
    offset = int(stored["next"]) if stored else None
    saver = _OffsetSaver(state)
    try:
        await _poll_loop(bot, saver, handle, timeout_s, offset, adapter, token_env)
    finally:
        await asyncio.shield(saver.close())


async def _poll_loop(
    bot: Bot,
    saver: _OffsetSaver,
    handle: Handle,
    timeout_s: int,
    offset: int | None,
    adapter: str,
    token_env: str,
) -> None:
    delay = 0.0
    while True:
        try:
            updates = await bot.get_updates(
                offset=offset,
                timeout=timeout_s,
                allowed_updates=ALLOWED_UPDATES,
                read_timeout=timeout_s + 10,
            )
            delay = 0.0
        except (InvalidToken, Forbidden):
            raise rejected_token(adapter, token_env) from None
        except RetryAfter as exc:
            await asyncio.sleep(retry_seconds(exc))
            continue
        except (Conflict, TelegramError) as exc:
            delay = min(30.0, max(1.0, delay * 2))
            what = "another process polls this bot" if isinstance(exc, Conflict) else type(exc).__name__
            log.warning("getUpdates failed; retrying", adapter=adapter, reason=what, retry_in_s=delay)
            await asyncio.sleep(delay)
            continue
        held = False
        for update in updates:
            durable = await _handle_one(handle, update, adapter)
            held = held or not durable
            if not held:  # never confirm past an update only memory holds
                offset = update.update_id + 1
                saver.save(offset)
        if held:
            await asyncio.sleep(HELD_POLL_S)


class _OffsetSaver:
    """Writes the newest offset to the state, one write at a time, never blocking the caller."""

    def __init__(self, state: AdapterState) -> None:
        self._state = state
        self._wanted: int | None = None
        self._written: int | None = None
        self._task: asyncio.Task[None] | None = None

    def save(self, offset: int) -> None:
        self._wanted = offset
        if self._task is None or self._task.done():
            self._task = asyncio.create_task(self._write())

    async def _write(self) -> None:
        while self._wanted is not None and self._wanted != self._written:
            offset = self._wanted
            try:
                await self._state.put(OFFSET_KEY, {"next": offset})
            except BridgeError as exc:  # keep polling; the next update tries again
                log.warning("storing the Telegram update offset failed", error=str(exc))
                return
            self._written = offset

    async def close(self) -> None:
        """Finish writing the newest offset."""
        if self._task is not None:
            await asyncio.wait({self._task})
        await self._write()


async def serve_webhook(
    bot: Bot, routes: Routes, path: str, url: str, secret: str, handle: Handle, adapter: str
) -> None:
    """Register the webhook and serve it on ``routes`` at ``path`` until cancelled."""
    secret_bytes = secret.encode()

    async def receive(request: HttpRequest) -> HttpResponse:
        given = request.headers.get(SECRET_HEADER, "").encode()
        if not hmac.compare_digest(given, secret_bytes):
            log.warning("webhook call with a wrong secret token refused", adapter=adapter)
            return HttpResponse(403, {"error": "forbidden"})
        try:
            data = json.loads(request.body)
            update = Update.de_json(data, bot)
        except (ValueError, TypeError, KeyError) as exc:
            log.warning("webhook body is not an update", adapter=adapter, error=type(exc).__name__)
            return HttpResponse(400, {"error": "not an update"})
        if not await _handle_one(handle, update, adapter):
            return HttpResponse(503, {"error": "the bridge cannot store the update yet; send it again"})
        return HttpResponse(200, {})

    routes.add("POST", path, receive)
    try:
        await bot.set_webhook(url=url, secret_token=secret, allowed_updates=ALLOWED_UPDATES)
        await asyncio.Event().wait()
    finally:
        routes.remove("POST", path)


async def _handle_one(handle: Handle, update: Update, adapter: str) -> bool:
    """Hand one update over; whether it is durable. A failure is logged and the update counts as
    handled (never retried forever: a poisoned update must not block the bot)."""
    try:
        return await handle(update)
    except Exception:
        log.exception("handling a Telegram update failed", adapter=adapter, update_id=update.update_id)
        return True


def rejected_token(adapter: str, token_env: str) -> PlatformError:
    """The error for a token Telegram refuses: names the variable, never the token (PTB's does)."""
    return PlatformError(
        f"Telegram rejected the bot token of adapter '{adapter}' (from ${token_env})", permanent=True
    )


def retry_seconds(exc: RetryAfter) -> float:
    """``retry_after`` in seconds, whichever type this PTB version gives."""
    delay = exc.retry_after
    return delay.total_seconds() if hasattr(delay, "total_seconds") else float(delay)
