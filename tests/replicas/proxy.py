"""A round-robin HTTP reverse proxy in front of N ``bridge serve`` replicas, as a load balancer runs one
in front of webhook replicas.

:func:`serve_proxy` listens on 127.0.0.1, port 0 (the bound port is in :attr:`Proxy.url`), and forwards
every request (method, path, query, body, ``Content-Type`` and ``X-Telegram-Bot-Api-Secret-Token``) to
the next healthy backend in turn, answering with the backend's status and body. Health: every
``check_s`` each backend's ``GET /readyz`` is asked (``GET /healthz`` instead while ``/readyz`` answers
404, i.e. before the core has one); a backend is healthy while that answers 2xx. A backend that is not
healthy is skipped; a request to a backend that refuses the connection marks it unhealthy and goes to
the next one (nothing reached the backend, so this is safe). A backend that fails after accepting the
request (reset, timeout) answers 502: the caller (Telegram) sends it again. With no healthy backend the
answer is 503.

:attr:`Proxy.served` counts the requests each backend answered, :attr:`Proxy.routed` maps the
``update_id`` of each JSON body to the backends that answered it, in order.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
from collections import Counter, defaultdict
from collections.abc import AsyncIterator, Sequence

import httpx
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from tests.fakes.server import serve

FORWARDED = ("content-type", "x-telegram-bot-api-secret-token")


class Proxy:
    """The proxy's state: backends (base URLs), their health, and what each served."""

    def __init__(self, backends: Sequence[str], *, check_s: float = 0.5, timeout_s: float = 30.0) -> None:
        self.backends = [b.rstrip("/") for b in backends]
        self.check_s, self.timeout_s = check_s, timeout_s
        self.healthy: dict[str, bool] = dict.fromkeys(self.backends, False)
        self.served: Counter[str] = Counter()
        self.refused: Counter[str] = Counter()  # connections refused, per backend
        self.routed: defaultdict[int, list[str]] = defaultdict(list)
        self.url = ""
        self._next = 0
        self._readyz: dict[str, bool] = dict.fromkeys(self.backends, True)  # False once /readyz was 404
        self._client = httpx.AsyncClient(
            trust_env=False, timeout=timeout_s, limits=httpx.Limits(max_connections=None)
        )

    def add(self, backend: str) -> None:
        """Put one more backend in the rotation (unhealthy until its first check passes)."""
        backend = backend.rstrip("/")
        self.backends.append(backend)
        self.healthy[backend], self._readyz[backend] = False, True

    async def check(self, backend: str) -> bool:
        """Ask ``backend`` whether it is ready (see the module docstring); record and return it."""
        ok = False
        with contextlib.suppress(httpx.HTTPError):
            if self._readyz[backend]:
                resp = await self._client.get(f"{backend}/readyz", timeout=self.check_s * 2)
                if resp.status_code == 404:
                    self._readyz[backend] = False
                else:
                    ok = resp.is_success
            if not self._readyz[backend]:
                ok = (await self._client.get(f"{backend}/healthz", timeout=self.check_s * 2)).is_success
        self.healthy[backend] = ok
        return ok

    async def _health_loop(self) -> None:
        while True:
            await asyncio.gather(*(self.check(b) for b in list(self.backends)))
            await asyncio.sleep(self.check_s)

    def _rotation(self) -> list[str]:
        """The healthy backends, starting with the next one in turn (turns go round the healthy ones)."""
        healthy = [b for b in self.backends if self.healthy[b]]
        if not healthy:
            return []
        start, self._next = self._next % len(healthy), self._next + 1
        return healthy[start:] + healthy[:start]

    async def _forward(self, request: Request) -> Response:
        body = await request.body()
        headers = {k: v for k, v in request.headers.items() if k.lower() in FORWARDED}
        path = request.url.path + (f"?{request.url.query}" if request.url.query else "")
        for backend in self._rotation():
            try:
                resp = await self._client.request(
                    request.method, backend + path, content=body, headers=headers
                )
            except httpx.ConnectError:
                self.refused[backend] += 1
                self.healthy[backend] = False
                continue
            except httpx.HTTPError:
                return Response(b"bad gateway", status_code=502)
            self.served[backend] += 1
            with contextlib.suppress(ValueError, TypeError, KeyError, AttributeError):
                self.routed[int(json.loads(body)["update_id"])].append(backend)
            media = resp.headers.get("content-type")
            return Response(resp.content, status_code=resp.status_code, media_type=media)
        return Response(b"no healthy backend", status_code=503)

    def app(self) -> Starlette:
        methods = ["GET", "POST", "PUT", "DELETE", "PATCH"]
        return Starlette(routes=[Route("/{path:path}", self._forward, methods=methods)])

    async def aclose(self) -> None:
        await self._client.aclose()


@contextlib.asynccontextmanager
async def serve_proxy(
    backends: Sequence[str] = (), *, check_s: float = 0.5, timeout_s: float = 30.0
) -> AsyncIterator[Proxy]:
    """A :class:`Proxy` serving on a free port, health checks running, for the duration of the block."""
    proxy = Proxy(backends, check_s=check_s, timeout_s=timeout_s)
    async with serve(proxy.app()) as served:
        proxy.url = served.url
        checks = asyncio.create_task(proxy._health_loop())
        try:
            yield proxy
        finally:
            checks.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await checks
            await proxy.aclose()
