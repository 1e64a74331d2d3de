"""The harness of the load benchmarks (``telegram_load.py``, ``discord_load.py``): everything that does
not depend on the platform.

A run (:func:`run_once`) has three fresh processes: this one serves the platform's fake; ``bridge serve
CONFIG`` runs in a child (the real CLI path), and so does the app (``python bench/loadkit.py --app``:
``bench/app.py``'s streaming ChatInterface, which also logs the wall-clock time of each reply's start and
final chunk). A platform script subclasses :class:`LoadRun` with what differs: its fake (serving it,
recording calls, deciding when a turn's final text is out), its adapter's config table, when the bridge
is ready, and how a run is warmed up, loaded and counted. The harness gives it the rest:

* :class:`Child`: child processes that die with this one (``PR_SET_PDEATHSIG``) and are killed by PID at
  exit; :func:`take_signals` turns Ctrl-C and SIGTERM into exceptions, so clean-up stops them in order;
* :class:`Turn` and :func:`load`: one message and what became of it; conversations that each push their
  next message once the previous reply's final text is out, with progress and stall detection;
* :func:`measure`: wall time, CPU seconds (bridge, app, this process) and the bridge's RSS around a load;
* :func:`app_times` and :func:`stats`: the app's reply times joined on the turns, percentiles per kind;
* :func:`log_summary`: the bridge log's warnings and errors, numbers masked;
* report helpers (:func:`ms`, :func:`num`, :func:`kind_table`, :func:`calls_table`, :func:`notes`, ...)
  and the options every script has (:func:`add_common_options`, :func:`check_common_options`);
* :func:`run_all`: the runs one after another, the report printed and written.

Only 127.0.0.1 is contacted.
"""

from __future__ import annotations

import abc
import argparse
import asyncio
import atexit
import contextlib
import ctypes
import json
import os
import re
import resource
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from collections import Counter
from collections.abc import AsyncIterator, Awaitable, Callable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, ClassVar, TypeVar

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
sys.path.insert(0, str(HERE))
sys.path.insert(1, str(ROOT))

from client_bench import QUIET_ENV, percentile, proc_cpu_seconds, read_line  # noqa: E402

APP_LOG_ENV = "BENCH_APP_LOG"
# what ``bridge serve`` needs so the load is not refused by the bridge's own per-user limits
LOAD_SETTINGS: dict[str, Any] = {"turns_per_minute": 0, "max_in_flight_per_user": 10000}
_CHILDREN: list[Child] = []


# -- the app process ----------------------------------------------------------------------------
def app_main() -> int:
    """``bench/app.py`` with a reply function that also logs when each reply starts and ends: one JSON
    line ``{"message", "start", "final"}`` (wall clock) per reply, to the file ``$BENCH_APP_LOG``."""
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

        demo = gr.ChatInterface(respond, title="Bridge load benchmark")
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
    """A child process whose stderr (and stdout, unless piped) goes to ``log``. It dies with this
    process, and one still running at exit is killed (by its PID, see :func:`_kill_children`)."""

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
        """The last ``lines`` lines of its log ("" when unreadable)."""
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
    """Kill every child not stopped yet (each by its own PID: nothing else of the machine is touched)."""
    for child in list(_CHILDREN):
        with contextlib.suppress(Exception):
            child.proc.kill()
            child.proc.wait(timeout=5)


def _terminated(signum: int, frame: Any) -> None:
    raise SystemExit(128 + signum)


def take_signals() -> None:
    """Ctrl-C and SIGTERM interrupt the run (KeyboardInterrupt, SystemExit); the clean-up in
    :func:`run_once` then stops every child. Call it again after a server took the signals for itself."""
    signal.signal(signal.SIGINT, signal.default_int_handler)
    signal.signal(signal.SIGTERM, _terminated)


def proc_memory_mb(pid: int, key: str) -> float | None:
    """``VmHWM`` (peak) or ``VmRSS`` of a process in MB, from /proc; None when unreadable."""
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith(key + ":"):
                return int(line.split()[1]) / 1024
    except (OSError, ValueError):
        return None
    return None


