"""The adapter contract, checked the same way for every adapter: the kit's scenarios (``bridge.testing``).

Each adapter runs for real against its platform: the console in this process with its streams
captured (line mode), Telegram as python-telegram-bot against the fake Bot API, Discord as discord.py
against the fake REST and gateway, and the kit's own ``RecordingAdapter``. Each has a view over what
its platform shows (a :class:`bridge.testing.PlatformView`), written here against the fakes' public
helpers. Adapters are built as the bridge builds them, from their registered class and its
``Config``; nothing is mocked. Telegram runs twice: in a group (streamed by edits, with a Stop
button) and in a private chat (streamed as drafts, then sent).
"""

from __future__ import annotations

import contextlib
import queue
import subprocess
import sys
from collections.abc import AsyncIterator, Callable, Mapping
from pathlib import Path
from typing import Any

import pytest

from bridge import Adapter, ConversationKey, MessageRef, Stage, registry
from bridge.testing import (
    SCENARIOS,
    Feature,
    Hosted,
    PlatformView,
    RecordingAdapter,
    RecordingView,
    Scenario,
    Shown,
    final_once_when_rate_limited,
    hosted,
    streams_with_edits,
)
from tests.fakes.discord import FakeDiscord, StoredMessage, serve_discord
from tests.fakes.discord_bridge import restore_discord_urls
from tests.fakes.telegram import FakeTelegram, serve_telegram
from tests.fakes.telegram_bridge import GROUP, PRIVATE

ROOT = Path(__file__).resolve().parent.parent
Rig = contextlib.AbstractAsyncContextManager[tuple[Adapter, PlatformView]]


def build(type_name: str, name: str, table: dict[str, Any], secret: str = "") -> Adapter:
    """The adapter of an ``[adapters.NAME]`` table, built as ``bridge serve`` builds it."""
    cls = registry.adapter_class(type_name)
    config = cls.Config.model_validate({"type": type_name, "space": "app", **table})
    adapter: Adapter = cls(name, config, lambda _env: secret)
    return adapter


# ------------------------------------------------------------------------------------------- console
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


# ------------------------------------------------------------------------------------------ telegram
class TelegramView:
    """One chat of the fake Bot API: the bot's text messages (inline buttons: ``⏹ Stop`` and the
    quick replies), its drafts, the files it sent, ``sendChatAction`` calls and error answers."""

    def __init__(self, fake: FakeTelegram, chat: int) -> None:
        self.fake, self.chat = fake, chat
        self.key = ConversationKey("tg", str(chat))
        self.lacks: Mapping[Feature, str] = (
            {"stop": "a draft shows no Stop button (the fake Bot API predates 10.3's can_stop)"}
            if chat > 0
            else {}
        )

    @staticmethod
    def _buttons(markup: Any) -> list[dict[str, Any]]:
        return [b for row in (markup or {}).get("inline_keyboard", []) for b in row]

    def messages(self) -> list[Shown]:
        out = []
        for m in self.fake.sent(self.chat):
            if m.deleted or m.media:
                continue
            buttons = self._buttons(m.reply_markup)
            stop = any(b["text"].endswith("Stop") for b in buttons)
            labels = tuple(b["text"] for b in buttons if not b["text"].endswith("Stop"))
            out.append(Shown(m.text or "", len(m.edits), labels, stop))
        return out

    def previews(self) -> list[str]:
        latest = {d.draft_id: d.text for d in self.fake.drafts if d.chat_id == self.chat}
        return list(latest.values())

    def files(self) -> list[tuple[str | None, bytes]]:
        sent = [f for f in self.fake.sent_files if f.chat_id == self.chat]
        return [(None if f.kind == "photo" else f.name, f.data) for f in sent]

    def typing(self) -> int:
        calls = self.fake.calls_to("sendChatAction")
        return sum(p.get("chat_id") == self.chat and p.get("action") == "typing" for p in calls)

    def rate_limited(self) -> int:
        return self.fake.count_429

    def refusals(self) -> list[str]:
        return [f"{method}: {status} {text}" for method, status, text in self.fake.errors if status != 429]

    async def rate_limit_next(self) -> None:
        for method in ("sendMessage", "editMessageText"):
            self.fake.fail_next(method, 429, retry_after=1)

    def _press(self, ref: MessageRef, pick: Callable[[str], bool]) -> None:
        msg = self.fake.messages[self.chat][int(ref.id)]
        data = next(b["callback_data"] for b in self._buttons(msg.reply_markup) if pick(b["text"]))
        self.fake.push_callback(self.chat, msg.message_id, data)

    async def press(self, ref: MessageRef, label: str) -> None:
        self._press(ref, lambda text: text == label)

    async def stop(self, ref: MessageRef) -> None:
        self._press(ref, lambda text: text.endswith("Stop"))


