"""Reply files: redirects stay on the app's origin, broken downloads start again, tokens stay home.

Two loopback servers (``tests/fakes/loopback.py``) play the app and another origin; the download
path with a real Gradio app is covered in ``test_gradio_chat.py``.
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path

import pytest

from bridge.errors import UpstreamError
from bridge.gradio import ClientOptions, GradioClient
from bridge.gradio.http import make_http
from bridge.model import FilePart
from tests.fakes.loopback import Action, Chunks, Loopback, Reply, Request

CONFIG = {"version": "6.31.0", "api_prefix": "/gradio_api", "components": [], "dependencies": []}
FAST = ClientOptions(retry_backoff=0.01)


def origin(files: Mapping[str, Action]) -> Loopback:
    """A server answering ``/config`` as a gradio app and each path in ``files`` with its action."""

    def handler(req: Request) -> Action:
        if req.path == "/config":
            return Reply(body=CONFIG)
        return files.get(req.path, Reply(404, "not found"))

    return Loopback(handler)


def redirect(location: str, status: int = 302) -> Reply:
    return Reply(status, headers={"location": location})


async def test_a_redirect_to_another_origin_is_refused_before_it_is_followed(tmp_path: Path) -> None:
    async with origin({"/secret": Reply(body="not for the bridge")}) as other:
        files = {"/gradio_api/file=a.txt": redirect(f"{other.url}/secret")}
        async with origin(files) as app, await GradioClient.connect(app.url, options=FAST) as client:
            part = FilePart(url=f"{app.url}/gradio_api/file=a.txt", name="a.txt")
            with pytest.raises(UpstreamError, match="redirected it away from the app"):
                await client.download(part, tmp_path, 1000)
        assert other.requests == []
    assert list(tmp_path.iterdir()) == []


async def test_redirects_on_the_app_are_followed_a_few_times(tmp_path: Path) -> None:
    files: dict[str, Action] = {
        "/gradio_api/file=a.txt": redirect("/gradio_api/file/a.txt", 307),  # relative, as apps send
        "/gradio_api/file/a.txt": Reply(body=b"hello", headers={"content-type": "text/plain"}),
        "/loop": redirect("/loop"),
    }
    async with origin(files) as app, await GradioClient.connect(app.url, options=FAST) as client:
        saved = await client.download(
            FilePart(url=f"{app.url}/gradio_api/file=a.txt", name="a.txt"), tmp_path, 100
        )
        assert saved.path.read_bytes() == b"hello" and saved.mime_type == "text/plain"
        with pytest.raises(UpstreamError, match="more than 5 redirects"):
            await client.download(FilePart(url=f"{app.url}/loop", name="b.txt"), tmp_path, 100)
        assert len(app.seen("/loop")) == 6
    assert [p.name for p in tmp_path.iterdir()] == ["a.txt"]


async def test_a_download_that_breaks_starts_again_from_scratch(tmp_path: Path) -> None:
    def handler(req: Request) -> Action:
        if req.path == "/config":
            return Reply(body=CONFIG)
        if len(app.seen("/file=")) == 1:
            return Chunks([b"half of "], end=False, content_type="text/plain")
        return Reply(body=b"the whole file")

    async with Loopback(handler) as app, await GradioClient.connect(app.url, options=FAST) as client:
        part = FilePart(url=f"{app.url}/gradio_api/file=f.txt", name="f.txt")
        saved = await client.download(part, tmp_path, 100)
        assert saved.path.read_bytes() == b"the whole file" and saved.size == 14
        assert len(app.seen("/file=")) == 2


async def test_the_hf_token_header_only_goes_to_spaces_even_through_redirects() -> None:
    # A loopback server cannot be a *.hf.space host, so this checks the other half: a client with
    # the header set never sends it elsewhere, whether asked directly or redirected there.
    async with (
        origin({"/here": Reply(body="ok")}) as other,
        origin({"/go": redirect(f"{other.url}/here")}) as app,
    ):
        http = make_http(FAST)
        http.headers["x-hf-authorization"] = "Bearer hf_secret"
        try:
            resp = await http.get(f"{app.url}/go")
        finally:
            await http.aclose()
        assert resp.text == "ok"
        assert [r.path for r in app.requests + other.requests] == ["/go", "/here"]
        assert all("x-hf-authorization" not in r.headers for r in app.requests + other.requests)
