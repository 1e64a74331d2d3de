"""Gradio wire format: SSE frames, diff ops, and queue messages → typed events.

Pure functions and one small per-event decoder; no I/O. Version differences handled here:
gradio 4 quotes ``gr.Error`` messages (``"'boom'"``) and sends no ``title``; 5 and 6 do not quote.
"""

from __future__ import annotations

import ast
import copy
import json
from collections.abc import AsyncIterator
from typing import Any

from bridge.errors import ProtocolError
from bridge.gradio.events import (
    Cancelled,
    Completed,
    Failed,
    Heartbeat,
    JobEvent,
    Log,
    Output,
    ProgressStep,
    ProgressUpdate,
    Queued,
    Started,
)


async def iter_sse(lines: AsyncIterator[str]) -> AsyncIterator[dict[str, Any]]:
    """Yield the JSON object of every ``data:`` frame in an SSE line stream.

    Multi-line data fields are joined with newlines, per the SSE spec. A frame whose data is not a
    JSON object (gradio's heartbeat route sends ``ALIVE``) is skipped.
    """
    buf: list[str] = []
    async for line in lines:
        if line == "":
            if buf:
                frame = _decode("\n".join(buf))
                buf.clear()
                if frame is not None:
                    yield frame
            continue
        if line.startswith("data:"):
            buf.append(line[5:].removeprefix(" "))
    if buf:
        frame = _decode("\n".join(buf))
        if frame is not None:
            yield frame


def _decode(raw: str) -> dict[str, Any] | None:
    try:
        value = json.loads(raw)
    except json.JSONDecodeError:
        return None
    return value if isinstance(value, dict) else None


def apply_diff(value: Any, ops: list[Any]) -> Any:
    """Apply gradio diff ops ``[[op, path, value], …]`` to ``value`` and return the new value.

    Ops are ``replace``, ``append``, ``add`` and ``delete``; ``path`` is a list of keys or indices
    (``[]`` = the whole value). ``value`` is never modified: the containers along each op's path
    are copied (shallowly) and everything else is shared, so a frame costs the size of that path,
    not of the whole value, and earlier values stay valid.
    """
    for op in ops:
        if not isinstance(op, list) or len(op) != 3:
            raise ProtocolError(f"malformed diff op {op!r}")
        action, path, new = op
        value = _apply_one(value, list(path), action, new)
    return value


def _apply_one(target: Any, path: list[Any], action: str, new: Any) -> Any:
    if not path:
        return _edit_whole(target, action, new)
    root = parent = _shallow(target)
    for key in path[:-1]:
        child = _shallow(parent[key])
        parent[key] = child
        parent = child
    last = path[-1]
    if action == "replace":
        parent[last] = new
    elif action == "append":
        parent[last] = parent[last] + new
    elif action == "add":
        if isinstance(parent, list):
            parent.insert(int(last), new)
        else:
            parent[last] = new
    elif action == "delete":
        del parent[int(last) if isinstance(parent, list) else last]
    else:
        raise ProtocolError(f"unknown diff op {action!r}")
    return root


def _shallow(value: Any) -> Any:
    """A copy of a list or dict (its items shared); other values as they are."""
    if isinstance(value, list):
        return list(value)
    if isinstance(value, dict):
        return dict(value)
    return value


def _edit_whole(target: Any, action: str, new: Any) -> Any:
    if action == "replace":
        return new
    if action == "append":
        return new if target is None else target + new
    if action == "delete":
        return None
    if action == "add":
        return new
    raise ProtocolError(f"unknown diff op {action!r}")


def unquote_error(message: Any, major: int) -> str | None:
    """Return the app's error text as the user wrote it; gradio 4 sends ``repr(message)``."""
    if message is None:
        return None
    text = str(message)
    if major < 5 and len(text) >= 2 and text[0] == text[-1] and text[0] in "'\"":
        try:
            parsed = ast.literal_eval(text)
        except (ValueError, SyntaxError):
            return text
        return parsed if isinstance(parsed, str) else text
    return text