def telegram_rig(chat: int) -> Callable[[Path, pytest.MonkeyPatch], Rig]:
    @contextlib.asynccontextmanager
    async def rig(_: Path, __: pytest.MonkeyPatch) -> AsyncIterator[tuple[Adapter, PlatformView]]:
        fake = FakeTelegram()
        fake.add_chat(chat)
        async with serve_telegram(fake) as url:
            table = {
                "token_env": "TG_TOKEN",
                "api_base_url": f"{url}/bot",
                "file_base_url": f"{url}/file/bot",
                "poll_timeout_s": 1,
            }
            yield build("telegram", "tg", table, fake.token), TelegramView(fake, chat)

    return rig


# ------------------------------------------------------------------------------------------- discord
class DiscordView:
    """#general of the fake Discord: the bot's text messages (buttons: ``Stop`` and the quick
    replies), the files it uploaded there, typing calls and error answers."""

    lacks: Mapping[Feature, str] = {}

    def __init__(self, fake: FakeDiscord) -> None:
        self.fake = fake
        self.key = ConversationKey("dc", fake.channel_id)

    def _mine(self) -> list[StoredMessage]:
        return [m for m in self.fake.channel_messages(self.fake.channel_id) if m.from_bot and not m.deleted]

    @staticmethod
    def _buttons(msg: StoredMessage) -> list[dict[str, Any]]:
        return [c for row in msg.components for c in row.get("components", []) if c["type"] == 2]

    def messages(self) -> list[Shown]:
        out = []
        for m in self._mine():
            if m.attachments and not m.content:
                continue
            labels = [str(b.get("label")) for b in self._buttons(m)]
            choices = tuple(label for label in labels if label != "Stop")
            out.append(Shown(m.content, len(m.edits), choices, "Stop" in labels))
        return out

    def previews(self) -> list[str]:
        return []

    def files(self) -> list[tuple[str | None, bytes]]:
        return [(f.filename, f.data) for m in self._mine() for f in m.attachments]

    def typing(self) -> int:
        return self.fake.typing_calls.count(self.fake.channel_id)

    def rate_limited(self) -> int:
        return self.fake.count_429

    def refusals(self) -> list[str]:
        return [f"{e.method} {e.route}: {e.status} {e.message}" for e in self.fake.errors if e.status != 429]

    async def rate_limit_next(self) -> None:
        # A proper 429 (discord.py waits it out), then one without Discord's body (it raises at once).
        for route in ("create_message", "edit_message"):
            self.fake.fail_next(route, 429)
            self.fake.fail_next(route, 429, body="<html>rate limited</html>")

    async def _press(self, ref: MessageRef, pick: Callable[[str], bool]) -> None:
        msg = self.fake.messages[ref.id]
        custom_id = next(b["custom_id"] for b in self._buttons(msg) if pick(str(b.get("label"))))
        await self.fake.push_component(custom_id, ref.id)

    async def press(self, ref: MessageRef, label: str) -> None:
        await self._press(ref, lambda text: text == label)

    async def stop(self, ref: MessageRef) -> None:
        await self._press(ref, lambda text: text == "Stop")


@contextlib.asynccontextmanager
async def discord_rig(
    _: Path, monkeypatch: pytest.MonkeyPatch
) -> AsyncIterator[tuple[Adapter, PlatformView]]:
    restore_discord_urls(monkeypatch)
    fake = FakeDiscord()
    async with serve_discord(fake) as url:
        table = {"token_env": "DC_TOKEN", "api_base_url": f"{url}/api/v10", "gateway_url": fake.gateway_url}
        yield build("discord", "dc", table, fake.token), DiscordView(fake)


