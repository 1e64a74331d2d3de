"""The HTTP wire of the fake Discord's REST side (:mod:`tests.fakes.discord.rest`), on Starlette.

Bodies: JSON, or ``multipart/form-data`` with a ``payload_json`` part and ``files[n]`` (or ``file``)
parts, as discord.py sends them; a part that is itself multipart is refused (400, 50035). A body, or one
part of it, over 64 MiB gets a plain-text 413 before any route sees it (the aiohttp fake's
``client_max_size``; Discord's own 25 MiB request limit is a route check, in ``messages``). Part names
and filenames are decoded with aiohttp's own Content-Disposition helpers (discord.py's ``FormData``
writes them unquoted), so they read as they did when the fake ran on aiohttp.

Responses are ``Content-Type: application/json`` exactly, no charset (discord.py decodes nothing else).
:class:`FakeRequest` and :class:`Reply` also answer to aiohttp's ``match_info`` and ``status``: the
``_wrap`` hook of :class:`~tests.fakes.discord.rest.Rest` hands them out, and bench/discord_load.py
overrides that hook and reads those two names.
"""

from __future__ import annotations

import json
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass
from typing import Any

from aiohttp.multipart import content_disposition_filename, parse_content_disposition
from python_multipart.multipart import MultipartParser, parse_options_header
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import PlainTextResponse, Response
from starlette.types import Receive, Scope, Send

from tests.fakes.discord.model import Upload
from tests.fakes.discord.rules import ApiError

MAX_BODY = 64 * 1024 * 1024


class FakeRequest(Request):
    """A Starlette request; ``match_info`` is its ``path_params`` (the aiohttp name, see the module doc)."""

    @property
    def match_info(self) -> Mapping[str, str]:
        return self.path_params


class Reply(Response):
    """A Starlette response; ``status`` is its ``status_code`` (the aiohttp name, see the module doc)."""

    @property
    def status(self) -> int:
        return self.status_code


class TooLarge(Exception):
    """A body or part of ``size`` bytes, over :data:`MAX_BODY`; answered as plain text, like aiohttp's 413."""

    def __init__(self, size: int) -> None:
        super().__init__(size)
        self.size = size

    def reply(self) -> Reply:
        text = f"Maximum request body size {MAX_BODY} exceeded, actual body size {self.size}"
        return Reply(text, 413, media_type="text/plain")


def jresp(data: Any, status: int = 200, headers: dict[str, str] | None = None) -> Reply:
    """JSON with ``Content-Type: application/json`` exactly (no charset), as Discord sends it."""
    return Reply(json.dumps(data).encode(), status, {**(headers or {}), "Content-Type": "application/json"})


class Endpoint:
    """An ASGI endpoint that calls ``handler`` with a :class:`FakeRequest` (an object, not a function,
    so that Starlette's ``Route`` does not wrap it in a plain ``Request``)."""

    def __init__(self, handler: Callable[[FakeRequest], Awaitable[Response]]) -> None:
        self.handler = handler

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        response = await self.handler(FakeRequest(scope, receive, send))
        await response(scope, receive, send)


async def router_error(request: Request, exc: Exception) -> Response:
    """A 404/405 of the router (outside ``/api/v10``), worded as aiohttp's (``404: Not Found``)."""
    assert isinstance(exc, HTTPException)
    return PlainTextResponse(f"{exc.status_code}: {exc.detail}", exc.status_code, headers=exc.headers)


async def not_websocket(request: Request) -> Response:
    """A plain HTTP request to the gateway, refused as aiohttp's websocket handshake refuses it."""
    return PlainTextResponse('No WebSocket UPGRADE hdr: None\n Can "Upgrade" only to "WebSocket".', 400)


def parse_json(raw: bytes) -> Any:
    try:
        return json.loads(raw)
    except ValueError:
        raise ApiError(400, 50109, "The request body contains invalid JSON.") from None


async def read_body(request: Request) -> tuple[Any, list[Upload]]:
    """The JSON body (None when empty) and the uploaded files. Raises :class:`ApiError` for a body
    Discord refuses and :class:`TooLarge` (with the size read) for one over :data:`MAX_BODY`."""
    raw = await request.body()
    ctype, options = parse_options_header(request.headers.get("content-type", ""))
    if ctype != b"multipart/form-data":
        if len(raw) > MAX_BODY:
            raise TooLarge(len(raw))
        return (parse_json(raw) if raw else None), []
    body: Any = None
    uploads: list[Upload] = []
    for part in _parts(raw, options.get(b"boundary", b"")):
        if len(part.data) > MAX_BODY:
            raise TooLarge(len(part.data))
        if part.content_type.lower().startswith("multipart/"):
            raise ApiError(400, 50035, "Invalid Form Body")
        name = part.name or ""
        if name == "payload_json":
            body = parse_json(part.data)
        elif name.startswith("files[") or name == "file":
            index = int(name[6:-1]) if name.startswith("files[") else 0
            uploads.append(Upload(index, part.filename or name, part.content_type or None, part.data))
    return body, uploads


@dataclass
class Part:
    """One part of a multipart body: its headers (names lowercased) and raw bytes."""

    headers: dict[str, str]
    data: bytes

    @property
    def content_type(self) -> str:
        return self.headers.get("content-type", "")

    def _param(self, key: str) -> str | None:
        _, params = parse_content_disposition(self.headers.get("content-disposition"))
        return content_disposition_filename(params, key)

    @property
    def name(self) -> str | None:
        return self._param("name")

    @property
    def filename(self) -> str | None:
        return self._param("filename")


def _parts(raw: bytes, boundary: bytes) -> list[Part]:
    """The parts of a multipart body; a body that does not parse is refused like Discord does."""
    if not boundary:
        raise ApiError(400, 50035, "Invalid Form Body")
    parts: list[Part] = []
    headers: dict[str, str] = {}
    field, value, data = bytearray(), bytearray(), bytearray()

    def header_end() -> None:
        # decoded as aiohttp's header parser does; the first of repeated headers counts, as in its CIMultiDict
        name = field.decode("utf-8", "surrogateescape").lower()
        headers.setdefault(name, value.decode("utf-8", "surrogateescape"))
        field.clear()
        value.clear()

    def part_end() -> None:
        parts.append(Part(dict(headers), bytes(data)))
        headers.clear()
        data.clear()

    parser = MultipartParser(
        boundary,
        {
            "on_header_field": lambda b, s, e: field.extend(b[s:e]),
            "on_header_value": lambda b, s, e: value.extend(b[s:e]),
            "on_header_end": header_end,
            "on_part_data": lambda b, s, e: data.extend(b[s:e]),
            "on_part_end": part_end,
        },
        max_header_count=64,
    )
    try:
        parser.write(raw)
        parser.finalize()
    except Exception:  # python-multipart's errors: the body is not multipart
        raise ApiError(400, 50035, "Invalid Form Body") from None
    return parts
