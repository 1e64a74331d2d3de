"""The contract scenarios: reusable async checks of one adapter against what its platform shows.

Each is ``async def scenario(bot: Hosted, view: PlatformView) -> None``: ``bot`` is the adapter
running against a recording host (:func:`~bridge.testing.hosted`), ``view`` its platform seen from
one chat. A scenario states its contract in its docstring, fails with an ``AssertionError`` that says
what the platform showed, and raises ``unittest.SkipTest`` (which pytest and unittest report as a
skip) when the view lacks a feature it needs. Texts are plain words, which every platform renders as
themselves, so what is shown can be compared with what was sent.
"""

from __future__ import annotations

import asyncio
import functools
import struct
import tempfile
import unittest
import zlib
from collections.abc import Awaitable, Callable, Sequence
from pathlib import Path

from bridge.adapter import Capabilities
from bridge.errors import RateLimited
from bridge.model import Choice, LocalFile
from bridge.streamer import Streamer
from bridge.testing.hosting import Hosted, eventually
from bridge.testing.probes import Tap, cut, expect, tasks_started
from bridge.testing.view import Feature, PlatformView, Shown
from bridge.text import Text

Scenario = Callable[[Hosted, PlatformView], Awaitable[None]]
PARTIALS = ("Once", "Once upon a time", "Once upon a time, there was a bridge")
FINAL = "Once upon a time, there was a bridge between two chat rooms."
CHOICES = (Choice("yes please", "Yes"), Choice("no thanks", "No"))


def _brief(view: PlatformView) -> str:
    shown = ", ".join(cut(m.text) for m in view.messages()) or "no messages"
    previews = f"; previews {', '.join(cut(p) for p in view.previews())}" if view.previews() else ""
    return f"the chat shows {shown}{previews}"


def _showing(view: PlatformView, text: str) -> bool:
    texts = [m.text for m in view.messages()] + list(view.previews())
    return any(t.strip() == text.strip() for t in texts)


def _unshown(view: PlatformView, text: str, scenario: str) -> str:
    return f"{scenario}: {cut(text)} was never shown; {_brief(view)}"


def _skip_without(view: PlatformView, *features: Feature) -> None:
    for feature in features:
        if feature in view.lacks:
            raise unittest.SkipTest(f"{type(view).__name__} lacks {feature}: {view.lacks[feature]}")


def _once(view: PlatformView, text: str, scenario: str) -> Shown:
    same = [m for m in view.messages() if m.text.strip() == text.strip()]
    expect(len(same) == 1, f"{scenario}: {cut(text)} is shown {len(same)} times, not once; {_brief(view)}")
    return same[0]


def _within_limits(view: PlatformView, scenario: str) -> None:
    limited, refused = view.rate_limited(), list(view.refusals())
    expect(not limited, f"{scenario}: the platform answered 'too many requests' {limited} times unasked")
    expect(not refused, f"{scenario}: the platform refused calls: {refused}")


async def _stream(tap: Tap, streamer: Streamer, view: PlatformView, texts: Sequence[str], what: str) -> None:
    """Start ``streamer`` and show each of ``texts`` in turn, waiting until its call succeeded (and,
    where the platform shows partial text, until it is shown)."""
    await streamer.start()
    for text in texts:
        streamer.update(Text.of(text))
        await eventually(functools.partial(tap.done, text), f"{what}: no call showing {cut(text)} worked")
        if "partials" not in view.lacks:
            shown = functools.partial(_showing, view, text)
            await eventually(shown, functools.partial(_unshown, view, text, what))


async def streams_with_edits(bot: Hosted, view: PlatformView) -> None:
    """Streaming: a reply streamed through a Streamer ends as its final text, shown once.

    The streamer posts a placeholder (or the first text) and edits it with three partial texts, one
    at a time, then the final text. Every call returns a ``MessageRef``, and the streamer keeps the
    last one returned; the chat then shows exactly the reply's one message, with the final text and
    no stop control; no message was edited more often than it had texts; the platform never had to
    answer "too many requests" or refuse a call (its rate limits and text limits were kept).
    """
    tap = Tap(bot.adapter)
    streamer = Streamer(tap, view.key, bot.adapter.capabilities)
    try:
        await _stream(tap, streamer, view, PARTIALS, "streaming")
        refs = await streamer.finish(Text.of(FINAL))
    finally:
        await streamer.aclose()
    edits = [c for c in tap.calls if c.kind == "edit" and c.ref is not None]
    expect(len(edits) >= len(PARTIALS), f"streaming: {len(edits)} edits made for {len(PARTIALS)} partials")
    last = tap.returned()[-1]
    expect(refs == [last], f"streaming: the streamer keeps {refs}, the adapter last returned {last}")
    messages = view.messages()
    expect(len(messages) == 1, f"streaming: one reply, {len(messages)} messages; {_brief(view)}")
    shown = _once(view, FINAL, "streaming")
    expect(not shown.stop, "streaming: the final text still shows a stop control")
    expect(shown.edits <= len(PARTIALS) + 1, f"streaming: {shown.edits} edits for {len(PARTIALS) + 2} texts")
    _within_limits(view, "streaming")