class EventDecoder:
    """Turns the queue messages of one event into typed events, rebuilding values from diffs.

    The first ``process_generating`` of an event carries full values, later ones carry one diff
    list per output, and ``process_completed`` carries full values again (PROTOCOL.md §3.4).
    """

    def __init__(self, major: int) -> None:
        self._major = major
        self._values: list[Any] | None = None
        self._unknown: set[int] = set()

    @property
    def last(self) -> list[Any] | None:
        """The newest rebuilt output values (a deep copy), None before the first output."""
        return copy.deepcopy(self._values) if self._values is not None else None

    def decode(self, msg: dict[str, Any]) -> JobEvent | None:
        """Return the event for one message of this event id, or None for messages to ignore."""
        kind = msg.get("msg")
        if kind == "estimation":
            return Queued(rank=msg.get("rank"), queue_size=msg.get("queue_size"), eta=msg.get("rank_eta"))
        if kind == "process_starts":
            return Started(eta=msg.get("eta"))
        if kind in ("process_generating", "process_streaming"):
            return self._generating(msg)
        if kind == "process_completed":
            return self._completed(msg)
        if kind == "progress":
            return ProgressUpdate(tuple(_step(s) for s in msg.get("progress_data") or []))
        if kind == "log":
            return Log(
                message=str(msg.get("log", "")), level=str(msg.get("level", "info")), title=msg.get("title")
            )
        if kind == "heartbeat":
            return Heartbeat()
        if kind == "unexpected_error":
            return Failed(
                message=str(msg.get("message") or "the app stopped unexpectedly"),
                unexpected=True,
                last=self.last,
            )
        return None

    def _generating(self, msg: dict[str, Any]) -> Output | None:
        output = msg.get("output") or {}
        data = output.get("data")
        if not isinstance(data, list):
            return None
        if self._values is None:
            self._values = [self._first(i, value) for i, value in enumerate(data)]
        else:
            if len(data) != len(self._values):
                raise ProtocolError("a streamed update does not match the number of outputs")
            self._values = [
                self._next(i, old, ops) for i, (old, ops) in enumerate(zip(self._values, data, strict=True))
            ]
        # Diffs never modify a value in place (apply_diff copies along its paths), so the frame can
        # share structure with the next one instead of deep-copying the whole conversation.
        return Output(data=list(self._values))

    def _first(self, index: int, value: Any) -> Any:
        """The first frame should carry a full value, but gradio servers keep the diff base per
        ``(session, id(iterator))``: after an event of the session failed or was cancelled mid-stream,
        a new generator that reuses the old iterator's id gets diffs against the dead event's last
        value. Such an output stays unknown (None) until a whole-value replace or the final frame."""
        if not _looks_like_ops(value):
            return value
        return self._recover(index, value)

    def _next(self, index: int, old: Any, ops: Any) -> Any:
        if not isinstance(ops, list):
            return ops
        if index in self._unknown:
            return self._recover(index, ops)
        try:
            return apply_diff(old, ops)
        except (ProtocolError, TypeError, KeyError, IndexError, AttributeError, ValueError):
            return self._recover(index, ops)

    def _recover(self, index: int, ops: list[Any]) -> Any:
        last_root = max((i for i, op in enumerate(ops) if _is_root_replace(op)), default=None)
        if last_root is not None:
            try:
                value = apply_diff(copy.deepcopy(ops[last_root][2]), ops[last_root + 1 :])
            except (ProtocolError, TypeError, KeyError, IndexError, AttributeError, ValueError):
                pass
            else:
                self._unknown.discard(index)
                return value
        self._unknown.add(index)
        return None

    def _completed(self, msg: dict[str, Any]) -> JobEvent:
        output = msg.get("output")
        output = output if isinstance(output, dict) else {}
        if not msg.get("success", False):
            title = output.get("title", msg.get("title"))
            return Failed(
                message=unquote_error(output.get("error"), self._major),
                title=title if isinstance(title, str) else None,
                last=self.last,
            )
        if "data" not in output:
            return Cancelled(last=self.last)
        data = output.get("data")
        if not isinstance(data, list):
            raise ProtocolError("a completed event carries no output list")
        self._values = data
        self._unknown.clear()
        duration = output.get("duration")
        return Completed(data=data, duration=float(duration) if isinstance(duration, int | float) else None)


_OPS = ("replace", "append", "add", "delete")


def _looks_like_ops(value: Any) -> bool:
    return (
        isinstance(value, list)
        and bool(value)
        and all(
            isinstance(op, list) and len(op) == 3 and op[0] in _OPS and isinstance(op[1], list)
            for op in value
        )
    )


def _is_root_replace(op: Any) -> bool:
    return isinstance(op, list) and len(op) == 3 and op[0] == "replace" and op[1] == []


def _step(raw: Any) -> ProgressStep:
    d = raw if isinstance(raw, dict) else {}
    return ProgressStep(
        desc=d.get("desc"),
        index=d.get("index"),
        length=d.get("length"),
        unit=d.get("unit"),
        progress=d.get("progress"),
    )
