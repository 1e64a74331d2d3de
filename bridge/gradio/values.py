"""A conversation's copy of the app's component values, as the browser keeps them for its page.

Each step of a chain reads its inputs from these values and writes its outputs back
(:func:`apply_output`). States are never sent (the app keeps them per session; the browser sends
``null`` too); everything else is: the message box, the Chatbot (the history the bridge holds),
settings, and components a step writes for a later step to read, which are stored with the
conversation (:func:`kept_values`) so a restart continues with them.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from bridge.gradio.appinfo import AppInfo, ChatEndpoint, Step, comp_type


def start_values(
    ep: ChatEndpoint, stored: Mapping[str, Any], history: list[Any], message: Any, params: Mapping[int, Any]
) -> dict[int, Any]:
    """The values at the start of a turn: defaults, then what the conversation kept, the history,
    the settings for this turn, and the new message in the box."""
    values = dict(ep.defaults)
    for key, value in stored.items():
        if key.isdigit() and int(key) in values:
            values[int(key)] = value
    if ep.chatbot is not None:
        values[ep.chatbot] = history
    values.update(params)
    if ep.box is not None:
        values[ep.box] = message
    return values


def step_inputs(app: AppInfo, step: Step, values: Mapping[int, Any]) -> list[Any]:
    """The data list for ``step``: each input's current value, ``null`` for States."""
    return [None if comp_type(app.components, c) == "state" else values.get(c) for c in step.inputs]


def apply_output(app: AppInfo, step: Step, data: list[Any], values: dict[int, Any]) -> None:
    """Write a step's output values back; a ``gr.update`` dict changes the value only when it has one
    (a props-only update, ``gr.skip()``, leaves it)."""
    for cid, value in zip(step.outputs, data, strict=False):
        if comp_type(app.components, cid) == "state":
            continue
        if isinstance(value, dict) and value.get("__type__") == "update":
            if "value" in value:
                values[cid] = value["value"]
            continue
        values[cid] = value


def kept_values(ep: ChatEndpoint, values: Mapping[int, Any]) -> dict[str, Any]:
    """What the conversation stores: values steps wrote that are neither the box, the Chatbot
    (stored as the history) nor a setting (stored as the user's settings)."""
    settings = {p.slot for p in ep.params}
    written = {c for s in ep.steps for c in s.outputs}
    skip = {ep.box, ep.chatbot, *settings}
    components = {c for c, _ in ep.defaults}  # the non-State components the chain touches
    return {str(c): values[c] for c in sorted(written & components) if c not in skip and c in values}
