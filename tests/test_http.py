"""The bridge's HTTP listener and the metrics it serves."""

from __future__ import annotations

import httpx
import pytest

from bridge import metrics
from bridge.httpserver import MAX_BODY, HttpRequest, HttpResponse, HttpServer, Routes


async def test_routes_health_errors_and_bodies() -> None:
    ready = [True]
    routes = Routes()
    seen: list[HttpRequest] = []

    async def hook(request: HttpRequest) -> HttpResponse:
        seen.append(request)
        return HttpResponse(200, {"got": len(request.body)})

    async def boom(_: HttpRequest) -> HttpResponse:
        raise RuntimeError("handler bug")

    async def text(_: HttpRequest) -> HttpResponse:
        return HttpResponse(200, "plain\n", content_type="text/plain")

    routes.add("POST", "/hook", hook)
    routes.add("GET", "/boom", boom)
    routes.add("GET", "/text", text)
    with pytest.raises(ValueError):
        routes.add("POST", "/hook", hook)

    def health() -> tuple[int, dict[str, str]]:
        return (200, {"status": "ok"}) if ready[0] else (503, {"status": "stopping"})

    server = await HttpServer.start("127.0.0.1", 0, health=health, routes=routes)
    try:
        async with httpx.AsyncClient(base_url=f"http://127.0.0.1:{server.port}", trust_env=False) as client:
            assert (await client.get("/healthz")).json() == {"status": "ok"}
            ready[0] = False
            assert (await client.get("/healthz")).status_code == 503
            answer = await client.post("/hook?x=1", content=b"abc", headers={"X-Secret": "s"})
            assert answer.json() == {"got": 3} and seen[0].headers["x-secret"] == "s"
            assert (await client.get("/hook")).status_code == 405
            assert (await client.get("/nothing")).status_code == 404
            assert (await client.get("/boom")).status_code == 500
            plain = await client.get("/text")
            assert plain.text == "plain\n" and plain.headers["content-type"] == "text/plain"
            big = await client.post("/hook", content=b"x" * (MAX_BODY + 1))
            assert big.status_code == 413 and len(seen) == 1
    finally:
        await server.close()


def test_metrics_render_in_the_prometheus_text_format() -> None:
    counter = metrics.Counter("test_things_total", "Things.", ["adapter"])
    hist = metrics.Histogram("test_wait_seconds", "Waits.", ["adapter"], buckets=(0.5, 2.0))
    try:
        counter.inc('a"b')
        counter.inc('a"b', by=2)
        hist.observe(0.1, "x")
        hist.observe(1.0, "x")
        hist.observe(9.0, "x")
        text = metrics.render()
    finally:
        metrics.REGISTRY.remove(counter)
        metrics.REGISTRY.remove(hist)
    assert '# TYPE test_things_total counter\ntest_things_total{adapter="a\\"b"} 3\n' in text
    assert 'test_wait_seconds_bucket{adapter="x",le="0.5"} 1\n' in text
    assert 'test_wait_seconds_bucket{adapter="x",le="2"} 2\n' in text
    assert 'test_wait_seconds_bucket{adapter="x",le="+Inf"} 3\n' in text
    assert 'test_wait_seconds_sum{adapter="x"} 10.1\n' in text
    assert 'test_wait_seconds_count{adapter="x"} 3\n' in text
    with pytest.raises(ValueError):
        metrics.TURNS.inc("only-one-label")
