"""Bridge's asyncio Gradio client against the official ``gradio_client``, on one local ChatInterface.

Usage::

    python bench/client_bench.py [--concurrency 10,50,200] [--turns 2] [--seq-turns 20]
                                 [--tokens 50] [--delay 0.01] [--impl bridge,official] [--out FILE]

Every run gets a fresh server (``bench/app.py``, a child process on 127.0.0.1, warmed up with one
turn of each client) and runs the load in another child process, so the client's CPU time
(``getrusage(RUSAGE_SELF)`` user+system) and peak RSS (``ru_maxrss``) are the client's alone.
The server's CPU time during the load is read from ``/proc/PID/stat`` and shown next to it.

Scenarios:
- sequential: 1 conversation, ``--seq-turns`` turns one after another;
- concurrent: N conversations (each ``--concurrency`` value) start together and each does
  ``--turns`` turns in a row.

Bridge: one ``GradioClient`` for the whole process, one ``ChatSession`` per conversation, all in
one event loop. Official: one thread per conversation, each with its own ``gradio_client.Client``
(a Client holds one session_hash, so separate histories need separate Clients); the Clients are
built inside the threads, timed apart, and the turns start once every thread has its Client
(a barrier). A turn is ``client.submit(msg, api_name=...)`` and a 1 ms poll of ``job.outputs()``
/ ``job.done()`` (what ``for out in job`` does, but bounded by a deadline), then ``job.result()``.

Measured per turn: time to the first non-empty reply text and to the final text, from the start
of the turn. Every final text is checked against the app's known reply (which also encodes the
turn number, so a lost history is caught); a wrong text, an exception or a timeout counts as an
error, and the conversation then stops (its remaining turns count as errors too).
Only 127.0.0.1 is contacted; telemetry of both gradio packages is switched off.
This is a hand-run benchmark: nothing here asserts times.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import math
import os
import resource
import selectors
import subprocess
import sys
import tempfile
import threading
import time
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
APP = HERE / "app.py"
QUIET_ENV = {
    "GRADIO_ANALYTICS_ENABLED": "False",
    "HF_HUB_DISABLE_TELEMETRY": "1",
    "HF_HUB_OFFLINE": "1",
    "DO_NOT_TRACK": "1",
}
os.environ.update(QUIET_ENV)

sys.path.insert(0, str(HERE))
sys.path.insert(1, str(ROOT))
from app import expected_reply  # noqa: E402

IMPLS = ("bridge", "official")
LABELS = {"bridge": "bridge", "official": "gradio_client"}


# -- measurements -------------------------------------------------------------------------------
def percentile(values: list[float], pct: float) -> float | None:
    """Nearest-rank percentile; None for no values."""
    if not values:
        return None
    ordered = sorted(values)
    return ordered[max(0, math.ceil(pct / 100 * len(ordered)) - 1)]


def cpu_seconds() -> float:
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


def peak_rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # Linux: KiB


def proc_cpu_seconds(pid: int) -> float | None:
    """User+system CPU seconds of another process (all its threads), from /proc."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return None
    fields = stat.rsplit(")", 1)[1].split()
    ticks = os.sysconf("SC_CLK_TCK")
    return (int(fields[11]) + int(fields[12])) / ticks


@dataclass
class Tally:
    """What the conversations of one run observed (appended to from threads: list ops are atomic)."""

    first: list[float] = field(default_factory=list)
    final: list[float] = field(default_factory=list)
    ok: int = 0
    errors: Counter[str] = field(default_factory=Counter)
    lock: threading.Lock = field(default_factory=threading.Lock)

    def turn_ok(self, first: float | None, final: float) -> None:
        with self.lock:
            self.ok += 1
            self.final.append(final)
            if first is not None:
                self.first.append(first)

    def error(self, kind: str) -> None:
        with self.lock:
            self.errors[kind[:160]] += 1


def check(text: Any, message: str, turn: int, tokens: int) -> str | None:
    """None when ``text`` is the app's complete reply, else a short description of what is wrong."""
    want = expected_reply(message, turn, tokens)
    if text == want:
        return None
    got = text if isinstance(text, str) else repr(text)
    return f"wrong final text (want {len(want)} chars ending {want[-12:]!r}, got {len(got)}: {got[-24:]!r})"


