"""Many Telegram chats streaming at once through ``bridge serve``, against the loopback fake Bot API.

Usage::

    python bench/telegram_load.py [--chats 200] [--group-share 0.25] [--turns 1]
                                  [--modes drafts,edits | --no-drafts] [--state sqlite|memory]
                                  [--tokens 50] [--delay 0.01] [--out FILE] [--json FILE]
                                  [--dump-calls FILE] [--keep-logs]

Three processes per run, all fresh: this one serves the fake Bot API (``tests/fakes/telegram.py``,
flood budgets enforced: 1 message or edit per second per chat with bursts of 3, 20 per minute per
group, 30 per second overall); ``bridge serve CONFIG`` runs in a child process (the real CLI path,
a TOML config with one Telegram adapter, long polling, sqlite state by default), so its CPU time
(``/proc/PID/stat``, user+system) and peak RSS (``VmHWM``) are its own; a streaming
``gr.ChatInterface`` runs in a third (``bench/app.py``'s app and its deterministic reply
``"MESSAGE #K w0 ... w{TOKENS-1}"``, plus a log line with the wall-clock time of each reply's
start and of its final chunk).

After one warm-up turn (which connects the bridge to the app), every chat gets its first message
at once; each chat then sends its next message (``--turns``) as soon as the previous reply's
final text reached Telegram. ``--chats N`` is split into private chats (positive ids: the bridge
previews the reply as a draft with ``sendMessageDraft`` and sends the final text with
``sendMessage``) and groups (negative ids, ``--group-share`` of N, rounded; ``trigger = "all"``:
a placeholder ``sendMessage`` edited with ``editMessageText``). Mode ``edits`` sets
``drafts = false``, so private chats stream by edits too.

Measured, per turn, in wall-clock time (``time.time()`` in both processes, one machine):
*first*: from the push of the user's message to the first draft or message in the chat;
*app→TG*: from the app's final chunk to the call that carries the final text (the ``sendMessage``
after the drafts, or the last ``editMessageText``/``sendMessage`` with the final text and no Stop
button); *push→app* (intake, queueing) and *push→final*. Per run: wall time (first push to last
final), the bridge's CPU seconds over it and peak RSS, the app's and this process's CPU seconds
(the fake runs here), calls per Bot API method, the fake's 429s and other error replies, and the
bridge log's warnings and errors. Correctness: every final text must be exactly the app's reply,
carried by exactly one call, and each chat must end with exactly one bot message per turn.
Only 127.0.0.1 is contacted; this is a hand-run benchmark and asserts nothing about times.
"""

from __future__ import annotations

import argparse
import asyncio
import atexit
import contextlib
import ctypes
import json
import os
import resource
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from collections import Counter
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
sys.path.insert(0, str(HERE))
sys.path.insert(1, str(ROOT))

from app import expected_reply  # noqa: E402
from client_bench import QUIET_ENV, percentile, proc_cpu_seconds, read_line  # noqa: E402

TOKEN = "424242:BENCH-TOKEN"
TOKEN_ENV = "TG_BENCH_TOKEN"
APP_LOG_ENV = "TG_BENCH_APP_LOG"
WARM_CHAT = 999
PRIVATE_BASE = 1000  # private chat i (1-based) has id PRIVATE_BASE + i and user id alike
GROUP_BASE = -1_000_000  # group i has id GROUP_BASE - i; its user is GROUP_USER_BASE + i
GROUP_USER_BASE = 700_000
TEXT_METHODS = ("sendMessage", "editMessageText", "sendMessageDraft")
BUDGETED = ("sendMessage", "editMessageText")  # what the bridge's global budget paces
MODES = ("drafts", "edits")
_CHILDREN: list[Child] = []


