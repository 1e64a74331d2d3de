"""Parts for fault scenarios: ``bridge serve`` as a child process, a Telegram fake that can go down,
a Gradio app on a port of its own, and the count of answers per user message.

Every process here runs in its own process group and is stopped by PID (``stop``/``kill``) by the
scenario that started it; :func:`stopping` makes sure of it even when a scenario fails.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import AsyncIterator, Iterator, Mapping
from pathlib import Path
from typing import Any

import httpx

from tests.conftest import VERSIONS, AppServer
from tests.fakes.telegram import FakeTelegram, serve_telegram

ROOT = Path(__file__).resolve().parents[2]
TOKEN_ENV = "TG_TOKEN"


def free_port() -> int:
    """A TCP port nothing listens on right now."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


class TelegramListener:
    """Serves a :class:`FakeTelegram` on one port that can go down (connections refused) and come back on
    the same port, as Telegram's API does in an outage. The first :meth:`up` takes a free port; ``port``
    and ``url`` are known from then on."""

    def __init__(self, fake: FakeTelegram) -> None:
        self.fake = fake
        self.port = 0
        self.url = ""
        self._serving: contextlib.AsyncExitStack | None = None

    async def up(self) -> None:
        """Start listening (again, on the same port)."""
        stack = contextlib.AsyncExitStack()
        async with asyncio.timeout(15):
            self.url = await stack.enter_async_context(serve_telegram(self.fake, port=self.port))
        self.port = int(self.url.rpartition(":")[2])
        self._serving = stack

    async def down(self) -> None:
        """Stop listening: held long polls end, open connections close, new ones are refused."""
        if self._serving is None:
            return
        stack, self._serving = self._serving, None
        await stack.aclose()
        self.fake._closing = False


@contextlib.asynccontextmanager
async def telegram(fake: FakeTelegram) -> AsyncIterator[TelegramListener]:
    """The fake on a :class:`TelegramListener` for the duration of the block."""
    listener = TelegramListener(fake)
    await listener.up()
    try:
        yield listener
    finally:
        await listener.down()


class Child:
    """A process in its own group, its output in a log file."""

    def __init__(self, argv: list[str], log: Path, env: Mapping[str, str] | None = None) -> None:
        self.log = log
        self._out = log.open("ab")
        self.proc = subprocess.Popen(
            argv,
            stdin=subprocess.DEVNULL,
            stdout=self._out,
            stderr=subprocess.STDOUT,
            env={**os.environ, **(env or {})},
            start_new_session=True,
        )

    @property
    def alive(self) -> bool:
        return self.proc.poll() is None

    async def ready(self) -> tuple[int, dict[str, Any]]:
        """``/readyz``: its status code and body."""
        async with httpx.AsyncClient(trust_env=False, timeout=5) as client:
            resp = await client.get(f"http://127.0.0.1:{self.http_port}/readyz")
            return resp.status_code, resp.json()

    def kill(self) -> None:
        """SIGKILL the process group (a crash: nothing is flushed)."""
        if self.alive:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(self.proc.pid, signal.SIGKILL)
        self.proc.wait(timeout=30)
        self._out.close()

    def stop(self, grace_s: float = 30.0) -> int:
        """SIGTERM, then SIGKILL after ``grace_s``; the exit code."""
        if self.alive:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(self.proc.pid, signal.SIGTERM)
            try:
                self.proc.wait(timeout=grace_s)
            except subprocess.TimeoutExpired:
                self.kill()
        self._out.close()
        return self.proc.returncode

    def tail(self, lines: int = 30) -> str:
        return "\n".join(self.log.read_text(errors="replace").splitlines()[-lines:])


