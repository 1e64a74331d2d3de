"""Process metrics in the Prometheus text format, served at ``GET /metrics`` on ``[bridge].http``.

A deliberately small registry (no dependency): counters, gauges and histograms with fixed label
names, created once at import in this module and updated by the core. :func:`render` writes the
text exposition format (version 0.0.4). Label values are adapter names and fixed words, never
user data, so the set of series stays small.
"""

from __future__ import annotations

import math
import threading
from collections.abc import Sequence

_INF = 'le="+Inf"'
_BUCKETS = (0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0, 60.0, 120.0, 300.0)


class _Metric:
    kind = ""

    def __init__(self, name: str, help_text: str, labels: Sequence[str] = ()) -> None:
        self.name, self.help, self.labels = name, help_text, tuple(labels)
        self._lock = threading.Lock()
        REGISTRY.append(self)

    def _key(self, values: Sequence[str]) -> tuple[str, ...]:
        if len(values) != len(self.labels):
            raise ValueError(f"{self.name} takes labels {self.labels}, got {tuple(values)}")
        return tuple(values)

    def _labels(self, key: tuple[str, ...], extra: str = "") -> str:
        pairs = [f'{n}="{_escape(v)}"' for n, v in zip(self.labels, key, strict=True)]
        if extra:
            pairs.append(extra)
        return "{" + ",".join(pairs) + "}" if pairs else ""

    def lines(self) -> list[str]:
        return [f"# HELP {self.name} {self.help}", f"# TYPE {self.name} {self.kind}", *self._samples()]

    def _samples(self) -> list[str]:
        raise NotImplementedError


class Counter(_Metric):
    """A count that only goes up."""

    kind = "counter"

    def __init__(self, name: str, help_text: str, labels: Sequence[str] = ()) -> None:
        super().__init__(name, help_text, labels)
        self._values: dict[tuple[str, ...], float] = {}

    def inc(self, *labels: str, by: float = 1.0) -> None:
        key = self._key(labels)
        with self._lock:
            self._values[key] = self._values.get(key, 0.0) + by

    def value(self, *labels: str) -> float:
        return self._values.get(self._key(labels), 0.0)

    def _samples(self) -> list[str]:
        return [f"{self.name}{self._labels(k)} {_num(v)}" for k, v in sorted(self._values.items())]


class Gauge(Counter):
    """A value that goes up and down."""

    kind = "gauge"

    def dec(self, *labels: str, by: float = 1.0) -> None:
        self.inc(*labels, by=-by)

    def set(self, value: float, *labels: str) -> None:
        key = self._key(labels)
        with self._lock:
            self._values[key] = value


class Histogram(_Metric):
    """Observations counted into cumulative buckets, with their sum and count."""

    kind = "histogram"

    def __init__(
        self, name: str, help_text: str, labels: Sequence[str] = (), buckets: Sequence[float] = _BUCKETS
    ) -> None:
        super().__init__(name, help_text, labels)
        self.buckets = tuple(sorted(buckets))
        self._series: dict[tuple[str, ...], list[float]] = {}  # bucket counts..., sum, count

    def observe(self, seconds: float, *labels: str) -> None:
        key = self._key(labels)
        with self._lock:
            row = self._series.setdefault(key, [0.0] * (len(self.buckets) + 2))
            for i, bound in enumerate(self.buckets):
                if seconds <= bound:
                    row[i] += 1
            row[-2] += seconds
            row[-1] += 1

    def count(self, *labels: str) -> int:
        row = self._series.get(self._key(labels))
        return int(row[-1]) if row else 0

    def _samples(self) -> list[str]:
        out = []
        for key, row in sorted(self._series.items()):
            for bound, n in zip(self.buckets, row, strict=False):
                le = 'le="' + _num(bound) + '"'
                out.append(f"{self.name}_bucket{self._labels(key, le)} {_num(n)}")
            out.append(f"{self.name}_bucket{self._labels(key, _INF)} {_num(row[-1])}")
            out.append(f"{self.name}_sum{self._labels(key)} {_num(row[-2])}")
            out.append(f"{self.name}_count{self._labels(key)} {_num(row[-1])}")
        return out


def render() -> str:
    """Every metric in the Prometheus text format."""
    return "\n".join(line for metric in REGISTRY for line in metric.lines()) + "\n"


def _escape(value: str) -> str:
    return value.replace("\\", "\\\\").replace("\n", "\\n").replace('"', '\\"')


def _num(value: float) -> str:
    if math.isinf(value):
        return "+Inf" if value > 0 else "-Inf"
    return str(int(value)) if float(value).is_integer() else repr(value)


REGISTRY: list[_Metric] = []
CONTENT_TYPE = "text/plain; version=0.0.4; charset=utf-8"

MESSAGES = Counter("bridge_messages_total", "Messages adapters delivered to the bridge.", ["adapter"])
REFUSED = Counter(
    "bridge_refused_total", "Messages refused by access rules or per-user limits.", ["adapter", "reason"]
)
TURNS = Counter(
    "bridge_turns_total",
    "Chat turns by outcome (done, stopped, failed, interrupted).",
    ["adapter", "outcome"],
)
TURNS_RUNNING = Gauge("bridge_turns_running", "Chat turns running now.", ["adapter"])
TURN_SECONDS = Histogram("bridge_turn_seconds", "From a turn's start to its final text.", ["adapter"])
FIRST_TEXT_SECONDS = Histogram(
    "bridge_first_text_seconds", "From a turn's start to the first reply text from the app.", ["adapter"]
)
PLATFORM_CALLS = Counter(
    "bridge_platform_calls_total",
    "Sends and edits on the platform by result (ok, rate_limited, error).",
    ["adapter", "call", "result"],
)
INBOX = Counter(
    "bridge_inbox_total",
    "Durable inbox events (recorded, duplicate, resumed, buffered while the store was down, refused, "
    "taken_over from a replica that stopped).",
    ["adapter", "event"],
)
INBOX_DEPTH = Gauge(
    "bridge_inbox_depth",
    "Shared inbox: messages not yet answered in the partitions this process holds.",
    ["adapter"],
)
INBOX_PARTITIONS = Gauge(
    "bridge_inbox_partitions", "Shared inbox: partitions this process holds.", ["adapter"]
)
STORE_UP = Gauge("bridge_store_up", "1 while the state store answers, 0 during an outage.")
STORE_UP.set(1)
