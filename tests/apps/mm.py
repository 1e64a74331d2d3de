"""Multimodal ChatInterface (non-generator) that reports the files it received.

Proves: uploads reach the fn (names and byte sizes in the reply: str paths on 5/6, FileData on 4);
per-session history (`turn`); file replies come back through the UI chain as downloadable FileData:
`image` returns text + gr.Image on 5/6 (two assistant messages) and a single file reply on 4
(`(path,)` for tuples, a {"path"} message for messages; PROTOCOL.md §13.4); `filedict` returns
{"role": "assistant", "content": {"path": notes.txt}}, i.e. a downloadable text file.
"""

from __future__ import annotations

import os
from typing import Any

import gradio as gr

from ._common import GRADIO_MAJOR, GREEN_PNG_PATH, NOTES_TXT_PATH, chat_kwargs, chat_type, text_of, user_turns


def _file_path(item: Any) -> str | None:
    """A received file as a local path: str on 5/6, FileData dict (or object) on 4."""
    if isinstance(item, str | os.PathLike):
        return os.fspath(item)
    if isinstance(item, dict):
        return item.get("path") or item.get("name")
    return getattr(item, "path", None) or getattr(item, "name", None)


def _file_size(item: Any, path: str | None) -> int:
    if path and os.path.exists(path):
        return os.path.getsize(path)
    size = item.get("size") if isinstance(item, dict) else getattr(item, "size", None)
    return int(size or 0)


def describe(message: Any, history: list[Any]) -> str:
    text = text_of(message)
    files = list(message.get("files") or []) if isinstance(message, dict) else []
    paths = [_file_path(f) for f in files]
    names = ",".join(os.path.basename(p or "?") for p in paths)
    sizes = ",".join(str(_file_size(f, p)) for f, p in zip(files, paths, strict=True))
    turn = user_turns(history) + 1
    return f"turn={turn} files={len(files)} names={names} sizes={sizes} text={text}"


def _file_reply(path: str) -> Any:
    """One file as the whole reply on 4.x (one assistant message per turn there)."""
    if chat_type() == "tuples":
        return (path,)
    return {"role": "assistant", "content": {"path": path}}


def mm_fn(message: Any, history: list[Any]) -> Any:
    reply = describe(message, history)
    text = text_of(message)
    if "image" in text:
        if GRADIO_MAJOR >= 5:
            return [reply, gr.Image(GREEN_PNG_PATH)]
        return _file_reply(GREEN_PNG_PATH)
    if "filedict" in text:
        if GRADIO_MAJOR >= 5:
            return {"role": "assistant", "content": {"path": NOTES_TXT_PATH}}
        return _file_reply(NOTES_TXT_PATH)
    return reply


def build() -> gr.Blocks:
    return gr.ChatInterface(mm_fn, multimodal=True, title="Bridge multimodal test app", **chat_kwargs())
