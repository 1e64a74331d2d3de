"""Shared fixtures: real Gradio servers of every supported version, started once per test session.

Each supported gradio version runs the test apps (``tests/apps``) in one child process with its own
interpreter: 6.31.0 from the project's environment, 5.50.0 and 4.44.1 from cached compatibility
environments (``scripts/compat-env.sh``, created by ``make test``). Tests that take the ``apps``
fixture run once per version.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
SERVE = ROOT / "tests" / "apps" / "serve.py"
VERSIONS = ("6.31.0", "5.50.0", "4.44.1")
ALL_APPS = ("text", "mm", "thought", "blocks", "auth", "quiet", "twostep", "mmchain", "threestep", "extras")


def interpreter(version: str) -> str:
    """The Python that runs gradio ``version`` (building its cached environment if needed)."""
    if version == VERSIONS[0]:
        return sys.executable
    out = subprocess.run(
        [str(ROOT / "scripts" / "compat-env.sh"), version],
        check=True,
        capture_output=True,
        text=True,
        timeout=1800,
    )
    return out.stdout.strip().splitlines()[-1]


class AppServer:
    """A child process serving test apps; ``urls`` maps app name → base URL."""

    def __init__(self, version: str, apps: tuple[str, ...], *extra: str) -> None:
        self.version = version
        env = {**os.environ, "GRADIO_ANALYTICS_ENABLED": "False", "NO_PROXY": "127.0.0.1,localhost"}
        self.proc = subprocess.Popen(
            [interpreter(version), str(SERVE), *extra, *apps],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            env=env,
            text=True,
        )
        self.urls: dict[str, str] = {}
        self._stderr: list[str] = []
        threading.Thread(target=self._drain, daemon=True).start()

    def _drain(self) -> None:
        assert self.proc.stderr is not None
        for line in self.proc.stderr:
            self._stderr.append(line)
            del self._stderr[:-200]

    def wait_ready(self, timeout: float = 240.0) -> dict[str, str]:
        """Block until the child printed its URL line; fail loudly with its stderr otherwise."""
        assert self.proc.stdout is not None
        result: list[str] = []
        reader = threading.Thread(target=lambda: result.append(self.proc.stdout.readline()), daemon=True)  # type: ignore[union-attr]
        reader.start()
        reader.join(timeout)
        if not result or not result[0].strip():
            self.stop()
            raise RuntimeError(f"gradio {self.version} test apps did not start:\n{''.join(self._stderr)}")
        payload = json.loads(result[0])
        assert payload["version"] == self.version, payload
        self.urls = {k: v.rstrip("/") for k, v in payload["apps"].items()}
        return self.urls

    def stop(self) -> None:
        """End the child (closing stdin asks it to exit; kill it if it does not)."""
        if self.proc.poll() is None:
            try:
                assert self.proc.stdin is not None
                self.proc.stdin.close()
                self.proc.wait(timeout=10)
            except (subprocess.TimeoutExpired, OSError):
                self.proc.kill()
                self.proc.wait()


@pytest.fixture(scope="session")
def servers() -> Iterator[dict[str, AppServer]]:
    """All versions' app servers, started in parallel on first use."""
    started = {v: AppServer(v, ALL_APPS) for v in VERSIONS}
    try:
        for server in started.values():
            server.wait_ready()
        yield started
    finally:
        for server in started.values():
            server.stop()


@pytest.fixture(scope="session", params=VERSIONS)
def gradio_version(request: pytest.FixtureRequest) -> str:
    """Each supported gradio version in turn."""
    return str(request.param)


@pytest.fixture(scope="session")
def apps(servers: dict[str, AppServer], gradio_version: str) -> dict[str, str]:
    """name → URL of the test apps running on ``gradio_version``."""
    return servers[gradio_version].urls


@pytest.fixture
def major(gradio_version: str) -> int:
    """The major version of the gradio under test."""
    return int(gradio_version.split(".", maxsplit=1)[0])


@pytest.fixture(scope="session")
def current_apps(servers: dict[str, AppServer]) -> dict[str, str]:
    """name → URL of the test apps on the project's own gradio (for platform tests, where the gradio
    version does not matter)."""
    return servers[VERSIONS[0]].urls
