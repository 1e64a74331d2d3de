"""N ``bridge serve`` replicas acting as one Telegram bot: one Redis state, webhook mode behind the
round-robin :mod:`~tests.replicas.proxy`, the Telegram fake delivering to the proxy.

:func:`cluster` (an async context manager) serves the fake and the proxy, starts the replicas
(:class:`tests.faults.harness.BridgeProcess`, each in its own directory with its own ``[bridge].http``
listener on a free port; config keys below), waits until each is ready (``/readyz``, or ``/healthz``
before the core has one, answers 2xx; every replica has called setWebhook; the proxy sees them all
healthy) and yields a :class:`Cluster`. On exit, also when the scenario fails, every process it
started is stopped by PID (SIGKILL of its process group: nothing of a test outlives it).

Each replica's config: ``[bridge] state`` (the shared ``redis://…?prefix=…`` URL), ``http``,
``log_format = "json"``, ``shutdown_timeout_s = 3``; ``[adapters.tg]`` of type telegram on the fake,
``mode = "webhook"``, ``webhook_url = <proxy>/tg/hook``, ``webhook_path = "/tg/hook"``,
``webhook_secret_env``, ``trigger = "all"`` (every group message is a turn),
``max_in_flight_per_user = 10`` and ``turns_per_minute = 0`` (the per-user limits are not under test).
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import time
from collections import Counter
from collections.abc import AsyncIterator, Mapping
from pathlib import Path
from typing import Any

import redis

from bridge.model import ConversationKey
from bridge.sessions.redis_db import partition_of
from bridge.sessions.redis_url import parse_url
from tests.fakes.telegram import FakeTelegram
from tests.fakes.telegram.bridge import WEBHOOK_SECRET, webhook
from tests.faults.harness import BridgeProcess, stopping, telegram
from tests.replicas.proxy import Proxy, serve_proxy
from tests.replicas.report import Report, report

ADAPTER = {"trigger": "all", "max_in_flight_per_user": 10, "turns_per_minute": 0}


def state_url(redis_url: str, prefix: str, **query: object) -> str:
    """The shared ``[bridge] state`` URL: ``redis_url`` with ``?prefix=…`` and more query keys."""
    extra = "".join(f"&{k}={v}" for k, v in query.items())
    return f"{redis_url}{'&' if '?' in redis_url else '?'}prefix={prefix}{extra}"


class Cluster:
    """The running replicas, the proxy in front of them and the fake behind them."""

    def __init__(self, fake: FakeTelegram, proxy: Proxy, replicas: list[BridgeProcess]) -> None:
        self.fake, self.proxy, self.replicas = fake, proxy, replicas
        self.killed_at: dict[int, float] = {}  # replica index → time.monotonic() of its SIGKILL

    def url(self, i: int) -> str:
        """Replica ``i``'s base URL (its ``[bridge].http`` listener)."""
        return f"http://127.0.0.1:{self.replicas[i].http_port}"

    def hook(self, i: int) -> str:
        """Replica ``i``'s own webhook URL (bypassing the proxy)."""
        return f"{self.url(i)}/tg/hook"

    def pid(self, i: int) -> int:
        child = self.replicas[i].child
        assert child is not None
        return child.proc.pid

    def holder(self, state: str, chat: int) -> int | None:
        """The replica (index) holding ``chat``'s inbox partition now, read from its lease in Redis
        (the consumer name is ``host:pid:…``); None when no one holds it."""
        client_url, ours, _, _ = parse_url(state)
        partition = partition_of(str(ConversationKey("tg", str(chat))), int(ours["partitions"]))
        with redis.Redis.from_url(client_url, decode_responses=True) as client:
            owner = client.get(f"{ours['prefix']}inbox:lease:tg:{partition}")
        pids = [self.pid(i) for i in range(len(self.replicas))]
        pid = int(str(owner).split(":")[1]) if owner else None
        return pids.index(pid) if pid in pids else None

    def balanced(self, state: str) -> bool:
        """Whether every partition is held and each replica holds at least ``partitions // N``."""
        client_url, ours, _, _ = parse_url(state)
        n = int(ours["partitions"])
        with redis.Redis.from_url(client_url, decode_responses=True) as client:
            owners = client.mget([f"{ours['prefix']}inbox:lease:tg:{k}" for k in range(n)])
        if not all(owners):
            return False
        counts = Counter(int(str(o).split(":")[1]) for o in owners)
        return all(counts[self.pid(i)] >= n // len(self.replicas) for i in range(len(self.replicas)))

    def kill(self, i: int) -> float:
        """SIGKILL replica ``i`` by PID (a crash); the ``time.monotonic()`` of the kill."""
        at = time.monotonic()
        self.killed_at[i] = at
        self.replicas[i].kill()
        return at

    async def terminate(self, i: int) -> int:
        """SIGTERM replica ``i`` by PID and wait for it (a graceful stop); its exit code."""
        return await self.replicas[i].stop()

    def routed_to(self, i: int) -> set[int]:
        """Update ids whose last delivery the proxy handed to replica ``i``."""
        base = self.url(i)
        return {u for u, backends in self.proxy.routed.items() if backends and backends[-1] == base}

    def send(self, chat: int, text: str) -> dict[str, Any]:
        """A user's message in ``chat`` (private when > 0, a supergroup when < 0), pushed to the fake.
        In a group the sender is a user of that group's own (id ``-chat``), so per-user limits do not
        join different chats."""
        if chat > 0:
            return self.fake.push_text(chat, text, chat_type="private")
        return self.fake.push_text(chat, text, chat_type="supergroup", user=-chat)

    def report(self) -> Report:
        return report(self.fake)

    async def wait_answered(self, timeout: float, *, settle_s: float = 2.0) -> Report:
        """Until every user message has a final answer or a note (or ``timeout`` passes), then
        ``settle_s`` more (a second answer would come then); the report either way."""
        with contextlib.suppress(TimeoutError):
            await self.fake.wait_for(lambda: not self.report().unanswered, timeout=timeout)
        await asyncio.sleep(settle_s)
        return self.report()

    def logs(self, lines: int = 15) -> str:
        """The last log lines of every replica, for failure messages."""
        return "\n".join(f"--- replica {i}\n{r.tail(lines)}" for i, r in enumerate(self.replicas))


async def _ready(proxy: Proxy, replica: BridgeProcess, base: str, timeout: float) -> None:
    async with asyncio.timeout(timeout):
        while not await proxy.check(base):
            assert replica.child is not None and replica.child.alive, f"replica exited:\n{replica.tail()}"
            await asyncio.sleep(0.1)


@contextlib.asynccontextmanager
async def cluster(
    tmp: Path,
    fake: FakeTelegram,
    app_url: str,
    state: str,
    *,
    replicas: int = 3,
    adapter: Mapping[str, Any] | None = None,
    bridge: Mapping[str, Any] | None = None,
    space: Mapping[str, Any] | None = None,
    ready_timeout: float = 60.0,
) -> AsyncIterator[Cluster]:
    """``replicas`` bridge processes on ``state`` behind a proxy, on ``fake`` (see the module docstring)."""
    procs: list[BridgeProcess] = []
    async with telegram(fake) as api, serve_proxy() as proxy:
        with stopping(procs):
            hook = {**webhook(0), "webhook_url": f"{proxy.url}/tg/hook"}
            table = {**hook, **ADAPTER, **(adapter or {})}
            for i in range(replicas):
                home = tmp / f"replica{i}"
                home.mkdir(parents=True, exist_ok=True)
                proc = BridgeProcess(home, api.url, app_url, state, bridge=bridge, space=space, adapter=table)
                proc.env["TG_HOOK_SECRET"] = WEBHOOK_SECRET
                procs.append(proc)
                proxy.add(f"http://127.0.0.1:{proc.http_port}")
            for proc in procs:
                proc.start()
            await asyncio.gather(
                *(_ready(proxy, p, f"http://127.0.0.1:{p.http_port}", ready_timeout) for p in procs)
            )
            await fake.wait_for(lambda: len(fake.calls_to("setWebhook")) >= replicas, timeout=ready_timeout)
            await fake.wait_for(lambda: all(proxy.healthy.values()), timeout=ready_timeout)
            running = Cluster(fake, proxy, procs)
            # Every replica holds its share of the inbox's partitions before users start writing,
            # so the scenarios spread the replies over every replica.
            await fake.wait_for(lambda: running.balanced(state), timeout=ready_timeout)
            yield running


def alive_pids(c: Cluster) -> list[int]:
    """PIDs of the replicas still running (a check that teardown stopped them all)."""
    out = []
    for i, r in enumerate(c.replicas):
        if r.child is not None and r.child.alive:
            with contextlib.suppress(ProcessLookupError):
                os.kill(c.pid(i), 0)
                out.append(c.pid(i))
    return out