# -- the app process ----------------------------------------------------------------------------
def app_main() -> int:
    """``bench/app.py`` with a reply function that also logs when each reply starts and ends."""
    import app as bench_app

    log = open(os.environ[APP_LOG_ENV], "a", buffering=1)  # noqa: SIM115 (open for the process's life)

    def build(tokens: int, delay: float) -> Any:
        import gradio as gr

        async def respond(message: str, history: list[Any]) -> AsyncIterator[str]:
            start = time.time()
            text = f"{message} #{len(history) // 2}"  # the same reply as bench/app.py
            for i in range(tokens):
                if delay > 0:
                    await asyncio.sleep(delay)
                text += f" w{i}"
                if i == tokens - 1:
                    log.write(json.dumps({"message": message, "start": start, "final": time.time()}) + "\n")
                yield text

        demo = gr.ChatInterface(respond, title="Bridge Telegram benchmark")
        demo.queue(default_concurrency_limit=None, max_size=None)
        return demo

    bench_app.build = build
    return bench_app.main([])


# -- child processes ----------------------------------------------------------------------------
def _die_with_parent() -> None:
    """In the child before exec: get SIGTERM when the parent dies, so no child outlives a killed run."""
    with contextlib.suppress(Exception):
        ctypes.CDLL(None, use_errno=True).prctl(1, signal.SIGTERM)  # PR_SET_PDEATHSIG


class Child:
    """A child process whose stderr (and stdout, unless piped) goes to ``log``."""

    def __init__(
        self, name: str, cmd: list[str], env: dict[str, str], cwd: Path, log: Path, pipe: bool
    ) -> None:
        self.name, self.log = name, log
        self._log_file = log.open("wb")
        self.proc = subprocess.Popen(
            cmd,
            stdin=subprocess.PIPE if pipe else subprocess.DEVNULL,
            stdout=subprocess.PIPE if pipe else self._log_file,
            stderr=self._log_file,
            env=env,
            cwd=str(cwd),
            preexec_fn=_die_with_parent,  # noqa: PLW1509 (prctl only)
        )
        _CHILDREN.append(self)

    @property
    def pid(self) -> int:
        return self.proc.pid

    def running(self) -> bool:
        return self.proc.poll() is None

    def tail(self, lines: int = 8) -> str:
        with contextlib.suppress(OSError):
            return "\n".join(self.log.read_text(errors="replace").strip().splitlines()[-lines:])
        return ""

    def stop(self, grace: float = 20.0) -> int | None:
        """Ask it to stop (stdin EOF and SIGTERM), then kill it after ``grace`` seconds; its exit code."""
        if self.proc.stdin is not None:
            with contextlib.suppress(OSError):
                self.proc.stdin.close()
        if self.running():
            with contextlib.suppress(ProcessLookupError):
                self.proc.terminate()
        try:
            self.proc.wait(timeout=grace)
        except subprocess.TimeoutExpired:
            print(f"{self.name} did not stop within {grace:g} s; killing it", file=sys.stderr)
            self.proc.kill()
            self.proc.wait(timeout=10)
        if self.proc.stdout is not None:
            self.proc.stdout.close()
        self._log_file.close()
        if self in _CHILDREN:
            _CHILDREN.remove(self)
        return self.proc.returncode


@atexit.register
def _kill_children() -> None:
    for child in list(_CHILDREN):
        with contextlib.suppress(Exception):
            child.proc.kill()
            child.proc.wait(timeout=5)


def proc_memory_mb(pid: int, key: str) -> float | None:
    """``VmHWM`` (peak) or ``VmRSS`` of a process in MB, from /proc."""
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith(key + ":"):
                return int(line.split()[1]) / 1024
    except (OSError, ValueError):
        return None
    return None


def self_cpu_seconds() -> float:
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


