"""Run an adapter against a recording host: :func:`hosted`, and :func:`eventually` to wait for a state."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator, Callable, Sequence
from dataclasses import dataclass, field
from typing import TypeVar

from bridge.adapter import Adapter, AdapterState, AppInputs, Host
from bridge.model import Incoming

T = TypeVar("T")


async def eventually(check: Callable[[], T], what: str | Callable[[], str], timeout_s: float = 30.0) -> T:
    """Wait until ``check()`` is truthy and return it; else fail with ``what`` (a text, or a callable
    giving it at that moment, to show the state that was wrong). Checked every 10 ms."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout_s
    while not (value := check()):
        if loop.time() >= deadline:
            raise AssertionError(f"{what() if callable(what) else what} (waited {timeout_s:g} s)")
        await asyncio.sleep(0.01)
    return value


@dataclass
class Hosted:
    """A running adapter and every message it gave ``host.deliver``, in order."""

    adapter: Adapter
    delivered: list[Incoming] = field(default_factory=list)
    task: asyncio.Task[None] | None = None

    async def next_delivered(self, after: int, what: str, timeout_s: float = 30.0) -> Incoming:
        """The first message delivered after the first ``after`` ones (fails naming ``what``)."""

        def arrived() -> Sequence[Incoming]:
            self._check_running()
            return self.delivered[after:]

        found = await eventually(arrived, f"{what}: nothing reached host.deliver", timeout_s)
        return found[0]

    def _check_running(self) -> None:
        task = self.task
        if task is not None and task.done() and not task.cancelled() and task.exception() is not None:
            error = task.exception()
            raise AssertionError(f"{self.adapter.name}: run(host) failed: {error!r}") from error


@contextlib.asynccontextmanager
async def hosted(
    adapter: Adapter,
    *,
    inputs: AppInputs | None = None,
    state: AdapterState | None = None,
    ready_timeout_s: float = 30.0,
) -> AsyncIterator[Hosted]:
    """``adapter.run(host)`` while the block runs, once it has called ``host.ready()``.

    The host records deliveries (each is durable at once), keeps the adapter's state in memory (or
    ``state``) and describes the app by ``inputs``. On exit the run is cancelled and awaited; a run
    that failed (before ready, or during the block) fails the block with its error.
    """
    if state is None:
        from bridge.sessions import MemoryStore  # only when used: the kit's import stays light

        state = AdapterState(MemoryStore(), adapter.name)
    run = Hosted(adapter)
    ready = asyncio.Event()
    app = inputs or AppInputs()

    async def deliver(incoming: Incoming) -> bool:
        run.delivered.append(incoming)
        return True

    async def describe() -> AppInputs:
        return app

    host = Host(deliver, state, describe, ready=ready.set)
    run.task = task = asyncio.create_task(adapter.run(host), name=f"run {adapter.name}")
    try:
        waiting = asyncio.ensure_future(ready.wait())
        await asyncio.wait({task, waiting}, timeout=ready_timeout_s, return_when=asyncio.FIRST_COMPLETED)
        waiting.cancel()
        run._check_running()
        if not ready.is_set():
            raise AssertionError(
                f"{adapter.name}: run(host) did not call host.ready() in {ready_timeout_s} s"
            )
        yield run
        run._check_running()
    finally:
        task.cancel()
        await asyncio.wait({task})
        if not task.cancelled():
            task.exception()  # seen: raised above when it mattered
