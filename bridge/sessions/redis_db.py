"""Redis values the store and its inbox share (so neither imports the other's module)."""

from __future__ import annotations

import zlib

Arg = str | bytes | int  # a script argument
EXPIRY_GRACE = 60.0  # seconds Redis keeps an expired value after the clock hid it
MAX_PX = 100 * 365 * 86400 * 1000  # a longer TTL would overflow Redis' clock arithmetic
GROUP = "bridge"  # the consumer group of every inbox stream


def partition_of(conversation: str, partitions: int) -> int:
    """The partition a conversation's messages go to: the same in every process (CRC-32, not
    Python's salted ``hash``)."""
    return zlib.crc32(conversation.encode("utf-8", "surrogatepass")) % partitions


def stream_name(prefix: str, namespace: str, partition: int) -> str:
    """The Redis key of one inbox partition."""
    return f"{prefix}inbox:q:{namespace}:{partition}"


def stream_of(prefix: str, id: str, conversation: str, partitions: int) -> str:
    """The stream an inbox entry goes to: its id's namespace (``"<adapter>:…"``), its conversation's
    partition."""
    return stream_name(prefix, id.partition(":")[0], partition_of(conversation, partitions))