# -- the Bridge worker --------------------------------------------------------------------------
async def bridge_load(spec: dict[str, Any], tally: Tally, marks: dict[str, float]) -> None:
    from bridge.gradio import ChatSession, ChatTurn, GradioClient, ReplyUpdate, TurnDone

    url, n, turns, tokens = spec["url"], spec["conversations"], spec["turns"], spec["tokens"]
    turn_timeout = spec["turn_timeout"]

    async def conversation(i: int) -> None:
        session = ChatSession()
        for t in range(turns):
            message = f"c{i}t{t}"
            start = time.perf_counter()
            first: float | None = None
            final_text: str | None = None
            try:
                async with asyncio.timeout(turn_timeout):
                    async for event in ChatTurn(client, session, message):
                        if isinstance(event, ReplyUpdate) and first is None and event.reply.text:
                            first = time.perf_counter() - start
                        elif isinstance(event, TurnDone):
                            final_text = event.reply.text
            except TimeoutError:
                tally.error(f"turn timeout ({turn_timeout:g} s)")
            except Exception as exc:
                tally.error(f"{type(exc).__name__}: {exc}")
            else:
                wrong = "no TurnDone" if final_text is None else check(final_text, message, t, tokens)
                if wrong is None:
                    tally.turn_ok(first, time.perf_counter() - start)
                    continue
                tally.error(wrong)
            if t < turns - 1:
                tally.error(f"turn skipped after an error (x{turns - t - 1})")
            return

    t0 = time.perf_counter()
    client = await GradioClient.connect(url)
    marks["setup_s"] = time.perf_counter() - t0
    marks["setup_each"] = [marks["setup_s"]]
    try:
        marks["load_start"] = time.perf_counter()
        await asyncio.gather(*(conversation(i) for i in range(n)))
        marks["load_end"] = time.perf_counter()
    finally:
        await client.aclose()


def run_bridge(spec: dict[str, Any], tally: Tally, marks: dict[str, float]) -> None:
    asyncio.run(bridge_load(spec, tally, marks))


# -- the official gradio_client worker ----------------------------------------------------------
class OfficialRun:
    """One thread and one ``gradio_client.Client`` per conversation; turns start together."""

    def __init__(self, spec: dict[str, Any], tally: Tally) -> None:
        self.spec = spec
        self.tally = tally
        self.construct: list[float] = []
        self.starts: list[float] = []
        self.ends: list[float] = []
        self.barrier = threading.Barrier(
            spec["conversations"], action=lambda: self.starts.append(time.perf_counter())
        )

    def run(self, marks: dict[str, Any]) -> None:
        from concurrent.futures import ThreadPoolExecutor

        n = self.spec["conversations"]
        t0 = time.perf_counter()
        with ThreadPoolExecutor(max_workers=n, thread_name_prefix="conv") as pool:
            for future in [pool.submit(self.conversation, i) for i in range(n)]:
                future.result()
        marks["setup_s"] = (self.starts[0] if self.starts else time.perf_counter()) - t0
        marks["setup_each"] = self.construct
        marks["load_start"] = self.starts[0] if self.starts else t0
        marks["load_end"] = max(self.ends) if self.ends else time.perf_counter()

    def conversation(self, i: int) -> None:
        from gradio_client import Client

        turns = self.spec["turns"]
        t0 = time.perf_counter()
        client = None
        try:
            timeout = self.spec.get("official_timeout")
            client = Client(
                self.spec["url"],
                verbose=False,
                analytics_enabled=False,
                download_files=False,
                httpx_kwargs={"timeout": timeout} if timeout else None,
            )
            self.construct.append(time.perf_counter() - t0)
        except Exception as exc:
            self.tally.error(f"Client() failed: {type(exc).__name__}: {exc}")
        try:
            self.barrier.wait(timeout=self.spec["run_timeout"])
            if client is None:
                self.tally.error(f"turn skipped after an error (x{turns})")
                return
            for t in range(turns):
                try:
                    self.turn(client, f"c{i}t{t}", t)
                except (ValueError, TimeoutError) as exc:
                    self.tally.error(str(exc))
                except Exception as exc:
                    self.tally.error(f"{type(exc).__name__}: {exc}")
                else:
                    continue
                if t < turns - 1:
                    self.tally.error(f"turn skipped after an error (x{turns - t - 1})")
                return
        except threading.BrokenBarrierError:
            self.tally.error("barrier broken (Client construction too slow)")
        finally:
            self.ends.append(time.perf_counter())
            if client is not None:
                with contextlib.suppress(Exception):
                    client.close()

    def turn(self, client: Any, message: str, t: int) -> None:
        turn_timeout = self.spec["turn_timeout"]
        start = time.perf_counter()
        deadline = start + turn_timeout
        first: float | None = None
        job = client.submit(message, api_name=self.spec["api_name"])
        while True:
            done = job.done()
            if first is None:
                outs = job.outputs()
                if outs and outs[-1]:
                    first = time.perf_counter() - start
            if done:
                break
            if time.perf_counter() > deadline:
                with contextlib.suppress(Exception):
                    job.cancel()
                raise TimeoutError(f"turn timeout ({turn_timeout:g} s)")
            time.sleep(self.spec["poll"])
        text = job.result(timeout=1)
        wrong = check(text, message, t, self.spec["tokens"])
        if wrong is not None:
            raise ValueError(wrong)
        self.tally.turn_ok(first, time.perf_counter() - start)


