"""Updates of the fake Telegram Bot API (:mod:`tests.fakes.telegram`): the pending queue that tests push to,
getUpdates (a long poll held until an update comes, the timeout passes or the server closes; an offset
confirms everything before it; a newer poll ends an older one with 409, as does polling while a webhook is
set), set/delete/getWebhookInfo, and the worker that POSTs pending updates to the webhook with
``X-Telegram-Bot-Api-Secret-Token`` as Telegram does for a bot served by several processes:

- at most ``max_connections`` (setWebhook's, default 40) deliveries are in flight at once;
- the updates of one chat go one after another: the next only once the previous one was answered 2xx;
  different chats are delivered concurrently (updates without a chat share one lane);
- an update answered non-2xx, refused, or not answered within ``webhook_timeout_s`` is delivered again
  after ``webhook_retry_s`` (its chat waits meanwhile, so the chat's order holds);
- every attempt is recorded in ``webhook_deliveries`` as ``(update_id, HTTP status)``, ``0`` when there
  was no answer (connection refused or reset, or the timeout), in the order the attempts ended.

:meth:`Updates.deliver_again` sends an update once more, now or later, to the webhook or to a chosen URL
(a redelivery after a timeout, a copy landing on another replica).
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import re
import time
from collections.abc import Callable
from typing import Any

import httpx

from tests.fakes.telegram.media import Media
from tests.fakes.telegram.rules import ApiError, bad
from tests.fakes.telegram.store import Params

CONFLICT_WEBHOOK = (
    "Conflict: can't use getUpdates method while webhook is active; "
    "use deleteWebhook to delete the webhook first"
)
CONFLICT_POLL = (
    "Conflict: terminated by other getUpdates request; make sure that only one bot instance is running"
)


class Updates(Media):
    """The update queue and its delivery; every change wakes :meth:`_wait_change` (see ``_notify``)."""

    def _init_updates(self, webhook_retry_s: float, webhook_timeout_s: float) -> None:
        self.webhook_retry_s, self.webhook_timeout_s = webhook_retry_s, webhook_timeout_s
        self.updates: list[dict[str, Any]] = []  # pending: not yet confirmed (polling) or delivered (webhook)
        self.pushed: list[dict[str, Any]] = []
        self.webhook: dict[str, Any] | None = None
        self.webhook_deliveries: list[tuple[int, int]] = []  # (update_id, HTTP status; 0 = unreachable)
        self._next_update, self._poll_gen, self._closing = 1, 0, False
        self.webhook_in_flight = 0  # webhook POSTs waiting for their answer
        self._changed = asyncio.Event()

    def _notify(self) -> None:
        event, self._changed = self._changed, asyncio.Event()
        event.set()

    async def _wait_change(self, timeout: float | None) -> None:
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(self._changed.wait(), timeout)

    async def post_webhook(
        self, update: dict[str, Any], *, secret_token: str | None, url: str | None = None
    ) -> int:
        """POST one update to ``url`` (default: the registered webhook) with ``secret_token``; return the
        HTTP status (0: no answer). Not recorded in ``webhook_deliveries``."""
        assert url or self.webhook, "no webhook set"
        async with httpx.AsyncClient(trust_env=False, timeout=self.webhook_timeout_s) as client:
            return await self._post(client, update, secret_token, url)

    async def deliver_again(
        self,
        update: dict[str, Any],
        *,
        url: str | None = None,
        delay_s: float = 0.0,
        after: Callable[[], object] | None = None,
        timeout: float = 60.0,
    ) -> int:
        """Deliver ``update`` once more, as Telegram's redelivery does: after ``delay_s``, and once
        ``after()`` is truthy when given (e.g. "it was answered"; waited for at most ``timeout``), to
        ``url`` (a chosen replica's webhook) or the registered webhook, with its secret token. The attempt
        is recorded in ``webhook_deliveries``; return its HTTP status (0: no answer)."""
        await asyncio.sleep(delay_s)
        if after is not None:
            loop = asyncio.get_running_loop()
            deadline = loop.time() + timeout
            while not after():
                assert loop.time() < deadline, f"deliver_again: condition not met within {timeout}s"
                await self._wait_change(0.05)
        assert self.webhook, "no webhook set"
        status = await self.post_webhook(update, secret_token=self.webhook.get("secret_token"), url=url)
        self.webhook_deliveries.append((update["update_id"], status))
        self._notify()
        return status

    def _push(self, payload: dict[str, Any]) -> dict[str, Any]:
        update = {"update_id": self._next_update, **payload}
        self._next_update += 1
        self.updates.append(update)
        self.pushed.append(update)
        self._notify()
        return update

    async def _post(
        self, client: httpx.AsyncClient, update: dict[str, Any], secret: str | None, url: str | None = None
    ) -> int:
        target = url or (self.webhook or {}).get("url")
        assert target, "no webhook set"
        headers = {"Content-Type": "application/json"} | (
            {"X-Telegram-Bot-Api-Secret-Token": secret} if secret else {}
        )
        try:
            return (await client.post(target, content=json.dumps(update), headers=headers)).status_code
        except httpx.HTTPError:
            return 0

    async def _webhook_worker(self) -> None:
        """Deliver pending updates to the webhook (see the module docstring) until the server closes."""
        busy: set[object] = set()  # chats with a delivery in flight (or waiting to be retried)
        tasks: set[asyncio.Task[None]] = set()
        limits = httpx.Limits(max_connections=None, max_keepalive_connections=100)
        async with httpx.AsyncClient(
            trust_env=False, timeout=self.webhook_timeout_s, limits=limits
        ) as client:
            try:
                while not self._closing:
                    hook = self.webhook
                    if hook:
                        room = int(hook.get("max_connections") or 40) - self.webhook_in_flight
                        seen: set[object] = set()
                        for update in list(self.updates):
                            lane = _lane(update)
                            if room <= 0:
                                break
                            if lane in seen:
                                continue
                            seen.add(lane)
                            if lane not in busy:
                                busy.add(lane)
                                room -= 1
                                self.webhook_in_flight += 1
                                task = asyncio.create_task(self._deliver(client, hook, update, lane, busy))
                                tasks.add(task)
                                task.add_done_callback(tasks.discard)
                    await self._wait_change(None)
            finally:
                for task in tasks:
                    task.cancel()
                await asyncio.gather(*tasks, return_exceptions=True)

    async def _deliver(
        self,
        client: httpx.AsyncClient,
        hook: dict[str, Any],
        update: dict[str, Any],
        lane: object,
        busy: set[object],
    ) -> None:
        """One attempt at ``update``; on failure its lane stays busy for ``webhook_retry_s``."""
        try:
            try:
                status = await self._post(client, update, hook.get("secret_token"), hook["url"])
            finally:
                self.webhook_in_flight -= 1
            self.webhook_deliveries.append((update["update_id"], status))
            if 200 <= status < 300:
                with contextlib.suppress(ValueError):
                    self.updates.remove(update)
            else:
                hook.update(last_error_date=int(time.time()), last_error_message=f"Wrong response: {status}")
                self._notify()
                await asyncio.sleep(self.webhook_retry_s)
        finally:
            busy.discard(lane)
            self._notify()

    # ------------------------------------------------------------------------------------- methods
    async def _get_updates(self, p: Params) -> Any:
        if self.webhook:
            raise ApiError(409, CONFLICT_WEBHOOK)
        offset = int(p.get("offset") or 0)
        if offset:  # confirms everything before it; a negative offset keeps only the last -offset updates
            self.updates = (
                [u for u in self.updates if u["update_id"] >= offset] if offset > 0 else self.updates[offset:]
            )
        limit = min(max(int(p.get("limit") or 100), 1), 100)
        loop = asyncio.get_running_loop()
        deadline = loop.time() + max(float(p.get("timeout") or 0), 0)
        self._poll_gen += 1
        gen = self._poll_gen
        self._notify()  # an older held poll now ends with 409, as on Telegram
        while True:
            if gen != self._poll_gen:
                raise ApiError(409, CONFLICT_POLL)
            if self.updates or self._closing or loop.time() >= deadline:
                return self.updates[:limit]
            await self._wait_change(deadline - loop.time())

    async def _set_webhook(self, p: Params) -> Any:
        secret = p.get("secret_token")
        if secret is not None and not re.fullmatch(r"[A-Za-z0-9_-]{1,256}", secret):
            raise bad("secret token contains unallowed characters")
        if p.get("drop_pending_updates"):
            self.updates.clear()
        self.webhook = (
            {"url": p["url"], "secret_token": secret, "max_connections": p.get("max_connections", 40)}
            if p.get("url")
            else None
        )
        return True

    async def _delete_webhook(self, p: Params) -> Any:
        return await self._set_webhook({"drop_pending_updates": p.get("drop_pending_updates")})

    async def _get_webhook_info(self, p: Params) -> Any:
        hook = {k: v for k, v in (self.webhook or {"url": ""}).items() if k != "secret_token"}
        return hook | {"has_custom_certificate": False, "pending_update_count": len(self.updates)}


def _lane(update: dict[str, Any]) -> object:
    """The chat an update belongs to (its delivery lane); updates without one share lane ``None``."""
    for kind in ("message", "edited_message", "channel_post", "callback_query"):
        body = update.get(kind)
        if isinstance(body, dict):
            msg = body.get("message", body) if kind == "callback_query" else body
            chat = msg.get("chat") if isinstance(msg, dict) else None
            if isinstance(chat, dict) and "id" in chat:
                return chat["id"]
    return None
