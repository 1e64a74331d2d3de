"""Fixtures of the replica scenarios: the ``replica`` echo app (one server for the session) and Redis."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.conftest import VERSIONS, AppServer
from tests.redis_server import redis_prefix_fixture, redis_url_fixture  # noqa: F401 - fixtures


@pytest.fixture(scope="session")
def replica_app() -> Iterator[str]:
    """The URL of :mod:`tests.apps.replica` on the project's gradio, served by a child process."""
    server = AppServer(VERSIONS[0], ("replica",))
    try:
        yield server.wait_ready()["replica"]
    finally:
        server.stop()