def start_app(args: argparse.Namespace, tmp: Path) -> tuple[Child, str, Path]:
    """The app in a child process; (child, its URL, its log of reply times)."""
    finals = tmp / "app-finals.jsonl"
    finals.touch()
    env = {**os.environ, **QUIET_ENV, "TOKENS": str(args.tokens), "DELAY": str(args.delay)}
    env[APP_LOG_ENV] = str(finals)
    env.pop("KEEP_ALIVE", None)
    cmd = [sys.executable, str(Path(__file__).resolve()), "--app"]
    child = Child("the app", cmd, env, HERE, tmp / "app.log", pipe=True)
    line = read_line(child.proc, args.start_timeout)
    if not line:
        child.stop()
        raise RuntimeError(f"the benchmark app did not start:\n{child.tail()}")
    return child, json.loads(line)["url"], finals


def write_config(tmp: Path, fake_url: str, app_url: str, drafts: bool, state: str) -> Path:
    """``bridge serve``'s TOML: one Space (the app) and one Telegram adapter on the fake."""
    state_url = "memory://" if state == "memory" else "sqlite:///bridge-state.db"
    text = f"""\
[bridge]
state = "{state_url}"
log_format = "json"
log_level = "info"

[spaces.app]
src = "{app_url}"

[adapters.tg]
type = "telegram"
space = "app"
token_env = "{TOKEN_ENV}"
api_base_url = "{fake_url}/bot"
file_base_url = "{fake_url}/file/bot"
trigger = "all"
drafts = {"true" if drafts else "false"}
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


# -- the fake Bot API, with a timestamp per call --------------------------------------------------
@dataclass
class Call:
    """One Bot API call as the fake handled it: wall-clock time at its arrival, outcome, text."""

    at: float
    method: str
    chat: Any
    status: int
    text: str | None = None
    markup: bool = False


@dataclass
class Turn:
    """One user message and what became of it (times are ``time.time()``)."""

    chat: int
    user: int
    kind: str  # "private" or "group"
    index: int
    message: str
    expected: str
    pushed: float = 0.0
    first: float | None = None
    final: float | None = None
    done: asyncio.Event = field(default_factory=asyncio.Event)
    app_start: float | None = None
    app_final: float | None = None
    final_calls: int = 0


def make_fake_class() -> type[Any]:
    """FakeTelegram with every method handler wrapped to record a :class:`Call` (imported late: the
    fake lives in the tests package)."""
    from tests.fakes.telegram import METHODS, FakeTelegram
    from tests.fakes.telegram.rules import ApiError

    names = {name.lower(): name for name in METHODS.split()}

    class StampedFake(FakeTelegram):
        def __init__(self, token: str) -> None:
            super().__init__(token)
            self.log: list[Call] = []
            self.active: dict[int, Turn] = {}  # chat → its running turn
            self.polled = asyncio.Event()
            self._methods = {key: self._stamped(names.get(key, key), h) for key, h in self._methods.items()}

        def _stamped(self, method: str, handler: Callable[[Any], Awaitable[Any]]) -> Any:
            async def call(params: Any) -> Any:
                at = time.time()
                if method == "getUpdates":
                    self.polled.set()
                try:
                    result = await handler(params)
                except ApiError as exc:
                    self.log.append(Call(at, method, params.get("chat_id"), exc.status))
                    raise
                self._record(Call(at, method, params.get("chat_id"), 200), params, result)
                return result

            return call

        def _record(self, call: Call, params: Any, result: Any) -> None:
            if call.method == "sendMessageDraft":
                call.text = params.get("text")
            elif call.method in TEXT_METHODS and isinstance(result, dict):
                call.text, call.markup = result.get("text"), bool(result.get("reply_markup"))
            self.log.append(call)
            turn = self.active.get(call.chat) if call.method in TEXT_METHODS else None
            if turn is None:
                return
            if turn.first is None:
                turn.first = call.at
            final = call.method != "sendMessageDraft" and call.text == turn.expected and not call.markup
            if final and turn.final is None:
                turn.final = call.at
                turn.done.set()

    return StampedFake


# -- one run ------------------------------------------------------------------------------------
def plan(n: int, group_share: float, turns: int, tokens: int) -> list[list[Turn]]:
    """The turns of each chat: private chats first, then groups."""
    groups = int(n * group_share + 0.5)
    chats = [(PRIVATE_BASE + i, PRIVATE_BASE + i, "private", f"p{i}") for i in range(1, n - groups + 1)]
    chats += [(GROUP_BASE - i, GROUP_USER_BASE + i, "group", f"g{i}") for i in range(1, groups + 1)]
    return [
        [
            Turn(chat, user, kind, t, f"{tag}t{t}", expected_reply(f"{tag}t{t}", t, tokens))
            for t in range(turns)
        ]
        for chat, user, kind, tag in chats
    ]


def push(fake: Any, turn: Turn) -> None:
    fake.active[turn.chat] = turn
    turn.pushed = time.time()
    fake.push_text(turn.chat, turn.message, user=turn.user)


async def converse(fake: Any, turns: list[Turn]) -> None:
    """One chat: each message once the previous reply's final text is out."""
    for turn in turns:
        push(fake, turn)
        await turn.done.wait()


