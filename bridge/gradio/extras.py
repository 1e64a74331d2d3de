"""Everything a chain's turn carries besides the Chatbot's text: extra outputs and quick replies.

:func:`chain_reply` builds the turn's :class:`~bridge.model.Reply` from the component values: the
Chatbot's newest turn (:func:`~bridge.gradio.messages.reply_from_chatbot`), then, once the turn
is final, each extra output the chain wrote (``ChatInterface(additional_outputs=…)``, a Blocks
step's ``gr.Code``/``gr.JSON``/``gr.Markdown``/``gr.Image``/``gr.File``…: code and JSON as fenced
blocks, media and files as files, under the component's label), and the ``options`` of the
newest assistant message as choices.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

from bridge.gradio.appinfo import AppInfo, ChatEndpoint, comp_type
from bridge.gradio.messages import content_parts, html_text, reply_from_chatbot, turn_messages
from bridge.model import Choice, Reply, ReplyPart, TextPart

_TEXT_TYPES = ("markdown", "textbox", "number", "html", "highlightedtext", "label")


def chain_reply(
    app: AppInfo, ep: ChatEndpoint, values: Mapping[int, Any], *, final: bool, show_outputs: bool = True
) -> Reply:
    """The reply so far (``final``: with the extra outputs and the offered choices)."""
    chatbot = values.get(ep.chatbot) if ep.chatbot is not None else None
    reply = reply_from_chatbot(app, chatbot, ep.history_format)
    if not final:
        return reply
    parts = list(reply.parts)
    if show_outputs:
        for cid in ep.shown:
            parts.extend(output_parts(app, cid, values.get(cid)))
    return Reply(tuple(parts), choices=choices_of(chatbot, ep.history_format))


def choices_of(chatbot: Any, fmt: str | None) -> tuple[Choice, ...]:
    """The ``options`` of the newest turn's last assistant message that has any."""
    for msg in reversed(turn_messages(chatbot, fmt)):
        options = msg.get("options") if isinstance(msg, dict) else None
        if options:
            found = []
            for opt in options:
                value = opt.get("value") if isinstance(opt, dict) else opt
                if isinstance(value, str | int | float) and str(value).strip():
                    label = opt.get("label") if isinstance(opt, dict) else None
                    found.append(Choice(value=str(value), label=str(label or value)))
            return tuple(found)
    return ()


def output_parts(app: AppInfo, cid: int, value: Any) -> list[ReplyPart]:
    """An extra output's value as reply parts, headed by its label; nothing when it is empty."""
    if value is None or value in ("", [], {}):
        return []
    props = app.components.get(cid, {}).get("props") or {}
    kind = comp_type(app.components, cid)
    label = props.get("label")
    head = f"**{label}**\n" if isinstance(label, str) and label and not label.startswith("__i18n__") else ""
    if kind == "code":
        lang = props.get("language") or ""
        return [TextPart(f"{head}```{lang}\n{str(value).rstrip()}\n```")]
    if kind == "json":
        return [TextPart(f"{head}```json\n{json.dumps(value, indent=2, ensure_ascii=False)}\n```")]
    if kind == "dataframe" and isinstance(value, dict):
        return [TextPart(head + _table(value))]
    if kind in _TEXT_TYPES:
        text = _text_of(kind, value)
        return [TextPart(head + text)] if text.strip() else []
    files = content_parts(app, {"component": kind, "value": value})
    return ([TextPart(head.strip())] if head and files else []) + files


def _text_of(kind: str, value: Any) -> str:
    if kind == "html":
        return html_text(value)
    if kind == "label" and isinstance(value, dict):
        return str(value.get("label") or "")
    if kind == "highlightedtext" and isinstance(value, list):
        return "".join(str(item[0] if isinstance(item, list | tuple) else item) for item in value)
    return str(value)


def _table(value: Mapping[str, Any]) -> str:
    headers = [str(h) for h in value.get("headers") or ()]
    rows = [[str(c) for c in row] for row in value.get("data") or () if isinstance(row, list)]
    if not headers and not rows:
        return ""
    width = max(len(headers), *(len(r) for r in rows)) if rows else len(headers)
    headers = headers + [""] * (width - len(headers))
    lines = ["| " + " | ".join(headers) + " |", "|" + "---|" * width]
    lines += ["| " + " | ".join(r + [""] * (width - len(r))) + " |" for r in rows]
    return "\n".join(lines)
