"""Chaos run: 200 Telegram chats through ``bridge serve`` while faults strike at random.

Usage::

    python bench/chaos.py [--chats 200] [--turns 3] [--duration 180] [--seed 1] [--faults all]
                          [--tokens 20] [--out FILE]

Processes: this one serves the loopback fake Bot API (``tests/fakes/telegram.py``, with Telegram's
flood budgets) on a fixed port it can take down and bring back; ``bridge serve`` runs in a child
(one Telegram adapter, long polling, state in a private ``redis-server`` with an append-only file,
so a Redis restart keeps the data); ``bench/app.py``'s streaming ChatInterface runs in another child
on a fixed port. Each chat (a quarter of them groups) sends ``--turns`` messages, each a few seconds
after the previous answer (or after 60 s without one).

Faults, drawn with ``--seed`` over ``--duration`` seconds (``--faults`` picks kinds):

- ``429``: bursts of 429 (``retry_after`` 1-3 s) on sendMessage and editMessageText;
- ``5xx``: bursts of 502 on the same methods;
- ``outage``: the Bot API unreachable for 20 s (connections refused);
- ``app``: the app SIGKILLed mid-stream, restarted on the same port 3 s later;
- ``bridge``: ``bridge serve`` SIGKILLed, restarted 2 s later;
- ``redis``: Redis stopped for 15 s, then started again.

Counted per user message, once the load has drained (every chat's last message answered, or
``--drain`` seconds): **answered** (exactly one reply, the app's complete answer), **told** (exactly
one reply that is a note saying why there is no answer), **lost** (no reply), **duplicated** (more
than one reply), **late** (answered more than ``--late`` seconds after it was sent). This is a
hand-run benchmark; it asserts nothing.
"""

from __future__ import annotations

import argparse
import asyncio
import random
import shutil
import sys
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
sys.path.insert(0, str(HERE))
sys.path.insert(1, str(ROOT))

from loadkit import QUIET_ENV, Child, read_line  # noqa: E402

from tests.fakes.telegram import FakeTelegram  # noqa: E402
from tests.faults.harness import BridgeProcess, TelegramListener, free_port  # noqa: E402
from tests.redis_server import start_server  # noqa: E402

KINDS = ("429", "5xx", "outage", "app", "bridge", "redis")
NOTES = (
    "send it again",
    "cannot be reached",
    "stopped responding",
    "took too long",
    "storage",
    "app reported",
)


@dataclass
class Sent:
    chat: int
    message_id: int
    text: str
    at: float
    answered_at: float | None = None


@dataclass
class Run:
    sent: list[Sent] = field(default_factory=list)
    faults: list[tuple[float, str]] = field(default_factory=list)


def start_app(port: int, tmp: Path, tokens: int) -> Child:
    env = {**__import__("os").environ, **QUIET_ENV, "TOKENS": str(tokens), "DELAY": "0.02"}
    child = Child(
        "app",
        [sys.executable, str(HERE / "app.py"), "--port", str(port)],
        env,
        HERE,
        tmp / "app.log",
        pipe=True,
    )
    if not read_line(child.proc, 120):
        raise RuntimeError(f"the app did not start:\n{child.tail()}")
    return child


def replies(fake: FakeTelegram, s: Sent) -> list[str]:
    return [
        m.text or ""
        for m in fake.sent(s.chat)
        if not m.deleted and (m.extra.get("reply_to_message") or {}).get("message_id") == s.message_id
    ]


def verdict(fake: FakeTelegram, s: Sent, tokens: int) -> str:
    found = replies(fake, s)
    if not found:
        return "lost"
    if len(found) > 1:
        return "duplicated"
    if found[0].startswith(s.text) and f"w{tokens - 1}" in found[0]:
        return "answered"
    return "told" if any(n in found[0] for n in NOTES) else "partial"


