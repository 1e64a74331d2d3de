"""The adapter contract, checked the same way for every adapter: the kit's scenarios (``bridge.testing``).

Each adapter runs for real against its platform (:mod:`tests.contract`): the console in this process
with its streams captured (line mode), Telegram as python-telegram-bot against the fake Bot API,
Discord as discord.py against the fake REST and gateway, and the kit's own ``RecordingAdapter``.
Adapters are built as the bridge builds them, from their registered class and its ``Config``;
nothing is mocked. Telegram runs twice: in a group (streamed by edits, with a Stop button) and in a
private chat (streamed as drafts, then sent).
"""

from __future__ import annotations

import contextlib
import subprocess
import sys
from collections.abc import AsyncIterator, Callable
from pathlib import Path
from typing import Any

import pytest

from bridge import Adapter, ConversationKey, MessageRef, Stage, Text
from bridge.testing import (
    SCENARIOS,
    Hosted,
    PlatformView,
    RecordingAdapter,
    RecordingView,
    Scenario,
    final_once_when_rate_limited,
    hosted,
    streams_with_edits,
)
from tests.contract import Rig
from tests.contract.console_view import console_rig
from tests.contract.discord_view import discord_rig
from tests.contract.telegram_view import telegram_rig
from tests.fakes.telegram.bridge import GROUP, PRIVATE

ROOT = Path(__file__).resolve().parent.parent


# ----------------------------------------------------------------------------------------- recording
@contextlib.asynccontextmanager
async def recording_rig(_: Path, __: pytest.MonkeyPatch) -> AsyncIterator[tuple[Adapter, PlatformView]]:
    adapter = RecordingAdapter("mem")
    yield adapter, RecordingView(adapter)


RIGS: dict[str, Rig] = {
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

    async def edit(self, ref: MessageRef, text: Text, *, stage: Stage = "final") -> MessageRef:
        return await self.send(ConversationKey(self.name, ref.chat), text, stage=stage)


class WritesDespite429(RecordingAdapter):
    """Reports the platform's 429 after the text went out anyway: a retried send shows it twice."""

    def _fail(self, call: str) -> None:
        self.calls.append((call, ""))

    async def send(
        self, to: ConversationKey, text: Text, reply_to: MessageRef | None = None, *, stage: Stage = "final"
    ) -> MessageRef:
        ref = await super().send(to, text, reply_to, stage=stage)
        if self.fail_next:
            raise self.fail_next.pop(0)
        return ref

    async def edit(self, ref: MessageRef, text: Text, *, stage: Stage = "final") -> MessageRef:
        await super().edit(ref, text, stage=stage)
        if self.fail_next:
            raise self.fail_next.pop(0)
        return ref


class RaisesItsOwnErrors(RecordingAdapter):
    """Lets a platform library's exception out of ``edit``."""

    async def edit(self, ref: MessageRef, text: Text, *, stage: Stage = "final") -> MessageRef:
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
