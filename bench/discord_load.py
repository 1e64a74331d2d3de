"""Many Discord conversations streaming at once through ``bridge serve``, against the loopback fake Discord.

Usage::

    python bench/discord_load.py [--conversations 100] [--slash-share 0.5] [--channels 10] [--turns 1]
                                 [--state sqlite|memory] [--tokens 50] [--delay 0.01] [--stall 60]
                                 [--out FILE] [--json FILE] [--dump-calls FILE] [--keep-logs]

Three processes per run, all fresh. This one serves the fake Discord (``tests/fakes/discord.py``: REST
under ``/api/v10`` and the websocket gateway, with Discord's budgets enforced: 5 message creates per 5 s
per channel, 5 edits per 5 s per message, 50 requests per second for the bot; 429s carry
``retry_after``). ``bridge serve CONFIG`` runs in a child process (the real CLI path: a TOML config with
one Discord adapter pointed at the fake's REST base and gateway, ``scope = "thread"``, sqlite state by
default), so its CPU time (``/proc/PID/stat``, user+system) and peak RSS (``VmHWM``) are its own. The
app runs in a third: ``bench/app.py``'s streaming ``gr.ChatInterface`` with its deterministic reply
``"MESSAGE #K w0 ... w{TOKENS-1}"``, started through ``bench/telegram_load.py --app``, which also logs
the wall-clock time of each reply's start and of its final chunk.

Before the bridge connects, the fake's guild gets ``--channels`` extra text channels and one user per
conversation. After the bridge has registered its slash commands and one warm-up turn of each kind has
been answered, every conversation sends its first message at once:

* *slash* conversations (``--slash-share`` of N, rounded) run ``/chat message:…`` in #general; the
  bridge answers the interaction with the prompt, opens a thread from that answer and streams the
  reply in the thread; later turns (``--turns``) are plain messages in the thread;
* *mention* conversations ``@bot …`` in the extra channels, spread round-robin; the reply streams in
  the channel, replying to the user's message; later turns are further mentions.

Each conversation sends its next message as soon as its previous reply's final text reached the fake.

Measured per turn, in wall-clock time (``time.time()`` in every process, one machine): *ack* (slash
only): from the push to the interaction's answer; *first*: from the push to the first write of the
reply's message (the placeholder or status); *app→DC*: from the app's final chunk to the write that
carries the final text (without the Stop button); *push→app* (intake and queueing), *gen* (the app's
own streaming) and *push→final*. Per run: wall time (first push to last final), the bridge's CPU
seconds over it and its RSS idle and at peak, the app's and this process's CPU seconds (the fake runs
here), REST calls per route with their outcomes, the 429s by the budget that refused them (per-channel
creates, per-message edits, global), other error replies, and the bridge log's warnings and errors.
Correctness: every final text must be exactly the app's reply, carried by exactly one write, present
exactly once as the final content of a bot message in the right place (the conversation's thread, or
its channel replying to the user's message); each thread and channel must hold exactly the replies of
its conversations, and #general exactly one answer per ``/chat``. When the bridge cannot open a
``/chat``'s thread it answers in #general, replying to the prompt: such a conversation is followed there
(later turns are mentions) and counted apart (the *threads* column).
Only 127.0.0.1 is contacted; this is a hand-run benchmark and asserts nothing about times.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import os
import re
import shutil
import sys
import tempfile
import time
from collections import Counter
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
sys.path.insert(0, str(HERE))
sys.path.insert(1, str(ROOT))

from app import expected_reply  # noqa: E402
from client_bench import QUIET_ENV, percentile, proc_cpu_seconds  # noqa: E402
from telegram_load import (  # noqa: E402
    Child,
    diff,
    ms,
    num,
    proc_memory_mb,
    self_cpu_seconds,
    start_app,
    take_signals,
)

TOKEN = "bench-discord-bot-token"
TOKEN_ENV = "DC_BENCH_TOKEN"
KINDS = ("slash", "mention")
BUDGETS = ("channel creates", "message edits", "global")


# -- conversations ------------------------------------------------------------------------------
@dataclass
class Turn:
    """One user message and what became of it (times are ``time.time()``)."""

    conv: Conv
    index: int
    message: str
    expected: str
    pushed: float = 0.0
    ack: float | None = None  # slash turns: the interaction's answer (the prompt in #general)
    first: float | None = None  # the first write of the reply's message
    final: float | None = None  # the write carrying the final text
    final_writes: int = 0
    user_message_id: str | None = None  # the message the reply answers (all but a slash first turn)
    answer_id: str | None = None  # slash first turns: the interaction's answer message
    reply_ids: list[str] = field(default_factory=list)  # the bot messages of the reply
    done: asyncio.Event = field(default_factory=asyncio.Event)
    app_start: float | None = None
    app_final: float | None = None


@dataclass
class Conv:
    """One conversation: a user, where it talks, and its turns."""

    kind: str  # "slash" or "mention"
    tag: str
    user_id: str
    channel_id: str  # #general for slash conversations, an extra channel for mentions
    turns: list[Turn] = field(default_factory=list)
    thread_id: str | None = None  # the thread its /chat opened
    in_channel: bool = False  # its /chat opened no thread: the bridge answered in the channel instead
    current: Turn | None = None

    @property
    def place(self) -> str:
        """Where its replies go: its thread, or its channel."""
        return self.thread_id or self.channel_id

    def reply_target(self, turn: Turn) -> str | None:
        """The message a turn's reply must reply to: none in a fresh thread, else the user's message (or,
        answered in the channel instead of a thread, the /chat's answer)."""
        if self.kind == "slash" and turn.index == 0:
            return turn.answer_id if self.in_channel else None
        return turn.user_message_id


@dataclass
class CallRecord:
    """One REST request as the fake answered it: wall-clock arrival, route name, status."""

    at: float
    name: str
    route: str
    status: int
    channel: str | None


def plan(
    fake: Any,
    n: int,
    slash_share: float,
    channels: list[str],
    turns: int,
    tokens: int,
    prefix: str = "",
    slash_channel: str | None = None,
) -> list[Conv]:
    """The conversations of a run, each with its own user (a guild member): slash ones first, in
    ``slash_channel`` (#general by default), mentions round-robin over ``channels``."""
    slash = int(n * slash_share + 0.5)
    convs = []
    for i in range(1, n + 1):
        kind = "slash" if i <= slash else "mention"
        tag = f"{prefix}{kind[0]}{i if kind == 'slash' else i - slash}"
        uid = fake.add_user(f"{tag}-user")
        fake.add_member(fake.guild_id, uid, [fake.member_role_id])
        channel = (
            (slash_channel or fake.channel_id)
            if kind == "slash"
            else channels[(i - slash - 1) % len(channels)]
        )
        conv = Conv(kind, tag, uid, channel)
        conv.turns = [
            Turn(conv, t, f"{tag}t{t}", expected_reply(f"{tag}t{t}", t, tokens)) for t in range(turns)
        ]
        convs.append(conv)
    return convs


# -- the fake Discord, with a timestamp per call and per write -----------------------------------
def make_fake_class() -> type[Any]:
    """FakeDiscord on the wall clock, recording every REST call, classifying its 429s and attributing
    every bot write to the turn it belongs to (imported late: the fake lives in the tests package)."""
    from tests.fakes.discord import ApiError, FakeDiscord

    class StampedDiscord(FakeDiscord):
        def __init__(self, token: str) -> None:
            super().__init__(token, clock=time.time)  # writes and budgets on the wall clock
            self.log: list[CallRecord] = []
            self.refused: list[tuple[float, str, str, float | None]] = []  # (at, route, budget, retry)
            self.by_user: dict[str, Conv] = {}
            self.by_thread: dict[str, Conv] = {}
            self.by_reply: dict[str, Turn] = {}
            self.stray: list[str] = []  # bot messages that belong to no turn (and are no /chat answer)

        # every call, stamped on arrival
        def _wrap(
            self, name: str, method: str, template: str, handler: Callable[[Any], Awaitable[Any]], kind: str
        ) -> Any:
            inner = super()._wrap(name, method, template, handler, kind)

            async def serve(request: Any) -> Any:
                at = time.time()
                channel = request.match_info.get("channel_id")
                try:
                    response = await inner(request)
                except BaseException:
                    self.log.append(CallRecord(at, name, f"{method} {template}", 500, channel))
                    raise
                self.log.append(CallRecord(at, name, f"{method} {template}", response.status, channel))
                return response

            return serve

        def _budget(self, req: Any, kind: str) -> tuple[str, str]:
            try:
                return super()._budget(req, kind)
            except ApiError as exc:
                if exc.status == 429:
                    budget = (
                        "global"
                        if exc.is_global
                        else "channel creates"
                        if req.name == "create_message"
                        else "message edits"
                    )
                    self.refused.append((time.time(), req.name, budget, exc.retry_after))
                raise

        async def _thread_from_message(self, req: Any) -> Any:
            thread = await super()._thread_from_message(req)
            started = self.messages.get(req.params["message_id"])
            inter = self.interactions.get(started.interaction_id or "") if started else None
            conv = self.by_user.get(inter.user_id) if inter else None
            if conv is not None:
                conv.thread_id = thread["id"]
                self.by_thread[thread["id"]] = conv
            return thread

        def _compose(self, msg: Any, body: Any, uploads: Any, **kwargs: Any) -> None:
            super()._compose(msg, body, uploads, **kwargs)
            if msg.from_bot:
                self._attribute(msg, body)

        def _attribute(self, msg: Any, body: dict[str, Any]) -> None:
            write = msg.writes[-1]
            turn = self.by_reply.get(msg.id)
            if turn is None and write.kind == "create":
                turn = self._owner(msg, body, write.at)
                if turn is not None:
                    self.by_reply[msg.id] = turn
                    turn.reply_ids.append(msg.id)
            if turn is None:
                return
            if turn.first is None:
                turn.first = write.at
            if write.content == turn.expected and not msg.components:
                turn.final_writes += 1
                if turn.final is None:
                    turn.final = write.at
                    turn.done.set()

        def _owner(self, msg: Any, body: dict[str, Any], at: float) -> Turn | None:
            """The turn a new bot message belongs to; a /chat's answer stamps its turn's ack."""
            if write_route(msg) == "interaction":
                inter = self.interactions.get(msg.interaction_id or "")
                conv = self.by_user.get(inter.user_id) if inter else None
                if conv is not None and conv.current is not None and conv.current.ack is None:
                    conv.current.ack, conv.current.answer_id = at, msg.id
                    return None
                self.stray.append(msg.id)
                return None
            ref = body.get("message_reference") or {}
            target = self.messages.get(str(ref.get("message_id")))
            if target is not None and not target.from_bot:
                conv = self.by_user.get(target.author_id)
                if conv is not None and conv.current is not None:
                    return conv.current
            if target is not None and target.interaction_id:  # a reply to the /chat's answer: no thread
                inter = self.interactions.get(target.interaction_id)
                conv = self.by_user.get(inter.user_id) if inter else None
                if conv is not None and conv.current is not None and conv.thread_id is None:
                    conv.in_channel = True
                    return conv.current
            conv = self.by_thread.get(msg.channel_id)
            if conv is not None and not ref and conv.current is not None:
                return conv.current
            self.stray.append(msg.id)
            return None

    return StampedDiscord


def write_route(msg: Any) -> str:
    return str(msg.writes[0].route) if msg.writes else ""


# -- the bridge -----------------------------------------------------------------------------------
def write_config(tmp: Path, fake: Any, fake_url: str, app_url: str, state: str) -> Path:
    """``bridge serve``'s TOML: one Space (the app) and one Discord adapter on the fake."""
    state_url = "memory://" if state == "memory" else "sqlite:///bridge-state.db"
    text = f"""\
[bridge]
state = "{state_url}"
log_format = "json"
log_level = "info"

[spaces.app]
src = "{app_url}"

[adapters.dc]
type = "discord"
space = "app"
token_env = "{TOKEN_ENV}"
api_base_url = "{fake_url}/api/v10"
gateway_url = "{fake.gateway_url}"
scope = "thread"
turns_per_minute = 0
max_in_flight_per_user = 10000
"""
    path = tmp / "bridge.toml"
    path.write_text(text)
    return path


def start_bridge(config: Path, tmp: Path) -> Child:
    env = {**os.environ, **QUIET_ENV, TOKEN_ENV: TOKEN, "NO_PROXY": "127.0.0.1,localhost"}
    cmd = [sys.executable, "-m", "bridge.cli", "serve", str(config)]
    return Child("bridge serve", cmd, env, tmp, tmp / "bridge.log", pipe=False)


async def wait_ready(fake: Any, bridge: Child, limit_s: float) -> None:
    """Until the bridge has registered its slash commands; a clear error when it exits or takes too long."""
    deadline = time.monotonic() + limit_s
    while not (fake.sessions and fake.find_command("chat", None)):
        if not bridge.running():
            raise RuntimeError(f"bridge serve exited with {bridge.proc.returncode}:\n{bridge.tail()}")
        if time.monotonic() > deadline:
            raise RuntimeError(f"bridge serve did not register /chat within {limit_s:g} s:\n{bridge.tail()}")
        await asyncio.sleep(0.1)


# -- the load -------------------------------------------------------------------------------------
async def push(fake: Any, turn: Turn) -> None:
    conv = turn.conv
    conv.current = turn
    turn.pushed = time.time()
    if conv.kind == "slash" and turn.index == 0:
        await fake.push_interaction(
            "chat", {"message": turn.message}, channel_id=conv.channel_id, user_id=conv.user_id
        )
        return
    if conv.thread_id is not None:
        sent = await fake.push_message(conv.thread_id, conv.user_id, turn.message)
    else:  # mentions, and a /chat answered in the channel: the conversation goes on with mentions
        sent = await fake.push_message(conv.channel_id, conv.user_id, turn.message, mentions_bot=True)
    turn.user_message_id = str(sent["id"])


async def converse(fake: Any, conv: Conv) -> None:
    """One conversation: each message once the previous reply's final text is out."""
    for turn in conv.turns:
        await push(fake, turn)
        await turn.done.wait()


async def progress(turns: list[Turn], start: float) -> None:
    while True:
        await asyncio.sleep(10)
        done = sum(t.final is not None for t in turns)
        print(f"  {time.time() - start:5.0f} s: {done}/{len(turns)} finals", file=sys.stderr, flush=True)


async def load(fake: Any, convs: list[Conv], bridge: Child, limit_s: float, stall_s: float) -> bool:
    """Run every conversation; False when ``limit_s`` passed first, or ``stall_s`` without a new final
    text, or the bridge died, or a push failed."""
    flat = [t for conv in convs for t in conv.turns]
    tasks = [asyncio.create_task(converse(fake, conv)) for conv in convs]
    started = time.time()
    reporter = asyncio.create_task(progress(flat, started))
    deadline = time.monotonic() + limit_s
    failed = False

    def stalled() -> bool:
        last = max((t.final for t in flat if t.final is not None), default=started)
        if time.time() - last > stall_s:
            print(f"  no final text for {stall_s:g} s; stopping the load", file=sys.stderr, flush=True)
            return True
        return False

    try:
        while tasks and time.monotonic() < deadline and bridge.running() and not stalled():
            finished, pending = await asyncio.wait(tasks, timeout=min(1.0, deadline - time.monotonic()))
            for task in finished:
                if task.exception() is not None:
                    failed = True
                    print(f"  a conversation failed: {task.exception()!r}", file=sys.stderr, flush=True)
            tasks = list(pending)
    finally:
        for task in [*tasks, reporter]:
            task.cancel()
        await asyncio.gather(*tasks, reporter, return_exceptions=True)
    return not tasks and not failed


async def warm_up(
    fake: Any, convs: list[Conv], spec: dict[str, Any], args: argparse.Namespace, bridge: Child
) -> None:
    """One slash and one mention turn in a channel of their own (connects the bridge to the app)."""
    if not await load(fake, convs, bridge, args.start_timeout, args.start_timeout):
        raise RuntimeError(f"the warm-up turns got no final text:\n{bridge.tail()}")
    turns = [t for c in convs for t in c.turns]
    spec["warm_s"] = max(t.final or 0.0 for t in turns) - min(t.pushed for t in turns)
    await asyncio.sleep(1.5)  # let the warm-up's last calls (typing, MESSAGE_UPDATEs) pass


async def run_once(spec: dict[str, Any], args: argparse.Namespace) -> dict[str, Any]:
    """A fresh app, fake and bridge; a warm-up; the load; the numbers."""
    from tests.fakes.discord import serve_discord

    tmp = Path(tempfile.mkdtemp(prefix="dc-load-"))
    keep = args.keep_logs
    app, app_url, finals = start_app(args, tmp)
    try:
        fake = make_fake_class()(TOKEN)
        channels = [fake.add_channel(fake.guild_id, f"load-{i}") for i in range(1, args.channels + 1)]
        convs = plan(fake, spec["conversations"], args.slash_share, channels, args.turns, args.tokens)
        warm_channel = fake.add_channel(fake.guild_id, "warm")
        warm = plan(fake, 2, 0.5, [warm_channel], 1, args.tokens, prefix="warm", slash_channel=warm_channel)
        fake.by_user.update({c.user_id: c for c in [*warm, *convs]})
        async with serve_discord(fake) as fake_url:
            config = write_config(tmp, fake, fake_url, app_url, args.state)
            bridge = start_bridge(config, tmp)
            try:
                await wait_ready(fake, bridge, args.start_timeout)
                await warm_up(fake, warm, spec, args, bridge)
                result = await measure(fake, bridge, app, convs, spec, args)
            except BaseException:
                await asyncio.to_thread(bridge.stop, 5.0)  # the fake may be gone: do not wait long
                raise
            result_exit = await asyncio.to_thread(bridge.stop, 30.0)
        result["bridge_exit"] = result_exit
        result.update(app_times(finals, [t for c in convs for t in c.turns]))
        result["bridge_log"] = log_summary(tmp / "bridge.log")
        keep = keep or bool(result["bridge_log"]["problems"]) or result_exit not in (0, None)
        return result
    except BaseException:
        keep = True
        raise
    finally:
        app.stop()
        if keep:
            print(f"  logs kept in {tmp}", file=sys.stderr)
        else:
            shutil.rmtree(tmp, ignore_errors=True)


def log_summary(path: Path) -> dict[str, Any]:
    """The bridge log's lines by level, and its warning/error events with numbers, ids and ports masked
    (``Retrying in 0.94 seconds`` and ``… 0.91 seconds`` count as one), like ``bridge_log_summary`` of
    ``telegram_load.py``. discord.py's start-up notes that voice support (PyNaCl, davey) is not installed
    are left out: the bridge uses no voice."""
    levels: Counter[str] = Counter()
    problems: Counter[str] = Counter()
    with contextlib.suppress(OSError):
        for line in path.read_text(errors="replace").splitlines():
            try:
                row = json.loads(line)
            except ValueError:
                levels["non-json"] += 1
                if line.strip():
                    problems[f"(raw) {re.sub(r'[0-9]+', 'N', line.strip())[:120]}"] += 1
                continue
            level = str(row.get("level", "?"))
            levels[level] += 1
            event = str(row.get("event"))
            if level in ("warning", "error", "critical", "exception") and "voice will NOT" not in event:
                event = re.sub(r"127\.0\.0\.1:[0-9]+", "FAKE", event)
                event = re.sub(r"[0-9]+(\.[0-9]+)?", "N", event)
                extra = {k: v for k, v in row.items() if k in ("status", "error")}
                problems[f"{level}: {event[:140]}" + (f" {extra}" if extra else "")] += 1
    return {"levels": dict(levels), "problems": dict(problems.most_common(12))}


async def measure(
    fake: Any, bridge: Child, app: Child, convs: list[Conv], spec: dict[str, Any], args: argparse.Namespace
) -> dict[str, Any]:
    start_log, start_errors, start_refused = len(fake.log), len(fake.errors), len(fake.refused)
    start_429, start_stray = fake.count_429, len(fake.stray)
    before = {
        "loadavg": os.getloadavg()[0],
        "bridge_cpu": proc_cpu_seconds(bridge.pid),
        "app_cpu": proc_cpu_seconds(app.pid),
        "bridge_rss": proc_memory_mb(bridge.pid, "VmRSS"),
    }
    self_cpu0, start = self_cpu_seconds(), time.time()
    completed = await load(fake, convs, bridge, args.run_timeout, args.stall)
    flat = [t for conv in convs for t in conv.turns]
    end = (
        max((t.final for t in flat if t.final is not None), default=time.time()) if completed else time.time()
    )
    bridge_cpu, app_cpu = proc_cpu_seconds(bridge.pid), proc_cpu_seconds(app.pid)
    self_cpu = self_cpu_seconds()
    peak = proc_memory_mb(bridge.pid, "VmHWM")
    await asyncio.sleep(args.settle)  # late or duplicate writes show up in the checks below
    calls = fake.log[start_log:]
    if args.dump_calls:
        dump_calls(args.dump_calls, spec, calls, fake.refused[start_refused:], start)
    refused = fake.refused[start_refused:]
    return {
        **spec,
        "slash": sum(c.kind == "slash" for c in convs),
        "mention": sum(c.kind == "mention" for c in convs),
        "channels": args.channels,
        "turns": args.turns,
        "completed": completed,
        "bridge_alive": bridge.running(),
        "wall_s": end - start,
        "bridge_cpu_s": diff(bridge_cpu, before["bridge_cpu"]),
        "app_cpu_s": diff(app_cpu, before["app_cpu"]),
        "fake_cpu_s": self_cpu - self_cpu0,
        "bridge_rss_before_mb": before["bridge_rss"],
        "bridge_peak_rss_mb": peak,
        "loadavg_before": before["loadavg"],
        "loadavg_after": os.getloadavg()[0],
        "count_429": fake.count_429 - start_429,
        "refused_by_budget": Counter(budget for _, _, budget, _ in refused),
        "refused_by_route": Counter(f"{name} ({budget})" for _, name, budget, _ in refused),
        "fake_errors": Counter(
            f"{e.method} {e.route} {e.status}: {e.message[:80]}" for e in fake.errors[start_errors:]
        ),
        "calls": Counter(c.name for c in calls),
        "calls_failed": Counter(f"{c.name} {c.status}" for c in calls if c.status >= 300),
        "gateway_dispatches": sum(s.seq for s in fake.sessions.values()),
        "store": store_check(fake, convs, fake.stray[start_stray:]),
        "_turns": flat,
    }


def dump_calls(
    path: Path, spec: dict[str, Any], calls: list[CallRecord], refused: list[Any], start: float
) -> None:
    """Append the run's calls (arrival, route, status, channel) and 429s (with the refusing budget)."""
    with path.open("a") as out:
        for c in calls:
            row = {**spec, "at": c.at, "t": round(c.at - start, 4), "name": c.name, "route": c.route}
            row |= {"status": c.status, "channel": c.channel}
            out.write(json.dumps(row) + "\n")
        for at, name, budget, retry in refused:
            row = {**spec, "at": at, "t": round(at - start, 4), "name": name, "status": 429}
            row |= {"budget": budget, "retry_after": retry}
            out.write(json.dumps(row) + "\n")


def store_check(fake: Any, convs: list[Conv], stray: list[str]) -> dict[str, Any]:
    """Where the replies ended up: each final text once, as a bot message's content, in the right place."""
    wrong: list[str] = []
    by_content: dict[str, list[Any]] = {}
    for m in fake.messages.values():
        if m.from_bot and not m.deleted:
            by_content.setdefault(m.content, []).append(m)
    misplaced = not_once = 0
    for conv in convs:
        for turn in conv.turns:
            found = by_content.get(turn.expected, [])
            if len(found) != 1:
                not_once += 1
                wrong.append(f"{turn.message}: final text in {len(found)} messages")
                continue
            m = found[0]
            ref = (m.message_reference or {}).get("message_id")
            if m.channel_id != conv.place or ref != conv.reply_target(turn) or m.components:
                misplaced += 1
                wrong.append(f"{turn.message}: in {m.channel_id} (want {conv.place}), replying to {ref}")
    places: dict[str, list[Conv]] = {}
    for conv in convs:
        places.setdefault(conv.place, []).append(conv)
    places_wrong = 0
    for place, owners in places.items():
        msgs = [m for m in fake.channel_messages(place) if m.from_bot and not m.deleted and m.type != 20]
        got = Counter(m.content for m in msgs)
        want = Counter(t.expected for c in owners for t in c.turns)
        if got != want:
            places_wrong += 1
            extra = sorted((got - want).elements())[:3]
            wrong.append(
                f"channel {place}: {sum(got.values())} bot messages, want {sum(want.values())}; {extra}"
            )
    slash = [c for c in convs if c.kind == "slash"]
    answers = [m for m in fake.channel_messages(fake.channel_id) if m.from_bot and m.type == 20]
    answers_ok = len(answers) == len(slash) and all(not m.deleted for m in answers)
    return {
        "not_once": not_once,
        "misplaced": misplaced,
        "places_wrong": places_wrong,
        "threads": sum(c.thread_id is not None for c in slash),
        "answered_in_channel": sum(c.in_channel for c in slash),
        "chat_answers_ok": answers_ok,
        "stray_messages": len(stray),
        "examples": wrong[:6],
    }


def app_times(finals: Path, turns: list[Turn]) -> dict[str, Any]:
    """Join the app's reply times onto the turns; the numbers of the report."""
    seen: Counter[str] = Counter()
    by_message: dict[str, dict[str, float]] = {}
    for line in finals.read_text().splitlines():
        row = json.loads(line)
        seen[row["message"]] += 1
        by_message[row["message"]] = row
    for turn in turns:
        row = by_message.get(turn.message)
        if row:
            turn.app_start, turn.app_final = row["start"], row["final"]
    ok = [t for t in turns if t.final is not None]
    out: dict[str, Any] = {
        "expected": len(turns),
        "finals_ok": sum(t.final_writes == 1 for t in ok),
        "missing": [t.message for t in turns if t.final is None][:10],
        "missing_count": sum(t.final is None for t in turns),
        "duplicates": sum(t.final_writes > 1 for t in turns),
        "app_generations_extra": sum(n - 1 for n in seen.values() if n > 1),
        "by_kind": {},
    }
    for kind, selected in (("all", ok), *((k, [t for t in ok if t.conv.kind == k]) for k in KINDS)):
        if selected:
            out["by_kind"][kind] = stats(selected)
    return out


def stats(turns: list[Turn]) -> dict[str, Any]:
    def pct(values: list[float]) -> dict[str, float | None]:
        return {
            "p50": percentile(values, 50),
            "p99": percentile(values, 99),
            "max": max(values, default=None),
        }

    ack = [t.ack - t.pushed for t in turns if t.ack is not None]
    first = [t.first - t.pushed for t in turns if t.first is not None]
    app_to_dc = [t.final - t.app_final for t in turns if t.final is not None and t.app_final is not None]
    to_app = [t.app_start - t.pushed for t in turns if t.app_start is not None]
    gen = [t.app_final - t.app_start for t in turns if t.app_final is not None and t.app_start is not None]
    total = [t.final - t.pushed for t in turns if t.final is not None]
    return {
        "turns": len(turns),
        "ack_s": pct(ack),
        "first_s": pct(first),
        "app_to_dc_s": pct(app_to_dc),
        "push_to_app_s": pct(to_app),
        "app_gen_s": pct(gen),
        "push_to_final_s": pct(total),
    }


# -- the report -----------------------------------------------------------------------------------
def label(r: dict[str, Any]) -> str:
    turns = f", {r['turns']} turns" if r.get("turns", 1) > 1 else ""
    if "slash" not in r:
        return f"{r['conversations']}{turns}"
    return f"{r['conversations']} ({r['slash']}/+{r['mention']}@ in {r['channels']} ch){turns}"


def pair(s: dict[str, Any] | None, key: str, fmt: Callable[[float | None], str] = ms) -> str:
    return "-" if not s else f"{fmt(s[key]['p50'])} / {fmt(s[key]['p99'])}"


def report(results: list[dict[str, Any]], args: argparse.Namespace) -> str:
    lines = [
        f"Reply: {args.tokens} words, {args.delay * 1000:g} ms apart; state {args.state}. "
        "Conversations: N (slash / + mentions in C channels). Times are wall clock; app→DC is from the "
        "app's final chunk to the write carrying the final text.",
        "",
        "| run | finals ok | missing / dup / wrong | threads | 429s create / edit / global | other errors "
        "| wall s | ack p50/p99 ms | first p50/p99 ms | app→DC p50/p99 ms | push→final p50/p99 s "
        "| bridge CPU s | bridge RSS MB idle → peak | app CPU s | fake CPU s | load avg |",
        "|---|--:|--:|--:|--:|--:|--:|--:|--:|--:|--:|--:|--:|--:|--:|--:|",
    ]
    for r in results:
        if r.get("failed"):
            lines.append(f"| {label(r)} | failed: {r['failed'][:150]} |" + " |" * 14)
            continue
        a = r["by_kind"].get("all")
        st = r["store"]
        wrong = st["not_once"] + st["misplaced"] + st["places_wrong"] + st["stray_messages"]
        wrong += 0 if st["chat_answers_ok"] else 1
        by = r["refused_by_budget"]
        other = sum(r["fake_errors"].values()) - r["count_429"]
        lines.append(
            f"| {label(r)} | {r['finals_ok']}/{r['expected']} "
            f"| {r['missing_count']} / {r['duplicates']} / {wrong} | {st['threads']}/{r['slash']} "
            f"| {by.get('channel creates', 0)} / {by.get('message edits', 0)} / {by.get('global', 0)} "
            f"| {other} | {num(r['wall_s'])} "
            f"| {pair(r['by_kind'].get('slash'), 'ack_s')} | {pair(a, 'first_s')} | {pair(a, 'app_to_dc_s')} "
            f"| {pair(a, 'push_to_final_s', num)} | {num(r['bridge_cpu_s'], 2)} "
            f"| {num(r['bridge_rss_before_mb'], 0)} → {num(r['bridge_peak_rss_mb'], 0)} "
            f"| {num(r['app_cpu_s'], 2)} | {num(r['fake_cpu_s'], 2)} "
            f"| {num(r['loadavg_before'])} / {num(r['loadavg_after'])} |"
        )
    lines += [
        "",
        "By kind (ms unless marked; push→app is intake and queueing, gen the app's own streaming):",
        "",
        "| run | kind | turns | ack p50 | ack p99 | first p50 | first p99 | push→app p50 | push→app p99 "
        "| gen p50 | app→DC p50 | app→DC p99 | app→DC max | push→final p50 s | push→final p99 s |",
        "|---|---|--:|--:|--:|--:|--:|--:|--:|--:|--:|--:|--:|--:|--:|",
    ]
    for r in results:
        for kind in KINDS:
            s = r.get("by_kind", {}).get(kind)
            if not s:
                continue
            cells = [label(r), kind, str(s["turns"])]
            cells += [ms(s["ack_s"][p]) for p in ("p50", "p99")]
            cells += [ms(s["first_s"][p]) for p in ("p50", "p99")]
            cells += [ms(s["push_to_app_s"][p]) for p in ("p50", "p99")] + [ms(s["app_gen_s"]["p50"])]
            cells += [ms(s["app_to_dc_s"][p]) for p in ("p50", "p99", "max")]
            cells += [num(s["push_to_final_s"][p]) for p in ("p50", "p99")]
            lines.append("| " + " | ".join(cells) + " |")
    routes = sorted({m for r in results for m in r.get("calls", {})})
    lines += [
        "",
        "REST calls during the load, per route (all outcomes; *dispatches*: gateway events sent to the "
        "bridge over the whole run, the bot's own messages and edits included):",
        "",
        "| run | " + " | ".join(routes) + " | dispatches |",
        "|---|" + "--:|" * (len(routes) + 1),
    ]
    for r in results:
        if "calls" in r:
            cells = [str(r["calls"].get(m, 0)) for m in routes] + [str(r["gateway_dispatches"])]
            lines.append(f"| {label(r)} | " + " | ".join(cells) + " |")
    notes = seen(results, args)
    if notes:
        lines += ["", "Seen:", "", *notes]
    return "\n".join(lines) + "\n"


def seen(results: list[dict[str, Any]], args: argparse.Namespace) -> list[str]:
    """What went wrong or was refused, per run (the notes under the tables)."""
    notes = []
    for r in results:
        if r.get("failed"):
            continue
        bits = []
        if r["refused_by_route"]:
            bits.append(f"429s by route and budget {dict(r['refused_by_route'])}")
        if r["calls_failed"]:
            bits.append(f"failed calls {dict(r['calls_failed'])}")
        other = {k: v for k, v in r["fake_errors"].items() if " 429:" not in k}
        if other:
            bits.append(f"fake error replies {other}")
        if r["bridge_log"]["problems"]:
            bits.append(f"bridge log {r['bridge_log']['problems']}")
        if r["missing_count"]:
            bits.append(f"missing finals e.g. {r['missing']}")
        if r["store"]["answered_in_channel"]:
            bits.append(
                f"{r['store']['answered_in_channel']} /chat opened no thread and were answered in #general"
            )
        if r["store"]["examples"]:
            bits.append(f"store {r['store']}")
        elif not r["store"]["chat_answers_ok"]:
            bits.append("#general does not hold exactly one thread-opening answer per /chat")
        if r["app_generations_extra"]:
            bits.append(f"{r['app_generations_extra']} replies generated more than once by the app")
        if not r["completed"]:
            bits.append(
                f"stopped early: the {args.run_timeout:g} s run timeout, {args.stall:g} s without a final, "
                "or a failed conversation"
            )
        if r["bridge_exit"] not in (0, None):
            bits.append(f"bridge exit code {r['bridge_exit']}")
        if bits:
            notes.append(f"- {label(r)}: " + "; ".join(bits))
    return notes


# -- main -------------------------------------------------------------------------------------------
def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=(__doc__ or "").split("\n\n")[0])
    parser.add_argument(
        "--conversations", default="100", help="conversations per run, a comma list (default 100)"
    )
    parser.add_argument("--slash-share", type=float, default=0.5, help="fraction started with /chat")
    parser.add_argument("--channels", type=int, default=10, help="extra channels the mentions spread over")
    parser.add_argument(
        "--turns", type=int, default=1, help="messages per conversation, each after the last reply"
    )
    parser.add_argument("--tokens", type=int, default=50, help="words per reply")
    parser.add_argument("--delay", type=float, default=0.01, help="seconds before each word")
    parser.add_argument("--state", choices=("sqlite", "memory"), default="sqlite", help="the bridge's state")
    parser.add_argument("--run-timeout", type=float, default=600.0, help="seconds for the load of one run")
    parser.add_argument("--start-timeout", type=float, default=90.0, help="seconds for start-up and warm-up")
    parser.add_argument(
        "--stall", type=float, default=60.0, help="stop a run after this long without a final"
    )
    parser.add_argument("--settle", type=float, default=3.0, help="seconds to watch for late writes")
    parser.add_argument("--keep-logs", action="store_true", help="keep the temporary logs and config")
    parser.add_argument("--dump-calls", type=Path, help="write every REST call of the load as JSON lines")
    parser.add_argument("--out", type=Path, help="also write the Markdown report here")
    parser.add_argument("--json", type=Path, help="also write the raw results here")
    args = parser.parse_args(argv)
    try:
        args.sizes = [int(c) for c in args.conversations.split(",") if c.strip()]
    except ValueError:
        parser.error("--conversations takes a comma list of integers")
    if not args.sizes or any(not 1 <= n <= 2000 for n in args.sizes):
        parser.error("--conversations must be 1..2000")
    if args.turns < 1 or args.tokens < 1 or args.channels < 1:
        parser.error("--turns, --tokens and --channels must be at least 1")
    if not 0 <= args.slash_share <= 1:
        parser.error("--slash-share must be within 0..1")
    return args


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    take_signals()
    results: list[dict[str, Any]] = []
    for n in args.sizes:
        spec: dict[str, Any] = {"conversations": n}
        print(f"running {n} conversations ...", file=sys.stderr, flush=True)
        try:
            result = asyncio.run(run_once(spec, args))
        except (KeyboardInterrupt, SystemExit):
            print("interrupted; the child processes were stopped", file=sys.stderr)
            return 130
        except (RuntimeError, OSError) as exc:
            print(f"  failed: {exc}", file=sys.stderr, flush=True)
            result = {**spec, "failed": str(exc).splitlines()[0] if str(exc) else type(exc).__name__}
        results.append(result)
        if not result.get("failed"):
            keys = ("wall_s", "finals_ok", "expected", "count_429", "bridge_cpu_s", "warm_s")
            print(f"  { ({k: result.get(k) for k in keys}) }", file=sys.stderr, flush=True)
    text = report(results, args)
    print(text)
    if args.out:
        args.out.write_text(text)
    if args.json:
        args.json.write_text(json.dumps(results, indent=1, default=str) + "\n")
    return 0 if all(not r.get("failed") for r in results) else 1


if __name__ == "__main__":
    sys.exit(main())
