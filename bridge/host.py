"""What the bridge offers a running adapter besides ``deliver``: its own state, the app's inputs, HTTP routes.

An adapter receives one :class:`Host` in ``run``. Everything on it is platform-neutral:

* :class:`AdapterState` is a small persistent key-value area of that adapter in the bridge's store
  (Telegram keeps its update offset there, Discord the hash of its synced commands); it survives
  restarts and is shared by every process on the same store.
* ``inputs()`` describes what the app takes (its additional inputs, and whether it takes files),
  connecting to the app on first use, so a platform can offer them natively (Discord
  slash-command options).
* ``routes`` is the bridge's HTTP listener (``[bridge].http``), where an adapter may serve a
  webhook; None when the listener is off.
* ``ready()`` is called by the adapter once it can send (connected, logged in). Messages left
  unanswered by an earlier run (the durable inbox) are resumed then, before any new message of
  their conversations; a ``deliver`` before ``ready()`` implies it.
"""

from __future__ import annotations

import math
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any

from bridge.adapter import Deliver
from bridge.gradio.params import Param
from bridge.httpserver import Routes
from bridge.sessions import SessionStore


@dataclass(frozen=True, slots=True)
class AppInputs:
    """What the chat app takes besides the message text, and the example messages it suggests
    (``ChatInterface(examples=…)``, ``Chatbot(examples=…)``; their text, in the app's order)."""

    params: tuple[Param, ...] = ()
    multimodal: bool = False
    examples: tuple[str, ...] = ()


InputsSource = Callable[[], Awaitable[AppInputs]]


class AdapterState:
    """One adapter's persistent values (JSON objects), under store keys ``adapter:<name>:<key>``.

    Values never expire unless put with a ``ttl_s``. Writes are last-writer-wins; an adapter that
    runs in several processes must only store values for which that is right (an offset only ever
    grows, a hash is the same everywhere).
    """

    def __init__(self, store: SessionStore, adapter: str) -> None:
        self._store = store
        self._prefix = f"adapter:{adapter}:"

    async def get(self, key: str) -> dict[str, Any] | None:
        """The value stored under ``key``, or None."""
        return await self._store.get(self._prefix + key)

    async def put(self, key: str, value: dict[str, Any], ttl_s: float = math.inf) -> None:
        """Store ``value`` under ``key`` (replacing the old one), for ``ttl_s`` seconds."""
        await self._store.put(self._prefix + key, value, ttl=ttl_s)

    async def delete(self, key: str) -> None:
        """Forget the value under ``key`` (no error when there is none)."""
        await self._store.delete(self._prefix + key)


@dataclass(frozen=True, slots=True)
class Host:
    """The bridge side of a running adapter; see the module docstring."""

    deliver: Deliver
    state: AdapterState
    inputs: InputsSource
    routes: Routes | None = None
    ready: Callable[[], None] = lambda: None
