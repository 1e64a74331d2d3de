"""Files in and out of a Gradio app: uploads as FileData, size-limited streamed downloads.

Downloads only go to the app's own origin (a reply cannot make the bridge fetch arbitrary URLs):
the file's URL and every redirect on the way (at most :data:`MAX_REDIRECTS`, followed here, not by
httpx) must be on it, or the download is refused before anything is asked of another origin.
They are streamed to disk; the limit is enforced from ``Content-Length`` and again while reading,
so no more than the limit (plus one chunk) is ever received. A download that breaks is started
again (a GET is safe to repeat), with the client's back-off. A ``data:`` URL (a ``gr.Plot`` of a
matplotlib figure is a base64 image) holds its bytes and is decoded, within the same limit.
"""

from __future__ import annotations

import asyncio
import base64
import binascii
import contextlib
import os
import tempfile
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Any
from urllib.parse import quote, urljoin, urlsplit

import httpx

from bridge.errors import FileTooLarge, ProtocolError, UpstreamError
from bridge.gradio.appinfo import AppInfo
from bridge.gradio.http import ClientOptions, may_resend, open_pool, unreachable
from bridge.model import Attachment, FilePart

FILEDATA_META = {"_type": "gradio.FileData"}
MAX_REDIRECTS = 5

Send = Callable[..., Awaitable[httpx.Response]]
"""``send(method, url, **httpx_kwargs)``: the client's request with its retries and login."""


@dataclass(frozen=True, slots=True)
class Downloaded:
    """A file saved locally from the app."""

    path: Path
    name: str
    mime_type: str | None
    size: int


def check_upload_sizes(files: Sequence[Attachment], app: AppInfo, limit: int | None) -> None:
    """Raise FileTooLarge for the first file over ``limit`` or the app's own ``max_file_size``."""
    limits = [x for x in (limit, app.max_file_size) if x is not None]
    if not limits:
        return
    smallest = min(limits)
    for f in files:
        if f.size > smallest:
            raise FileTooLarge(f.name, smallest, f.size)


async def upload(send: Send, app: AppInfo, files: Sequence[Attachment]) -> list[dict[str, Any]]:
    """Upload ``files`` with one multipart request; return their FileData dicts, in order.

    ``send`` may send the request again: httpx rewinds the open files for each attempt.
    """
    if not files:
        return []
    with contextlib.ExitStack() as stack:
        parts: list[tuple[str, tuple[str, IO[bytes] | bytes, str]]] = []
        for f in files:
            body: IO[bytes] | bytes
            if f.data is not None:
                body = f.data
            else:
                assert f.path is not None
                body = stack.enter_context(open(f.path, "rb"))
            parts.append(("files", (f.name, body, f.mime_type or "application/octet-stream")))
        resp = await send("POST", app.api_url("/upload"), files=parts)
    if resp.status_code == 413:
        raise FileTooLarge(", ".join(f.name for f in files), app.max_file_size or 0)
    if resp.status_code != 200:
        raise UpstreamError(f"the app refused the upload (HTTP {resp.status_code}): {resp.text[:200]}")
    paths = resp.json()
    if not isinstance(paths, list) or len(paths) != len(files):
        raise ProtocolError("the app's upload reply does not list one path per file")
    return [
        {"path": p, "orig_name": f.name, "mime_type": f.mime_type, "size": f.size, "meta": FILEDATA_META}
        for p, f in zip(paths, files, strict=True)
    ]


def file_url(app: AppInfo, filedata: dict[str, Any]) -> str | None:
    """The download URL of a FileData dict on this app's origin, or None if it points elsewhere."""
    url = filedata.get("url")
    path = filedata.get("path")
    if isinstance(url, str) and url:
        absolute = urljoin(app.root + "/", url)
        return absolute if same_origin(absolute, app.root) else None
    if isinstance(path, str) and path:
        if path.startswith(("http://", "https://")):
            return path if same_origin(path, app.root) else None
        return app.api_url("/file=" + quote(path))
    return None


def same_origin(url: str, root: str) -> bool:
    """True when ``url`` has the same scheme, host and port as ``root``."""
    a, b = urlsplit(url), urlsplit(root)
    return (a.scheme, a.hostname, a.port) == (b.scheme, b.hostname, b.port)


