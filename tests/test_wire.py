"""Pure wire-format pieces: SSE framing, diff ops, error unquoting, event decoding."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest

from bridge.errors import ProtocolError
from bridge.gradio.events import Cancelled, Completed, Failed, Output, Queued
from bridge.gradio.wire import EventDecoder, apply_diff, iter_sse, unquote_error


async def _lines(*lines: str) -> AsyncIterator[str]:
    for line in lines:
        yield line


async def test_sse_frames_and_non_json_skipped() -> None:
    frames = [
        f
        async for f in iter_sse(
            _lines('data: {"msg":"a"}', "", "data: ALIVE", "", ": comment", 'data: {"msg":', 'data: "b"}', "")
        )
    ]
    assert frames == [{"msg": "a"}, {"msg": "b"}]


def test_diff_ops_nested_paths() -> None:
    value = [
        {"role": "user", "content": "hi"},
        {"role": "assistant", "content": [{"text": "a", "type": "text"}]},
    ]
    value = apply_diff(value, [["append", [1, "content", 0, "text"], "bc"]])
    value = apply_diff(value, [["add", [2], {"role": "assistant", "content": "x"}]])
    value = apply_diff(value, [["replace", [2, "content"], "y"], ["delete", [0], None]])
    assert value == [
        {"role": "assistant", "content": [{"text": "abc", "type": "text"}]},
        {"role": "assistant", "content": "y"},
    ]
    assert apply_diff("ab", [["append", [], "c"]]) == "abc"
    assert apply_diff("ab", [["replace", [], "z"]]) == "z"
    with pytest.raises(ProtocolError):
        apply_diff("a", [["explode", [], 1]])


def test_error_text_unquoted_on_gradio_4_only() -> None:
    assert unquote_error("'boom'", 4) == "boom"
    assert unquote_error('"it\'s"', 4) == "it's"
    assert unquote_error("'boom'", 5) == "'boom'"
    assert unquote_error(None, 6) is None


def test_decoder_rebuilds_values_and_classifies_endings() -> None:
    d = EventDecoder(6)
    assert isinstance(d.decode({"msg": "estimation", "rank": 2, "queue_size": 5, "rank_eta": 3.5}), Queued)
    first = d.decode({"msg": "process_generating", "output": {"data": ["tok0 ", None]}})
    second = d.decode({"msg": "process_generating", "output": {"data": [[["append", [], "tok1"]], []]}})
    assert isinstance(first, Output) and first.data == ["tok0 ", None]
    assert isinstance(second, Output) and second.data == ["tok0 tok1", None]
    assert isinstance(d.decode({"msg": "process_completed", "output": {}, "success": True}), Cancelled)
    done = EventDecoder(6).decode({"msg": "process_completed", "output": {"data": ["x"]}, "success": True})
    assert isinstance(done, Completed) and done.data == ["x"]
    fail = EventDecoder(4).decode(
        {"msg": "process_completed", "output": {"error": "'boom'"}, "success": False}
    )
    assert isinstance(fail, Failed) and fail.message == "boom" and fail.title is None
    hidden = EventDecoder(6).decode({"msg": "process_completed", "output": {"error": None}, "success": False})
    assert isinstance(hidden, Failed) and hidden.message is None


def test_decoder_survives_stale_diff_base_from_the_server() -> None:
    # After a failed event, a gradio server can send diffs against the dead event's last value
    # as the *first* frame of a new event (diff base keyed by id(iterator), which Python reuses).
    d = EventDecoder(4)
    first = d.decode({"msg": "process_generating", "output": {"data": [[["replace", [], "turn=1 "]]]}})
    assert isinstance(first, Output) and first.data == ["turn=1 "]
    d = EventDecoder(4)
    stale = d.decode(
        {
            "msg": "process_generating",
            "output": {"data": [[["replace", [0, 1], "x"], ["append", [0, 1], "y"]]]},
        }
    )
    assert isinstance(stale, Output) and stale.data == [None]  # unknown until it can be rebuilt
    more = d.decode({"msg": "process_generating", "output": {"data": [[["append", [0, 1], "z"]]]}})
    assert isinstance(more, Output) and more.data == [None]
    done = d.decode({"msg": "process_completed", "output": {"data": [[["hi", "xyz"]]]}, "success": True})
    assert isinstance(done, Completed) and done.data == [[["hi", "xyz"]]]
    broken = EventDecoder(6)
    broken.decode({"msg": "process_generating", "output": {"data": [["a", "b"]]}})
    bad = broken.decode({"msg": "process_generating", "output": {"data": [[["append", [5], "c"]]]}})
    assert isinstance(bad, Output) and bad.data == [None]


def test_diffs_never_change_earlier_values() -> None:
    base = {"chat": [{"content": "a"}, {"content": "b", "meta": {"x": 1}}], "other": [1, 2]}
    new = apply_diff(
        base, [["append", ["chat", 1, "content"], "c"], ["replace", ["chat", 1, "meta", "x"], 2]]
    )
    assert base == {"chat": [{"content": "a"}, {"content": "b", "meta": {"x": 1}}], "other": [1, 2]}
    assert new["chat"][1] == {"content": "bc", "meta": {"x": 2}}
    assert new["other"] is base["other"] and new["chat"][0] is base["chat"][0]  # untouched parts shared


def test_streamed_frames_stay_valid_after_later_frames() -> None:
    decoder = EventDecoder(6)
    first = decoder.decode({"msg": "process_generating", "output": {"data": [[{"content": "he"}]]}})
    second = decoder.decode(
        {"msg": "process_generating", "output": {"data": [[["append", [0, "content"], "llo"]]]}}
    )
    assert isinstance(first, Output) and isinstance(second, Output)
    assert first.data == [[{"content": "he"}]] and second.data == [[{"content": "hello"}]]