def _long_text(caps: Capabilities) -> str:
    """Plain words (with an emoji each: 2 UTF-16 units, 1 code point) 2.5 times ``max_text_len`` long."""
    each = caps.text_length(Text.of("00000🙂 "))
    words = [f"{i:05d}🙂" for i in range(5 * caps.max_text_len // (2 * each) + 2)]
    return " ".join(words)


async def long_reply_splits(bot: Hosted, view: PlatformView) -> None:
    """Split: a reply longer than ``capabilities.max_text_len`` (measured by ``text_length``) arrives
    as several messages, each within the limit, every word in order and none lost or repeated, and
    the platform refuses none of them."""
    caps = bot.adapter.capabilities
    text = _long_text(caps)
    measured = caps.text_length(Text.of(text))
    expect(measured > 2 * caps.max_text_len, "split: text_length measures words as nothing")
    refs = await Streamer(Tap(bot.adapter), view.key, caps).finish(Text.of(text))
    messages = view.messages()
    expect(len(refs) >= 3, f"split: a reply 2.5 times the limit went out as {len(refs)} messages")
    expect(len(messages) == len(refs), f"split: {len(refs)} pieces sent, {len(messages)} shown")
    over = [i for i, m in enumerate(messages) if caps.text_length(Text.of(m.text)) > caps.max_text_len]
    expect(not over, f"split: messages {over} are over {caps.max_text_len} by capabilities.text_length")
    words, sent = " ".join(m.text for m in messages).split(), text.split()
    lost = next((i for i, (a, b) in enumerate(zip(words, sent, strict=False)) if a != b), None)
    expect(words == sent, f"split: {len(words)} words shown of {len(sent)}; first difference at {lost}")
    _within_limits(view, "split")


async def final_once_when_rate_limited(bot: Hosted, view: PlatformView) -> None:
    """Rate limits: when the platform answers "too many requests" to a reply's final text, the
    adapter raises ``RateLimited`` (or waits it out itself) and the final text is shown exactly once:
    never twice, never lost. Checked for a streamed reply (its final edit is refused) and for a reply
    posted in one go (its send is refused)."""
    _skip_without(view, "rate_limits")
    tap, caps = Tap(bot.adapter), bot.adapter.capabilities
    streamer = Streamer(tap, view.key, caps)
    finals = ("The first answer, after a wait.", "The second answer, after a wait.")
    try:
        await _stream(tap, streamer, view, ["The first answer"], "rate limits")
        before = view.rate_limited()
        await view.rate_limit_next()
        await streamer.finish(Text.of(finals[0]))
    finally:
        await streamer.aclose()
    expect(view.rate_limited() > before, "rate limits: the platform never refused the final edit")
    before = view.rate_limited()
    await view.rate_limit_next()
    second = Streamer(tap, view.key, caps)
    try:
        await second.finish(Text.of(finals[1]))
    finally:
        await second.aclose()
    expect(view.rate_limited() > before, "rate limits: the platform never refused the final send")
    wrong = [e for c in tap.calls if (e := c.error) is not None and not isinstance(e, RateLimited)]
    expect(not wrong, f"rate limits: a 429 came out of the adapter as {wrong}, not RateLimited")
    for text in finals:
        _once(view, text, "rate limits")
    expect(len(view.messages()) == 2, f"rate limits: two replies, {_brief(view)}")
    expect(not view.refusals(), f"rate limits: the platform refused calls: {list(view.refusals())}")


def _png() -> bytes:
    """A valid 1x1 PNG."""

    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))

    header = struct.pack(">IIBBBBB", 1, 1, 8, 2, 0, 0, 0)
    pixels = zlib.compress(b"\x00\xff\x80\x00")
    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IDAT", pixels) + chunk(b"IEND", b"")