def self_cpu_seconds() -> float:
    """User+system CPU seconds of this process (the fake runs here)."""
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


def diff(a: float | None, b: float | None) -> float | None:
    return None if a is None or b is None else a - b


def start_app(args: argparse.Namespace, tmp: Path) -> tuple[Child, str, Path]:
    """The app in a child process (``args.tokens`` words, ``args.delay`` apart); (child, its URL, its
    log of reply times). RuntimeError when it does not serve within ``args.start_timeout``."""
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


def _toml(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int | float):
        return repr(value)
    return json.dumps(str(value))  # a TOML basic string: JSON's escapes are TOML's


def write_config(tmp: Path, app_url: str, state: str, name: str, adapter: Mapping[str, Any]) -> Path:
    """``bridge serve``'s TOML in ``tmp``: JSON logs, one Space ``app`` at ``app_url``, one adapter
    ``name`` on it (``adapter`` is its table; :data:`LOAD_SETTINGS` are added). ``state`` is ``sqlite``
    (a file in ``tmp``, the bridge's working directory) or ``memory``."""
    state_url = "memory://" if state == "memory" else "sqlite:///bridge-state.db"
    table = {"type": adapter.get("type"), "space": "app"} | dict(adapter) | LOAD_SETTINGS
    lines = [
        "[bridge]",
        f"state = {_toml(state_url)}",
        'log_format = "json"',
        'log_level = "info"',
        "",
        "[spaces.app]",
        f"src = {_toml(app_url)}",
        "",
        f"[adapters.{name}]",
        *(f"{key} = {_toml(value)}" for key, value in table.items()),
    ]
    path = tmp / "bridge.toml"
    path.write_text("\n".join(lines) + "\n")
    return path


def start_bridge(config: Path, tmp: Path, token_env: str, token: str) -> Child:
    """``python -m bridge.cli serve CONFIG`` in ``tmp``, logging to ``tmp/bridge.log``."""
    env = {**os.environ, **QUIET_ENV, token_env: token, "NO_PROXY": "127.0.0.1,localhost"}
    cmd = [sys.executable, "-m", "bridge.cli", "serve", str(config)]
    return Child("bridge serve", cmd, env, tmp, tmp / "bridge.log", pipe=False)


async def wait_ready(ready: Callable[[], bool], what: str, bridge: Child, limit_s: float) -> None:
    """Until ``ready()`` (checked every 0.1 s: the fake's state has no event for each case); a clear
    RuntimeError when the bridge exits or ``limit_s`` passes first (``what``: "did not WHAT within")."""
    deadline = time.monotonic() + limit_s
    while not ready():
        if not bridge.running():
            raise RuntimeError(f"bridge serve exited with {bridge.proc.returncode}:\n{bridge.tail()}")
        if time.monotonic() > deadline:
            raise RuntimeError(f"bridge serve did not {what} within {limit_s:g} s:\n{bridge.tail()}")
        await asyncio.sleep(0.1)


# -- turns and the load -------------------------------------------------------------------------
@dataclass
class Turn:
    """One user message and what became of it (times are ``time.time()``, in every process).

    The platform's fake sets ``first`` (the first write of the reply), ``final`` (the first write carrying
    ``expected`` as the final text) and ``done``; ``finals`` counts the writes that carried it (exactly one
    is correct); :func:`app_times` fills ``app_start``/``app_final`` from the app's log.
    """

    kind: str  # the platform's kinds of conversation ("private"/"group", "slash"/"mention")
    index: int
    message: str
    expected: str
    pushed: float = 0.0
    first: float | None = None
    final: float | None = None
    finals: int = 0
    done: asyncio.Event = field(default_factory=asyncio.Event, repr=False)
    app_start: float | None = None
    app_final: float | None = None


T = TypeVar("T", bound=Turn)


async def converse(turns: Sequence[T], push: Callable[[T], Awaitable[None]]) -> None:
    """One conversation: each message once the previous reply's final text is out."""
    for turn in turns:
        await push(turn)
        await turn.done.wait()