async def wait_ready(fake: Any, bridge: Child, limit_s: float) -> None:
    """Until the bridge polls for updates; a clear error when it exits or takes too long."""
    deadline = time.monotonic() + limit_s
    while not fake.polled.is_set():
        if not bridge.running():
            raise RuntimeError(f"bridge serve exited with {bridge.proc.returncode}:\n{bridge.tail()}")
        if time.monotonic() > deadline:
            raise RuntimeError(f"bridge serve did not poll within {limit_s:g} s:\n{bridge.tail()}")
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(fake.polled.wait(), 0.5)


async def progress(turns: list[Turn], start: float) -> None:
    while True:
        await asyncio.sleep(10)
        done = sum(t.final is not None for t in turns)
        print(f"  {time.time() - start:5.0f} s: {done}/{len(turns)} finals", file=sys.stderr, flush=True)


async def load(fake: Any, chats: list[list[Turn]], bridge: Child, limit_s: float) -> bool:
    """Run every chat; False when ``limit_s`` passed first (or the bridge died)."""
    flat = [t for chat in chats for t in chat]
    tasks = [asyncio.create_task(converse(fake, chat)) for chat in chats]
    reporter = asyncio.create_task(progress(flat, time.time()))
    deadline = time.monotonic() + limit_s
    try:
        while tasks and time.monotonic() < deadline and bridge.running():
            _, pending = await asyncio.wait(tasks, timeout=min(1.0, deadline - time.monotonic()))
            tasks = list(pending)
    finally:
        for task in [*tasks, reporter]:
            task.cancel()
        await asyncio.gather(*tasks, reporter, return_exceptions=True)
    return not tasks


async def run_once(spec: dict[str, Any], args: argparse.Namespace) -> dict[str, Any]:
    """A fresh app, fake and bridge; a warm-up turn; the load; the numbers."""
    from tests.fakes.telegram import serve_telegram

    tmp = Path(tempfile.mkdtemp(prefix="tg-load-"))
    keep = args.keep_logs
    app, app_url, finals = start_app(args, tmp)
    try:
        fake = make_fake_class()(TOKEN)
        async with serve_telegram(fake) as fake_url:
            take_signals()  # uvicorn took SIGINT/SIGTERM for itself: a Ctrl-C would only stop the fake
            config = write_config(tmp, fake_url, app_url, spec["mode"] == "drafts", args.state)
            bridge = start_bridge(config, tmp)
            try:
                result = await measure(fake, bridge, app, spec, args)
            except BaseException:
                await asyncio.to_thread(bridge.stop, 5.0)  # the fake may be gone: do not wait long
                raise
            result_exit = await asyncio.to_thread(bridge.stop, 30.0)
        result["bridge_exit"] = result_exit
        result.update(app_times(finals, result.pop("_turns"), args))
        result["bridge_log"] = bridge_log_summary(tmp / "bridge.log")
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


