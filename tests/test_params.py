"""Param validation against component constraints (no server needed)."""

from __future__ import annotations

import pytest

from bridge.errors import InvalidParam
from bridge.gradio.params import param_from_component


def test_slider_bounds_and_step() -> None:
    p = param_from_component(
        "temperature", 2, "slider", {"minimum": 0, "maximum": 2, "step": 0.1, "value": 0.7}
    )
    assert p.coerce("1.3") == 1.3 and p.coerce(2) == 2
    for bad in ("-0.1", 2.5, "0.15", "hot", True, "nan"):
        with pytest.raises(InvalidParam):
            p.coerce(bad)
    assert "0..2" in p.describe() and "step 0.1" in p.describe()


def test_dropdown_checkbox_number_text() -> None:
    dd = param_from_component("style", 3, "dropdown", {"choices": [["Plain", "plain"], ["Formal", "formal"]]})
    assert dd.coerce("formal") == "formal" and dd.coerce("Plain") == "plain"
    with pytest.raises(InvalidParam, match="not one of"):
        dd.coerce("loud")
    multi = param_from_component(
        "tags", 4, "dropdown", {"choices": [["a", "a"], ["b", "b"]], "multiselect": True}
    )
    assert multi.coerce("a, b") == ["a", "b"]
    cb = param_from_component("shout", 5, "checkbox", {"value": False})
    assert cb.coerce("on") is True and cb.coerce("no") is False
    num = param_from_component("n", 6, "number", {"value": 3, "minimum": 1, "maximum": 50, "precision": 0})
    assert num.coerce("7") == 7 and isinstance(num.coerce("7"), int)
    with pytest.raises(InvalidParam):
        num.coerce(0)
    assert param_from_component("t", 7, "textbox", {}).coerce(5) == "5"
    assert dd.matches("STYLE") and not dd.matches("colour")
