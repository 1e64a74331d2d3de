"""Coordination between processes serving one bot on a shared Redis store: ``/stop`` anywhere.

With a Redis state store, several bridge processes can serve the same bot (Telegram webhooks
behind a load balancer); a Stop press can land on a process that is not writing the reply. When
``/stop`` finds nothing running locally, :meth:`StopRelay.stop_elsewhere` publishes a stop request
on the store's Redis (channel ``<prefix>control``); every process listens (:meth:`StopRelay.serve`),
and the one running that conversation's reply stops it and answers with an acknowledgement. The
requester waits for that answer at most ``timeout_s`` seconds, so ``/stop`` can still say
"nothing to stop" truthfully. Messages carry only the conversation key, never chat content.
(Turn order across processes comes from the shared inbox, :mod:`bridge.consume`.) With the memory
or SQLite store there is one process and no relay (:func:`relay_for` gives None).
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import uuid
from collections.abc import Awaitable, Callable
from typing import Any

import structlog

from bridge.model import ConversationKey
from bridge.sessions import SessionStore

log = structlog.get_logger(__name__)
StopLocal = Callable[[ConversationKey], Awaitable[bool]]


class StopRelay:
    """Stop requests and their acknowledgements over Redis pub/sub (one channel per key prefix)."""

    def __init__(self, client: Any, channel: str, timeout_s: float = 2.0) -> None:
        self._client = client
        self.channel = channel
        self.timeout_s = timeout_s
        self._waiting: dict[str, asyncio.Future[bool]] = {}
        self._listening = asyncio.Event()

    async def stop_elsewhere(self, key: ConversationKey) -> bool:
        """Ask the other processes to stop ``key``'s reply; True when one did within the timeout."""
        if not self._listening.is_set():
            return False  # not subscribed: an acknowledgement could not be heard
        request = uuid.uuid4().hex
        answer = asyncio.get_running_loop().create_future()
        self._waiting[request] = answer
        try:
            body = {"op": "stop", "id": request, "key": _fields(key)}
            await self._client.publish(self.channel, json.dumps(body))
            async with asyncio.timeout(self.timeout_s):
                return bool(await answer)
        except TimeoutError:
            return False
        except Exception as exc:  # Redis down: the stop is not relayed, the user is told nothing runs
            log.warning("relaying /stop failed", error=type(exc).__name__)
            return False
        finally:
            self._waiting.pop(request, None)

    async def serve(self, stop_local: StopLocal) -> None:
        """Listen until cancelled: stop local replies others ask for; resolve our own requests.

        Reconnects after Redis outages (with back-off), logging each outage once.
        """
        delay = 0.5
        while True:
            pubsub = self._client.pubsub()
            try:
                await pubsub.subscribe(self.channel)
                self._listening.set()
                delay = 0.5
                async for message in pubsub.listen():
                    if message.get("type") == "message":
                        await self._handle(message.get("data"), stop_local)
            except asyncio.CancelledError:
                raise
            except Exception as exc:
                log.warning("stop relay disconnected; reconnecting", error=type(exc).__name__, in_s=delay)
            finally:
                self._listening.clear()
                with contextlib.suppress(Exception):
                    await pubsub.aclose()
            await asyncio.sleep(delay)
            delay = min(30.0, delay * 2)

    async def _handle(self, raw: Any, stop_local: StopLocal) -> None:
        try:
            body = json.loads(raw)
            request = str(body["id"])
            if body.get("op") == "stopped":
                answer = self._waiting.get(request)
                if answer is not None and not answer.done():
                    answer.set_result(True)
            elif body.get("op") == "stop" and await stop_local(ConversationKey(**body["key"])):
                await self._client.publish(self.channel, json.dumps({"op": "stopped", "id": request}))
        except (ValueError, KeyError, TypeError) as exc:
            log.warning("ignored a malformed control message", error=type(exc).__name__)


def relay_for(store: SessionStore) -> StopRelay | None:
    """The stop relay on the store's coordination (its channel under the store's prefix); None for
    one-process stores."""
    shared = store.coordination()
    return StopRelay(shared.client, shared.prefix + "control") if shared else None


def _fields(key: ConversationKey) -> dict[str, str | None]:
    return {"adapter": key.adapter, "chat": key.chat, "thread": key.thread, "user": key.user}