async def download(
    http: httpx.AsyncClient,
    app: AppInfo,
    part: FilePart,
    dest_dir: Path,
    max_bytes: int,
    options: ClientOptions | None = None,
) -> Downloaded:
    """Stream ``part`` into ``dest_dir``; raise FileTooLarge past ``max_bytes``, UpstreamError for a
    file or redirect off the app's origin, AppUnreachable when the app cannot be reached."""
    opts = options or ClientOptions()
    if part.url.startswith("data:"):
        return _save_data_url(part, dest_dir, max_bytes)
    if not same_origin(part.url, app.root):
        raise UpstreamError(f"refusing to download {part.name}: it is not served by the app itself")
    if part.size is not None and part.size > max_bytes:
        raise FileTooLarge(part.name, max_bytes, part.size)
    dest_dir.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=dest_dir, prefix=".part-")
    try:
        with os.fdopen(fd, "wb") as out:
            for retry in range(opts.retries + 1):
                try:
                    with open_pool(http):
                        mime, size = await _fetch(http, app, part, out, max_bytes)
                    break
                except httpx.HTTPError as exc:
                    if retry == opts.retries or not may_resend(exc, None, idempotent=True):
                        raise unreachable(
                            exc, app.root, f"the download of {part.name}", retry + 1, False
                        ) from exc
                out.seek(0)
                out.truncate()
                await asyncio.sleep(opts.pause(retry))
        final = _unique(dest_dir / _safe_name(part.name))
        os.replace(tmp, final)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(tmp)
        raise
    return Downloaded(path=final, name=final.name, mime_type=mime, size=size)


async def _fetch(
    http: httpx.AsyncClient, app: AppInfo, part: FilePart, out: IO[bytes], max_bytes: int
) -> tuple[str | None, int]:
    """One download into ``out`` → (mime type, size)."""
    resp = await _open(http, app, part)
    try:
        if resp.status_code != 200:
            raise UpstreamError(f"the app refused to serve {part.name} (HTTP {resp.status_code})")
        declared = resp.headers.get("content-length")
        if declared and declared.isdigit() and int(declared) > max_bytes:
            raise FileTooLarge(part.name, max_bytes, int(declared))
        mime = resp.headers.get("content-type", "").split(";")[0] or part.mime_type
        size = 0
        async for chunk in resp.aiter_bytes():
            size += len(chunk)
            if size > max_bytes:
                raise FileTooLarge(part.name, max_bytes)
            out.write(chunk)
        return mime, size
    finally:
        await resp.aclose()


async def _open(http: httpx.AsyncClient, app: AppInfo, part: FilePart) -> httpx.Response:
    """GET the file as a stream, following redirects that stay on the app's origin."""
    request = http.build_request("GET", part.url)
    for _ in range(MAX_REDIRECTS + 1):
        resp = await http.send(request, stream=True, follow_redirects=False)
        target = resp.next_request
        if target is None:
            return resp
        await resp.aclose()
        if not same_origin(str(target.url), app.root):
            away = f"{target.url.scheme}://{target.url.netloc.decode('ascii', 'replace')}"
            raise UpstreamError(
                f"refusing to download {part.name}: the app redirected it away from the app (to {away})"
            )
        request = target
    raise UpstreamError(f"refusing to download {part.name}: more than {MAX_REDIRECTS} redirects")


def _save_data_url(part: FilePart, dest_dir: Path, max_bytes: int) -> Downloaded:
    """Decode a ``data:[mime];base64,…`` URL into ``dest_dir`` (checked against ``max_bytes``)."""
    head, sep, body = part.url.partition(",")
    if not sep or not head.endswith(";base64"):
        raise ProtocolError(f"{part.name} is a data URL the bridge cannot read")
    if len(body) * 3 // 4 > max_bytes + 2:
        raise FileTooLarge(part.name, max_bytes)
    try:
        data = base64.b64decode(body, validate=True)
    except (binascii.Error, ValueError):
        raise ProtocolError(f"{part.name} is a data URL with damaged base64") from None
    if len(data) > max_bytes:
        raise FileTooLarge(part.name, max_bytes, len(data))
    dest_dir.mkdir(parents=True, exist_ok=True)
    final = _unique(dest_dir / _safe_name(part.name))
    final.write_bytes(data)
    mime = head[len("data:") : -len(";base64")] or part.mime_type
    return Downloaded(path=final, name=final.name, mime_type=mime, size=len(data))


def _safe_name(name: str) -> str:
    base = os.path.basename(name.replace("\\", "/")).strip().lstrip(".")
    return base or "file"


def _unique(path: Path) -> Path:
    if not path.exists():
        return path
    for i in range(1, 10_000):
        candidate = path.with_name(f"{path.stem}-{i}{path.suffix}")
        if not candidate.exists():
            return candidate
    raise OSError(f"no free file name for {path}")
