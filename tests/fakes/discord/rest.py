"""The REST transport of the fake Discord (:mod:`tests.fakes.discord`), a Starlette app: routing under
``/api/v10`` (an unknown route or method there is Discord's JSON 404), the ``Authorization: Bot <token>``
check (interaction callback and webhook routes carry none), rate-limit budgets and headers, injected
failures, the call/error logs, and the small routes (users, application, gateway, channels, typing,
attachments); the gateway websocket is mounted at ``/gateway``. Bodies (JSON, or multipart with
``payload_json`` + ``files[n]``) are read by :mod:`~tests.fakes.discord.wire`.

Responses are ``Content-Type: application/json`` exactly (discord.py decodes nothing else); 2xx carry
``X-RateLimit-Limit/Remaining/Reset-After/Reset/Bucket`` of the route's budget: message creates report
their channel window, other bot routes the global one. The per-message edit budget is deliberately not
advertised, like Discord's shared/sub limits, so discord.py meets it as a 429 and retries.
"""

from __future__ import annotations

import fnmatch
import http
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any

from starlette.applications import Starlette
from starlette.requests import ClientDisconnect
from starlette.routing import BaseRoute, Route, WebSocketRoute

from tests.fakes.discord.gateway import Gateway
from tests.fakes.discord.model import Call, ErrorReply, StoredFile, Upload
from tests.fakes.discord.rules import (
    MISSING_ACCESS,
    UNAUTHORIZED,
    ApiError,
    Budgets,
    error,
    rate_limited,
    unknown,
)
from tests.fakes.discord.wire import (
    Endpoint,
    FakeRequest,
    Reply,
    TooLarge,
    jresp,
    not_websocket,
    read_body,
    router_error,
)

API = "/api/v10"


@dataclass
class Req:
    """A parsed request handed to route handlers."""

    name: str
    method: str
    route: str
    params: dict[str, str]
    query: dict[str, str]
    body: Any
    uploads: list[Upload]


@dataclass
class Failure:
    pattern: str
    make: Callable[[], ApiError]
    count: int


Handler = Callable[[Req], Awaitable[Any]]