async def progress(turns: Sequence[Turn], start: float) -> None:
    """Every 10 s, to stderr: finals so far."""
    while True:
        await asyncio.sleep(10)
        done = sum(t.final is not None for t in turns)
        print(f"  {time.time() - start:5.0f} s: {done}/{len(turns)} finals", file=sys.stderr, flush=True)


async def load(
    convs: Sequence[Sequence[T]],
    push: Callable[[T], Awaitable[None]],
    bridge: Child,
    limit_s: float,
    stall_s: float | None = None,
) -> bool:
    """Run every conversation (its turns in order, all conversations at once); True when all are done.
    False when ``limit_s`` passed first, or ``stall_s`` (when given) without a new final text, or the
    bridge died, or a push failed. Unfinished conversations are cancelled."""
    flat = [t for conv in convs for t in conv]
    tasks = [asyncio.create_task(converse(conv, push)) for conv in convs]
    started = time.time()
    reporter = asyncio.create_task(progress(flat, started))
    deadline = time.monotonic() + limit_s
    failed = False

    def stalled() -> bool:
        if stall_s is None:
            return False
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
    convs: Sequence[Sequence[T]],
    push: Callable[[T], Awaitable[None]],
    bridge: Child,
    limit_s: float,
    pause_s: float,
) -> float:
    """Run the warm-up conversations (which connect the bridge to the app), then wait ``pause_s`` for
    their last calls (typing, drafts, edits) to pass; the seconds from their first push to their last
    final. RuntimeError when they get no final text within ``limit_s``."""
    if not await load(convs, push, bridge, limit_s, limit_s):
        raise RuntimeError(f"the warm-up turns got no final text:\n{bridge.tail()}")
    turns = [t for c in convs for t in c]
    took = max(t.final or 0.0 for t in turns) - min(t.pushed for t in turns)
    await asyncio.sleep(pause_s)
    return took


async def measure(
    run: Callable[[], Awaitable[bool]], turns: Sequence[Turn], bridge: Child, app: Child, settle_s: float
) -> tuple[dict[str, Any], float]:
    """Run the load (``run()``, True when it completed) and measure around it; (the numbers, the load's
    start on the wall clock). The wall time ends at the last final text (or now, when the load did not
    complete); CPU seconds and the bridge's peak RSS are read then, before ``settle_s`` of waiting for late
    or duplicate writes (which the platform's checks, after this, count)."""
    before = {
        "loadavg": os.getloadavg()[0],
        "bridge_cpu": proc_cpu_seconds(bridge.pid),
        "app_cpu": proc_cpu_seconds(app.pid),
        "bridge_rss": proc_memory_mb(bridge.pid, "VmRSS"),
    }
    self_cpu0, start = self_cpu_seconds(), time.time()
    completed = await run()
    end = (
        max((t.final for t in turns if t.final is not None), default=time.time())
        if completed
        else time.time()
    )
    bridge_cpu, app_cpu = proc_cpu_seconds(bridge.pid), proc_cpu_seconds(app.pid)
    self_cpu = self_cpu_seconds()
    peak = proc_memory_mb(bridge.pid, "VmHWM")
    await asyncio.sleep(settle_s)
    numbers = {
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
    }
    return numbers, start


# -- the numbers --------------------------------------------------------------------------------
def pct(values: list[float]) -> dict[str, float | None]:
    """p50, p99 (nearest rank) and max; None for no values."""
    return {"p50": percentile(values, 50), "p99": percentile(values, 99), "max": max(values, default=None)}


Span = Callable[[Any], float | None]  # a turn's duration of one kind, None when it has none


def _since(end: float | None, start: float | None) -> float | None:
    return None if end is None or start is None else end - start


