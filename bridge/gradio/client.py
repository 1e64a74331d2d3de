"""The shared asyncio Gradio client: one :class:`GradioClient` per app, one httpx pool for all.

Contract:
- :meth:`GradioClient.connect` resolves a Space id or URL, logs in when the app uses
  ``launch(auth=…)``, and discovers the app (:class:`~bridge.gradio.appinfo.AppInfo`).
- :meth:`submit` joins the queue and returns a :class:`~bridge.gradio.streams.Job`; the caller
  mints the ``session_hash`` and must run one turn at a time per session.
- :meth:`run` runs a dep to completion (``/run/predict`` for unqueued deps, the queue otherwise).
- The heartbeat stream is never opened (PROTOCOL.md §8: a closed heartbeat drops history in 1 h).
- Transport failures are retried with jittered back-off (``bridge.gradio.http``): requests that
  are safe to repeat after any failure but a timeout, joins and event streams only when the
  server provably never saw them. A failure that ends the retries raises AppUnreachable, whose
  message tells "the app is gone" (refused, DNS) from "the connection broke".
- A 401 triggers one re-login (tokens die when the app restarts) and one retry.
- :meth:`cancel` never raises and gives up after ``options.cancel_timeout``.
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import logging
from collections.abc import Sequence
from typing import Any

import httpx

from bridge.errors import (
    AppUnreachable,
    AuthError,
    BridgeError,
    DiscoveryError,
    InputRejected,
    ProtocolError,
    QueueFull,
    UpstreamError,
)
from bridge.gradio import files, hub
from bridge.gradio.appinfo import AppInfo, ChatEndpoint
from bridge.gradio.discovery import discover
from bridge.gradio.events import Completed, Failed, JobEvent
from bridge.gradio.http import (
    Attempt,
    ClientOptions,
    json_object,
    make_http,
    may_resend,
    never_processed,
    open_pool,
    placeholder_app,
    unreachable,
    validation_message,
)
from bridge.gradio.spaceid import is_space_id
from bridge.gradio.streams import Job, SessionStream
from bridge.gradio.wire import unquote_error
from bridge.model import Attachment, FilePart

log = logging.getLogger(__name__)


class GradioClient:
    """A connected Gradio app. Create with :meth:`connect`; close with :meth:`aclose`."""

    def __init__(
        self,
        http: httpx.AsyncClient,
        app: AppInfo,
        *,
        src: str,
        api_name: str | None,
        auth: tuple[str, str] | None,
        options: ClientOptions | None = None,
    ) -> None:
        self.http = http
        self.app = app
        self.src = src
        self._api_name = api_name
        self._auth = auth
        self._streams: dict[str, SessionStream] = {}
        self._login_lock = asyncio.Lock()
        self.options = options or ClientOptions()

    # -- lifecycle -------------------------------------------------------------------------
    @classmethod
    async def connect(
        cls,
        src: str,
        *,
        hf_token: str | None = None,
        auth: tuple[str, str] | None = None,
        api_name: str | None = None,
        on_status: hub.StatusCallback | None = None,
        options: ClientOptions | None = None,
    ) -> GradioClient:
        """Connect to a Space id (``owner/name``) or an app URL and discover its chat endpoint."""
        opts = options or ClientOptions()
        http = make_http(opts)
        try:
            if is_space_id(src):
                root = await hub.resolve_space(
                    http, src, hf_token, on_status, opts.wake_timeout, opts.hub_poll_interval
                )
            elif src.startswith(("http://", "https://")):
                root = src.split("?", 1)[0].rstrip("/")
            else:
                raise DiscoveryError(f"{src!r} is neither a Space id (owner/name) nor an http(s) URL")
            if hf_token and (is_space_id(src) or hub.is_space_host(root)):
                http.headers["x-hf-authorization"] = f"Bearer {hf_token}"
            client = cls(http, placeholder_app(root), src=src, api_name=api_name, auth=auth, options=opts)
            await client.refresh()
            return client
        except BaseException:
            await http.aclose()
            raise

    async def refresh(self) -> AppInfo:
        """Re-read ``/config`` and ``/info`` (after the app restarted or changed)."""
        root = self.app.root
        resp = await self._get(f"{root}/config")
        config = json_object(resp, "config")
        prefix = str(config.get("api_prefix") or "").rstrip("/")
        info: dict[str, Any] | None = None
        with contextlib.suppress(UpstreamError):
            info = json_object(await self._get(f"{root}{prefix}/info", params={"serialize": "False"}), "info")
        self.app = discover(root, config, info, self._api_name)
        return self.app

    async def aclose(self) -> None:
        """Stop every session stream and close the connection pool."""
        for stream in list(self._streams.values()):
            await stream.close()
        self._streams.clear()
        await self.http.aclose()

    async def __aenter__(self) -> GradioClient:
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.aclose()

    @property
    def chat(self) -> ChatEndpoint:
        """The chat endpoint; raises DiscoveryError when the app has none."""
        if self.app.chat is None:
            names = ", ".join(sorted(self.app.endpoints)) or "none"
            why = self.app.chat_problem or "nothing in it takes a message"
            raise DiscoveryError(
                f"this app's event chain is not supported: {why} (app {self.app.root}; public "
                f"endpoints: {names}; name one with api_name)"
            )
        return self.app.chat

    # -- jobs ------------------------------------------------------------------------------
    async def submit(self, fn_index: int, data: list[Any], session_hash: str) -> Job:
        """Join the queue with ``data`` for dep ``fn_index`` in ``session_hash``; return the Job."""
        body = {
            "data": data,
            "fn_index": fn_index,
            "session_hash": session_hash,
            "event_data": None,
            "trigger_id": None,
        }
        resp = await self._post(self.app.api_url("/queue/join"), json=body)
        if resp.status_code == 503:
            raise QueueFull("the app's queue is full; try again in a moment")
        if resp.status_code == 422:
            raise InputRejected(validation_message(resp), "Invalid input")
        if resp.status_code != 200:
            raise AppUnreachable(f"the app refused the job (HTTP {resp.status_code}): {resp.text[:200]}")
        event_id = json_object(resp, "queue/join").get("event_id")
        if not isinstance(event_id, str):
            raise ProtocolError("the app's queue/join reply has no event_id")
        job = Job(event_id, fn_index, session_hash, self.app.major, self.cancel)
        stream = self._streams.get(session_hash)
        if stream is None:
            stream = SessionStream(
                self.http,
                self.app.api_url("/queue/data"),
                session_hash,
                self._idle,
                self.options,
            )
            self._streams[session_hash] = stream
        stream.add(job)
        return job

    async def run(self, fn_index: int, data: list[Any], session_hash: str) -> JobEvent:
        """Run one dep to its end: ``/run/predict`` when it is not queued, else the queue."""
        dep = self.app.dependencies.get(fn_index)
        if dep is not None and not dep.queue:
            return await self._predict(fn_index, data, session_hash)
        job = await self.submit(fn_index, data, session_hash)
        return await job.wait()

    async def cancel(self, job: Job) -> None:
        """Cancel a running job (``/cancel`` then ``/reset``, as the browser does).

        Never raises, and returns within ``options.cancel_timeout``: a stop must neither fail nor
        hang because the app is unreachable or a stuck worker holds ``/cancel``. The job then runs
        on, and its stream still ends it.
        """
        body = {"fn_index": job.fn_index, "session_hash": job.session_hash, "event_id": job.event_id}
        try:
            async with asyncio.timeout(self.options.cancel_timeout):
                await self._post(self.app.api_url("/cancel"), json=body, idempotent=True)
                await self._post(self.app.api_url("/reset"), json={"event_id": job.event_id}, idempotent=True)
        except (BridgeError, httpx.HTTPError, TimeoutError, OSError) as exc:
            log.debug("giving up cancelling event %s: %s", job.event_id, exc or type(exc).__name__)

    # -- files -----------------------------------------------------------------------------
    async def upload(
        self, attachments: Sequence[Attachment], limit: int | None = None
    ) -> list[dict[str, Any]]:
        """Upload attachments (checked against ``limit`` and the app's max_file_size) → FileData dicts."""
        files.check_upload_sizes(attachments, self.app, limit)
        # An upload only stores files, so it is safe to send again.
        return await files.upload(functools.partial(self._send, idempotent=True), self.app, attachments)

    async def download(self, part: FilePart, dest_dir: Any, max_bytes: int) -> files.Downloaded:
        """Download a reply file from the app into ``dest_dir`` (a Path), at most ``max_bytes``."""
        return await files.download(self.http, self.app, part, dest_dir, max_bytes, self.options)

    # -- transport -------------------------------------------------------------------------
    def _idle(self, stream: SessionStream) -> None:
        if self._streams.get(stream.session_hash) is stream and not stream.jobs:
            del self._streams[stream.session_hash]

    async def _predict(self, fn_index: int, data: list[Any], session_hash: str) -> JobEvent:
        body = {"data": data, "fn_index": fn_index, "session_hash": session_hash, "event_data": None}
        # Unqueued chat steps (save the message, seed the history) write the same state when repeated.
        resp = await self._post(self.app.api_url("/run/predict"), json=body, idempotent=True)
        payload = json_object(resp, "run/predict") if resp.content else {}
        if resp.status_code == 200 and isinstance(payload.get("data"), list):
            return Completed(data=payload["data"])
        if resp.status_code in (400, 500) and "error" in payload:
            return Failed(
                message=unquote_error(payload.get("error"), self.app.major), title=payload.get("title")
            )
        raise AppUnreachable(f"the app failed a step (HTTP {resp.status_code}): {resp.text[:200]}")

    async def _get(self, url: str, **kw: Any) -> httpx.Response:
        """A GET, retried on transport errors (in ``_request``) and on gateway errors (a proxy in
        front of a restarting app, such as a Space's), with longer pauses for the latter."""
        retries = self.options.retries
        for retry in range(retries + 1):
            resp = await self._send("GET", url, **kw)
            if resp.status_code not in (502, 503, 504) or retry == retries:
                return resp
            await asyncio.sleep(self.options.pause(retry + 2))
        raise AssertionError("unreachable")

    async def _post(self, url: str, *, idempotent: bool = False, **kw: Any) -> httpx.Response:
        return await self._send("POST", url, idempotent=idempotent, **kw)

    async def _send(self, method: str, url: str, *, idempotent: bool = False, **kw: Any) -> httpx.Response:
        """A request (``idempotent``: safe to repeat; GETs always are); a 401 logs in again once."""
        for attempt in (0, 1):
            resp = await self._request(method, url, idempotent or method == "GET", **kw)
            if resp.status_code != 401 or self._auth is None or attempt == 1:
                if resp.status_code == 401:
                    raise AuthError(
                        f"the app at {self.app.root} needs a login: set auth_env to an env var "
                        "holding user:password"
                    )
                return resp
            await self._login()
        raise AssertionError("unreachable")

    async def _request(self, method: str, url: str, idempotent: bool, **kw: Any) -> httpx.Response:
        """One request, sent again as ``http.may_resend`` allows (at most ``options.retries`` times,
        with jittered back-off); raises AppUnreachable when it fails for good."""
        opts = self.options
        for retry in range(opts.retries + 1):
            attempt = Attempt()
            try:
                with open_pool(self.http):
                    return await self.http.request(method, url, extensions={"trace": attempt}, **kw)
            except httpx.HTTPError as exc:
                what = f"{method} {httpx.URL(url).path}"
                if retry == opts.retries or not may_resend(exc, attempt, idempotent):
                    held_back = not idempotent and not never_processed(exc, attempt)
                    raise unreachable(exc, self.app.root, what, retry + 1, held_back) from exc
                log.info(
                    "sending %s again (retry %d of %d) after %s on a %s connection",
                    what,
                    retry + 1,
                    opts.retries,
                    type(exc).__name__,
                    "new" if attempt.new_connection else "pooled",
                )
                await asyncio.sleep(opts.pause(retry))
        raise AssertionError("unreachable")

    async def _login(self) -> None:
        assert self._auth is not None
        async with self._login_lock:
            user, password = self._auth
            # A second login only mints a second token, so it is safe to repeat.
            resp = await self._request(
                "POST", f"{self.app.root}/login", True, data={"username": user, "password": password}
            )
            if resp.status_code != 200:
                raise AuthError(
                    f"the app at {self.app.root} rejected the login for user {user!r} (check auth_env)"
                )
