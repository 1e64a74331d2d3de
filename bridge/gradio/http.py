"""The client's HTTP layer: the pooled httpx client, its options, and reply decoding helpers."""

from __future__ import annotations

import contextlib
from dataclasses import dataclass
from typing import Any

import httpx

from bridge.errors import AppUnreachable, ProtocolError
from bridge.gradio.appinfo import AppInfo

USER_AGENT = "gradio-bridge/0.1"


@dataclass(frozen=True, slots=True)
class ClientOptions:
    """Transport settings; the defaults suit thousands of concurrent streams on one app."""

    connect_timeout: float = 10.0
    read_timeout: float = 60.0
    stream_read_timeout: float = 120.0  # heartbeats come every 15 s while events are pending
    max_connections: int = 4096
    max_keepalive: int = 512
    connect_retries: int = 2
    http2: bool = True
    wake_timeout: float = 300.0
    hub_poll_interval: float = 2.0


def make_http(opts: ClientOptions) -> httpx.AsyncClient:
    """The pooled httpx client: keep-alive, HTTP/2 when offered, connect retries only."""
    transport = httpx.AsyncHTTPTransport(
        http2=opts.http2,
        retries=opts.connect_retries,
        limits=httpx.Limits(
            max_connections=opts.max_connections,
            max_keepalive_connections=opts.max_keepalive,
            # Below uvicorn's 5 s keep-alive (gradio's server): a pooled connection the server has
            # already closed would fail the next request sent on it.
            keepalive_expiry=4.0,
        ),
    )
    timeout = httpx.Timeout(opts.read_timeout, connect=opts.connect_timeout, pool=None)
    return httpx.AsyncClient(
        transport=transport, timeout=timeout, headers={"user-agent": USER_AGENT}, follow_redirects=True
    )


def unanswered(exc: httpx.HTTPError) -> bool:
    """True when the server closed the connection before answering (a stale pooled connection).

    uvicorn closes an idle keep-alive connection only between requests, so a request that met a
    closed connection was never processed and is safe to send again.
    """
    if isinstance(exc, httpx.ConnectError | httpx.ConnectTimeout):
        return True
    return isinstance(exc, httpx.RemoteProtocolError) and "without sending a response" in str(exc)


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