def stats(turns: Sequence[Turn], app_key: str, extra: Mapping[str, Span] | None = None) -> dict[str, Any]:
    """Percentiles of each turn span: ``first_s`` (push to the first write), ``app_key`` (the app's final
    chunk to the final write, e.g. ``app_to_tg_s``), ``push_to_app_s`` (intake and queueing),
    ``app_gen_s`` (the app's own streaming), ``push_to_final_s``; ``extra`` adds the platform's spans."""
    spans: dict[str, Span] = {
        **(extra or {}),
        "first_s": lambda t: _since(t.first, t.pushed),
        app_key: lambda t: _since(t.final, t.app_final),
        "push_to_app_s": lambda t: _since(t.app_start, t.pushed),
        "app_gen_s": lambda t: _since(t.app_final, t.app_start),
        "push_to_final_s": lambda t: _since(t.final, t.pushed),
    }
    out: dict[str, Any] = {"turns": len(turns)}
    for key, span in spans.items():
        out[key] = pct([v for v in map(span, turns) if v is not None])
    return out


def app_times(
    finals: Path,
    turns: Sequence[Turn],
    kinds: Sequence[str],
    app_key: str,
    extra: Mapping[str, Span] | None = None,
) -> dict[str, Any]:
    """Join the app's reply times (its log ``finals``) onto the turns; the counts of the report (finals
    carried exactly once, missing, duplicated, replies the app generated more than once) and
    :func:`stats` for all turns with a final and for each of ``kinds``."""
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
        "finals_ok": sum(t.finals == 1 for t in ok),
        "missing": [t.message for t in turns if t.final is None][:10],
        "missing_count": sum(t.final is None for t in turns),
        "duplicates": sum(t.finals > 1 for t in turns),
        # the load's messages only: the warm-up's are not counted
        "app_generations_extra": sum(seen[t.message] - 1 for t in turns if seen[t.message] > 1),
        "by_kind": {},
    }
    for kind, selected in (("all", ok), *((k, [t for t in ok if t.kind == k]) for k in kinds)):
        if selected:
            out["by_kind"][kind] = stats(selected, app_key, extra)
    return out


def log_summary(path: Path, ignore: Sequence[str] = ()) -> dict[str, Any]:
    """The bridge log's lines by level, and its warning/error events (the 12 most frequent) with numbers,
    ids and ports masked (``Retrying in 0.94 seconds`` and ``… 0.91 seconds`` count as one) and their
    ``status``/``error`` fields; events containing one of ``ignore`` are left out."""
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
            if level in ("warning", "error", "critical", "exception") and not any(s in event for s in ignore):
                event = re.sub(r"127\.0\.0\.1:[0-9]+", "FAKE", event)
                event = re.sub(r"[0-9]+(\.[0-9]+)?", "N", event)
                extra = {k: v for k, v in row.items() if k in ("status", "error")}
                problems[f"{level}: {event[:140]}" + (f" {extra}" if extra else "")] += 1
    return {"levels": dict(levels), "problems": dict(problems.most_common(12))}


# -- one run ------------------------------------------------------------------------------------
class LoadRun(abc.ABC):
    """What a platform script supplies for one run of :func:`run_once`: ``spec`` (this run's size and
    mode, copied into its result) and the parsed options ``args``.

    ``serve`` creates ``self.fake`` and serves it; ``adapter`` is the adapter's config table; ``ready``
    says when the bridge has connected; ``drive`` warms up, runs and measures the load (typically with
    :func:`warm_up`, :func:`load` and :func:`measure`) and returns the result and the load's turns.
    """

    tmp_prefix: ClassVar[str]  # of the run's temporary folder
    adapter_name: ClassVar[str]  # the adapter's name in the config
    token_env: ClassVar[str]
    token: ClassVar[str]
    ready_what: ClassVar[str]  # what the bridge did not do in time: "poll", "register /chat"
    kinds: ClassVar[tuple[str, ...]]  # of the turns, for the per-kind stats
    app_key: ClassVar[str]  # the stats key of "app's final chunk to the final write"
    log_ignore: ClassVar[tuple[str, ...]] = ()  # bridge log events that are no problem

    def __init__(self, spec: dict[str, Any], args: argparse.Namespace) -> None:
        self.spec, self.args = spec, args
        self.fake: Any = None

    @abc.abstractmethod
    def serve(self) -> contextlib.AbstractAsyncContextManager[str]:
        """Create ``self.fake`` and serve it on 127.0.0.1 for the block; the block gets its base URL."""

    @abc.abstractmethod
    def adapter(self, fake_url: str) -> dict[str, Any]:
        """The adapter's table in ``bridge serve``'s config (``type`` and the URLs of the fake)."""

    @abc.abstractmethod
    def ready(self) -> bool:
        """Whether the bridge is connected to the fake and can take the load."""

    @abc.abstractmethod
    async def drive(self, bridge: Child, app: Child) -> tuple[dict[str, Any], list[Any]]:
        """Warm up, run the load, measure; (the run's result, the load's turns)."""

    def extra_spans(self) -> Mapping[str, Span]:
        """The platform's own turn spans for :func:`stats` (none by default)."""
        return {}


