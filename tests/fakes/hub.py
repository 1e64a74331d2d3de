"""A loopback fake of the Hugging Face Hub's Space API (``GET /api/spaces/{owner}/{name}``).

Each Space has a host (a local Gradio app) and a list of runtime stages: every GET returns the
current stage and then advances one step, so ``["SLEEPING", "APP_STARTING", "RUNNING"]`` plays a
wake-up. A Space with a ``token`` answers 401 without ``Authorization: Bearer <token>``.
Run it with :func:`serve_hub` (an async context manager that yields the base URL).
"""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator
from dataclasses import dataclass, field

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route

from tests.fakes.server import serve


@dataclass
class FakeSpace:
    """One Space's script: its host, its stages (the last one repeats), an optional token."""

    host: str
    stages: list[str] = field(default_factory=lambda: ["RUNNING"])
    token: str | None = None
    requests: int = 0


@dataclass
class FakeHub:
    """The Hub's state; ``spaces`` maps ``owner/name`` to its script."""

    spaces: dict[str, FakeSpace] = field(default_factory=dict)

    def app(self) -> Starlette:
        async def space(request: Request) -> JSONResponse:
            sid = f"{request.path_params['owner']}/{request.path_params['name']}"
            sp = self.spaces.get(sid)
            if sp is None:
                return JSONResponse({"error": "Repository not found"}, status_code=404)
            if sp.token and request.headers.get("authorization") != f"Bearer {sp.token}":
                return JSONResponse({"error": "Invalid credentials"}, status_code=401)
            sp.requests += 1
            stage = sp.stages[0]
            if len(sp.stages) > 1:
                sp.stages.pop(0)
            return JSONResponse({"id": sid, "host": sp.host, "runtime": {"stage": stage, "hardware": {}}})

        return Starlette(routes=[Route("/api/spaces/{owner}/{name}", space)])


@contextlib.asynccontextmanager
async def serve_hub(hub: FakeHub) -> AsyncIterator[str]:
    """Serve ``hub`` on 127.0.0.1 (a free port) for the duration of the block; yield its base URL."""
    async with serve(hub.app()) as served:
        yield served.url
