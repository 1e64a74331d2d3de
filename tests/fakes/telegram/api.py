"""The fake Bot API itself (see :mod:`tests.fakes.telegram`): :class:`FakeTelegram` (transport, getUpdates,
webhooks, test helpers) and :func:`serve_telegram`."""

from __future__ import annotations

import asyncio
import contextlib
import functools
import json
import re
import socket
import time
from collections import defaultdict
from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Any, TypeVar

import httpx
import uvicorn
from starlette.applications import Starlette
from starlette.datastructures import UploadFile
from starlette.requests import ClientDisconnect, Request
from starlette.responses import JSONResponse, Response, StreamingResponse
from starlette.routing import Route

from tests.fakes.telegram.rules import ApiError, Budgets, bad, decode_params, entities_in
from tests.fakes.telegram.store import (
    FOLDERS,
    MB,
    ChatStore,
    Params,
    StoredFile,
    StoredMessage,
    Upload,
)

T = TypeVar("T")
CONFLICT_WEBHOOK = (
    "Conflict: can't use getUpdates method while webhook is active; "
    "use deleteWebhook to delete the webhook first"
)
CONFLICT_POLL = (
    "Conflict: terminated by other getUpdates request; make sure that only one bot instance is running"
)
METHODS = (
    "getMe getUpdates setWebhook deleteWebhook getWebhookInfo sendMessage editMessageText "
    "editMessageReplyMarkup deleteMessage sendMessageDraft sendChatAction getFile setMyCommands "
    "getMyCommands deleteMyCommands answerCallbackQuery"
)


