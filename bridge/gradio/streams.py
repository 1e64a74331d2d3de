"""One SSE stream per session, multiplexing every event of that session (PROTOCOL.md §3.2).

A :class:`Job` is one submitted event: iterate it for typed events; it ends on its own terminal
event, never waiting for ``close_stream`` (§3.5). The stream for a session is opened after a join,
reopened when the server closes it while jobs are still pending, and never opened twice at once.

A request for the stream that failed is sent again only when the server provably never saw it
(``http.never_processed``): once the server has the request, a dropped connection cancels the
session's jobs server-side (PROTOCOL.md §3.5), and a reopened stream would then wait on
heartbeats forever. Those failures end the pending jobs with AppUnreachable instead.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Any

import httpx

from bridge.errors import AppUnreachable, ProtocolError
from bridge.gradio.events import Cancelled, Completed, Failed, JobEvent
from bridge.gradio.http import Attempt, ClientOptions, never_processed, open_pool, unreachable
from bridge.gradio.wire import EventDecoder, iter_sse

_CLOSE_GRACE_S = 2.0


class Job:
    """A submitted Gradio event. ``async for event in job`` yields events up to the terminal one."""

    def __init__(
        self,
        event_id: str,
        fn_index: int,
        session_hash: str,
        major: int,
        cancel: Callable[[Job], Awaitable[None]],
    ) -> None:
        self.event_id = event_id
        self.fn_index = fn_index
        self.session_hash = session_hash
        self.decoder = EventDecoder(major)
        self.result: JobEvent | None = None
        self._queue: asyncio.Queue[Any] = asyncio.Queue()
        self._cancel = cancel

    @property
    def done(self) -> bool:
        """True once the terminal event has been received."""
        return self.result is not None

    async def cancel(self) -> None:
        """Ask the app to cancel this event; the stream then ends with :class:`Cancelled`."""
        if not self.done:
            await self._cancel(self)

    def feed(self, msg: dict[str, Any]) -> None:
        """Deliver one raw queue message of this event (called by the session stream)."""
        try:
            event = self.decoder.decode(msg)
        except Exception as exc:  # a malformed message must end this job, not the session's stream
            event = Failed(
                message=f"the app sent data the bridge cannot read ({type(exc).__name__}: {exc})",
                unexpected=True,
                last=self.decoder.last,
            )
        if event is None or self.done:
            return
        if isinstance(event, Completed | Cancelled | Failed):
            self.result = event
        self._queue.put_nowait(event)

    def fail(self, exc: BaseException) -> None:
        """End the job with an exception raised from its iterator (the stream broke)."""
        if not self.done:
            self._queue.put_nowait(exc)

    def __aiter__(self) -> AsyncIterator[JobEvent]:
        return self._iterate()

    async def _iterate(self) -> AsyncIterator[JobEvent]:
        while True:
            item = await self._queue.get()
            if isinstance(item, BaseException):
                raise item
            yield item
            if isinstance(item, Completed | Cancelled | Failed):
                return

    async def wait(self) -> JobEvent:
        """Consume the job and return its terminal event."""
        last: JobEvent | None = None
        async for event in self:
            last = event
        assert last is not None
        return last


class SessionStream:
    """The one ``queue/data`` reader of a session_hash, dispatching messages to its jobs by event id."""

    def __init__(
        self,
        http: httpx.AsyncClient,
        url: str,
        session_hash: str,
        on_idle: Callable[[SessionStream], None],
        options: ClientOptions | None = None,
    ) -> None:
        self.session_hash = session_hash
        self.jobs: dict[str, Job] = {}
        self._early: dict[str, list[dict[str, Any]]] = {}
        self._http = http
        self._url = url
        self._on_idle = on_idle
        self._options = options or ClientOptions()
        self._task: asyncio.Task[None] | None = None
        self._deadline: asyncio.Timeout | None = None
        self._attempt = Attempt()  # httpcore's account of the current request

    def add(self, job: Job) -> None:
        """Register a joined job and make sure the stream is being read."""
        self.jobs[job.event_id] = job
        for msg in self._early.pop(job.event_id, []):
            self._dispatch(msg)
        if self._deadline is not None:
            self._deadline.reschedule(None)
        if self._task is None or self._task.done():
            self._task = asyncio.create_task(self._run(), name=f"gradio-stream-{self.session_hash[:8]}")

    async def close(self) -> None:
        """Stop reading; pending jobs fail with AppUnreachable."""
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
        self._fail_all(AppUnreachable("the connection to the app was closed"))

    def _dispatch(self, msg: dict[str, Any]) -> None:
        event_id = msg.get("event_id")
        if event_id is None:
            return
        job = self.jobs.get(event_id)
        if job is None:
            # A message can outrun the join's HTTP reply when several jobs share the stream.
            self._early.setdefault(event_id, []).append(msg)
            return
        job.feed(msg)
        if job.done:
            del self.jobs[event_id]

    def _fail_all(self, exc: BaseException) -> None:
        for job in list(self.jobs.values()):
            job.fail(exc)
        self.jobs.clear()

    async def _run(self) -> None:
        failures = 0
        try:
            while self.jobs:
                try:
                    with open_pool(self._http):
                        await self._read_once()
                    failures = 0
                except httpx.HTTPError as exc:
                    # Reopening is safe when the server never saw the request (module docstring):
                    # it keeps the session's messages queued until a reader takes them.
                    if failures == self._options.retries or not never_processed(exc, self._attempt):
                        raise
                    await asyncio.sleep(self._options.pause(failures))
                    failures += 1
        except asyncio.CancelledError:
            raise
        except AppUnreachable as exc:
            self._fail_all(exc)
        except httpx.HTTPError as exc:
            if never_processed(exc, self._attempt):  # the retries ran out: the app is gone
                origin = f"{httpx.URL(self._url).scheme}://{httpx.URL(self._url).netloc.decode()}"
                self._fail_all(unreachable(exc, origin, "GET /queue/data", failures + 1, False))
            else:
                why = f"{type(exc).__name__}: {exc}" if str(exc) else type(exc).__name__
                self._fail_all(
                    AppUnreachable(
                        f"the stream from the app broke ({why}); the app cancels a session's running "
                        "jobs when it loses their stream"
                    )
                )
        except ProtocolError as exc:
            self._fail_all(AppUnreachable(f"the stream from the app broke: {type(exc).__name__}: {exc}"))
        except Exception as exc:  # never leave jobs waiting on a reader that died
            self._fail_all(ProtocolError(f"reading the app's stream failed: {type(exc).__name__}: {exc}"))
        finally:
            if not self.jobs:
                self._on_idle(self)

    async def _read_once(self) -> None:
        params = {"session_hash": self.session_hash}
        self._attempt = Attempt()
        timeout = self._options.stream_read_timeout
        try:
            async with (
                asyncio.timeout(None) as deadline,
                self._http.stream(
                    "GET", self._url, params=params, timeout=timeout, extensions={"trace": self._attempt}
                ) as resp,
            ):
                self._deadline = deadline
                if resp.status_code != 200:
                    await resp.aread()
                    raise AppUnreachable(f"the app refused the event stream (HTTP {resp.status_code})")
                async for msg in iter_sse(resp.aiter_lines()):
                    if self._handle(msg):
                        return
                    if not self.jobs:
                        # Read on briefly for close_stream so the connection goes back to the
                        # pool; give up (and drop it) if the server keeps the stream open.
                        deadline.reschedule(asyncio.get_running_loop().time() + _CLOSE_GRACE_S)
        except TimeoutError:
            return
        finally:
            self._deadline = None
        if self.jobs:
            # The server ended the response while our jobs are pending: read again (the server
            # keeps the session's messages queued, so nothing is lost between two reads).
            await asyncio.sleep(0.05)

    def _handle(self, msg: dict[str, Any]) -> bool:
        """Dispatch one message; True when the server closed the stream."""
        kind = msg.get("msg")
        if kind == "close_stream":
            return True
        if kind == "unexpected_error" and msg.get("event_id") is None:
            text = str(msg.get("message") or "the app lost this session")
            raise AppUnreachable(f"the app ended the stream: {text}")
        if kind == "heartbeat" and msg.get("event_id") is None:
            for job in self.jobs.values():
                job.feed(msg)
            return False
        self._dispatch(msg)
        return False
