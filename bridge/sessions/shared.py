"""What a store several processes share offers for coordinating them: the contract of the shared inbox.

A store only one process can use (memory, SQLite) offers nothing (``store.coordination()`` is None):
its process handles every message it records. A store several processes share (Redis) offers a
:class:`Coordination`: its client and key prefix (for the stop relay, shared budgets) and, per bot,
a :class:`SharedQueue` through which the processes hand each other the messages they record, so a
conversation's messages are handled one at a time, in order, by whichever process holds their
partition (see :mod:`bridge.sessions.redis_queue` for the Redis one).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Protocol

from bridge.sessions.inbox import InboxEntry

Taken = list[tuple[int, InboxEntry]]  # (partition, entry), in the order to handle them


class SharedQueue(Protocol):
    """One consumer of one bot's partitioned inbox.

    - ``join`` prepares the partitions; ``balance`` renews this consumer's leases (call it every
      ``lease_s / 4`` or so) and, with ``claim``, takes free partitions up to the fair share; it
      returns (the fair share, the partitions held now). With ``pinned`` (the platform's own split:
      this process receives those partitions' messages), it claims exactly those, whatever the
      share. A partition not renewed for ``lease_s`` seconds is free for another consumer.
    - ``takeover(k)`` gives, once a partition is newly held, the entries its last holder read and
      did not finish, in order; ``read(held, block_s)`` gives entries no one has read yet.
    - ``release`` gives partitions up (only between two messages of theirs: nothing in flight), and
      with ``leave`` the membership too (a consumer stopping).
    - ``depth`` counts the entries of some partitions not finished yet (for metrics);
      ``unfinished`` gives those of some entry ids not finished yet, by any consumer.
    - Finishing an entry with the store's ``inbox.finish`` takes it out of its partition.
    Every operation raises :class:`~bridge.sessions.base.StoreError` when the store cannot be used.
    """

    consumer: str
    partitions: int
    lease_s: float

    async def join(self) -> None: ...

    async def balance(
        self, *, claim: bool = True, pinned: frozenset[int] | None = None
    ) -> tuple[int, set[int]]: ...

    async def takeover(self, partition: int) -> Taken: ...

    async def read(self, partitions: set[int], block_s: float) -> Taken: ...

    async def release(self, partitions: set[int], *, leave: bool = False) -> None: ...

    async def depth(self, partitions: set[int]) -> int: ...

    async def unfinished(self, ids: set[str]) -> set[str]: ...


@dataclass(frozen=True, slots=True)
class Coordination:
    """What a shared store offers: its coordination client (a connection pool apart from the
    store's own), the key prefix its keys and channels live under, and ``queue(namespace)``, the
    shared inbox of one bot (namespace: the adapter's name) for one consumer (this process), with
    ``partitions`` partitions when the platform has its own split (else the store's number)."""

    client: Any
    prefix: str
    queue: Callable[[str, int | None], SharedQueue]
