"""The composition root of ``bridge serve``: builds the store, Spaces, adapters and routers, runs them.

Lifecycle:
- Every adapter runs in one task group, each under a supervisor that, when its adapter stops
  receiving (end of console input) or the bridge is stopping, waits for that adapter's pending
  replies. The bridge exits when every supervisor is done.
- Each bot has a durable inbox (:mod:`bridge.inbox`): what an earlier run left unanswered is
  read before its adapter starts and queued once the adapter says it is ready (``Host.ready``).
- SIGINT/SIGTERM stop receiving; running replies get ``shutdown_timeout_s`` to finish, then are
  cancelled and marked interrupted (with a durable store they stay in the inbox and the next start
  answers them); the state store is closed (flushed) last.
- ``/healthz`` (the process is up) answers ``ok``, ``degraded`` (the state store is unreachable;
  messages are kept in memory meanwhile; still HTTP 200) or ``stopping`` (503). ``/readyz`` (send
  traffic here) answers 200 once every adapter can send, the store answers and every shared inbox
  is consumed, else 503 naming what it waits for.
- An adapter that crashes is logged and stops the bridge gracefully; the exit code is then 1.
Each bot (an adapter wired to its Space) is built by :mod:`bridge.bot`.
"""

from __future__ import annotations

import asyncio
import contextlib
import signal
from collections.abc import Callable
from pathlib import Path
from typing import Any

import structlog

from bridge import metrics
from bridge.adapter import Host
from bridge.bot import Bot, build_bot
from bridge.config import Config
from bridge.control import StopRelay, relay_for
from bridge.httpserver import Handler, HttpRequest, HttpResponse, HttpServer, Routes
from bridge.inbox import StoreHealth
from bridge.model import ConversationKey
from bridge.observability import register_secret, setup_logging
from bridge.sessions import SessionStore, open_store
from bridge.spaces import SpaceHandle, SpaceSettings

log = structlog.get_logger(__name__)


def build_spaces(config: Config) -> dict[str, SpaceHandle]:
    """A lazily connected handle per ``[spaces.NAME]``."""
    spaces = {}
    for name, sc in config.spaces.items():
        token, auth = config.credentials(name)
        spaces[name] = SpaceHandle(
            SpaceSettings(
                name=name,
                src=sc.src,
                hf_token=token,
                auth=auth,
                api_name=sc.api_name,
                options=sc.client_options(),
            )
        )
    return spaces


async def serve(config: Config, *, base_dir: Path | None = None, install_signals: bool = True) -> int:
    """Run every configured adapter until their input ends or a signal stops the bridge."""
    setup_logging(config.bridge.log_format, config.bridge.log_level)
    for name in config.secret_names():
        register_secret(config.secret(name))
    store = open_store(
        config.bridge.state,
        default_ttl=config.bridge.session_ttl_s,
        max_entries=config.bridge.max_sessions,
        base_dir=base_dir,
    )
    spaces = build_spaces(config)
    stopping = asyncio.Event()
    failed = False
    http: HttpServer | None = None
    routes = Routes()
    relay_task: asyncio.Task[None] | None = None
    health = StoreHealth()
    relay = relay_for(store)
    bots: list[Bot] = []
    try:
        await store.ping()  # a state store that cannot be used stops the bridge now, not at a message
        bots = [
            build_bot(n, c, config, spaces[c.space], store, health, relay) for n, c in config.adapters.items()
        ]
        for bot in bots:
            await bot.intake.load()
        if install_signals:
            _install_signals(stopping.set)
        address = config.bridge.http_address()
        if address:
            http = await HttpServer.start(*address, health=lambda: _health(stopping, health), routes=routes)
            routes.add("GET", "/metrics", _metrics)
            routes.add("GET", "/readyz", _readiness(stopping, health, bots))
        relay_task = _start_relay(relay, bots)
        log.info("bridge started", adapters=[b.adapter.name for b in bots], spaces=list(spaces))
        timeout = config.bridge.shutdown_timeout_s
        async with asyncio.TaskGroup() as tg:
            supervisors = [
                tg.create_task(_supervise(b, b.host(store, routes if http else None), stopping, timeout))
                for b in bots
            ]
        failed = any(s.result() for s in supervisors)
    finally:
        if relay_task is not None:
            relay_task.cancel()
            await asyncio.wait({relay_task})
        if http is not None:
            await http.close()
        for bot in bots:
            await bot.aclose()
        for space in spaces.values():
            await space.aclose()
        await store.close()
        log.info("bridge stopped")
    return 1 if failed else 0


