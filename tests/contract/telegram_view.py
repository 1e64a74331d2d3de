"""The Telegram adapter (python-telegram-bot) against the fake Bot API."""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator, Callable, Mapping
from pathlib import Path
from typing import Any

import pytest

from bridge import Adapter, ConversationKey, MessageRef
from bridge.testing import Feature, PlatformView, Shown
from tests.contract import Rig, build
from tests.fakes.telegram import FakeTelegram, serve_telegram


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


def telegram_rig(chat: int) -> Rig:
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