async def poll_until(done: Callable[[], bool], within: float, every: float) -> bool:
    """Check ``done`` every ``every`` seconds until it holds (True) or ``within`` seconds pass (False).

    The state polled is the fake's record of what the bot sent, which has no event to wait on.
    """
    deadline = time.monotonic() + within
    while time.monotonic() < deadline:
        if done():
            return True
        await asyncio.sleep(every)
    return done()


async def chat_loop(
    fake: FakeTelegram, chat: int, turns: int, run: Run, tokens: int, rng: random.Random
) -> None:
    for turn in range(turns):
        text = f"chat {chat} turn {turn}"
        group = chat < 0
        pushed = fake.push_text(
            chat, f"@fake_bot {text}" if group else text, chat_type="supergroup" if group else None
        )
        s = Sent(chat, pushed["message"]["message_id"], text, time.monotonic())
        run.sent.append(s)
        await poll_until(lambda s=s: verdict(fake, s, tokens) in ("answered", "told"), 60, 0.25)
        await asyncio.sleep(rng.uniform(1, 5))


async def watch_answers(fake: FakeTelegram, run: Run, tokens: int) -> None:
    while True:
        now = time.monotonic()
        for s in run.sent:
            if s.answered_at is None and verdict(fake, s, tokens) in ("answered", "told"):
                s.answered_at = now
        await asyncio.sleep(0.25)


async def inject(kind: str, parts: dict[str, Any], fake: FakeTelegram) -> None:
    if kind == "429":
        for method in ("sendMessage", "editMessageText"):
            fake.fail_next(method, 429, retry_after=random.randint(1, 3), count=random.randint(3, 10))
    elif kind == "5xx":
        for method in ("sendMessage", "editMessageText"):
            fake.fail_next(method, 502, count=random.randint(3, 10), description="Bad Gateway")
    elif kind == "outage":
        await parts["api"].down()
        await asyncio.sleep(20)
        await parts["api"].up()
    elif kind == "app":
        parts["app"].proc.kill()
        parts["app"].proc.wait()
        await asyncio.sleep(3)
        parts["app"] = await asyncio.to_thread(start_app, parts["app_port"], parts["tmp"], parts["tokens"])
    elif kind == "bridge":
        parts["bridge"].kill()
        await asyncio.sleep(2)
        parts["bridge"].start()
        await parts["bridge"].wait_up(120)
    elif kind == "redis":
        parts["redis"].terminate()
        await asyncio.to_thread(parts["redis"].wait, 10)
        await asyncio.sleep(15)
        started = start_server(parts["tmp"], parts["redis_port"], persist=True)
        assert started is not None, "redis-server did not start again"
        parts["redis"] = started[0]