async def measure(
    fake: Any, bridge: Child, app: Child, spec: dict[str, Any], args: argparse.Namespace
) -> dict[str, Any]:
    await wait_ready(fake, bridge, args.start_timeout)
    warm = Turn(WARM_CHAT, WARM_CHAT, "private", 0, "warm", expected_reply("warm", 0, args.tokens))
    push(fake, warm)
    try:
        await asyncio.wait_for(warm.done.wait(), args.start_timeout)
    except TimeoutError:
        raise RuntimeError(f"the warm-up turn got no final text:\n{bridge.tail()}") from None
    await asyncio.sleep(1.0)  # let the warm-up's last calls (typing, drafts) pass
    chats = plan(spec["chats"], args.group_share, args.turns, args.tokens)
    start_log, start_errors, start_429 = len(fake.log), len(fake.errors), fake.count_429
    before = {
        "loadavg": os.getloadavg()[0],
        "bridge_cpu": proc_cpu_seconds(bridge.pid),
        "app_cpu": proc_cpu_seconds(app.pid),
        "bridge_rss": proc_memory_mb(bridge.pid, "VmRSS"),
    }
    self_cpu0, start = self_cpu_seconds(), time.time()
    completed = await load(fake, chats, bridge, args.run_timeout)
    flat = [t for chat in chats for t in chat]
    end = (
        max((t.final for t in flat if t.final is not None), default=time.time()) if completed else time.time()
    )
    bridge_cpu, app_cpu = proc_cpu_seconds(bridge.pid), proc_cpu_seconds(app.pid)
    self_cpu = self_cpu_seconds()
    peak = proc_memory_mb(bridge.pid, "VmHWM")
    await asyncio.sleep(args.settle)  # late or duplicate calls show up in the checks below
    calls = fake.log[start_log:]
    if args.dump_calls:
        dump_calls(args.dump_calls, spec, calls, start)
    for turn in flat:  # calls that carried this turn's final text, over the whole run
        turn.final_calls = sum(
            1
            for c in calls
            if c.chat == turn.chat
            and c.status == 200
            and c.method != "sendMessageDraft"
            and c.text == turn.expected
            and not c.markup
        )
    return {
        **spec,
        "private": sum(chat[0].kind == "private" for chat in chats),
        "groups": sum(chat[0].kind == "group" for chat in chats),
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
        "fake_errors": Counter(f"{m} {s}: {d[:90]}" for m, s, d in fake.errors[start_errors:]),
        "calls": Counter(c.method for c in calls),
        "calls_failed": Counter(f"{c.method} {c.status}" for c in calls if c.status != 200),
        "store": store_check(fake, chats),
        "_turns": flat,
    }


def dump_calls(path: Path, spec: dict[str, Any], calls: list[Call], start: float) -> None:
    """Append the run's calls: arrival (wall clock, and from the first push), method, chat, status, text
    length, Stop button."""
    with path.open("a") as out:
        for c in calls:
            row = {**spec, "at": c.at, "t": round(c.at - start, 4), "method": c.method, "chat": c.chat}
            row |= {"status": c.status, "chars": len(c.text) if c.text is not None else None}
            row["markup"] = c.markup
            out.write(json.dumps(row) + "\n")


def diff(a: float | None, b: float | None) -> float | None:
    return None if a is None or b is None else a - b


def store_check(fake: Any, chats: list[list[Turn]]) -> dict[str, Any]:
    """Each chat must hold exactly its final replies, one bot message per turn, in order."""
    wrong: list[str] = []
    for chat in chats:
        got = [m.text for m in fake.sent(chat[0].chat) if not m.deleted]
        want = [t.expected for t in chat]
        if got != want:
            wrong.append(f"chat {chat[0].chat}: {len(got)} messages {[g[-16:] if g else g for g in got][:4]}")
    return {"chats_wrong": len(wrong), "examples": wrong[:5]}