async def run_once(run: LoadRun) -> dict[str, Any]:
    """A fresh app, fake and bridge; the run's warm-up, load and numbers, the app's times, the bridge's
    exit code and log. The temporary folder is removed unless ``--keep-logs``, the bridge logged problems
    or exited badly, or the run failed (then its path is printed)."""
    args = run.args
    tmp = Path(tempfile.mkdtemp(prefix=run.tmp_prefix))
    keep = args.keep_logs
    app: Child | None = None
    try:
        app, app_url, finals = start_app(args, tmp)
        async with run.serve() as fake_url:
            take_signals()  # a server may have taken SIGINT/SIGTERM for itself: a Ctrl-C would only stop it
            config = write_config(tmp, app_url, args.state, run.adapter_name, run.adapter(fake_url))
            bridge = start_bridge(config, tmp, run.token_env, run.token)
            try:
                await wait_ready(run.ready, run.ready_what, bridge, args.start_timeout)
                result, turns = await run.drive(bridge, app)
            except BaseException:
                await asyncio.to_thread(bridge.stop, 5.0)  # the fake may be gone: do not wait long
                raise
            result_exit = await asyncio.to_thread(bridge.stop, 30.0)
        result["bridge_exit"] = result_exit
        result.update(app_times(finals, turns, run.kinds, run.app_key, run.extra_spans()))
        result["bridge_log"] = log_summary(tmp / "bridge.log", run.log_ignore)
        keep = keep or bool(result["bridge_log"]["problems"]) or result_exit not in (0, None)
        return result
    except BaseException:
        keep = True
        raise
    finally:
        if app is not None:
            app.stop()
        if keep:
            print(f"  logs kept in {tmp}", file=sys.stderr)
        else:
            shutil.rmtree(tmp, ignore_errors=True)


def run_all(
    specs: Sequence[tuple[dict[str, Any], str]],
    make_run: Callable[[dict[str, Any]], LoadRun],
    report: Callable[[list[dict[str, Any]]], str],
    args: argparse.Namespace,
    brief: Sequence[str],
) -> int:
    """Each (spec, what) in turn: ``running WHAT ...``, :func:`run_once` on ``make_run(spec)``, a line of
    ``brief`` keys to stderr; then ``report(results)`` to stdout, ``--out`` and ``--json``. A run that
    fails (RuntimeError, OSError) is a result ``{**spec, "failed": first line}``; Ctrl-C or SIGTERM
    ends all with 130. The exit code is 0 when no run failed, else 1."""
    take_signals()
    results: list[dict[str, Any]] = []
    for spec, what in specs:
        print(f"running {what} ...", file=sys.stderr, flush=True)
        try:
            result = asyncio.run(run_once(make_run(spec)))
        except (KeyboardInterrupt, SystemExit):
            print("interrupted; the child processes were stopped", file=sys.stderr)
            return 130
        except (RuntimeError, OSError) as exc:
            print(f"  failed: {exc}", file=sys.stderr, flush=True)
            result = {**spec, "failed": str(exc).splitlines()[0] if str(exc) else type(exc).__name__}
        results.append(result)
        if not result.get("failed"):
            print(f"  { ({k: result.get(k) for k in brief}) }", file=sys.stderr, flush=True)
    text = report(results)
    print(text)
    if args.out:
        args.out.write_text(text)
    if args.json:
        args.json.write_text(json.dumps(results, indent=1, default=str) + "\n")
    return 0 if all(not r.get("failed") for r in results) else 1