class Rest(Gateway):
    """Routing and bookkeeping; route handlers live in the subclasses (see ``_routes``)."""

    def _init_rest(self, budgets: Budgets, upload_limit: int, recommended_shards: int) -> None:
        self.budgets, self.upload_limit, self.recommended_shards = budgets, upload_limit, recommended_shards
        self.calls: list[Call] = []
        self.errors: list[ErrorReply] = []
        self.count_429 = 0
        self.typing_calls: list[str] = []
        self.files: list[StoredFile] = []  # every file the bot uploaded, in order
        self._failures: list[Failure] = []

    def _routes(self) -> list[tuple[str, str, str, Handler, str]]:
        """(name, method, template, handler, kind); kind: ``bot`` (auth, global budget), ``token``
        (interaction/webhook: no auth, no global budget) or ``open`` (no auth)."""
        return [
            ("get_me", "GET", "/users/@me", self._get_me, "bot"),
            ("create_dm", "POST", "/users/@me/channels", self._create_dm, "bot"),
            ("get_user", "GET", "/users/{user_id}", self._get_user, "bot"),
            ("get_application", "GET", "/oauth2/applications/@me", self._get_application, "bot"),
            ("get_gateway", "GET", "/gateway", self._get_gateway, "open"),
            ("get_bot_gateway", "GET", "/gateway/bot", self._get_bot_gateway, "bot"),
            ("get_channel", "GET", "/channels/{channel_id}", self._get_channel, "bot"),
            ("typing", "POST", "/channels/{channel_id}/typing", self._typing, "bot"),
        ]

    def app(self) -> Starlette:
        routes: list[BaseRoute] = []
        for name, method, template, handler, kind in self._routes():
            serve = Endpoint(self._wrap(name, method, template, handler, kind))
            route = Route(API + template, serve, methods=[method])
            route.methods.discard("HEAD")  # as on aiohttp: a HEAD goes to the catch-all 404
            routes.append(route)
        routes += [
            Route(API + "/{tail:path}", Endpoint(self._not_found)),  # every method
            Route("/attachments/{attachment_id}/{filename}", Endpoint(self._attachment), methods=["GET"]),
            WebSocketRoute("/gateway", self._gateway),
            Route("/gateway", not_websocket),
        ]
        app = Starlette(routes=routes, exception_handlers={404: router_error, 405: router_error})
        app.router.redirect_slashes = False  # an unknown path is a 404, never a redirect
        return app

    # ----------------------------------------------------------------------------------------- plumbing
    def _wrap(self, name: str, method: str, template: str, handler: Handler, kind: str) -> Any:
        async def serve(request: FakeRequest) -> Reply:
            try:
                body, uploads = await read_body(request)
            except TooLarge as exc:  # refused before routing, so neither logged nor budgeted
                return exc.reply()
            except ClientDisconnect:  # the client went away mid-request (an outage, a killed bridge)
                return Reply(status_code=499)
            except ApiError as exc:
                return self._error(method, template, exc)
            self.calls.append(Call(method, template, body))
            query: dict[str, str] = {}
            for key, value in request.query_params.multi_items():
                query.setdefault(key, value)  # the first of repeated keys counts, as it did on aiohttp
            req = Req(name, method, template, dict(request.path_params), query, body, uploads)
            window: tuple[str, str] | None = None
            try:
                if kind == "bot" and request.headers.get("Authorization") != f"Bot {self.token}":
                    raise error(UNAUTHORIZED)
                self._inject(name, method, template, request.url.path.removeprefix(API))
                window = self._budget(req, kind)
                result = await handler(req)
            except ApiError as exc:  # a request that got past the budgets still reports them
                extra = self.budgets.headers(*window, template) if window else {}
                return self._error(method, template, exc, extra)
            finally:
                self._notify()
            headers = self.budgets.headers(*window, template)
            return Reply(status_code=204, headers=headers) if result is None else jresp(result, 200, headers)

        return serve

    def _error(self, method: str, route: str, exc: ApiError, headers: dict[str, str] | None = None) -> Reply:
        self.errors.append(ErrorReply(method, route, exc.status, exc.code, exc.message))
        self.count_429 += exc.status == 429
        self._notify()
        return jresp(exc.body(), exc.status, {**(headers or {}), **exc.headers})

    def _inject(self, name: str, method: str, template: str, path: str) -> None:
        for failure in self._failures:
            p = failure.pattern
            if (
                p == name
                or fnmatch.fnmatchcase(f"{method} {template}", p)
                or fnmatch.fnmatchcase(f"{method} {path}", p)
            ):
                failure.count -= 1
                if failure.count <= 0:
                    self._failures.remove(failure)
                raise failure.make()

    def fail_next(
        self,
        pattern: str,
        status: int = 500,
        *,
        code: int = 0,
        message: str | None = None,
        body: Any = None,
        retry_after: float = 0.05,
        is_global: bool = False,
        count: int = 1,
    ) -> None:
        """Answer the next ``count`` matching requests with ``status``. ``pattern`` is a route name
        (``"create_message"``) or a glob over ``"METHOD /template"`` or ``"METHOD /path"``
        (``"PATCH /channels/*/messages/*"``). A 429 is a proper one (``Via``, ``retry_after``)."""

        def make() -> ApiError:
            if status == 429 and body is None:
                return rate_limited(retry_after, is_global=is_global, scope="global" if is_global else "user")
            text = message or f"{status}: {http.HTTPStatus(status).phrase}"
            return ApiError(
                status, code, text, body=body, headers={"Via": "1.1 google"} if status == 429 else None
            )

        self._failures.append(Failure(pattern, make, count))

    def _budget(self, req: Req, kind: str) -> tuple[str, str]:
        """Take the request's budgets (raising 429) and return the window its headers report."""
        keys = [("global", "bot")] if kind == "bot" else []
        if req.name == "create_message":
            keys.append(("create", req.params["channel_id"]))
        edited = self._edited_message(req)
        if edited is not None:
            keys.append(("edit", edited))
        self.budgets.take(keys)
        return ("create", req.params["channel_id"]) if req.name == "create_message" else ("global", "bot")

    def _edited_message(self, req: Req) -> str | None:  # overridden where messages are known
        return None

    async def _not_found(self, request: FakeRequest) -> Reply:
        path = request.url.path.removeprefix(API)
        self.calls.append(Call(request.method, path, None))
        return self._error(request.method, path, ApiError(404, 0, "404: Not Found"))

    async def _attachment(self, request: FakeRequest) -> Reply:
        f = self.attachments.get(request.path_params["attachment_id"])
        if f is None or f.filename != request.path_params["filename"]:
            return Reply("Not Found", 404, media_type="text/plain")
        # the content type exactly as stored (Starlette would add a charset to text/*; aiohttp did not)
        return Reply(f.data, headers={"Content-Type": f.content_type or "application/octet-stream"})

    # ------------------------------------------------------------------------------------ small routes
    async def _get_me(self, req: Req) -> Any:
        return self.users[self.bot_id] | {"verified": True, "mfa_enabled": False, "locale": "en-US"}

    async def _get_user(self, req: Req) -> Any:
        user = self.users.get(req.params["user_id"])
        if user is None:
            raise unknown("user")
        return user

    async def _create_dm(self, req: Req) -> Any:
        uid = str((req.body or {}).get("recipient_id"))
        if uid not in self.users:
            raise unknown("user")
        return self.channels[self.dm_channel(uid)]

    async def _get_application(self, req: Req) -> Any:
        owner = self.users[self.user_id]
        return {
            "id": self.app_id,
            "name": self.users[self.bot_id]["username"],
            "icon": None,
            "description": "A fake application",
            "summary": "",
            "type": None,
            "bot_public": True,
            "bot_require_code_grant": False,
            "verify_key": "0" * 64,
            "flags": 0,
            "owner": owner,
            "team": None,
            "bot": self.users[self.bot_id],
            "approximate_guild_count": len(self.guilds),
            "redirect_uris": [],
            "interactions_endpoint_url": None,
            "tags": [],
        }

    async def _get_gateway(self, req: Req) -> Any:
        return {"url": self.gateway_url}

    async def _get_bot_gateway(self, req: Req) -> Any:
        limit = {"total": 1000, "remaining": 999, "reset_after": 14400000, "max_concurrency": 1}
        return {"url": self.gateway_url, "shards": self.recommended_shards, "session_start_limit": limit}

    def _channel(self, channel_id: str) -> dict[str, Any]:
        channel = self.channels.get(channel_id)
        if channel is None:
            raise unknown("channel")
        return channel

    async def _get_channel(self, req: Req) -> Any:
        return self._channel(req.params["channel_id"])

    async def _typing(self, req: Req) -> Any:
        channel = self._channel(req.params["channel_id"])
        if channel["type"] not in (0, 1, 5, 10, 11, 12):
            raise error(MISSING_ACCESS)
        self.typing_calls.append(channel["id"])
        return None