def app_times(finals: Path, turns: list[Turn], args: argparse.Namespace) -> dict[str, Any]:
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
        "finals_ok": sum(t.final_calls == 1 for t in ok),
        "missing": [t.message for t in turns if t.final is None][:10],
        "missing_count": sum(t.final is None for t in turns),
        "duplicates": sum(t.final_calls > 1 for t in turns),
        "app_generations_extra": sum(n - 1 for m, n in seen.items() if n > 1 and m != "warm"),
        "by_kind": {},
    }
    for kind, selected in (("all", ok), *((k, [t for t in ok if t.kind == k]) for k in ("private", "group"))):
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

    first = [t.first - t.pushed for t in turns if t.first is not None]
    app_to_tg = [t.final - t.app_final for t in turns if t.final is not None and t.app_final is not None]
    to_app = [t.app_start - t.pushed for t in turns if t.app_start is not None]
    gen = [t.app_final - t.app_start for t in turns if t.app_final is not None and t.app_start is not None]
    total = [t.final - t.pushed for t in turns if t.final is not None]
    return {
        "turns": len(turns),
        "first_s": pct(first),
        "app_to_tg_s": pct(app_to_tg),
        "push_to_app_s": pct(to_app),
        "app_gen_s": pct(gen),
        "push_to_final_s": pct(total),
    }


def bridge_log_summary(path: Path) -> dict[str, Any]:
    """Lines by level, and the warning/error events (the bridge logs JSON lines)."""
    levels: Counter[str] = Counter()
    problems: Counter[str] = Counter()
    with contextlib.suppress(OSError):
        for line in path.read_text(errors="replace").splitlines():
            try:
                row = json.loads(line)
            except ValueError:
                levels["non-json"] += 1
                if line.strip():
                    problems[f"(raw) {line.strip()[:120]}"] += 1
                continue
            level = str(row.get("level", "?"))
            levels[level] += 1
            if level in ("warning", "error", "critical", "exception"):
                problems[f"{level}: {str(row.get('event'))[:100]}"] += 1
    return {"levels": dict(levels), "problems": dict(problems.most_common(8))}


# -- the report ---------------------------------------------------------------------------------
def global_budget() -> float:
    """The Telegram adapter's own bot-wide rate (and burst), as its Pacer defaults say."""
    import inspect

    from adapters.telegram.pacing import Pacer

    return float(inspect.signature(Pacer).parameters["global_per_s"].default)


def ms(value: float | None) -> str:
    return "-" if value is None else f"{value * 1000:.0f}"


def num(value: float | None, digits: int = 1) -> str:
    return "-" if value is None else f"{value:.{digits}f}"


def label(r: dict[str, Any]) -> str:
    turns = f", {r['turns']} turns" if r["turns"] > 1 else ""
    return f"{r['chats']} ({r['private']}+{r['groups']}g){turns}, {r['mode']}"


