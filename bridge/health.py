"""Whether the state store answers: one :class:`StoreHealth` per ``bridge serve``, shown on ``/healthz``.

Everything that writes to the store reports its outcome here; the first failure of an outage and
the recovery are logged once each, and the ``bridge_store_up`` gauge follows.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable

import structlog

from bridge.metrics import STORE_UP

log = structlog.get_logger(__name__)


class StoreHealth:
    """Whether the state store answers; shared by everything that writes to it, shown on /healthz."""

    def __init__(self, clock: Callable[[], float] = time.time) -> None:
        self.down_since: float | None = None
        self.problem = ""
        self._clock = clock
        self.recovered = asyncio.Event()

    @property
    def ok(self) -> bool:
        """The last store operation worked."""
        return self.down_since is None

    def failed(self, exc: BaseException) -> None:
        """A store operation failed (the first failure of an outage is logged)."""
        if self.down_since is None:
            self.down_since = self._clock()
            self.problem = str(exc) or type(exc).__name__
            self.recovered.clear()
            STORE_UP.set(0)
            log.error(
                "state store unreachable; messages are kept in memory until it is back", error=self.problem
            )

    def worked(self) -> None:
        """A store operation worked again."""
        if self.down_since is not None:
            log.warning("state store reachable again", down_s=round(self._clock() - self.down_since, 1))
            self.down_since = None
            self.problem = ""
            STORE_UP.set(1)
        self.recovered.set()
