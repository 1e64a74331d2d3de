"""The fake Bot API itself (see :mod:`tests.fakes.telegram`): :class:`FakeTelegram` (the transport, file
downloads, injected failures and the test helpers) and :func:`serve_telegram`."""

from __future__ import annotations

import asyncio
import contextlib
import functools
import re
import time
from collections import defaultdict
from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Any, TypeVar

from starlette.applications import Starlette
from starlette.datastructures import UploadFile
from starlette.requests import ClientDisconnect, Request
from starlette.responses import JSONResponse, Response, StreamingResponse
from starlette.routing import Route

from tests.fakes.server import serve
from tests.fakes.telegram.rules import ApiError, Budgets, decode_params, entities_in
from tests.fakes.telegram.store import (
    FOLDERS,
    MB,
    Params,
    StoredFile,
    StoredMessage,
    Upload,
)
from tests.fakes.telegram.updates import Updates

T = TypeVar("T")
METHODS = (
    "getMe getUpdates setWebhook deleteWebhook getWebhookInfo sendMessage editMessageText "
    "editMessageReplyMarkup deleteMessage sendMessageDraft sendChatAction getFile setMyCommands "
    "getMyCommands deleteMyCommands answerCallbackQuery"
)


class FakeTelegram(Updates):
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
        webhook_timeout_s: float = 10.0,
        download_rate: float | None = None,
    ) -> None:
        super().__init__(
            token,
            username,
            Budgets(per_chat_per_s, burst, per_group_per_min, global_per_s, clock),
            strict_chats,
        )
        self._init_updates(webhook_retry_s, webhook_timeout_s)
        self.token, self.url = token, ""
        self.calls: list[tuple[str, Params]] = []
        self.succeeded: list[tuple[float, str, Params]] = []  # (time.monotonic(), method, params) of every ok
        self.errors: list[tuple[str, int, str]] = []  # (method, status, description) of every error reply
        self.count_429 = 0
        self.download_rate = download_rate  # bytes/s of file downloads; None: at once
        self.downloading = 0  # downloads in progress
        self.downloaded: list[str] = []  # file ids served in full, in order
        self._failures: dict[str, list[ApiError]] = defaultdict(list)
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
            self.succeeded.append((time.monotonic(), name, params))
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


@contextlib.asynccontextmanager
async def serve_telegram(fake: FakeTelegram, *, port: int = 0) -> AsyncIterator[str]:
    """Serve ``fake`` on 127.0.0.1:``port`` (0: a free one) for the duration of the block, its webhook
    worker with it; yield its base URL. On exit held long polls are released at once (so shutdown does not
    wait for their timeouts), then every connection is closed (see :func:`tests.fakes.server.serve`)."""
    async with serve(fake.app(), port=port) as served:
        fake._closing, fake.url = False, served.url
        worker = asyncio.create_task(fake._webhook_worker())
        try:
            yield fake.url
        finally:
            fake._closing = True
            fake._notify()
            worker.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await worker
