"""The client's HTTP layer: the pooled httpx client, its options, retries, and reply decoding helpers.

Retries (docs/gradio-client.md, "Retries"): every request the client makes is one of two kinds.
- *Safe to repeat* (GETs, the unqueued chat steps, ``/cancel``, ``/reset``, uploads, the login):
  sent again after any transport failure but a read or write timeout (a stuck app is not asked
  twice).
- *Repeatable only when unseen* (``/queue/join``, whose duplicate would run the app twice, and the
  event stream's GET, whose drop cancels the session's jobs): sent again only when
  :func:`never_processed` proves the server never saw it.

Pauses between attempts grow exponentially with jitter (:meth:`ClientOptions.pause`), so the
requests of many conversations that failed together do not come back together.
"""

from __future__ import annotations

import contextlib
import random
import socket
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import httpx

from bridge.errors import AppUnreachable, ProtocolError
from bridge.gradio.appinfo import AppInfo
from bridge.gradio.hub import is_space_host

USER_AGENT = "gradio-bridge/0.1"


@dataclass(frozen=True, slots=True)
class ClientOptions:
    """Transport settings; the defaults suit thousands of concurrent streams on one app."""

    connect_timeout: float = 10.0
    read_timeout: float = 60.0
    stream_read_timeout: float = 120.0  # heartbeats come every 15 s while events are pending
    max_connections: int = 4096
    max_keepalive: int = 512
    # httpcore's own connect retries (no jitter); the client's ``retries`` already cover connects.
    connect_retries: int = 0
    http2: bool = True
    wake_timeout: float = 300.0
    hub_poll_interval: float = 2.0
    retries: int = 3  # times one request may be sent again (see the module docstring)
    retry_backoff: float = 0.2  # the longest first pause, in seconds; it doubles per retry
    retry_backoff_max: float = 3.0
    cancel_timeout: float = 10.0  # ``GradioClient.cancel`` gives up quietly after this

    def pause(self, retry: int) -> float:
        """Seconds to wait before retry number ``retry`` (0-based): "equal jitter", i.e. a random
        time between half and all of ``retry_backoff * 2**retry`` (capped at ``retry_backoff_max``)."""
        ceiling = min(self.retry_backoff_max, self.retry_backoff * 2.0**retry)
        return ceiling / 2 + random.uniform(0, ceiling / 2)


def make_http(opts: ClientOptions) -> httpx.AsyncClient:
    """The pooled httpx client: keep-alive, HTTP/2 when offered, redirects followed.

    Redirects are followed for the app's API (an ``http://`` root answered by ``https://``, a
    proxy's trailing-slash redirect); file downloads turn this off and follow them on the app's
    origin only (``files.download``). The HF token header never leaves the Space hosts, redirect
    or not (:func:`_keep_token_home`).
    """
    transport = httpx.AsyncHTTPTransport(
        http2=opts.http2,
        retries=opts.connect_retries,
        limits=httpx.Limits(
            max_connections=opts.max_connections,
            max_keepalive_connections=opts.max_keepalive,
            # Below uvicorn's 5 s keep-alive (gradio's server): a pooled connection the server has
            # already closed would fail the next request sent on it. Under load the two clocks
            # drift apart by seconds, so this only makes the race rarer; see never_processed.
            keepalive_expiry=4.0,
        ),
    )
    timeout = httpx.Timeout(opts.read_timeout, connect=opts.connect_timeout, pool=None)
    return httpx.AsyncClient(
        transport=transport,
        timeout=timeout,
        headers={"user-agent": USER_AGENT},
        follow_redirects=True,
        event_hooks={"request": [_keep_token_home]},
    )


async def _keep_token_home(request: httpx.Request) -> None:
    # httpx strips only ``Authorization`` on a cross-origin redirect; the client-wide HF token
    # header would follow a redirect from a Space to anywhere.
    if "x-hf-authorization" in request.headers and not is_space_host(str(request.url)):
        del request.headers["x-hf-authorization"]


class Attempt:
    """httpcore's account of one request, gathered through its ``trace`` extension.

    Pass it as ``extensions={"trace": attempt}``. ``new_connection`` is True when the request
    opened its own connection (False: a pooled keep-alive one was reused); ``failed`` names the
    first step that failed, e.g. ``"http11.receive_response_headers"``.
    """

    __slots__ = ("failed", "new_connection")

    def __init__(self) -> None:
        self.new_connection = False
        self.failed: str | None = None

    async def __call__(self, name: str, info: dict[str, Any]) -> None:
        step, _, phase = name.rpartition(".")
        if step.endswith((".connect_tcp", ".connect_unix_socket")):
            self.new_connection = True
        if phase == "failed" and self.failed is None:
            self.failed = step


# The HTTP/1.1 steps before any byte of a response is read; httpcore reads the response after a
# failed write (a server may answer early), so a dead connection fails in the last of them.
_BEFORE_RESPONSE = (
    "http11.send_request_headers",
    "http11.send_request_body",
    "http11.receive_response_headers",
)


