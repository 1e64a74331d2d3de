"""Which of Bridge's requests fail under load, and how: a diagnostic for connection resets.

Usage::

    python bench/reset_probe.py [--conversations 200] [--turns 3] [--runs 1] [--server-keep-alive S]

Runs ``bench/app.py`` (a fresh server per run, warmed up) and the same load as
``client_bench.py``'s Bridge worker, in this process, with every request the client sends
observed through httpcore's ``trace`` extension. Every request that raised is printed as one JSON
line on stderr: method, path, exception, whether it went out on a pooled (reused) connection or a
new one, the first httpcore step that failed (``connect_tcp``, ``send_request_headers``,
``receive_response_headers``, ``receive_response_body``…) and the seconds since its headers were
sent. The summary (stdout) counts failed requests by kind and turn errors by message; a request
the client retried and then got through shows as a failed request without a turn error.

This wraps ``httpx.AsyncClient.send`` for the diagnosis only; nothing here asserts anything.
Only 127.0.0.1 is contacted.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import sys
import time
from collections import Counter
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))
sys.path.insert(1, str(HERE.parent))

import client_bench  # noqa: E402
import httpx  # noqa: E402


def _kind(request: httpx.Request) -> str:
    path = request.url.path
    for marker in ("/queue/join", "/queue/data", "/run/predict", "/cancel", "/reset", "/upload", "/file="):
        if marker in path:
            return f"{request.method} {marker}"
    return f"{request.method} {path}"


def install(failures: list[dict[str, Any]], sent: Counter[str]) -> None:
    """Wrap ``httpx.AsyncClient.send`` so every request is traced and every failure recorded."""
    original = httpx.AsyncClient.send

    async def send(self: httpx.AsyncClient, request: httpx.Request, **kw: Any) -> httpx.Response:
        state: dict[str, Any] = {"reused": True, "step": None, "t_sent": None}

        async def trace(name: str, info: dict[str, Any]) -> None:
            if name.startswith("connection.connect_tcp"):
                state["reused"] = False
            if name.endswith(".failed") and state["step"] is None:
                state["step"] = name.removesuffix(".failed")
            if name.endswith("send_request_headers.started"):
                state["t_sent"] = time.monotonic()

        previous = request.extensions.get("trace")

        async def both(name: str, info: dict[str, Any]) -> None:
            await trace(name, info)
            if previous is not None:
                await previous(name, info)

        request.extensions["trace"] = both
        kind = _kind(request)
        sent[kind] += 1
        try:
            response = await original(self, request, **kw)
        except httpx.HTTPError as exc:
            failures.append(record(kind, exc, state))
            raise
        if kw.get("stream"):
            # Failures while the body streams (the SSE reads) surface from the body iterator.
            inner = response.stream

            class Watched(httpx.AsyncByteStream):
                async def __aiter__(self) -> Any:
                    try:
                        async for chunk in inner:  # type: ignore[union-attr]
                            yield chunk
                    except httpx.HTTPError as exc:
                        failures.append(record(kind, exc, state))
                        raise

                async def aclose(self) -> None:
                    await inner.aclose()  # type: ignore[union-attr]

            response.stream = Watched()
        return response

    httpx.AsyncClient.send = send  # type: ignore[method-assign]


def record(kind: str, exc: BaseException, state: dict[str, Any]) -> dict[str, Any]:
    t_sent = state["t_sent"]
    entry = {
        "request": kind,
        "exception": type(exc).__name__,
        "message": str(exc)[:120],
        "connection": "reused" if state["reused"] else "new",
        "step": state["step"],
        "s_since_sent": None if t_sent is None else round(time.monotonic() - t_sent, 3),
    }
    print(json.dumps(entry), file=sys.stderr, flush=True)
    return entry


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--conversations", type=int, default=200)
    parser.add_argument("--turns", type=int, default=3)
    parser.add_argument("--runs", type=int, default=1)
    parser.add_argument("--tokens", type=int, default=50)
    parser.add_argument("--delay", type=float, default=0.01)
    parser.add_argument("--turn-timeout", type=float, default=120.0)
    parser.add_argument("--server-keep-alive", type=float)
    args = parser.parse_args(argv)
    os.environ.update(client_bench.QUIET_ENV)
    failures: list[dict[str, Any]] = []
    sent: Counter[str] = Counter()
    install(failures, sent)
    total_errors = 0
    for run in range(args.runs):
        server = client_bench.Server(args.tokens, args.delay, args.server_keep_alive)
        try:
            api_name = client_bench.discover_api_name(server.url)
            client_bench.warm_up(server.url, api_name, args.tokens)
            tally = client_bench.Tally()
            spec = {
                "url": server.url,
                "conversations": args.conversations,
                "turns": args.turns,
                "tokens": args.tokens,
                "turn_timeout": args.turn_timeout,
            }
            before = len(failures)
            load0 = os.getloadavg()[0]
            t0 = time.perf_counter()
            asyncio.run(client_bench.bridge_load(spec, tally, {}))
            wall = time.perf_counter() - t0
            expected = args.conversations * args.turns
            total_errors += expected - tally.ok
            print(
                json.dumps(
                    {
                        "run": run + 1,
                        "turns_ok": tally.ok,
                        "turns": expected,
                        "wall_s": round(wall, 1),
                        "load_before_after": [round(load0, 1), round(os.getloadavg()[0], 1)],
                        "failed_requests": dict(
                            Counter(
                                f"{f['request']}: {f['exception']} ({f['connection']}, {f['step']})"
                                for f in failures[before:]
                            )
                        ),
                        "turn_errors": dict(tally.errors),
                    }
                ),
                flush=True,
            )
        finally:
            server.stop()
    print(json.dumps({"requests_sent": dict(sent), "turn_errors_total": total_errors}), flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