async def run_bot(bot: Bot, store: SessionStore, stopping: asyncio.Event, grace_s: float) -> bool:
    """Run one bot as :func:`serve` runs each (its inbox loaded first, closed last), until its
    adapter's input ends and the replies are done, or ``stopping`` is set (replies then get
    ``grace_s``). For ``bridge ask``, which owns the store, the Space and the signals; True when the
    adapter crashed."""
    await bot.intake.load()
    try:
        return await _supervise(bot, bot.host(store), stopping, grace_s)
    finally:
        await bot.aclose()


def _health(stopping: asyncio.Event, store: StoreHealth) -> tuple[int, dict[str, Any]]:
    if stopping.is_set():
        return 503, {"status": "stopping"}
    if not store.ok:
        return 200, {"status": "degraded", "store": "unreachable", "since": store.down_since}
    return 200, {"status": "ok"}


def _readiness(stopping: asyncio.Event, store: StoreHealth, bots: list[Bot]) -> Handler:
    """``/readyz``: 200 once every adapter can send, the store answers and each shared inbox is
    being consumed; else 503 with what is missing (a load balancer sends no traffic meanwhile)."""

    async def readyz(_: HttpRequest) -> HttpResponse:
        waiting = [f"adapter {b.adapter.name}" for b in bots if not b.resumed]
        waiting += [
            f"inbox {b.adapter.name}" for b in bots if b.consumer and not b.consumer.consuming.is_set()
        ]
        if not store.ok:
            waiting.append("state store")
        if stopping.is_set():
            return HttpResponse(503, {"status": "stopping"})
        if waiting:
            return HttpResponse(503, {"status": "not ready", "waiting": waiting})
        return HttpResponse(200, {"status": "ready"})

    return readyz


def _start_relay(relay: StopRelay | None, bots: list[Bot]) -> asyncio.Task[None] | None:
    """With a store several processes share, let ``/stop`` reach replies running elsewhere."""
    if relay is None:
        return None
    stops = {b.adapter.name: b.stops for b in bots}

    async def stop_local(key: ConversationKey) -> bool:
        here = stops.get(key.adapter)
        return here is not None and await here.stop(key)

    return asyncio.create_task(relay.serve(stop_local), name="stop relay")


async def _metrics(_: HttpRequest) -> HttpResponse:
    return HttpResponse(200, metrics.render(), content_type=metrics.CONTENT_TYPE)


async def _supervise(bot: Bot, host: Host, stopping: asyncio.Event, grace_s: float) -> bool:
    """Run one adapter; when the bridge stops (or the adapter's input ends), let its replies finish —
    or mark them interrupted after ``grace_s`` — while it is still connected, then disconnect it.
    True when the adapter crashed."""
    name = bot.adapter.name
    run = asyncio.create_task(bot.adapter.run(host), name=f"adapter {name}")
    stop = asyncio.create_task(stopping.wait())
    crashed = False
    try:
        await asyncio.wait({run, stop}, return_when=asyncio.FIRST_COMPLETED)
        if run.done() and not run.cancelled() and run.exception() is not None:
            log.error("adapter crashed; stopping the bridge", adapter=name, error=repr(run.exception()))
            crashed = True
            stopping.set()
        if not stopping.is_set():  # input ended: every message it gave is answered, with no limit
            answered = asyncio.create_task(bot.drain())
            await asyncio.wait({answered, stop}, return_when=asyncio.FIRST_COMPLETED)
            answered.cancel()  # (done, or the bridge is stopping after all)
        bot.stop_receiving()  # stopping: what runs here gets ``grace_s``
        drain = asyncio.create_task(bot.router.drain())
        if not (await asyncio.wait({drain}, timeout=grace_s))[0]:
            log.warning("replies still running at shutdown are cancelled", adapter=name)
            await bot.router.cancel()
            await asyncio.wait({drain})
    finally:
        stop.cancel()
        if not run.done():
            run.cancel()
        await asyncio.wait({run})  # never raises: a crash was read above
    return crashed


def _install_signals(stop: Callable[[], None]) -> None:
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        with contextlib.suppress(NotImplementedError, RuntimeError):
            loop.add_signal_handler(sig, stop)