def run_official(spec: dict[str, Any], tally: Tally, marks: dict[str, Any]) -> None:
    OfficialRun(spec, tally).run(marks)


def worker(spec: dict[str, Any]) -> dict[str, Any]:
    """Run one load in this process and return its measurements."""
    impl = spec["impl"]
    if impl == "bridge":
        import bridge.gradio  # noqa: F401  (import cost is not part of the load)
    else:
        import gradio_client  # noqa: F401
    rss_import = peak_rss_mb()
    cpu_import = cpu_seconds()
    tally = Tally()
    marks: dict[str, Any] = {}
    runner: Callable[[dict[str, Any], Tally, dict[str, Any]], None] = (
        run_bridge if impl == "bridge" else run_official
    )
    t0 = time.perf_counter()
    crashed = None
    try:
        runner(spec, tally, marks)
    except Exception as exc:
        crashed = f"{type(exc).__name__}: {exc}"
    total_wall = time.perf_counter() - t0
    cpu_end = cpu_seconds()
    expected = spec["conversations"] * spec["turns"]
    load_wall = marks.get("load_end", 0.0) - marks.get("load_start", 0.0) if "load_start" in marks else None
    return {
        "impl": impl,
        "conversations": spec["conversations"],
        "turns": spec["turns"],
        "ok": tally.ok,
        "errors": expected - tally.ok,
        "error_kinds": dict(tally.errors.most_common(6)),
        "crashed": crashed,
        "wall_s": load_wall,
        "total_wall_s": total_wall,
        "setup_s": marks.get("setup_s"),
        "setup_p50_s": percentile(marks.get("setup_each", []), 50),
        "setup_p99_s": percentile(marks.get("setup_each", []), 99),
        "first_p50_s": percentile(tally.first, 50),
        "first_p99_s": percentile(tally.first, 99),
        "final_p50_s": percentile(tally.final, 50),
        "final_p99_s": percentile(tally.final, 99),
        "cpu_s": cpu_end - cpu_import,
        "cpu_total_s": cpu_end,
        "rss_import_mb": rss_import,
        "rss_peak_mb": peak_rss_mb(),
        "threads_end": threading.active_count(),
    }


def worker_main(spec_json: str) -> int:
    real_stdout = sys.stdout
    sys.stdout = sys.stderr  # only our JSON line goes to stdout
    result = worker(json.loads(spec_json))
    real_stdout.write(json.dumps(result) + "\n")
    real_stdout.flush()
    return 0