def report(results: list[dict[str, Any]], args: argparse.Namespace) -> str:
    lines = [
        f"Reply: {args.tokens} words, {args.delay * 1000:g} ms apart; state {args.state}. "
        "Chats: N (private + groups). Times are wall clock; app→TG is from the app's final chunk to the "
        "Telegram call carrying the final text.",
        "",
        "| run | finals ok | missing | dup | wrong chats | 429s | other errors | wall s | first p50/p99 ms "
        "| app→TG p50/p99 ms | push→final p50/p99 s | bridge CPU s | bridge RSS MB idle → peak | app CPU s "
        "| fake CPU s | load avg |",
        "|---|--:|--:|--:|--:|--:|--:|--:|--:|--:|--:|--:|--:|--:|--:|--:|",
    ]
    for r in results:
        if r.get("failed"):
            lines.append(f"| {r['chats']}, {r['mode']} | failed: {r['failed'][:150]} |" + " |" * 14)
            continue
        a = r["by_kind"].get("all")
        other = sum(r["fake_errors"].values()) - r["count_429"]
        lines.append(
            f"| {label(r)} | {r['finals_ok']}/{r['expected']} | {r['missing_count']} | {r['duplicates']} "
            f"| {r['store']['chats_wrong']} | {r['count_429']} | {other} | {num(r['wall_s'])} "
            + (
                f"| {ms(a['first_s']['p50'])} / {ms(a['first_s']['p99'])} "
                f"| {ms(a['app_to_tg_s']['p50'])} / {ms(a['app_to_tg_s']['p99'])} "
                f"| {num(a['push_to_final_s']['p50'])} / {num(a['push_to_final_s']['p99'])} "
                if a
                else "| - | - | - "
            )
            + f"| {num(r['bridge_cpu_s'], 2)} "
            f"| {num(r['bridge_rss_before_mb'], 0)} → {num(r['bridge_peak_rss_mb'], 0)} "
            f"| {num(r['app_cpu_s'], 2)} "
            f"| {num(r['fake_cpu_s'], 2)} | {num(r['loadavg_before'])} / {num(r['loadavg_after'])} |"
        )
    lines += [
        "",
        "By chat kind (ms unless marked; push→app is intake and queueing, gen the app's own streaming):",
        "",
        "| run | kind | turns | first p50 | first p99 | push→app p50 | push→app p99 | gen p50 "
        "| app→TG p50 | app→TG p99 | app→TG max | push→final p50 s | push→final p99 s |",
        "|---|---|--:|--:|--:|--:|--:|--:|--:|--:|--:|--:|--:|",
    ]
    for r in results:
        for kind in ("private", "group"):
            s = r.get("by_kind", {}).get(kind)
            if not s:
                continue
            cells = [label(r), kind, str(s["turns"])]
            cells += [ms(s["first_s"][p]) for p in ("p50", "p99")]
            cells += [ms(s["push_to_app_s"][p]) for p in ("p50", "p99")] + [ms(s["app_gen_s"]["p50"])]
            cells += [ms(s["app_to_tg_s"][p]) for p in ("p50", "p99", "max")]
            cells += [num(s["push_to_final_s"][p]) for p in ("p50", "p99")]
            lines.append("| " + " | ".join(cells) + " |")
    methods = sorted({m for r in results for m in r.get("calls", {})})
    rate = global_budget()
    lines += [
        "",
        "Bot API calls during the load (all outcomes). *budgeted*: sendMessage + editMessageText, which the "
        f"bridge paces bot-wide at {rate:g}/s (burst {rate:g}); *floor*: the least time that budget needs "
        "to let them all out.",
        "",
        "| run | " + " | ".join(methods) + " | budgeted | floor s |",
        "|---|" + "--:|" * (len(methods) + 2),
    ]
    for r in results:
        if "calls" in r:
            budgeted = sum(r["calls"].get(m, 0) for m in BUDGETED)
            cells = [str(r["calls"].get(m, 0)) for m in methods]
            cells += [str(budgeted), num(max(0.0, (budgeted - rate) / rate))]
            lines.append(f"| {label(r)} | " + " | ".join(cells) + " |")
    notes = []
    for r in results:
        if r.get("failed"):
            continue
        bits = []
        if r["fake_errors"]:
            bits.append(f"fake error replies {dict(r['fake_errors'])}")
        if r["bridge_log"]["problems"]:
            bits.append(f"bridge log {r['bridge_log']['problems']}")
        if r["missing_count"]:
            bits.append(f"missing finals e.g. {r['missing']}")
        if r["store"]["chats_wrong"]:
            bits.append(f"chats with wrong messages e.g. {r['store']['examples']}")
        if r["app_generations_extra"]:
            bits.append(f"{r['app_generations_extra']} replies generated more than once by the app")
        if not r["completed"]:
            bits.append(f"stopped at the {args.run_timeout:g} s run timeout")
        if r["bridge_exit"] not in (0, None):
            bits.append(f"bridge exit code {r['bridge_exit']}")
        if bits:
            notes.append(f"- {label(r)}: " + "; ".join(bits))
    if notes:
        lines += ["", "Seen:", "", *notes]
    return "\n".join(lines) + "\n"