async def chaos(args: argparse.Namespace, tmp: Path) -> tuple[Run, FakeTelegram]:
    rng = random.Random(args.seed)
    random.seed(args.seed)
    fake = FakeTelegram()
    api = TelegramListener(fake)
    await api.up()
    redis_port, app_port = free_port(), free_port()
    started = start_server(tmp, redis_port, persist=True)
    if started is None:
        raise SystemExit("redis-server is needed (apt install redis-server)")
    parts: dict[str, Any] = {
        "api": api,
        "tmp": tmp,
        "tokens": args.tokens,
        "redis_port": redis_port,
        "app_port": app_port,
    }
    parts["redis"] = started[0]
    parts["app"] = await asyncio.to_thread(start_app, app_port, tmp, args.tokens)
    bridge = BridgeProcess(
        tmp,
        api.url,
        f"http://127.0.0.1:{app_port}",
        f"redis://127.0.0.1:{redis_port}/0",
        adapter={"trigger": "all", "turns_per_minute": 0, "max_in_flight_per_user": 100},
    )
    parts["bridge"] = bridge
    run = Run()
    try:
        bridge.start()
        await bridge.wait_up(120)
        watcher = asyncio.create_task(watch_answers(fake, run, args.tokens))
        begin = time.monotonic()
        kinds = [k for k in KINDS if args.faults == "all" or k in args.faults.split(",")]
        plan = sorted((rng.uniform(10, args.duration), rng.choice(kinds)) for _ in range(args.fault_count))
        chats = [1000 + i for i in range(args.chats - args.chats // 4)] + [
            -1_000_000 - i for i in range(args.chats // 4)
        ]
        loops = [
            asyncio.create_task(chat_loop(fake, c, args.turns, run, args.tokens, random.Random(rng.random())))
            for c in chats
        ]

        async def faults() -> None:
            for at, kind in plan:
                await asyncio.sleep(max(0.0, begin + at - time.monotonic()))
                run.faults.append((time.monotonic() - begin, kind))
                print(f"{time.monotonic() - begin:6.1f} s: fault {kind}", file=sys.stderr, flush=True)
                await inject(kind, parts, fake)

        injector = asyncio.create_task(faults())
        await asyncio.wait(loops, timeout=args.duration + args.drain)
        await injector
        await poll_until(lambda: all(s.answered_at is not None for s in run.sent), args.drain, 1)
        await asyncio.sleep(3)  # a second answer would come by now
        watcher.cancel()
        for task in loops:
            task.cancel()
    finally:
        bridge.kill()
        parts["app"].stop()
        parts["redis"].terminate()
        await api.down()
    return run, fake


def report(args: argparse.Namespace, run: Run, fake: FakeTelegram) -> str:
    counts: dict[str, int] = {}
    late = 0
    waits = []
    for s in run.sent:
        v = verdict(fake, s, args.tokens)
        counts[v] = counts.get(v, 0) + 1
        if s.answered_at is not None:
            waits.append(s.answered_at - s.at)
            late += s.answered_at - s.at > args.late
    waits.sort()
    p50 = waits[len(waits) // 2] if waits else float("nan")
    p99 = waits[int(len(waits) * 0.99)] if waits else float("nan")
    faults = ", ".join(f"{kind}@{at:.0f}s" for at, kind in run.faults)
    cols = ("answered", "told", "lost", "duplicated", "partial")
    lines = [
        f"Chaos run: {args.chats} chats x {args.turns} messages, seed {args.seed}, faults: {faults}",
        "",
        "| messages | "
        + " | ".join(cols)
        + f" | late (>{args.late:.0f} s) | wait p50 / p99 s | 429s from the fake |",
        "|--:|" + "--:|" * len(cols) + "--:|--:|--:|",
        f"| {len(run.sent)} | "
        + " | ".join(str(counts.get(c, 0)) for c in cols)
        + f" | {late} | {p50:.1f} / {p99:.1f} | {fake.count_429} |",
    ]
    odd = [(s, verdict(fake, s, args.tokens)) for s in run.sent]
    odd = [(s, v) for s, v in odd if v not in ("answered",)]
    if odd:
        lines += ["", "Not answered with the app's reply (first 15):", ""]
        lines += [f"- {v}: chat {s.chat} {s.text!r} → {replies(fake, s)!r}"[:400] for s, v in odd[:15]]
    return "\n".join(lines) + "\n"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--chats", type=int, default=200)
    parser.add_argument("--turns", type=int, default=3)
    parser.add_argument("--duration", type=float, default=180.0, help="seconds over which faults are drawn")
    parser.add_argument("--fault-count", type=int, default=8)
    parser.add_argument("--faults", default="all", help=f"comma list of {', '.join(KINDS)}, or all")
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--tokens", type=int, default=20, help="words per reply")
    parser.add_argument("--drain", type=float, default=240.0, help="seconds to wait for the last answers")
    parser.add_argument("--late", type=float, default=60.0)
    parser.add_argument("--out", type=Path)
    parser.add_argument("--keep", action="store_true", help="keep the logs (the folder is printed)")
    args = parser.parse_args(argv)
    tmp = Path(tempfile.mkdtemp(prefix="bridge-chaos-"))
    try:
        run, fake = asyncio.run(chaos(args, tmp))
        text = report(args, run, fake)
    finally:
        if args.keep:
            print(f"logs kept in {tmp}", file=sys.stderr)
        else:
            shutil.rmtree(tmp, ignore_errors=True)
    print(text)
    if args.out:
        args.out.write_text(text)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
