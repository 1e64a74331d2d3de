"""Hugging Face Spaces through the Hub: resolve a Space id to its host and wait until it runs.

The Hub's base URL comes from ``HF_ENDPOINT`` (a mirror, or a test fake). There is no explicit
wake call: traffic to a sleeping Space wakes it, so the bridge sends one request to the Space
and polls the runtime stage (PROTOCOL.md §10). Status changes are reported to the caller as
:class:`~bridge.gradio.events.SpaceStatus` so users can be told "waking up the Space".
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import re
from collections.abc import Callable

import httpx

from bridge.errors import AppUnreachable, AuthError, SpaceBroken, SpaceNotReady
from bridge.gradio.events import SpaceStatus

DEFAULT_HUB = "https://huggingface.co"
RUNNING = {"RUNNING", "RUNNING_BUILDING"}
WAKING = {"SLEEPING", "STOPPED"}
BROKEN = {
    "NO_APP_FILE": "has no app file",
    "CONFIG_ERROR": "has a configuration error",
    "BUILD_ERROR": "failed to build",
    "RUNTIME_ERROR": "crashed (runtime error)",
    "PAUSED": "is paused by its owner",
    "DELETING": "is being deleted",
}

StatusCallback = Callable[[SpaceStatus], None]


def hub_url() -> str:
    """The Hub base URL: ``$HF_ENDPOINT`` or huggingface.co."""
    return os.environ.get("HF_ENDPOINT", DEFAULT_HUB).rstrip("/")


def is_space_host(url: str) -> bool:
    """True for ``https://…hf.space`` URLs (the HF token may be sent there)."""
    host = httpx.URL(url).host
    return host.endswith(".hf.space")


def status_message(space_id: str, stage: str) -> str:
    """What to tell a user about a Space in ``stage``."""
    if stage in WAKING:
        return f"Waking up the Space {space_id}; this can take a minute…"
    if stage in RUNNING:
        return f"The Space {space_id} is running."
    if stage in BROKEN:
        return f"The Space {space_id} {BROKEN[stage]}; its owner has to fix it."
    return f"The Space {space_id} is starting ({stage.lower().replace('_', ' ')})…"


async def resolve_space(
    http: httpx.AsyncClient,
    space_id: str,
    token: str | None,
    on_status: StatusCallback | None = None,
    wake_timeout: float = 300.0,
    poll_interval: float = 2.0,
) -> str:
    """Return the Space's base URL once it is running; report stages on the way.

    Raises SpaceBroken for error stages, SpaceNotReady when ``wake_timeout`` passes, AuthError for
    a private Space without a valid token.
    """
    headers = {"authorization": f"Bearer {token}"} if token else {}
    loop = asyncio.get_running_loop()
    deadline = loop.time() + wake_timeout
    last_stage: str | None = None
    poked = False
    while True:
        host, stage = await _space_state(http, space_id, headers)
        if stage in RUNNING:
            return host
        if stage in BROKEN:
            raise SpaceBroken(status_message(space_id, stage), stage)
        if stage != last_stage and on_status is not None:
            on_status(SpaceStatus(stage=stage, message=status_message(space_id, stage)))
        last_stage = stage
        if stage in WAKING and not poked:
            poked = True
            await _poke(http, host, token)
        if loop.time() >= deadline:
            raise SpaceNotReady(
                f"the Space {space_id} did not start within {wake_timeout:g} s "
                f"(last stage: {stage}); try again later",
                stage,
            )
        await asyncio.sleep(poll_interval)


async def _space_state(http: httpx.AsyncClient, space_id: str, headers: dict[str, str]) -> tuple[str, str]:
    url = f"{hub_url()}/api/spaces/{space_id}"
    try:
        resp = await http.get(url, headers=headers)
    except httpx.HTTPError as exc:
        raise AppUnreachable(
            f"cannot reach the Hugging Face Hub at {hub_url()}: {type(exc).__name__}"
        ) from exc
    if resp.status_code in (401, 403):
        raise AuthError(f"the Hub refused access to the Space {space_id}: check the token (token_env)")
    if resp.status_code == 404:
        raise SpaceBroken(
            f"the Space {space_id} does not exist, or it is private and no valid token was given (token_env)",
            "NOT_FOUND",
        )
    if resp.status_code != 200:
        raise AppUnreachable(f"the Hub answered HTTP {resp.status_code} for the Space {space_id}")
    data = resp.json()
    runtime = data.get("runtime") or {}
    stage = str(runtime.get("stage") or "RUNNING")
    host = data.get("host") or _default_host(space_id)
    return str(host).rstrip("/"), stage


def _default_host(space_id: str) -> str:
    slug = re.sub(r"[^a-z0-9]+", "-", space_id.lower().replace("/", "-")).strip("-")
    return f"https://{slug}.hf.space"


async def _poke(http: httpx.AsyncClient, host: str, token: str | None) -> None:
    """Send the request that makes the HF proxy start a sleeping Space; its answer does not matter."""
    headers = {"x-hf-authorization": f"Bearer {token}"} if token else {}
    with contextlib.suppress(httpx.HTTPError):
        await http.get(f"{host}/config", headers=headers, timeout=5.0)