# -- main ---------------------------------------------------------------------------------------
def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--chats", default="200", help="chats per run, a comma list (default 200)")
    parser.add_argument("--group-share", type=float, default=0.25, help="fraction of chats that are groups")
    parser.add_argument("--turns", type=int, default=1, help="messages per chat, each after the last reply")
    parser.add_argument(
        "--modes", default="drafts,edits", help="drafts (the default config), edits (drafts=false)"
    )
    parser.add_argument("--no-drafts", action="store_true", help="the same as --modes edits")
    parser.add_argument("--tokens", type=int, default=50, help="words per reply")
    parser.add_argument("--delay", type=float, default=0.01, help="seconds before each word")
    parser.add_argument("--state", choices=("sqlite", "memory"), default="sqlite", help="the bridge's state")
    parser.add_argument("--run-timeout", type=float, default=600.0, help="seconds for the load of one run")
    parser.add_argument("--start-timeout", type=float, default=90.0, help="seconds for start-up and warm-up")
    parser.add_argument("--settle", type=float, default=3.0, help="seconds to watch for late calls")
    parser.add_argument("--keep-logs", action="store_true", help="keep the temporary logs and config")
    parser.add_argument("--dump-calls", type=Path, help="write every Bot API call of the load as JSON lines")
    parser.add_argument("--out", type=Path, help="also write the Markdown report here")
    parser.add_argument("--json", type=Path, help="also write the raw results here")
    args = parser.parse_args(argv)
    try:
        args.sizes = [int(c) for c in args.chats.split(",") if c.strip()]
    except ValueError:
        parser.error("--chats takes a comma list of integers")
    args.mode_list = ["edits"] if args.no_drafts else [m.strip() for m in args.modes.split(",") if m.strip()]
    if not args.mode_list or any(m not in MODES for m in args.mode_list):
        parser.error(f"--modes takes a comma list of {', '.join(MODES)}")
    if any(not 1 <= n <= 5000 for n in args.sizes) or args.turns < 1 or args.tokens < 1:
        parser.error("--chats must be 1..5000, --turns and --tokens at least 1")
    if not 0 <= args.group_share <= 1:
        parser.error("--group-share must be within 0..1")
    return args


def _terminated(signum: int, frame: Any) -> None:
    raise SystemExit(128 + signum)


def take_signals() -> None:
    """Ctrl-C and SIGTERM interrupt the run (the clean-up in ``run_once`` stops every child)."""
    signal.signal(signal.SIGINT, signal.default_int_handler)
    signal.signal(signal.SIGTERM, _terminated)


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    take_signals()
    results: list[dict[str, Any]] = []
    for n in args.sizes:
        for mode in args.mode_list:
            spec = {"chats": n, "mode": mode}
            print(f"running {n} chats, {mode} ...", file=sys.stderr, flush=True)
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
                brief = {
                    k: result[k] for k in ("wall_s", "finals_ok", "expected", "count_429", "bridge_cpu_s")
                }
                print(f"  {brief}", file=sys.stderr, flush=True)
    text = report(results, args)
    print(text)
    if args.out:
        args.out.write_text(text)
    if args.json:
        args.json.write_text(json.dumps(results, indent=1, default=str) + "\n")
    return 0 if all(not r.get("failed") for r in results) else 1


if __name__ == "__main__":
    if sys.argv[1:2] == ["--app"]:
        try:
            code = app_main()
        except BaseException:
            import traceback

            traceback.print_exc()
            code = 1
        sys.stderr.flush()
        os._exit(code)  # as bench/app.py: do not wait for gradio's leftover threads
    sys.exit(main())