async def files_arrive(bot: Hosted, view: PlatformView) -> None:
    """Files: ``send_files`` with an image and a document delivers both to the chat, each once and
    byte for byte, the document under its name; the platform refuses nothing."""
    contents = {"dot.png": _png(), "notes.txt": b"Notes from the contract scenarios.\n"}
    with tempfile.TemporaryDirectory() as tmp:
        files = []
        for (name, data), kind in zip(contents.items(), ("image", "file"), strict=True):
            path = Path(tmp, name)
            path.write_bytes(data)
            mime = "image/png" if kind == "image" else "text/plain"
            files.append(LocalFile(path, name, mime, len(data), kind=kind))
        await bot.adapter.send_files(view.key, files)

    def arrived() -> bool:
        return all(any(d == data for _, d in view.files()) for data in contents.values())

    await eventually(arrived, lambda: f"files: received {[(n, len(d)) for n, d in view.files()]}")
    for name, data in contents.items():
        names = [n for n, d in view.files() if d == data]
        expect(len(names) == 1, f"files: {name} arrived {len(names)} times")
        expect(name == "dot.png" or names == [name], f"files: the document arrived as {names[0]!r}")
    _within_limits(view, "files")


async def typing_shows_and_ends(bot: Hosted, view: PlatformView) -> None:
    """Typing: inside ``async with adapter.typing(key)`` the chat shows "typing…" (where the platform
    has an indicator); leaving the block raises nothing, leaves no task of it running and posts no
    message."""
    shown, posted = view.typing(), len(view.messages())
    with tasks_started() as started:
        async with bot.adapter.typing(view.key):
            if "typing" not in view.lacks:
                await eventually(lambda: view.typing() > shown, "typing: no indicator shown inside the block")
    await asyncio.sleep(0)
    left = [t for t in started if not t.done()]
    expect(not left, f"typing: still running after the block: {left}")
    expect(len(view.messages()) == posted, f"typing posted a message; {_brief(view)}")
    _within_limits(view, "typing")


async def quick_replies(bot: Hosted, view: PlatformView) -> None:
    """Quick replies: ``offer`` on a streamed reply's last message (the handle the streamer kept)
    shows the choices' labels, in order, on that message, its text unchanged; pressing one (where the
    fake can press) reaches ``host.deliver`` as an ordinary ``Incoming`` in that chat, with ``text`` the
    choice's value, no command, and an ``id``."""
    question = "Shall we go on?"
    tap = Tap(bot.adapter)
    streamer = Streamer(tap, view.key, bot.adapter.capabilities)
    try:
        await _stream(tap, streamer, view, ["Shall we"], "quick replies")
        ref = (await streamer.finish(Text.of(question)))[-1]
    finally:
        await streamer.aclose()
    await bot.adapter.offer(ref, CHOICES)
    labels = tuple(c.label for c in CHOICES)

    def last() -> Shown:
        return view.messages()[-1] if view.messages() else Shown("")

    await eventually(lambda: last().choices == labels, lambda: f"quick replies: {last()} shows no {labels}")
    expect(last().text.strip() == question, f"quick replies: offer changed the text; {_brief(view)}")
    _skip_without(view, "press")
    count = len(bot.delivered)
    await view.press(ref, CHOICES[1].label)
    pressed = await bot.next_delivered(count, f"quick replies: pressing {CHOICES[1].label!r}")
    expect(pressed.text == CHOICES[1].value, f"quick replies: a press delivered {pressed.text!r}")
    where = (pressed.key.adapter, pressed.key.chat, pressed.key.thread)
    expect(where == (view.key.adapter, view.key.chat, view.key.thread), f"quick replies: in {pressed.key}")
    expect(pressed.command is None and pressed.id is not None, f"quick replies: delivered {pressed}")
    _within_limits(view, "quick replies")


async def stop_gesture(bot: Hosted, view: PlatformView) -> None:
    """Stop: the platform's stop gesture on a reply being written reaches ``host.deliver`` as the
    ``stop`` command of that chat; the reply's final text then shows once, with no stop control."""
    _skip_without(view, "stop")
    tap = Tap(bot.adapter)
    streamer = Streamer(tap, view.key, bot.adapter.capabilities)
    try:
        await _stream(tap, streamer, view, ["Let me think about that"], "stop")
        count = len(bot.delivered)
        await view.stop(streamer.refs[-1])
        stop = await bot.next_delivered(count, "stop: the stop gesture")
        await streamer.finish(Text.of("Stopped."))
    finally:
        await streamer.aclose()
    expect(stop.command == "stop", f"stop: the gesture delivered {stop}, not the stop command")
    expect((stop.key.adapter, stop.key.chat) == (view.key.adapter, view.key.chat), f"stop: in {stop.key}")
    expect(not _once(view, "Stopped.", "stop").stop, "stop: the final text still shows a stop control")
    _within_limits(view, "stop")


SCENARIOS: tuple[Scenario, ...] = (
    streams_with_edits,
    long_reply_splits,
    final_once_when_rate_limited,
    files_arrive,
    typing_shows_and_ends,
    quick_replies,
    stop_gesture,
)
"""Every scenario, for ``pytest.mark.parametrize``."""