# -- the report ---------------------------------------------------------------------------------
Result = dict[str, Any]
Label = Callable[[Result], str]


def ms(value: float | None) -> str:
    return "-" if value is None else f"{value * 1000:.0f}"


def num(value: float | None, digits: int = 1) -> str:
    return "-" if value is None else f"{value:.{digits}f}"


def pair(s: dict[str, Any] | None, key: str, fmt: Callable[[float | None], str] = ms) -> str:
    """``p50 / p99`` of one span of a :func:`stats` (``-`` without stats)."""
    return "-" if not s else f"{fmt(s[key]['p50'])} / {fmt(s[key]['p99'])}"


def reply_line(args: argparse.Namespace) -> str:
    """The start of a report's first line: the reply and the state."""
    return f"Reply: {args.tokens} words, {args.delay * 1000:g} ms apart; state {args.state}. "


def usage_cells(r: Result) -> str:
    """The last cells of a run's row: ``| bridge CPU s | bridge RSS MB idle → peak | app CPU s | fake CPU
    s | load avg |``."""
    return (
        f"| {num(r['bridge_cpu_s'], 2)} "
        f"| {num(r['bridge_rss_before_mb'], 0)} → {num(r['bridge_peak_rss_mb'], 0)} "
        f"| {num(r['app_cpu_s'], 2)} | {num(r['fake_cpu_s'], 2)} "
        f"| {num(r['loadavg_before'])} / {num(r['loadavg_after'])} |"
    )


USAGE_HEADER = "| bridge CPU s | bridge RSS MB idle → peak | app CPU s | fake CPU s | load avg |"


def failed_row(run: str, r: Result, columns: int) -> str:
    """A failed run's row in a table of ``columns`` columns."""
    return f"| {run} | failed: {r['failed'][:150]} |" + " |" * (columns - 2)


def kind_table(
    results: list[Result],
    label: Label,
    kinds: Sequence[str],
    title: str,
    platform: str,
    app_key: str,
    lead: Sequence[tuple[str, str]] = (("first", "first_s"),),
) -> list[str]:
    """The per-kind table (under a blank line and ``title``): for each run and kind, its turns, the p50
    and p99 of each ``lead`` span ((column name, stats key)), push→app, gen, app→PLATFORM and
    push→final."""
    heads = [f"{name} {p}" for name, _ in lead for p in ("p50", "p99")]
    heads += ["push→app p50", "push→app p99", "gen p50"]
    heads += [f"app→{platform} {p}" for p in ("p50", "p99", "max")]
    heads += ["push→final p50 s", "push→final p99 s"]
    lines = [
        "",
        title,
        "",
        "| run | kind | turns | " + " | ".join(heads) + " |",
        "|---|---|" + "--:|" * (len(heads) + 1),
    ]
    for r in results:
        for kind in kinds:
            s = r.get("by_kind", {}).get(kind)
            if not s:
                continue
            cells = [label(r), kind, str(s["turns"])]
            cells += [ms(s[key][p]) for _, key in lead for p in ("p50", "p99")]
            cells += [ms(s["push_to_app_s"][p]) for p in ("p50", "p99")] + [ms(s["app_gen_s"]["p50"])]
            cells += [ms(s[app_key][p]) for p in ("p50", "p99", "max")]
            cells += [num(s["push_to_final_s"][p]) for p in ("p50", "p99")]
            lines.append("| " + " | ".join(cells) + " |")
    return lines


def calls_table(
    results: list[Result],
    label: Label,
    intro: str,
    extra: Sequence[str],
    extra_cells: Callable[[Result], list[str]],
) -> list[str]:
    """The table of calls per route or method (``r["calls"]``), under a blank line and ``intro``, with
    the platform's ``extra`` columns (``extra_cells(r)``)."""
    names = sorted({m for r in results for m in r.get("calls", {})})
    lines = [
        "",
        intro,
        "",
        "| run | " + " | ".join(names) + " | " + " | ".join(extra) + " |",
        "|---|" + "--:|" * (len(names) + len(extra)),
    ]
    for r in results:
        if "calls" in r:
            cells = [str(r["calls"].get(m, 0)) for m in names] + extra_cells(r)
            lines.append(f"| {label(r)} | " + " | ".join(cells) + " |")
    return lines