# -- the parent: servers, runs, report ----------------------------------------------------------
class Server:
    """bench/app.py in a child process; its stderr goes to a temporary log file."""

    def __init__(
        self, tokens: int, delay: float, keep_alive: float | None = None, start_timeout: float = 90.0
    ) -> None:
        env = {**os.environ, **QUIET_ENV, "TOKENS": str(tokens), "DELAY": str(delay)}
        env.pop("KEEP_ALIVE", None)
        if keep_alive is not None:
            env["KEEP_ALIVE"] = str(keep_alive)
        self.log = tempfile.NamedTemporaryFile("w+", prefix="bench-app-", suffix=".log", delete=False)  # noqa: SIM115
        self.proc = subprocess.Popen(
            [sys.executable, str(APP)],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=self.log,
            env=env,
            cwd=str(HERE),
        )
        line = read_line(self.proc, start_timeout)
        if not line:
            self.stop(keep_log=True)
            raise RuntimeError(f"the benchmark app did not start; see {self.log.name}")
        self.url: str = json.loads(line)["url"]
        if not self.url.startswith("http://127.0.0.1:"):
            self.stop(keep_log=True)
            raise RuntimeError(f"unexpected app URL {self.url}")

    def cpu(self) -> float | None:
        return proc_cpu_seconds(self.proc.pid)

    def tracebacks(self) -> int:
        with contextlib.suppress(OSError):
            return Path(self.log.name).read_text(errors="replace").count("Traceback")
        return 0

    def stop(self, keep_log: bool = False) -> None:
        """Stop the app; its log is deleted unless ``keep_log`` or it holds a traceback."""
        with contextlib.suppress(OSError):
            if self.proc.stdin is not None:
                self.proc.stdin.close()
        try:
            self.proc.wait(timeout=15)
        except subprocess.TimeoutExpired:
            self.proc.terminate()
            try:
                self.proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(timeout=10)
        self.log.close()
        if keep_log or self.tracebacks():
            print(f"the app's log is kept in {self.log.name}", file=sys.stderr)
        else:
            Path(self.log.name).unlink(missing_ok=True)


def read_line(proc: subprocess.Popen[bytes], timeout: float) -> str | None:
    """The child's first stdout line, or None when it exits or ``timeout`` passes first."""
    assert proc.stdout is not None
    deadline = time.monotonic() + timeout
    buf = b""
    with selectors.DefaultSelector() as sel:
        sel.register(proc.stdout, selectors.EVENT_READ)
        while b"\n" not in buf:
            left = deadline - time.monotonic()
            if left <= 0:
                return None
            if not sel.select(timeout=min(left, 1.0)):
                if proc.poll() is not None:
                    return None
                continue
            chunk = os.read(proc.stdout.fileno(), 65536)
            if not chunk:
                return None
            buf += chunk
    return buf.split(b"\n", 1)[0].decode()


def discover_api_name(url: str) -> str:
    """The ChatInterface's public endpoint (on gradio 6, the fn's ``__name__``), via view_api."""
    from gradio_client import Client

    client = Client(url, verbose=False, analytics_enabled=False, download_files=False)
    try:
        api = client.view_api(return_format="dict", print_info=False)
    finally:
        client.close()
    names = list(api["named_endpoints"])
    if len(names) != 1:
        raise RuntimeError(f"expected one public endpoint, found {names}")
    return names[0]


def warm_up(url: str, api_name: str, tokens: int) -> None:
    """One turn of each client against a fresh server, so first-request costs are not measured."""
    from gradio_client import Client

    from bridge.gradio import ChatSession, ChatTurn, GradioClient, TurnDone

    async def bridge_turn() -> None:
        async with asyncio.timeout(60), await GradioClient.connect(url) as client:
            async for event in ChatTurn(client, ChatSession(), "warm"):
                if isinstance(event, TurnDone) and check(event.reply.text, "warm", 0, tokens):
                    raise RuntimeError(f"warm-up reply is wrong: {event.reply.text!r}")

    asyncio.run(bridge_turn())
    client = Client(url, verbose=False, analytics_enabled=False, download_files=False)
    try:
        text = client.submit("warm", api_name=api_name).result(timeout=60)
    finally:
        client.close()
    if check(text, "warm", 0, tokens):
        raise RuntimeError(f"warm-up reply is wrong: {text!r}")


def run_one(spec: dict[str, Any], args: argparse.Namespace) -> dict[str, Any]:
    """A fresh server, a warm-up, then the load in a child process; the child's result + server CPU."""
    server = Server(args.tokens, args.delay, args.server_keep_alive)
    try:
        api_name = discover_api_name(server.url)
        warm_up(server.url, api_name, args.tokens)
        spec = {**spec, "url": server.url, "api_name": api_name}
        load0 = os.getloadavg()[0]
        cpu0 = server.cpu()
        cmd = [sys.executable, str(Path(__file__).resolve()), "--worker", json.dumps(spec)]
        env = {**os.environ, **QUIET_ENV}
        try:
            done = subprocess.run(
                cmd, capture_output=True, text=True, timeout=args.run_timeout + 30, env=env, check=False
            )
        except subprocess.TimeoutExpired:
            return {**spec, "timed_out": True, "server_tracebacks": server.tracebacks()}
        cpu1 = server.cpu()
        lines = done.stdout.strip().splitlines()
        if done.returncode != 0 or not lines:
            tail = done.stderr.strip().splitlines()[-5:]
            return {**spec, "crashed": f"worker exit {done.returncode}: {' | '.join(tail)}"}
        result: dict[str, Any] = json.loads(lines[-1])
        result["server_cpu_s"] = None if cpu0 is None or cpu1 is None else cpu1 - cpu0
        result["server_tracebacks"] = server.tracebacks()
        result["scenario"] = spec["scenario"]
        result["loadavg_before"] = load0
        result["loadavg_after"] = os.getloadavg()[0]
        return result
    finally:
        server.stop()


