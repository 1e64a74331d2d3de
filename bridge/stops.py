"""Which conversations have a reply being written here, and stopping one here or in another process.

A turn registers while it runs (:meth:`Stops.begin` … :meth:`Stops.end`); ``/stop`` and a
platform's Stop button end it with :meth:`Stops.stop_anywhere`: here when it runs here, else through
the cross-process relay (:class:`~bridge.control.StopRelay`, given when several processes share
the store).
"""

from __future__ import annotations

from bridge.control import StopRelay
from bridge.model import ConversationKey
from bridge.turnwatch import Running


class Stops:
    """The running turns of one adapter, by conversation; ``relay`` reaches the other processes."""

    def __init__(self, relay: StopRelay | None = None) -> None:
        self.relay = relay
        self._running: dict[ConversationKey, Running] = {}

    def begin(self, key: ConversationKey) -> Running:
        """Register a new turn of ``key``: a stop from now on ends it (until :meth:`end`)."""
        run = self._running[key] = Running()
        return run

    def end(self, key: ConversationKey, run: Running) -> None:
        """The turn ``run`` of ``key`` is over (a newer turn of ``key`` stays registered)."""
        if self._running.get(key) is run:
            del self._running[key]

    async def stop(self, key: ConversationKey) -> bool:
        """End the running turn of ``key`` now (its cancel reaches the app in the background);
        False when nothing runs here."""
        run = self._running.get(key)
        if run is None:
            return False
        run.stop.set()
        return True

    async def stop_anywhere(self, key: ConversationKey) -> bool:
        """Stop ``key``'s running turn here or, through the relay, in another process."""
        return await self.stop(key) or (self.relay is not None and await self.relay.stop_elsewhere(key))
