"""Run ``bridge serve`` in the test's event loop: the config of one bot, and the serving task."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator, Mapping
from typing import Any

from bridge.app import serve
from bridge.config import Config, parse_config


def one_bot_config(
    app_url: str,
    adapters: Mapping[str, Mapping[str, Any]],
    env: Mapping[str, str],
    bridge: Mapping[str, Any] | None = None,
    space: Mapping[str, Any] | None = None,
) -> Config:
    """A config with Space ``app`` at ``app_url`` (more keys in ``space``) and ``adapters`` (NAME →
    table, ``space`` filled in), memory state and quiet logs unless ``bridge`` says otherwise."""
    return parse_config(
        {
            "bridge": {"state": "memory://", "log_level": "warning", **(bridge or {})},
            "spaces": {"app": {"src": app_url, **(space or {})}},
            "adapters": {name: {"space": "app", **table} for name, table in adapters.items()},
        },
        env=dict(env),
        source="test",
    )


@contextlib.asynccontextmanager
async def serving(config: Config) -> AsyncIterator[asyncio.Task[int]]:
    """``bridge serve`` while the block runs; a bridge that crashed fails the block with its error."""
    task = asyncio.create_task(serve(config, install_signals=False))
    try:
        yield task
        if task.done():
            task.result()
    finally:
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task
