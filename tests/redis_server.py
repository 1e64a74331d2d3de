"""A Redis server for the tests: import the fixtures (``redis_url_fixture``, ``redis_prefix_fixture``).

``redis_url`` is, in order: ``$BRIDGE_TEST_REDIS_URL``; the Redis at 127.0.0.1:6379 when it answers
PING without a password (database 15); or a private ``redis-server`` from PATH, started on a free
port without persistence and stopped after the session. When none can be had, tests that need
Redis are skipped, or fail when ``$CI`` is set (CI must not pass by skipping them).

``redis_prefix`` gives each test its own key prefix and deletes everything under it afterwards, so
tests never see each other's keys nor touch other data in the database.
"""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import time
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest

DEFAULT = ("127.0.0.1", 6379)
TEST_DB = 15


def answers(host: str, port: int, timeout: float = 0.5) -> bool:
    """Whether a Redis at ``host:port`` replies +PONG to PING (a password-protected one does not)."""
    try:
        with socket.create_connection((host, port), timeout=timeout) as sock:
            sock.sendall(b"PING\r\n")
            return sock.recv(64).startswith(b"+PONG")
    except OSError:
        return False


def free_port() -> int:
    """A TCP port nothing listens on right now."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def start_server(
    directory: Path, port: int | None = None, *, persist: bool = False
) -> tuple[subprocess.Popen[bytes], int] | None:
    """A throwaway ``redis-server`` on ``port`` or a free one; None if none starts. Without snapshots;
    ``persist`` keeps an append-only file in ``directory``, so a restart finds the data again."""
    binary = shutil.which("redis-server")
    if binary is None:
        return None
    port = port or free_port()
    aof = ["--appendonly", "yes", "--appendfsync", "always"] if persist else ["--appendonly", "no"]
    args = [binary, "--port", str(port), "--bind", "127.0.0.1", "--save", "", *aof]
    proc = subprocess.Popen(
        [*args, "--dir", str(directory)], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
    )
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline and proc.poll() is None:
        if answers("127.0.0.1", port):
            return proc, port
        time.sleep(0.05)
    proc.kill()
    proc.wait()
    return None


@pytest.fixture(scope="session", name="redis_url")
def redis_url_fixture(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """The URL of a Redis database the tests may write to (under their own prefixes)."""
    configured = os.environ.get("BRIDGE_TEST_REDIS_URL")
    if configured:
        yield configured
        return
    if answers(*DEFAULT):
        yield f"redis://{DEFAULT[0]}:{DEFAULT[1]}/{TEST_DB}"
        return
    started = start_server(tmp_path_factory.mktemp("redis"))
    if started is None:
        reason = (
            "no Redis for the Redis store tests: nothing answers at 127.0.0.1:6379 and no redis-server "
            "could be started from PATH; install Redis or set BRIDGE_TEST_REDIS_URL"
        )
        if os.environ.get("CI"):
            pytest.fail(reason)
        pytest.skip(reason)
    proc, port = started
    try:
        yield f"redis://127.0.0.1:{port}/{TEST_DB}"
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


@pytest.fixture(name="redis_prefix")
def redis_prefix_fixture(redis_url: str) -> Iterator[str]:
    """A key prefix of this test's own; every Redis key under it is deleted afterwards."""
    import redis

    prefix = f"bridge-test:{uuid.uuid4().hex}:"
    yield prefix
    with redis.Redis.from_url(redis_url) as client:
        doomed = list(client.scan_iter(match=prefix + "*", count=1000))
        if doomed:
            client.delete(*doomed)
