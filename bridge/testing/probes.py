"""Probes the scenarios use: :class:`Tap` (the adapter as a streamer's sink, keeping every call),
:func:`tasks_started` (the tasks a block starts itself) and :func:`expect`."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Awaitable, Iterator
from dataclasses import dataclass
from typing import Any

from bridge.adapter import Adapter, Stage
from bridge.errors import PlatformError
from bridge.model import ConversationKey, MessageRef
from bridge.text import Text


def expect(condition: object, message: str) -> None:
    """Fail with ``message`` unless ``condition`` holds (an ``assert`` that ``python -O`` keeps)."""
    if not condition:
        raise AssertionError(message)


def cut(text: str, room: int = 60) -> str:
    """``text`` quoted, shortened to ``room`` characters for a failure message."""
    return repr(text if len(text) <= room else text[:room] + "…")


@dataclass
class _Call:
    kind: str
    text: Text
    stage: Stage
    ref: MessageRef | None = None  # what it returned
    error: PlatformError | None = None


class Tap:
    """The adapter as a streamer's sink, keeping every send and edit with its outcome."""

    def __init__(self, adapter: Adapter) -> None:
        self.adapter = adapter
        self.calls: list[_Call] = []
        self.broken: AssertionError | None = None  # a call broke the contract: waiting is pointless

    async def send(
        self, to: ConversationKey, text: Text, reply_to: MessageRef | None = None, *, stage: Stage = "final"
    ) -> MessageRef:
        return await self._record("send", text, stage, self.adapter.send(to, text, reply_to, stage=stage))

    async def edit(self, ref: MessageRef, text: Text, *, stage: Stage = "final") -> MessageRef:
        return await self._record("edit", text, stage, self.adapter.edit(ref, text, stage=stage))

    async def _record(self, kind: str, text: Text, stage: Stage, call: Awaitable[MessageRef]) -> MessageRef:
        entry = _Call(kind, text, stage)
        self.calls.append(entry)
        try:
            ref = await call
        except PlatformError as exc:
            entry.error = exc
            raise
        except Exception as exc:
            shown = cut(text.markdown)
            why = f"{kind}({shown}) raised {exc!r}: errors must leave an adapter as bridge.errors types"
            self.broken = AssertionError(why)
            raise self.broken from exc
        if not isinstance(ref, MessageRef):
            self.broken = AssertionError(
                f"{kind}({cut(text.markdown)}) returned {ref!r}, not the MessageRef to use next"
            )
            raise self.broken
        entry.ref = ref
        return ref

    def done(self, text: str) -> bool:
        """A call showing ``text`` (Markdown, as :attr:`Text.markdown`) succeeded (raises what broke the
        contract, if a call did)."""
        if self.broken is not None:
            raise self.broken
        return any(c.ref is not None and c.text.markdown == text for c in self.calls)

    def returned(self) -> list[MessageRef]:
        return [c.ref for c in self.calls if c.ref is not None]


@contextlib.contextmanager
def tasks_started() -> Iterator[list[asyncio.Future[Any]]]:
    """The tasks created while the block runs by the task running it (not by other tasks of the loop,
    such as a fake server's), in order."""
    loop = asyncio.get_running_loop()
    me, previous = asyncio.current_task(), loop.get_task_factory()
    started: list[asyncio.Future[Any]] = []

    def factory(loop: asyncio.AbstractEventLoop, coro: Any, **kw: Any) -> Any:
        task = previous(loop, coro, **kw) if previous else asyncio.Task(coro, loop=loop, **kw)
        if asyncio.current_task() is me:
            started.append(task)
        return task

    loop.set_task_factory(factory)
    try:
        yield started
    finally:
        loop.set_task_factory(previous)