def never_processed(exc: httpx.HTTPError, attempt: Attempt | None) -> bool:
    """True when the failure proves the server never processed the request, so even a request
    that must not run twice can be sent again.

    - No connection was made (refused, unresolvable, timed out, no pool slot): nothing was sent.
    - A pooled HTTP/1.1 connection was found closed (EOF or reset) before the response started.
      uvicorn, gradio's server, closes an idle keep-alive connection only between requests and
      never reads a request on a connection it closed; a request that reached it is answered.
      Our request met such a close in flight (the pool's check for a closed socket ran before
      the server's FIN arrived). A response head cut in half, or a proxy in front of the app
      that forwarded the request and then dropped us, would look the same; uvicorn writes a
      head in one piece, and such a proxy answers with a 502 instead.
    HTTP/2 has its own proof (GOAWAY's last stream id), which httpcore acts on by itself.
    """
    if isinstance(exc, httpx.ConnectError | httpx.ConnectTimeout | httpx.PoolTimeout):
        return True
    return (
        attempt is not None
        and not attempt.new_connection
        and attempt.failed in _BEFORE_RESPONSE
        and isinstance(exc, httpx.ReadError | httpx.WriteError | httpx.RemoteProtocolError)
    )


def may_resend(exc: httpx.HTTPError, attempt: Attempt | None, idempotent: bool) -> bool:
    """Whether a request that failed with ``exc`` may be sent again (module docstring)."""
    if never_processed(exc, attempt):
        return True
    return (
        idempotent
        and isinstance(exc, httpx.TransportError)
        and not isinstance(
            exc, httpx.ReadTimeout | httpx.WriteTimeout | httpx.UnsupportedProtocol | httpx.LocalProtocolError
        )
    )


@contextlib.contextmanager
def open_pool(http: httpx.AsyncClient) -> Iterator[None]:
    """Turn httpx's RuntimeError for a closed client into AppUnreachable.

    A connection is dropped (closed) by the first turn that finds it broken, while other turns may
    still be using it; for them it is a broken connection like any other, which they answer by
    asking again on a new one — not a programming error."""
    try:
        yield
    except RuntimeError as exc:
        if not http.is_closed:
            raise
        raise AppUnreachable("the connection to the app was closed after a failure") from exc


def unreachable(exc: httpx.HTTPError, root: str, what: str, tries: int, held_back: bool) -> AppUnreachable:
    """The error for a request that failed for good, after ``tries`` attempts: it tells "the app
    is gone" (refused, DNS) from "the connection broke"; ``held_back`` says the request was not
    sent again because the app may have received it."""
    sent = f" ({tries} attempts)" if tries > 1 else ""
    if isinstance(exc, httpx.ConnectError):
        if _caused_by(exc, socket.gaierror):
            return AppUnreachable(f"cannot reach the app at {root}: its host name does not resolve (DNS)")
        if _caused_by(exc, ConnectionRefusedError):
            return AppUnreachable(f"cannot reach the app at {root}: connection refused{sent}; is it running?")
        return AppUnreachable(f"cannot reach the app at {root}: no connection{sent} ({exc})")
    if isinstance(exc, httpx.ConnectTimeout | httpx.PoolTimeout):
        return AppUnreachable(f"cannot reach the app at {root}: connecting timed out{sent}")
    if isinstance(exc, httpx.TimeoutException):
        return AppUnreachable(f"the app at {root} did not answer {what} in time ({type(exc).__name__})")
    note = "; not sent again, since the app may have received it" if held_back else ""
    broke = f"the connection broke during {what}{sent} ({type(exc).__name__})"
    return AppUnreachable(f"cannot reach the app at {root}: {broke}{note}")


def _caused_by(exc: BaseException, kind: type[BaseException]) -> bool:
    """True when ``kind`` is in the cause chain (httpx → httpcore → OSError), or all of a group's
    members (anyio's failed attempts at each address of a host) come from ``kind``."""
    seen: BaseException | None = exc
    for _ in range(10):  # bounded against cause cycles
        if seen is None:
            return False
        if isinstance(seen, kind):
            return True
        if isinstance(seen, BaseExceptionGroup):
            return all(_caused_by(e, kind) for e in seen.exceptions)
        seen = seen.__cause__ or seen.__context__
    return False


def placeholder_app(root: str) -> AppInfo:
    return AppInfo(
        root=root,
        api_prefix="",
        version="0",
        major=0,
        mode=None,
        max_file_size=None,
        app_id=None,
        components={},
        dependencies={},
        endpoints={},
        chat=None,
    )


def json_object(resp: httpx.Response, what: str) -> dict[str, Any]:
    if resp.status_code != 200 and what in ("config", "info"):
        raise AppUnreachable(f"the app answered HTTP {resp.status_code} for /{what}; is it a Gradio app?")
    try:
        value = resp.json()
    except ValueError as exc:
        raise ProtocolError(f"the app's /{what} reply is not JSON; is it a Gradio app?") from exc
    if not isinstance(value, dict):
        raise ProtocolError(f"the app's /{what} reply is not a JSON object")
    return value


def validation_message(resp: httpx.Response) -> str:
    with contextlib.suppress(ValueError):
        detail = resp.json().get("detail")
        if isinstance(detail, list):
            msgs = [str(d.get("message")) for d in detail if isinstance(d, dict) and d.get("message")]
            if msgs:
                return "; ".join(msgs)
        if detail:
            return str(detail)
    return "the app rejected the input"
