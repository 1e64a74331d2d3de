"""The console adapter in this process, in line mode, its streams captured."""

from __future__ import annotations

import contextlib
import queue
import sys
from collections.abc import AsyncIterator, Mapping
from pathlib import Path

import pytest

from bridge import Adapter, ConversationKey, MessageRef
from bridge.testing import Feature, PlatformView, Shown
from tests.contract import build


class Keyboard:
    """The console's stdin: lines typed by the test, read by the adapter's reader thread."""

    def __init__(self) -> None:
        self._lines: queue.Queue[str] = queue.Queue()

    def type(self, line: str) -> None:
        self._lines.put(line + "\n")

    def readline(self) -> str:
        return self._lines.get()

    def isatty(self) -> bool:
        return False

    def close(self) -> None:
        self._lines.put("")  # end of input: the reader thread returns


class Terminal:
    """stdout or stderr, every write kept in order in one log shared by both."""

    def __init__(self, log: list[tuple[str, str]], name: str) -> None:
        self.log, self.name = log, name

    def write(self, text: str) -> int:
        self.log.append((self.name, text))
        return len(text)

    def flush(self) -> None:
        pass

    def isatty(self) -> bool:
        return False


class ConsoleView:
    """The terminal in line mode: each write to stdout is one message (final text only); the choices
    line on stderr (``[choices: [1] Yes  [2] No (type the number)]``) belongs to the message before it;
    typing a number picks a choice. Files are those saved in ``files_dir``."""

    lacks: Mapping[Feature, str] = {
        "edits": "line mode prints each final text once; an edit is not shown as such",
        "partials": "line mode prints final text only",
        "typing": "a terminal has no typing indicator",
        "rate_limits": "a terminal has no rate limits",
        "stop": "the console has no stop gesture (/stop is typed as text and parsed by the core)",
    }

    def __init__(self, name: str, keyboard: Keyboard, log: list[tuple[str, str]], files: Path) -> None:
        self.key = ConversationKey(name, "console")
        self.keyboard, self.log, self.files_dir = keyboard, log, files

    def _choices(self) -> list[tuple[int, tuple[str, ...]]]:
        """(index of the message, labels) of each choices line."""
        out, count = [], 0
        for stream, text in self.log:
            count += stream == "stdout"
            if stream == "stderr" and text.startswith("[choices: "):
                listed = text.removeprefix("[choices: ").rsplit(" (type the number)]", 1)[0]
                labels = [part.split("] ", 1)[1] for part in listed.split("  ") if "] " in part]
                out.append((count - 1, tuple(labels)))
        return out

    def messages(self) -> list[Shown]:
        labels = dict(self._choices())
        texts = [text.rstrip("\n") for stream, text in self.log if stream == "stdout"]
        return [Shown(t, choices=labels.get(i, ())) for i, t in enumerate(texts)]

    def previews(self) -> list[str]:
        return []

    def files(self) -> list[tuple[str | None, bytes]]:
        found = sorted(self.files_dir.iterdir()) if self.files_dir.exists() else []
        return [(p.name, p.read_bytes()) for p in found]

    def typing(self) -> int:
        return 0

    def rate_limited(self) -> int:
        return 0

    def refusals(self) -> list[str]:
        return []

    async def rate_limit_next(self) -> None:
        raise AssertionError("a terminal has no rate limits")

    async def press(self, ref: MessageRef, label: str) -> None:
        _, labels = self._choices()[-1]  # a number picks from the newest list
        self.keyboard.type(str(labels.index(label) + 1))

    async def stop(self, ref: MessageRef) -> None:
        raise AssertionError("the console has no stop gesture")


@contextlib.asynccontextmanager
async def console_rig(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> AsyncIterator[tuple[Adapter, PlatformView]]:
    keyboard, log = Keyboard(), []
    for name in ("stdout", "stderr"):
        monkeypatch.setattr(sys, name, Terminal(log, name))
    monkeypatch.setattr(sys, "stdin", keyboard)
    files = tmp_path / "out"
    adapter = build("console", "term", {"files_dir": str(files)})
    try:
        yield adapter, ConsoleView("term", keyboard, log, files)
    finally:
        keyboard.close()
