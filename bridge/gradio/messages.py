"""Chatbot values and raw outputs → the platform-neutral :class:`~bridge.model.Reply`.

Handles every content shape of PROTOCOL.md §13.4: gradio 6 lists of typed parts, gradio 5 str /
``{"file"}`` / ``{"component"}`` contents, tuple pairs on 4 and 5, and ``metadata.title`` thoughts.
"""

from __future__ import annotations

import html
import mimetypes
import re
from typing import Any

from bridge.gradio.appinfo import AppInfo
from bridge.gradio.files import file_url, same_origin
from bridge.model import FilePart, Reply, ReplyPart, TextPart, ThoughtPart

_REPR = re.compile(r"^<gradio\.[\w.]+ object at 0x[0-9a-fA-F]+>$")
_EXT = re.compile(r"/[^/]+\.[A-Za-z0-9]{1,8}$")
_KINDS = {"image": "image", "audio": "audio", "video": "video"}
_TEXT_COMPONENTS = ("html", "markdown", "textbox", "code")
_TAG = re.compile(r"<[^>]+>")


def turn_messages(chatbot: Any, fmt: str | None) -> list[Any]:
    """The assistant entries of the newest turn: trailing assistant messages, or trailing bot halves."""
    if not isinstance(chatbot, list):
        return []
    if fmt == "tuples":
        out: list[Any] = []
        for pair in reversed(chatbot):
            if not isinstance(pair, list | tuple) or len(pair) != 2 or pair[1] is None:
                break
            out.append(pair[1])
            if pair[0] is not None:
                break
        return list(reversed(out))
    tail: list[Any] = []
    for msg in reversed(chatbot):
        if not isinstance(msg, dict) or msg.get("role") != "assistant":
            break
        tail.append(msg)
    return list(reversed(tail))


def reply_from_chatbot(app: AppInfo, chatbot: Any, fmt: str | None) -> Reply:
    """The Reply of the newest turn in a postprocessed chatbot value."""
    parts: list[ReplyPart] = []
    for entry in turn_messages(chatbot, fmt):
        if fmt == "tuples":
            parts.extend(content_parts(app, entry))
        else:
            parts.extend(_message_parts(app, entry))
    return Reply(tuple(_merge_text(parts)))


def reply_from_output(app: AppInfo, value: Any) -> Reply:
    """The Reply for a public endpoint's raw output (str, message dicts, FileData, paths)."""
    parts: list[ReplyPart] = []
    if isinstance(value, list) and all(isinstance(v, dict) and "role" in v for v in value):
        for msg in value:
            parts.extend(_message_parts(app, msg))
    elif isinstance(value, dict) and "role" in value:
        parts.extend(_message_parts(app, value))
    elif isinstance(value, list):
        for item in value:
            parts.extend(content_parts(app, item))
    elif isinstance(value, str) and _looks_like_file(app, value):
        parts.extend(_file_parts(app, {"path": value.strip()}, None))
    else:
        parts.extend(content_parts(app, value))
    return Reply(tuple(_merge_text(parts)))


def _looks_like_file(app: AppInfo, text: str) -> bool:
    """A whole output that is a file path or a file URL on the app's origin, not prose."""
    t = text.strip()
    if not t or "\n" in t or len(t) > 1024 or " " in t:
        return False
    if t.startswith(("http://", "https://")):
        return same_origin(t, app.root) and "/file=" in t
    return t.startswith("/") and bool(_EXT.search(t))


def _message_parts(app: AppInfo, msg: Any) -> list[ReplyPart]:
    if not isinstance(msg, dict):
        return content_parts(app, msg)
    content = msg.get("content")
    parts = content_parts(app, content)
    raw_meta = msg.get("metadata")
    meta: dict[str, Any] = raw_meta if isinstance(raw_meta, dict) else {}
    title = meta.get("title")
    if title:
        text = "\n\n".join(p.text for p in parts if isinstance(p, TextPart))
        status = meta.get("status")
        thought: list[ReplyPart] = [
            ThoughtPart(title=str(title), text=text, status=str(status) if status else None)
        ]
        return thought + [p for p in parts if not isinstance(p, TextPart)]
    return parts


def html_text(value: Any) -> str:
    """The text of an HTML value: tags removed, entities decoded."""
    return html.unescape(_TAG.sub("", str(value))).strip()


