"""A kit for testing adapters and the code that drives them, shipped with the package.

Two parts, as aiogram ships ``MockedSession`` and httpx ``MockTransport``:

* :class:`RecordingAdapter`: a complete in-memory adapter that records every call, for tests of
  the relay core (see :mod:`bridge.testing.recording` for an example).
* **Contract scenarios** (:data:`SCENARIOS`, in :mod:`bridge.testing.scenarios`): async checks that
  any adapter must pass against its platform. Streaming with edits, a split long reply, the final
  text exactly once under rate limits, files, typing, quick replies and Stop.

Importing this package loads only the contract (:mod:`bridge.adapter`), the streamer and pydantic:
neither httpx, the Gradio client nor the relay.

Running the kit against a new adapter
-------------------------------------
1. **Serve the platform.** Start a fake of it at its network seam on 127.0.0.1 port 0 (as
   ``tests/fakes/`` does for Telegram and Discord), or use a test account on the real platform.
2. **Build the adapter** as the bridge does, ``cls(name, cls.Config(...), secret)``, pointed at the fake
   (a base URL in its config).
3. **Write its view**: a class with the members of :class:`PlatformView` that reads the fake's state
   for one chat: the bot's messages as :class:`Shown` values (displayed text, edit count, quick-reply
   labels, a stop control), drafts, files, "typing…" count, 429s and other error answers. Its
   actions make the fake refuse the next send and edit with 429, press a quick reply, press Stop.
   Name what the platform cannot do in ``lacks`` (``{"stop": "no stop button"}``); those scenarios
   are then skipped with that reason. :class:`RecordingView` is a complete small example.
4. **Run every scenario** with the adapter running against a recording host (:func:`hosted`)::

       import pytest
       from bridge.testing import SCENARIOS, Scenario, hosted

       @pytest.mark.parametrize("scenario", SCENARIOS, ids=lambda s: s.__name__)
       async def test_contract(scenario: Scenario) -> None:
           async with serve_my_fake() as fake:
               adapter = MyAdapter("my", MyAdapter.Config(type="my", space="app", api_url=fake.url), secret)
               async with hosted(adapter) as bot:
                   await scenario(bot, MyView(fake, chat="42"))

   ``hosted`` waits for ``host.ready()``, records what reaches ``host.deliver`` (``bot.delivered``) and
   cancels ``run`` at the end. Scenarios poll the view (every 10 ms, at most 30 s) and use the real
   clock, so a platform's own pacing (one edit a second) is kept, not faked.

A failing scenario says which promise of the contract was broken and what the chat showed.
"""

from __future__ import annotations

from bridge.testing.hosting import Hosted, eventually, hosted
from bridge.testing.recording import RecordingAdapter, RecordingConfig, RecordingView, Sent
from bridge.testing.scenarios import (
    SCENARIOS,
    Scenario,
    files_arrive,
    final_once_when_rate_limited,
    long_reply_splits,
    quick_replies,
    stop_gesture,
    streams_with_edits,
    typing_shows_and_ends,
)
from bridge.testing.view import Feature, PlatformView, Shown

__all__ = [
    "SCENARIOS",
    "Feature",
    "Hosted",
    "PlatformView",
    "RecordingAdapter",
    "RecordingConfig",
    "RecordingView",
    "Scenario",
    "Sent",
    "Shown",
    "eventually",
    "files_arrive",
    "final_once_when_rate_limited",
    "hosted",
    "long_reply_splits",
    "quick_replies",
    "stop_gesture",
    "streams_with_edits",
    "typing_shows_and_ends",
]
