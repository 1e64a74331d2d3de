"""The replica harness itself: the proxy's rotation and health checks, and the Telegram fake's webhook
delivery as Telegram does it for replicas (connections, per-chat order, redelivery)."""

from __future__ import annotations

import asyncio
import contextlib
import json
from collections.abc import AsyncIterator

import httpx
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route

from tests.fakes.server import Served, serve
from tests.fakes.telegram import FakeTelegram, serve_telegram
from tests.fakes.telegram.bridge import free_port
from tests.replicas.proxy import serve_proxy


class Hook:
    """A webhook backend that records updates; ``hold`` delays answers, ``statuses`` scripts them."""

    def __init__(self, *, readyz: bool = True, hold: float = 0.0) -> None:
        self.readyz, self.hold = readyz, hold
        self.got: list[int] = []
        self.in_flight = self.most_in_flight = 0
        self.statuses: list[int] = []

    async def _hook(self, request: Request) -> JSONResponse:
        self.got.append(json.loads(await request.body())["update_id"])
        self.in_flight += 1
        self.most_in_flight = max(self.most_in_flight, self.in_flight)
        try:
            await asyncio.sleep(self.hold)
        finally:
            self.in_flight -= 1
        return JSONResponse({}, status_code=self.statuses.pop(0) if self.statuses else 200)

    async def _ready(self, request: Request) -> JSONResponse:
        return JSONResponse({"status": "ok"}, status_code=200 if self.readyz else 404)

    async def _health(self, request: Request) -> JSONResponse:
        return JSONResponse({"status": "ok"})

    def app(self) -> Starlette:
        routes = [Route("/hook", self._hook, methods=["POST"]), Route("/readyz", self._ready)]
        return Starlette(routes=[*routes, Route("/healthz", self._health)])


@contextlib.asynccontextmanager
async def hooks(*backends: Hook) -> AsyncIterator[list[Served]]:
    async with contextlib.AsyncExitStack() as stack:
        yield [await stack.enter_async_context(serve(b.app())) for b in backends]


async def test_proxy_round_robin_skips_dead_backends_and_retries_refused_ones() -> None:
    a, b = Hook(), Hook(readyz=False)  # b has no /readyz yet: its /healthz counts
    async with hooks(a, b) as served, serve_proxy([s.url for s in served], check_s=0.1) as proxy:
        dead = f"http://127.0.0.1:{free_port()}"
        proxy.add(dead)
        async with httpx.AsyncClient(trust_env=False) as client:
            for _ in range(50):
                if proxy.healthy[served[0].url] and proxy.healthy[served[1].url]:
                    break
                await asyncio.sleep(0.1)
            assert not proxy.healthy[dead]
            for i in range(6):
                resp = await client.post(f"{proxy.url}/hook", content=json.dumps({"update_id": i}))
                assert resp.status_code == 200
            assert (sorted(a.got + b.got), len(a.got), len(b.got)) == (list(range(6)), 3, 3)
            proxy.healthy[dead] = True  # as if its last check had passed: refused, then the next one
            for i in range(6, 9):
                assert (
                    await client.post(f"{proxy.url}/hook", content=json.dumps({"update_id": i}))
                ).is_success
            assert proxy.refused[dead] == 1 and not proxy.healthy[dead]
            assert proxy.served[served[0].url] + proxy.served[served[1].url] == 9
            assert proxy.routed[7] and proxy.served[dead] == 0


async def test_webhook_delivers_one_chat_at_a_time_and_chats_concurrently() -> None:
    hook = Hook(hold=0.3)
    fake = FakeTelegram(webhook_timeout_s=5)
    async with serve_telegram(fake), hooks(hook) as (served,):
        await fake._set_webhook({"url": f"{served.url}/hook", "max_connections": 3})
        for chat in (1, 2, 3, 4, 5):
            fake.push_text(chat, "one")
            fake.push_text(chat, "two")
        await fake.wait_for(lambda: len(fake.webhook_deliveries) == 10, timeout=10)
    assert hook.most_in_flight == 3  # max_connections, though five chats were waiting
    order = {u["update_id"]: u["message"]["chat"]["id"] for u in fake.pushed}
    for chat in (1, 2, 3, 4, 5):
        mine = [u for u in hook.got if order[u] == chat]
        assert mine == sorted(mine), "a chat's updates in order"
    assert fake.updates == []


async def test_webhook_redelivers_on_error_and_timeout_and_holds_the_chat() -> None:
    hook = Hook()
    hook.statuses = [500]
    fake = FakeTelegram(webhook_timeout_s=0.5, webhook_retry_s=0.1)
    async with serve_telegram(fake), hooks(hook) as (served,):
        await fake._set_webhook({"url": f"{served.url}/hook"})
        first = fake.push_text(7, "first")
        second = fake.push_text(7, "second")
        await fake.wait_for(lambda: len(fake.webhook_deliveries) == 3, timeout=10)
        assert fake.webhook_deliveries == [
            (first["update_id"], 500),
            (first["update_id"], 200),
            (second["update_id"], 200),
        ]
        hook.hold = 1.0  # longer than the webhook timeout: no answer, sent again
        third = fake.push_text(7, "third")
        await fake.wait_for(lambda: (third["update_id"], 0) in fake.webhook_deliveries, timeout=10)
        hook.hold = 0.0
        await fake.wait_for(lambda: (third["update_id"], 200) in fake.webhook_deliveries, timeout=10)
        again = await fake.deliver_again(third, delay_s=0.1)
    assert again == 200 and hook.got.count(third["update_id"]) >= 3