class BridgeProcess:
    """``bridge serve`` in a child process with one Telegram bot ``tg`` on the fake."""

    def __init__(
        self,
        tmp: Path,
        telegram_url: str,
        app_url: str,
        state: str,
        *,
        bridge: Mapping[str, Any] | None = None,
        space: Mapping[str, Any] | None = None,
        adapter: Mapping[str, Any] | None = None,
        token: str = "123456:TEST-TOKEN",
    ) -> None:
        self.http_port = free_port()
        self.config = tmp / "config.toml"
        self.log = tmp / "bridge.log"
        self.env = {TOKEN_ENV: token, "NO_PROXY": "127.0.0.1,localhost", "PYTHONPATH": str(ROOT)}
        tables = {
            "bridge": {
                "state": state,
                "http": f"127.0.0.1:{self.http_port}",
                "log_format": "json",
                "log_level": "info",
                "shutdown_timeout_s": 3,
                **(bridge or {}),
            },
            "spaces": {"app": {"src": app_url, **(space or {})}},
            "adapters": {
                "tg": {
                    "type": "telegram",
                    "space": "app",
                    "token_env": TOKEN_ENV,
                    "api_base_url": f"{telegram_url}/bot",
                    "file_base_url": f"{telegram_url}/file/bot",
                    "poll_timeout_s": 1,
                    **(adapter or {}),
                }
            },
        }
        self.config.write_text(toml(tables))
        self.child: Child | None = None

    def start(self) -> None:
        self.child = Child(
            [sys.executable, "-m", "bridge.cli", "serve", str(self.config)], self.log, self.env
        )

    async def wait_up(self, timeout: float = 60.0) -> None:
        """Until ``/healthz`` answers (the bridge runs its bots)."""
        async with asyncio.timeout(timeout):
            while True:
                assert self.child is not None and self.child.alive, f"bridge exited:\n{self.tail()}"
                with contextlib.suppress(httpx.HTTPError):
                    if (await self.health())[0] == 200:
                        return
                await asyncio.sleep(0.1)

    async def health(self) -> tuple[int, dict[str, Any]]:
        async with httpx.AsyncClient(trust_env=False, timeout=5) as client:
            resp = await client.get(f"http://127.0.0.1:{self.http_port}/healthz")
            return resp.status_code, resp.json()

    async def ready(self) -> tuple[int, dict[str, Any]]:
        """``/readyz``: its status code and body."""
        async with httpx.AsyncClient(trust_env=False, timeout=5) as client:
            resp = await client.get(f"http://127.0.0.1:{self.http_port}/readyz")
            return resp.status_code, resp.json()

    def kill(self) -> None:
        if self.child is not None:
            self.child.kill()

    async def stop(self) -> int:
        """SIGTERM and wait (off the event loop: the fakes the bridge talks to live on it)."""
        return await asyncio.to_thread(self.child.stop) if self.child is not None else 0

    def tail(self, lines: int = 40) -> str:
        return self.child.tail(lines) if self.child is not None else ""

    def logged(self, event: str) -> list[dict[str, Any]]:
        """The JSON log records whose ``event`` is ``event``."""
        found = []
        for line in self.log.read_text(errors="replace").splitlines():
            with contextlib.suppress(ValueError):
                record = json.loads(line)
                if isinstance(record, dict) and record.get("event") == event:
                    found.append(record)
        return found


def app_server(port: int) -> AppServer:
    """The ``text`` test app (project's gradio) in a child process on ``port``; not ready yet."""
    return AppServer(VERSIONS[0], ("text",), "--port", str(port))


@contextlib.contextmanager
def stopping(*things: Any) -> Iterator[None]:
    """Stop every child process given (``BridgeProcess``, ``AppServer``, ``Popen``, or a list of them,
    read at the end so that processes started later count) when the block ends."""
    try:
        yield
    finally:
        for thing in [t for x in things for t in (x if isinstance(x, list) else [x])]:
            with contextlib.suppress(Exception):
                if isinstance(thing, subprocess.Popen):
                    thing.terminate()
                    thing.wait(timeout=10)
                elif isinstance(thing, BridgeProcess):
                    thing.kill()
                else:
                    thing.stop()


# -- answers ---------------------------------------------------------------------------------------


def replies_to(fake: FakeTelegram, chat: int, message_id: int) -> list[str]:
    """The current texts of the bot's messages in ``chat`` that reply to the user's ``message_id``."""
    return [
        m.text or ""
        for m in fake.sent(chat)
        if not m.deleted and (m.extra.get("reply_to_message") or {}).get("message_id") == message_id
    ]


def user_messages(fake: FakeTelegram) -> list[tuple[int, int, str]]:
    """``(chat, message_id, text)`` of every message users sent, in order."""
    out = []
    for update in fake.pushed:
        msg = update.get("message")
        if msg is not None:
            out.append((int(msg["chat"]["id"]), int(msg["message_id"]), str(msg.get("text") or "")))
    return out


def unanswered(fake: FakeTelegram, done: Any) -> list[tuple[int, int, str]]:
    """User messages without exactly one reply that ``done(text)`` accepts as finished."""
    bad = []
    for chat, mid, text in user_messages(fake):
        replies = replies_to(fake, chat, mid)
        if len(replies) != 1 or not done(text, replies[0]):
            bad.append((chat, mid, text))
    return bad


async def wait_answered(fake: FakeTelegram, done: Any, timeout: float, what: str = "") -> None:
    """Until every user message has exactly one finished reply; fail with the ones that do not."""
    deadline = time.monotonic() + timeout
    while unanswered(fake, done):
        if time.monotonic() > deadline:
            report = [(t, replies_to(fake, c, m)) for c, m, t in unanswered(fake, done)]
            raise AssertionError(f"not answered exactly once {what}: {report[:10]}")
        await asyncio.sleep(0.25)


def toml(tables: Mapping[str, Any]) -> str:
    """A TOML document of nested tables of scalars (enough for bridge configs)."""
    lines: list[str] = []

    def emit(path: list[str], table: Mapping[str, Any]) -> None:
        scalars = {k: v for k, v in table.items() if not isinstance(v, dict)}
        if path:
            lines.append(f"[{'.'.join(path)}]")
        lines.extend(f"{k} = {json.dumps(v)}" for k, v in scalars.items())
        lines.append("")
        for k, v in table.items():
            if isinstance(v, dict):
                emit([*path, k], v)

    emit([], tables)
    return "\n".join(lines)