# ----------------------------------------------------------------------------------------- recording
@contextlib.asynccontextmanager
async def recording_rig(_: Path, __: pytest.MonkeyPatch) -> AsyncIterator[tuple[Adapter, PlatformView]]:
    adapter = RecordingAdapter("mem")
    yield adapter, RecordingView(adapter)


RIGS: dict[str, Callable[[Path, pytest.MonkeyPatch], Rig]] = {
    "recording": recording_rig,
    "console": console_rig,
    "telegram": telegram_rig(GROUP),
    "telegram-private": telegram_rig(PRIVATE),
    "discord": discord_rig,
}
# A scenario that finds a contract bug in an adapter is marked here: (scenario, rig) → the failure.
KNOWN_BUGS: dict[tuple[str, str], str] = {}


def cases() -> list[Any]:
    return [
        pytest.param(
            scenario,
            rig,
            id=f"{scenario.__name__}-{rig}",
            marks=[pytest.mark.xfail(strict=True, reason=reason)]
            if (reason := KNOWN_BUGS.get((scenario.__name__, rig)))
            else [],
        )
        for scenario in SCENARIOS
        for rig in RIGS
    ]


@pytest.mark.parametrize(("scenario", "rig"), cases())
async def test_contract(
    scenario: Scenario, rig: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    async with RIGS[rig](tmp_path, monkeypatch) as (adapter, view), hosted(adapter) as bot:
        await scenario(bot, view)


class PostsOnEdit(RecordingAdapter):
    """Edits by posting a new message and returning its handle: the old message stays."""

    async def edit(self, ref: MessageRef, text: str, *, stage: Stage = "final") -> MessageRef:
        return await self.send(ConversationKey(self.name, ref.chat), text, stage=stage)


class WritesDespite429(RecordingAdapter):
    """Reports the platform's 429 after the text went out anyway: a retried send shows it twice."""

    def _fail(self, call: str) -> None:
        self.calls.append((call, ""))

    async def send(
        self, to: ConversationKey, text: str, reply_to: MessageRef | None = None, *, stage: Stage = "final"
    ) -> MessageRef:
        ref = await super().send(to, text, reply_to, stage=stage)
        if self.fail_next:
            raise self.fail_next.pop(0)
        return ref

    async def edit(self, ref: MessageRef, text: str, *, stage: Stage = "final") -> MessageRef:
        await super().edit(ref, text, stage=stage)
        if self.fail_next:
            raise self.fail_next.pop(0)
        return ref


class RaisesItsOwnErrors(RecordingAdapter):
    """Lets a platform library's exception out of ``edit``."""

    async def edit(self, ref: MessageRef, text: str, *, stage: Stage = "final") -> MessageRef:
        raise ValueError("HTTP 400 from the platform library")


@pytest.mark.parametrize(
    ("broken", "scenario", "complaint"),
    [
        (PostsOnEdit, streams_with_edits, r"streaming: one reply, \d messages"),
        (WritesDespite429, final_once_when_rate_limited, "is shown 2 times, not once"),
        (RaisesItsOwnErrors, streams_with_edits, "raised ValueError.*bridge.errors types"),
    ],
    ids=lambda v: getattr(v, "__name__", ""),
)
async def test_the_kit_fails_a_broken_adapter_readably(
    broken: type[RecordingAdapter], scenario: Callable[[Hosted, PlatformView], Any], complaint: str
) -> None:
    adapter = broken("mem")
    async with hosted(adapter) as bot:
        with pytest.raises(AssertionError, match=complaint):
            await scenario(bot, RecordingView(adapter))


def test_the_kit_loads_neither_the_relay_nor_httpx() -> None:
    code = (
        "import sys, bridge.testing\n"
        "heavy = ('httpx', 'bridge.gradio', 'bridge.turn', 'bridge.app', 'bridge.router', 'tests')\n"
        "loaded = [m for m in heavy if m in sys.modules]\n"
        "assert not loaded, loaded"
    )
    result = subprocess.run(
        [sys.executable, "-c", code], check=False, capture_output=True, text=True, cwd=ROOT
    )
    assert result.returncode == 0, result.stderr