def content_parts(app: AppInfo, content: Any) -> list[ReplyPart]:
    """Reply parts of one message content (a str, typed parts, a file or a component)."""
    if content is None:
        return []
    if isinstance(content, str):
        if _REPR.match(content.strip()):
            return []  # str(component) from an endpoint that does not postprocess: nothing to show
        return [TextPart(content)]
    if isinstance(content, list | tuple):
        out: list[ReplyPart] = []
        for item in content:
            out.extend(content_parts(app, item))
        return out
    if isinstance(content, dict):
        return _dict_parts(app, content)
    return [TextPart(str(content))]


def _dict_parts(app: AppInfo, content: dict[str, Any]) -> list[ReplyPart]:
    kind = content.get("type")
    if kind == "text" or (
        "text" in content
        and "files" not in content
        and "path" not in content
        and "file" not in content
        and "component" not in content
    ):
        text = content.get("text")
        return [TextPart(str(text))] if text else []
    if "file" in content:
        return _file_parts(app, content["file"], None)
    if "component" in content:
        component, value = str(content.get("component")), content.get("value")
        if component == "plot":
            return _plot_parts(value)
        if component in _TEXT_COMPONENTS:  # gr.HTML / gr.Markdown / gr.Textbox inside a message
            if value in (None, ""):
                return []
            return [TextPart(html_text(value) if component == "html" else html.unescape(str(value)).strip())]
        return _file_parts(app, value, _KINDS.get(component))
    if "path" in content or "url" in content:
        return _file_parts(app, content, None)
    if "text" in content and "files" in content:  # a multimodal value
        out: list[ReplyPart] = [TextPart(str(content["text"]))] if content.get("text") else []
        for f in content.get("files") or []:
            out.extend(_file_parts(app, f, None))
        return out
    return []


def _plot_parts(value: Any) -> list[ReplyPart]:
    """A ``gr.Plot`` value: a matplotlib figure comes as a base64 image (a ``data:`` URL), sent as an
    image; plotly, bokeh and altair plots are JSON for a browser to draw, and are not shown."""
    plot = value.get("plot") if isinstance(value, dict) else None
    if not isinstance(plot, str) or not plot.startswith("data:image/") or ";base64," not in plot:
        return []
    mime = plot[len("data:") : plot.index(";")]
    ext = mimetypes.guess_extension(mime) or ".png"
    return [FilePart(url=plot, name=f"plot{ext}", mime_type=mime, kind="image")]


def _file_parts(app: AppInfo, value: Any, kind: str | None) -> list[ReplyPart]:
    """FileData dicts found in ``value`` (a FileData, a list of them, or a media dict like Video's)."""
    if isinstance(value, list):
        out: list[ReplyPart] = []
        for v in value:
            out.extend(_file_parts(app, v, kind))
        return out
    if not isinstance(value, dict):
        return []
    if "path" not in value and "url" not in value:
        # e.g. gr.Video → {"video": FileData, "subtitles": …}; gr.Gallery items → {"image": FileData}
        out = []
        for key, inner in value.items():
            if isinstance(inner, dict | list) and key not in ("meta", "props", "constructor_args"):
                out.extend(_file_parts(app, inner, _KINDS.get(key, kind)))
        return out
    url = file_url(app, value)
    if url is None:
        return []
    name = value.get("orig_name") or str(value.get("path") or url).rstrip("/").rsplit("/", 1)[-1]
    mime = value.get("mime_type") or mimetypes.guess_type(name)[0]
    size = value.get("size") if isinstance(value.get("size"), int) else None
    return [FilePart(url=url, name=str(name), mime_type=mime, size=size, kind=kind or _kind_of(mime))]


def _kind_of(mime: str | None) -> str:
    major = (mime or "").split("/")[0]
    return major if major in ("image", "audio", "video") else "file"


def _merge_text(parts: list[ReplyPart]) -> list[ReplyPart]:
    """Join adjacent text parts with a blank line so a reply reads as one answer."""
    out: list[ReplyPart] = []
    for p in parts:
        if isinstance(p, TextPart) and out and isinstance(out[-1], TextPart):
            out[-1] = TextPart(out[-1].text + "\n\n" + p.text)
        elif not (isinstance(p, TextPart) and not p.text):
            out.append(p)
    return out
