"""Typed events a Gradio job (and a chat turn built on jobs) reports while it runs.

A job yields, in order: any of :class:`Queued`, :class:`Started`, :class:`ProgressUpdate`,
:class:`Log`, :class:`Heartbeat` and :class:`Output` (partial values, fully rebuilt from diffs),
then exactly one terminal event: :class:`Completed`, :class:`Cancelled` or :class:`Failed`.
:class:`SpaceStatus` is reported while a Hugging Face Space wakes up or builds.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any


@dataclass(frozen=True, slots=True)
class Queued:
    """The job waits in the app's queue: ``rank`` jobs are ahead of it (0 = next)."""

    rank: int | None
    queue_size: int | None
    eta: float | None


@dataclass(frozen=True, slots=True)
class Started:
    """The app started processing the job; ``eta`` is its estimate in seconds, if any."""

    eta: float | None


@dataclass(frozen=True, slots=True)
class ProgressStep:
    """One level of a ``gr.Progress`` report."""

    desc: str | None
    index: int | None
    length: int | None
    unit: str | None
    progress: float | None

    @property
    def fraction(self) -> float | None:
        """Completion in [0, 1] when the app reports it, else None."""
        if self.progress is not None:
            return float(self.progress)
        if self.index is not None and self.length:
            return min(1.0, self.index / self.length)
        return None


@dataclass(frozen=True, slots=True)
class ProgressUpdate:
    """A ``gr.Progress`` report; outermost level first."""

    steps: tuple[ProgressStep, ...]


@dataclass(frozen=True, slots=True)
class Log:
    """A ``gr.Info`` / ``gr.Warning`` message from the app."""

    message: str
    level: str
    title: str | None


@dataclass(frozen=True, slots=True)
class Heartbeat:
    """The server is alive; nothing else happened."""


@dataclass(frozen=True, slots=True)
class Output:
    """A partial result: the full current value of every output (diffs already applied)."""

    data: list[Any]


@dataclass(frozen=True, slots=True)
class Completed:
    """The job finished; ``data`` holds the final value of every output."""

    data: list[Any]
    duration: float | None = None


@dataclass(frozen=True, slots=True)
class Cancelled:
    """The job was cancelled (seen on the wire as a successful completion with no output)."""

    last: list[Any] | None = None


@dataclass(frozen=True, slots=True)
class Failed:
    """The job failed. ``message`` is the app's own text, unquoted; None if the app hides it."""

    message: str | None
    title: str | None = None
    unexpected: bool = False
    last: list[Any] | None = field(default=None)


@dataclass(frozen=True, slots=True)
class SpaceStatus:
    """A Hugging Face Space is not running yet: ``stage`` as the Hub reports it, ``message`` for users."""

    stage: str
    message: str


JobEvent = Queued | Started | ProgressUpdate | Log | Heartbeat | Output | Completed | Cancelled | Failed
Terminal = Completed | Cancelled | Failed
