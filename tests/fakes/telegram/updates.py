"""Updates of the fake Telegram Bot API (:mod:`tests.fakes.telegram`): the pending queue that tests push to,
getUpdates (a long poll held until an update comes, the timeout passes or the server closes; an offset
confirms everything before it; a newer poll ends an older one with 409, as does polling while a webhook is
set), set/delete/getWebhookInfo, and the worker that POSTs pending updates in order to the webhook with
``X-Telegram-Bot-Api-Secret-Token``, retrying failures every ``webhook_retry_s`` as Telegram does.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import re
import time
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

    def _init_updates(self, webhook_retry_s: float) -> None:
        self.webhook_retry_s = webhook_retry_s
        self.updates: list[dict[str, Any]] = []  # pending: not yet confirmed (polling) or delivered (webhook)
        self.pushed: list[dict[str, Any]] = []
        self.webhook: dict[str, Any] | None = None
        self.webhook_deliveries: list[tuple[int, int]] = []  # (update_id, HTTP status; 0 = unreachable)
        self._next_update, self._poll_gen, self._closing = 1, 0, False
        self._changed = asyncio.Event()

    def _notify(self) -> None:
        event, self._changed = self._changed, asyncio.Event()
        event.set()

    async def _wait_change(self, timeout: float | None) -> None:
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(self._changed.wait(), timeout)

    async def post_webhook(self, update: dict[str, Any], *, secret_token: str | None) -> int:
        """POST one update to the registered webhook with ``secret_token``; return the HTTP status."""
        assert self.webhook, "no webhook set"
        async with httpx.AsyncClient(trust_env=False, timeout=10) as client:
            return await self._post(client, update, secret_token)

    def _push(self, payload: dict[str, Any]) -> dict[str, Any]:
        update = {"update_id": self._next_update, **payload}
        self._next_update += 1
        self.updates.append(update)
        self.pushed.append(update)
        self._notify()
        return update

    async def _post(self, client: httpx.AsyncClient, update: dict[str, Any], secret: str | None) -> int:
        assert self.webhook
        headers = {"Content-Type": "application/json"} | (
            {"X-Telegram-Bot-Api-Secret-Token": secret} if secret else {}
        )
        try:
            return (
                await client.post(self.webhook["url"], content=json.dumps(update), headers=headers)
            ).status_code
        except httpx.HTTPError:
            return 0

    async def _webhook_worker(self) -> None:
        """Deliver pending updates in order to the webhook, retrying failed ones (as Telegram does)."""
        async with httpx.AsyncClient(trust_env=False, timeout=10) as client:
            while not self._closing:
                hook = self.webhook
                if not (hook and self.updates):
                    await self._wait_change(None)
                    continue
                update = self.updates[0]
                status = await self._post(client, update, hook.get("secret_token"))
                self.webhook_deliveries.append((update["update_id"], status))
                if 200 <= status < 300:
                    if self.updates and self.updates[0] is update:
                        self.updates.pop(0)
                else:
                    hook.update(
                        last_error_date=int(time.time()), last_error_message=f"Wrong response: {status}"
                    )
                    await asyncio.sleep(self.webhook_retry_s)
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