def notes(
    results: list[Result],
    label: Label,
    calls_bits: Callable[[Result], list[str]],
    store_bits: Callable[[Result], list[str]],
    stopped: str,
) -> list[str]:
    """What went wrong or was refused, one line per run (the notes under the tables, after a blank line
    and "Seen:"; none when nothing did): the platform's ``calls_bits`` (refusals, error replies), the
    bridge log's problems, missing finals, the platform's ``store_bits``, replies generated more than
    once, ``stopped`` when the load did not complete, the bridge's exit code."""
    out = []
    for r in results:
        if r.get("failed"):
            continue
        bits = calls_bits(r)
        if r["bridge_log"]["problems"]:
            bits.append(f"bridge log {r['bridge_log']['problems']}")
        if r["missing_count"]:
            bits.append(f"missing finals e.g. {r['missing']}")
        bits += store_bits(r)
        if r["app_generations_extra"]:
            bits.append(f"{r['app_generations_extra']} replies generated more than once by the app")
        if not r["completed"]:
            bits.append(stopped)
        if r["bridge_exit"] not in (0, None):
            bits.append(f"bridge exit code {r['bridge_exit']}")
        if bits:
            out.append(f"- {label(r)}: " + "; ".join(bits))
    return ["", "Seen:", "", *out] if out else []


# -- options ------------------------------------------------------------------------------------
def add_common_options(parser: argparse.ArgumentParser, unit: str, call: str, write: str) -> None:
    """The options of every load script (``unit``: "chat", "conversation"; ``call``: what
    ``--dump-calls`` writes, "Bot API call"; ``write``: what ``--settle`` waits for, "calls")."""
    parser.add_argument(
        "--turns", type=int, default=1, help=f"messages per {unit}, each after the last reply"
    )
    parser.add_argument("--tokens", type=int, default=50, help="words per reply")
    parser.add_argument("--delay", type=float, default=0.01, help="seconds before each word")
    parser.add_argument("--state", choices=("sqlite", "memory"), default="sqlite", help="the bridge's state")
    parser.add_argument("--run-timeout", type=float, default=600.0, help="seconds for the load of one run")
    parser.add_argument("--start-timeout", type=float, default=90.0, help="seconds for start-up and warm-up")
    parser.add_argument("--settle", type=float, default=3.0, help=f"seconds to watch for late {write}")
    parser.add_argument("--keep-logs", action="store_true", help="keep the temporary logs and config")
    parser.add_argument("--dump-calls", type=Path, help=f"write every {call} of the load as JSON lines")
    parser.add_argument("--out", type=Path, help="also write the Markdown report here")
    parser.add_argument("--json", type=Path, help="also write the raw results here")


def check_common_options(
    parser: argparse.ArgumentParser, args: argparse.Namespace, flag: str, sizes: str, most: int
) -> None:
    """Set ``args.sizes`` from ``sizes`` (the comma list of ``flag``, each 1..``most``); ``--turns`` and
    ``--tokens`` must be at least 1. Errors exit through ``parser.error``."""
    try:
        args.sizes = [int(c) for c in sizes.split(",") if c.strip()]
    except ValueError:
        parser.error(f"{flag} takes a comma list of integers")
    if not args.sizes or any(not 1 <= n <= most for n in args.sizes):
        parser.error(f"{flag} must be 1..{most}")
    if args.turns < 1 or args.tokens < 1:
        parser.error("--turns and --tokens must be at least 1")


if __name__ == "__main__":
    if sys.argv[1:2] != ["--app"]:
        sys.exit(f"usage: {sys.argv[0]} --app  (the load benchmarks' app child; see telegram_load.py)")
    try:
        code = app_main()
    except BaseException:
        import traceback

        traceback.print_exc()
        code = 1
    sys.stderr.flush()
    os._exit(code)  # as bench/app.py: do not wait for gradio's leftover threads