def fmt(value: Any, scale: float = 1.0, digits: int = 2) -> str:
    if value is None:
        return "-"
    return f"{value * scale:.{digits}f}"


def ratio(a: Any, b: Any) -> str:
    if not a or not b:
        return "-"
    return f"{a / b:.2f}x"


def report(results: list[dict[str, Any]], args: argparse.Namespace) -> str:
    lines = [
        f"Reply: {args.tokens} tokens, {args.delay * 1000:g} ms apart "
        f"(≥ {args.tokens * args.delay:.2f} s per turn). Times from the start of each turn. "
        f"Official client polled every {args.poll * 1000:g} ms; server keep-alive "
        + (f"{args.server_keep_alive:g} s" if args.server_keep_alive else "uvicorn's default (5 s)")
        + (f"; official client httpx timeout {args.official_timeout:g} s." if args.official_timeout else "."),
        "",
        "| scenario | client | wall s | turns/s | first p50 ms | first p99 ms | final p50 ms "
        "| final p99 ms | client CPU s | peak RSS MB | server CPU s | errors |",
        "|---|---|--:|--:|--:|--:|--:|--:|--:|--:|--:|--:|",
    ]
    for r in results:
        label = LABELS[r["impl"]]
        if r.get("timed_out"):
            lines.append(f"| {r['scenario']} | {label} | timed out after {args.run_timeout:g} s |" + " |" * 9)
            continue
        if r.get("crashed") and r.get("ok") is None:
            lines.append(f"| {r['scenario']} | {label} | crashed: {r['crashed'][:120]} |" + " |" * 9)
            continue
        wall = r["wall_s"]
        rate = r["ok"] / wall if wall else None
        errors = f"{r['errors']}/{r['conversations'] * r['turns']}"
        lines.append(
            f"| {r['scenario']} | {label} | {fmt(wall)} | {fmt(rate, digits=1)} "
            f"| {fmt(r['first_p50_s'], 1000, 0)} | {fmt(r['first_p99_s'], 1000, 0)} "
            f"| {fmt(r['final_p50_s'], 1000, 0)} | {fmt(r['final_p99_s'], 1000, 0)} "
            f"| {fmt(r['cpu_s'])} | {fmt(r['rss_peak_mb'], digits=0)} | {fmt(r.get('server_cpu_s'))} "
            f"| {errors} |"
        )
    lines += [
        "",
        "Setup (not in the wall time above): Bridge connects once; the official client builds one "
        "Client per conversation, in its thread, all at once.",
        "",
        "| scenario | client | setup wall s | per-client setup p50 ms | p99 ms | RSS after import MB "
        "| CPU incl. import s | threads at end | load avg before / after |",
        "|---|---|--:|--:|--:|--:|--:|--:|--:|",
    ]
    for r in results:
        if r.get("ok") is None:
            continue
        lines.append(
            f"| {r['scenario']} | {LABELS[r['impl']]} | {fmt(r['setup_s'])} "
            f"| {fmt(r['setup_p50_s'], 1000, 0)} | {fmt(r['setup_p99_s'], 1000, 0)} "
            f"| {fmt(r['rss_import_mb'], digits=0)} | {fmt(r['cpu_total_s'])} | {r['threads_end']} "
            f"| {fmt(r.get('loadavg_before'), digits=1)} / {fmt(r.get('loadavg_after'), digits=1)} |"
        )
    lines += [
        "",
        "Ratios official / bridge (above 1 means the official client needs more):",
        "",
        "| scenario | wall time | client CPU | peak RSS | final p50 | final p99 "
        "| turns ok (bridge / official) |",
        "|---|--:|--:|--:|--:|--:|--:|",
    ]
    by_key = {(r["scenario"], r["impl"]): r for r in results if r.get("ok") is not None}
    for scenario in dict.fromkeys(r["scenario"] for r in results):
        b, o = by_key.get((scenario, "bridge")), by_key.get((scenario, "official"))
        if b is None or o is None:
            continue
        lines.append(
            f"| {scenario} | {ratio(o['wall_s'], b['wall_s'])} | {ratio(o['cpu_s'], b['cpu_s'])} "
            f"| {ratio(o['rss_peak_mb'], b['rss_peak_mb'])} | {ratio(o['final_p50_s'], b['final_p50_s'])} "
            f"| {ratio(o['final_p99_s'], b['final_p99_s'])} | {b['ok']} / {o['ok']} |"
        )
    notes = []
    for r in results:
        if r.get("error_kinds") or r.get("crashed") or r.get("server_tracebacks"):
            notes.append(
                f"- {r['scenario']} / {LABELS[r['impl']]}: errors {r.get('error_kinds') or {}}"
                + (f"; crashed: {r['crashed']}" if r.get("crashed") else "")
                + (f"; server log tracebacks: {r['server_tracebacks']}" if r.get("server_tracebacks") else "")
            )
    if notes:
        lines += ["", "Errors seen:", "", *notes]
    return "\n".join(lines) + "\n"


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--concurrency", default="10,50,200", help="conversations per concurrent run")
    parser.add_argument("--turns", type=int, default=2, help="turns per conversation when concurrent")
    parser.add_argument("--seq-turns", type=int, default=20, help="turns of the sequential run (0: skip)")
    parser.add_argument("--tokens", type=int, default=50, help="words per reply")
    parser.add_argument("--delay", type=float, default=0.01, help="seconds before each word")
    parser.add_argument("--impl", default="bridge,official", help="clients to run: bridge,official")
    parser.add_argument("--poll", type=float, default=0.001, help="official client's poll interval (s)")
    parser.add_argument(
        "--official-timeout",
        type=float,
        help="httpx timeout (s) for the official client's requests (default: gradio_client's own, 5 s)",
    )
    parser.add_argument("--turn-timeout", type=float, default=120.0, help="seconds per turn")
    parser.add_argument("--run-timeout", type=float, default=300.0, help="seconds per run")
    parser.add_argument(
        "--server-keep-alive",
        type=float,
        help="the app's uvicorn keep-alive timeout in seconds (default: uvicorn's 5 s)",
    )
    parser.add_argument("--out", type=Path, help="also write the Markdown report here")
    parser.add_argument("--json", type=Path, help="also write the raw results here")
    parser.add_argument("--worker", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    impls = [i.strip() for i in args.impl.split(",") if i.strip()]
    if not impls or any(i not in IMPLS for i in impls):
        parser.error(f"--impl takes a comma list of {', '.join(IMPLS)}")
    args.impls = impls
    try:
        args.levels = [int(c) for c in args.concurrency.split(",") if c.strip()]
    except ValueError:
        parser.error("--concurrency takes a comma list of integers")
    if any(n < 1 or n > 2000 for n in args.levels) or args.turns < 1 or args.seq_turns < 0:
        parser.error("concurrency must be 1..2000, --turns ≥ 1 and --seq-turns ≥ 0")
    return args


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    if args.worker:
        return worker_main(args.worker)
    scenarios: list[tuple[str, int, int]] = []
    if args.seq_turns:
        scenarios.append((f"sequential 1x{args.seq_turns}", 1, args.seq_turns))
    scenarios += [(f"concurrent {n}x{args.turns}", n, args.turns) for n in args.levels]
    results = []
    for name, n, turns in scenarios:
        for impl in args.impls:
            spec = {
                "impl": impl,
                "scenario": name,
                "conversations": n,
                "turns": turns,
                "tokens": args.tokens,
                "poll": args.poll,
                "turn_timeout": args.turn_timeout,
                "run_timeout": args.run_timeout,
                "official_timeout": args.official_timeout,
            }
            print(f"running {name} with {LABELS[impl]} ...", file=sys.stderr, flush=True)
            result = run_one(spec, args)
            result.setdefault("scenario", name)
            results.append(result)
            brief = {
                k: result.get(k) for k in ("wall_s", "ok", "errors", "cpu_s", "rss_peak_mb", "timed_out")
            }
            print(f"  {brief}", file=sys.stderr, flush=True)
    text = report(results, args)
    print(text)
    if args.out:
        args.out.write_text(text)
    if args.json:
        args.json.write_text(json.dumps(results, indent=1) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