class FakeTelegram(ChatStore):
    """The fake server's state. Flood budgets (``None`` disables one; also adjustable later on
    ``self.budgets``) apply to sent messages and edits, not to drafts, chat actions or deletes; ``clock``
    drives them (inject one to test 429s without sleeping)."""

    def __init__(
        self,
        token: str = "123456:TEST-TOKEN",
        *,
        username: str = "fake_bot",
        per_chat_per_s: float | None = 1.0,
        burst: int = 3,
        per_group_per_min: int | None = 20,
        global_per_s: float | None = 30.0,
        clock: Callable[[], float] = time.monotonic,
        strict_chats: bool = True,
        webhook_retry_s: float = 0.2,
        download_rate: float | None = None,
    ) -> None:
        super().__init__(
            token,
            username,
            Budgets(per_chat_per_s, burst, per_group_per_min, global_per_s, clock),
            strict_chats,
        )
        self.token, self.webhook_retry_s, self.url = token, webhook_retry_s, ""
        self.calls: list[tuple[str, Params]] = []
        self.errors: list[tuple[str, int, str]] = []  # (method, status, description) of every error reply
        self.count_429 = 0
        self.updates: list[dict[str, Any]] = []  # pending: not yet confirmed (polling) or delivered (webhook)
        self.pushed: list[dict[str, Any]] = []
        self.webhook: dict[str, Any] | None = None
        self.webhook_deliveries: list[tuple[int, int]] = []  # (update_id, HTTP status; 0 = unreachable)
        self.download_rate = download_rate  # bytes/s of file downloads; None: at once
        self.downloading = 0  # downloads in progress
        self.downloaded: list[str] = []  # file ids served in full, in order
        self._failures: dict[str, list[ApiError]] = defaultdict(list)
        self._next_update, self._poll_gen, self._closing = 1, 0, False
        self._changed = asyncio.Event()
        self._methods: dict[str, Callable[[Params], Awaitable[Any]]] = {
            name.lower(): getattr(self, "_" + re.sub(r"(?<!^)([A-Z])", r"_\1", name).lower())
            for name in METHODS.split()
        }
        for kind in FOLDERS:
            self._methods[f"send{kind}"] = functools.partial(self._send_media, kind)

    # ------------------------------------------------------------------------------------ test helpers
    def fail_next(
        self,
        method: str,
        status: int = 500,
        *,
        retry_after: int | None = None,
        count: int = 1,
        description: str = "",
    ) -> None:
        """Answer the next ``count`` calls of ``method`` with ``status`` (429: ``retry_after``, default 1)."""
        if status == 429:
            retry_after = retry_after or 1
        params = {"retry_after": retry_after} if retry_after else None
        desc = description or (
            f"Too Many Requests: retry after {retry_after}" if status == 429 else "Injected failure"
        )
        self._failures[method.lower()].extend(ApiError(status, desc, params) for _ in range(count))

    def push_text(
        self,
        chat_id: int,
        text: str,
        *,
        user: dict[str, Any] | int | None = None,
        chat_type: str | None = None,
        thread_id: int | None = None,
        reply_to_message_id: int | None = None,
        entities: list[dict[str, Any]] | None = None,
    ) -> dict[str, Any]:
        """A user's text message (bot commands and @mentions get entities unless ``entities`` is given)."""
        ents = entities_in(text) if entities is None else entities
        msg = self._incoming(
            chat_id, user, chat_type, thread_id, reply_to_message_id, text=text, entities=ents
        )
        return self._push({"message": self._wire(msg)})

    def push_document(
        self, chat_id: int, file_name: str, data: bytes, mime: str, caption: str | None = None, **kw: Any
    ) -> dict[str, Any]:
        """A user's document (``kw`` as for :meth:`push_text`); its bytes are downloadable via getFile."""
        f = self._new_file("document", file_name, data, mime, chat_id)
        msg = self._incoming(chat_id, text=caption, media={"document": self._media("document", f, {})}, **kw)
        return self._push({"message": self._wire(msg)})

    def push_photo(self, chat_id: int, data: bytes, caption: str | None = None, **kw: Any) -> dict[str, Any]:
        f = self._new_file("photo", None, data, "image/jpeg", chat_id)
        msg = self._incoming(chat_id, text=caption, media={"photo": self._media("photo", f, {})}, **kw)
        return self._push({"message": self._wire(msg)})

    def push_callback(
        self,
        chat_id: int,
        message_id: int,
        data: str,
        *,
        user: dict[str, Any] | int | None = None,
        inaccessible: bool = False,
    ) -> dict[str, Any]:
        """A press on the inline button ``data`` of message ``message_id``, which must show it (as on
        Telegram, only a button on screen can be pressed); answer it with answerCallbackQuery.
        ``inaccessible``: the message comes as an InaccessibleMessage (``date`` 0), as Telegram sends
        one the bot can no longer see."""
        msg = self.messages[chat_id][message_id]
        shown = [
            b.get("callback_data") for r in (msg.reply_markup or {}).get("inline_keyboard", []) for b in r
        ]
        assert not msg.deleted and data in shown, f"no button {data!r} on message {message_id}: {shown}"
        qid = f"cq{self._next_update}"
        self._callbacks.add(qid)
        sender = self._user(chat_id, user)
        wired = (
            {"chat": dict(self.chats[chat_id]), "message_id": message_id, "date": 0}
            if inaccessible
            else self._wire(msg)
        )
        cq = {"id": qid, "from": sender, "chat_instance": str(abs(chat_id)), "data": data, "message": wired}
        return self._push({"callback_query": cq})

    async def wait_for(self, predicate: Callable[[], T], timeout: float = 5.0) -> T:
        """Wait until ``predicate()`` is truthy and return it (re-checked on every fake event)."""
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout
        while not (value := predicate()):
            if loop.time() >= deadline:
                raise TimeoutError(f"not met within {timeout}s; last calls: {self.calls[-5:]}")
            await self._wait_change(min(0.05, deadline - loop.time()))  # 0.05: states set outside the fake
        return value

    def sent(self, chat_id: int | str) -> list[StoredMessage]:
        """The bot's messages in a chat, oldest first (deleted ones included, flagged)."""
        return [m for m in self.messages[chat_id].values() if m.from_bot]

    def calls_to(self, method: str) -> list[dict[str, Any]]:
        return [p for m, p in self.calls if m.lower() == method.lower()]

    async def post_webhook(self, update: dict[str, Any], *, secret_token: str | None) -> int:
        """POST one update to the registered webhook with ``secret_token``; return the HTTP status."""
        assert self.webhook, "no webhook set"
        async with httpx.AsyncClient(trust_env=False, timeout=10) as client:
            return await self._post(client, update, secret_token)

    # ---------------------------------------------------------------------------------------- plumbing
    def app(self) -> Starlette:
        return Starlette(
            routes=[
                Route("/bot{token}/{method}", self._api, methods=["GET", "POST"]),
                Route("/file/bot{token}/{path:path}", self._download),
            ]
        )

    async def _api(self, request: Request) -> Response:
        name = request.path_params["method"]
        try:
            params = await self._params(request)
            self.calls.append((name, params))
            if request.path_params["token"] != self.token:
                raise ApiError(401, "Unauthorized")
            handler = self._methods.get(name.lower())
            if handler is None:
                raise ApiError(404, "Not Found")
            if self._failures[name.lower()]:
                raise self._failures[name.lower()].pop(0)
            result = await handler(params)
        except ApiError as exc:
            self.errors.append((name, exc.status, exc.description))
            self.count_429 += exc.status == 429
            return JSONResponse(exc.body(), status_code=exc.status)
        except ClientDisconnect:  # the client went away mid-request (an outage, a killed bridge)
            return Response(status_code=499)
        finally:
            self._notify()
        return JSONResponse({"ok": True, "result": result})

    async def _params(self, request: Request) -> dict[str, Any]:
        items: list[tuple[str, Any]] = list(request.query_params.multi_items())
        if request.headers.get("content-type", "").startswith("application/json"):
            return {**decode_params(items), **await request.json()}
        if request.method == "POST":
            async with request.form(max_files=100, max_fields=1000, max_part_size=16 * MB) as form:
                for key, value in form.multi_items():
                    if isinstance(value, UploadFile):
                        items.append((key, Upload(value.filename, value.content_type, await value.read())))
                    else:
                        items.append((key, value))
        return decode_params(items)

    async def _download(self, request: Request) -> Response:
        path = request.path_params["path"]
        f = next((f for f in self.files.values() if f.path == path), None)
        if request.path_params["token"] != self.token or f is None:
            return JSONResponse({"ok": False, "error_code": 404, "description": "Not Found"}, status_code=404)
        if self.download_rate is None:
            self.downloaded.append(f.file_id)
            return Response(f.data, media_type=f.mime or "application/octet-stream")
        headers = {"Content-Length": str(len(f.data))}
        return StreamingResponse(
            self._trickle(f), media_type=f.mime or "application/octet-stream", headers=headers
        )

    async def _trickle(self, f: StoredFile) -> AsyncIterator[bytes]:
        """``f``'s bytes at ``download_rate`` bytes/s, about four chunks a second (at once when the
        rate is lifted): a client reading at its usual timeouts keeps receiving."""
        self.downloading += 1
        self._notify()
        try:
            pos = 0
            while pos < len(f.data):
                rate = self.download_rate
                step = 64 * 1024 if rate is None else max(1, min(64 * 1024, int(rate / 4)))
                chunk, pos = f.data[pos : pos + step], pos + step
                if rate is not None:
                    await asyncio.sleep(len(chunk) / rate)
                yield chunk
            self.downloaded.append(f.file_id)
        finally:
            self.downloading -= 1
            self._notify()

    def _notify(self) -> None:
        event, self._changed = self._changed, asyncio.Event()
        event.set()

    async def _wait_change(self, timeout: float | None) -> None:
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(self._changed.wait(), timeout)

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

    # ------------------------------------------------------------------------------------ chats, wire
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


@contextlib.asynccontextmanager
async def serve_telegram(fake: FakeTelegram) -> AsyncIterator[str]:
    """Serve ``fake`` on 127.0.0.1 for the duration of the block; yield its base URL. On exit, held
    long polls are released at once (so shutdown does not wait for their timeouts)."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    config = uvicorn.Config(fake.app(), host="127.0.0.1", port=port, log_level="warning", lifespan="off")
    server = uvicorn.Server(config)
    fake._closing, fake.url = False, f"http://127.0.0.1:{port}"
    task = asyncio.create_task(server.serve())
    worker = asyncio.create_task(fake._webhook_worker())
    while not server.started:
        await asyncio.sleep(0.01)
    try:
        yield fake.url
    finally:
        fake._closing = True
        fake._notify()
        worker.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await worker
        server.should_exit = True
        await task
