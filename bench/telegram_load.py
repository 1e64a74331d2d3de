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
The processes, the load loop, the measurements and the report's common parts are the harness's
(``bench/loadkit.py``); this script has the fake's stamping, the chats, the checks and its columns.
Only 127.0.0.1 is contacted; this is a hand-run benchmark and asserts nothing about times.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import sys
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
from loadkit import (  # noqa: E402
    USAGE_HEADER,
    Child,
    LoadRun,
    Turn,
    add_common_options,
    calls_table,
    check_common_options,
    failed_row,
    kind_table,
    load,
    measure,
    notes,
    num,
    pair,
    reply_line,
    run_all,
    usage_cells,
    warm_up,
)

TOKEN = "424242:BENCH-TOKEN"
TOKEN_ENV = "TG_BENCH_TOKEN"
WARM_CHAT = 999
PRIVATE_BASE = 1000  # private chat i (1-based) has id PRIVATE_BASE + i and user id alike
GROUP_BASE = -1_000_000  # group i has id GROUP_BASE - i; its user is GROUP_USER_BASE + i
GROUP_USER_BASE = 700_000
TEXT_METHODS = ("sendMessage", "editMessageText", "sendMessageDraft")
BUDGETED = ("sendMessage", "editMessageText")  # what the bridge's global budget paces
MODES = ("drafts", "edits")
KINDS = ("private", "group")


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
class ChatTurn(Turn):
    """A turn in one chat (``kind`` "private" or "group"), from its user."""

    chat: int = field(kw_only=True)
    user: int = field(kw_only=True)


def make_fake_class() -> type[Any]:
    """FakeTelegram with every method handler wrapped to record a :class:`Call` and to stamp the running
    turn of its chat: ``first`` at its first text call, ``final`` (and ``done``) at the first call that
    is not a draft and carries the final text without a Stop button (imported late: the fake lives in
    the tests package)."""
    from tests.fakes.telegram import METHODS, FakeTelegram

    names = {name.lower(): name for name in METHODS.split()}

    class StampedFake(FakeTelegram):
        def __init__(self, token: str) -> None:
            super().__init__(token)
            self.log: list[Call] = []
            self.active: dict[int, ChatTurn] = {}  # chat → its running turn
            self.polled = False
            self._methods = {key: self._stamped(names.get(key, key), h) for key, h in self._methods.items()}

        def _stamped(self, method: str, handler: Callable[[Any], Awaitable[Any]]) -> Any:
            async def call(params: Any) -> Any:
                at = time.time()
                if method == "getUpdates":
                    self.polled = True
                try:
                    result = await handler(params)
                except Exception as exc:  # an ApiError has its status; others are logged as 500
                    self.log.append(Call(at, method, params.get("chat_id"), getattr(exc, "status", 500)))
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
def plan(n: int, group_share: float, turns: int, tokens: int) -> list[list[ChatTurn]]:
    """The turns of each chat: private chats first, then groups."""
    groups = int(n * group_share + 0.5)
    chats = [(PRIVATE_BASE + i, PRIVATE_BASE + i, "private", f"p{i}") for i in range(1, n - groups + 1)]
    chats += [(GROUP_BASE - i, GROUP_USER_BASE + i, "group", f"g{i}") for i in range(1, groups + 1)]
    return [
        [
            ChatTurn(kind, t, f"{tag}t{t}", expected_reply(f"{tag}t{t}", t, tokens), chat=chat, user=user)
            for t in range(turns)
        ]
        for chat, user, kind, tag in chats
    ]


class TelegramRun(LoadRun):
    """One run: ``spec`` is ``{"chats": N, "mode": "drafts" | "edits"}``."""

    tmp_prefix = "tg-load-"
    adapter_name = "tg"
    token_env = TOKEN_ENV
    token = TOKEN
    ready_what = "poll"
    kinds = KINDS
    app_key = "app_to_tg_s"

    @contextlib.asynccontextmanager
    async def serve(self) -> AsyncIterator[str]:
        from tests.fakes.telegram import serve_telegram

        self.fake = make_fake_class()(TOKEN)
        async with serve_telegram(self.fake) as url:
            yield url

    def adapter(self, fake_url: str) -> dict[str, Any]:
        return {
            "type": "telegram",
            "token_env": TOKEN_ENV,
            "api_base_url": f"{fake_url}/bot",
            "file_base_url": f"{fake_url}/file/bot",
            "trigger": "all",
            "drafts": self.spec["mode"] == "drafts",
        }

    def ready(self) -> bool:
        """The bridge polls for updates."""
        return bool(self.fake.polled)

    async def push(self, turn: ChatTurn) -> None:
        self.fake.active[turn.chat] = turn
        turn.pushed = time.time()
        self.fake.push_text(turn.chat, turn.message, user=turn.user)

    async def drive(self, bridge: Child, app: Child) -> tuple[dict[str, Any], list[Any]]:
        fake, spec, args = self.fake, self.spec, self.args
        warm = ChatTurn(
            "private", 0, "warm", expected_reply("warm", 0, args.tokens), chat=WARM_CHAT, user=WARM_CHAT
        )
        await warm_up([[warm]], self.push, bridge, args.start_timeout, 1.0)
        chats = plan(spec["chats"], args.group_share, args.turns, args.tokens)
        flat = [t for chat in chats for t in chat]
        start_log, start_errors, start_429 = len(fake.log), len(fake.errors), fake.count_429
        numbers, start = await measure(
            lambda: load(chats, self.push, bridge, args.run_timeout), flat, bridge, app, args.settle
        )
        calls = fake.log[start_log:]
        if args.dump_calls:
            dump_calls(args.dump_calls, spec, calls, start)
        for turn in flat:  # calls that carried this turn's final text, over the whole run
            turn.finals = sum(
                1
                for c in calls
                if c.chat == turn.chat
                and c.status == 200
                and c.method != "sendMessageDraft"
                and c.text == turn.expected
                and not c.markup
            )
        result = {
            **spec,
            "private": sum(chat[0].kind == "private" for chat in chats),
            "groups": sum(chat[0].kind == "group" for chat in chats),
            "turns": args.turns,
            **numbers,
            "count_429": fake.count_429 - start_429,
            "fake_errors": Counter(f"{m} {s}: {d[:90]}" for m, s, d in fake.errors[start_errors:]),
            "calls": Counter(c.method for c in calls),
            "calls_failed": Counter(f"{c.method} {c.status}" for c in calls if c.status != 200),
            "store": store_check(fake, chats),
        }
        return result, flat


def dump_calls(path: Path, spec: dict[str, Any], calls: list[Call], start: float) -> None:
    """Append the run's calls: arrival (wall clock, and from the first push), method, chat, status, text
    length, Stop button."""
    with path.open("a") as out:
        for c in calls:
            row = {**spec, "at": c.at, "t": round(c.at - start, 4), "method": c.method, "chat": c.chat}
            row |= {"status": c.status, "chars": len(c.text) if c.text is not None else None}
            row["markup"] = c.markup
            out.write(json.dumps(row) + "\n")


def store_check(fake: Any, chats: list[list[ChatTurn]]) -> dict[str, Any]:
    """Each chat must hold exactly its final replies, one bot message per turn, in order."""
    wrong: list[str] = []
    for chat in chats:
        got = [m.text for m in fake.sent(chat[0].chat) if not m.deleted]
        want = [t.expected for t in chat]
        if got != want:
            wrong.append(f"chat {chat[0].chat}: {len(got)} messages {[g[-16:] if g else g for g in got][:4]}")
    return {"chats_wrong": len(wrong), "examples": wrong[:5]}


# -- the report ---------------------------------------------------------------------------------
def global_budget() -> float:
    """The Telegram adapter's own bot-wide rate (and burst), as its Pacer defaults say."""
    import inspect

    from adapters.telegram.pacing import Pacer

    return float(inspect.signature(Pacer).parameters["global_per_s"].default)


def label(r: dict[str, Any]) -> str:
    turns = f", {r['turns']} turns" if r["turns"] > 1 else ""
    return f"{r['chats']} ({r['private']}+{r['groups']}g){turns}, {r['mode']}"


def report(results: list[dict[str, Any]], args: argparse.Namespace) -> str:
    lines = [
        reply_line(args) + "Chats: N (private + groups). Times are wall clock; app→TG is from the app's "
        "final chunk to the Telegram call carrying the final text.",
        "",
        "| run | finals ok | missing | dup | wrong chats | 429s | other errors | wall s | first p50/p99 ms "
        "| app→TG p50/p99 ms | push→final p50/p99 s " + USAGE_HEADER,
        "|---|--:|--:|--:|--:|--:|--:|--:|--:|--:|--:|--:|--:|--:|--:|--:|",
    ]
    for r in results:
        if r.get("failed"):
            lines.append(failed_row(f"{r['chats']}, {r['mode']}", r, 16))
            continue
        a = r["by_kind"].get("all")
        other = sum(r["fake_errors"].values()) - r["count_429"]
        lines.append(
            f"| {label(r)} | {r['finals_ok']}/{r['expected']} | {r['missing_count']} | {r['duplicates']} "
            f"| {r['store']['chats_wrong']} | {r['count_429']} | {other} | {num(r['wall_s'])} "
            f"| {pair(a, 'first_s')} | {pair(a, 'app_to_tg_s')} | {pair(a, 'push_to_final_s', num)} "
            + usage_cells(r)
        )
    lines += kind_table(
        results,
        label,
        KINDS,
        "By chat kind (ms unless marked; push→app is intake and queueing, gen the app's own streaming):",
        "TG",
        "app_to_tg_s",
    )
    rate = global_budget()

    def budget_cells(r: dict[str, Any]) -> list[str]:
        budgeted = sum(r["calls"].get(m, 0) for m in BUDGETED)
        return [str(budgeted), num(max(0.0, (budgeted - rate) / rate))]

    lines += calls_table(
        results,
        label,
        "Bot API calls during the load (all outcomes). *budgeted*: sendMessage + editMessageText, which the "
        f"bridge paces bot-wide at {rate:g}/s (burst {rate:g}); *floor*: the least time that budget needs "
        "to let them all out.",
        ["budgeted", "floor s"],
        budget_cells,
    )

    def calls_bits(r: dict[str, Any]) -> list[str]:
        return [f"fake error replies {dict(r['fake_errors'])}"] if r["fake_errors"] else []

    def store_bits(r: dict[str, Any]) -> list[str]:
        wrong = r["store"]["chats_wrong"]
        return [f"chats with wrong messages e.g. {r['store']['examples']}"] if wrong else []

    stopped = f"stopped early: the {args.run_timeout:g} s run timeout, or a failed chat"
    lines += notes(results, label, calls_bits, store_bits, stopped)
    return "\n".join(lines) + "\n"


# -- main ---------------------------------------------------------------------------------------
def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=(__doc__ or "").split("\n\n")[0])
    parser.add_argument("--chats", default="200", help="chats per run, a comma list (default 200)")
    parser.add_argument("--group-share", type=float, default=0.25, help="fraction of chats that are groups")
    parser.add_argument(
        "--modes", default="drafts,edits", help="drafts (the default config), edits (drafts=false)"
    )
    parser.add_argument("--no-drafts", action="store_true", help="the same as --modes edits")
    add_common_options(parser, unit="chat", call="Bot API call", write="calls")
    args = parser.parse_args(argv)
    check_common_options(parser, args, "--chats", args.chats, 5000)
    args.mode_list = ["edits"] if args.no_drafts else [m.strip() for m in args.modes.split(",") if m.strip()]
    if not args.mode_list or any(m not in MODES for m in args.mode_list):
        parser.error(f"--modes takes a comma list of {', '.join(MODES)}")
    if not 0 <= args.group_share <= 1:
        parser.error("--group-share must be within 0..1")
    return args


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    specs = [
        ({"chats": n, "mode": mode}, f"{n} chats, {mode}") for n in args.sizes for mode in args.mode_list
    ]
    return run_all(
        specs,
        lambda spec: TelegramRun(spec, args),
        lambda results: report(results, args),
        args,
        ("wall_s", "finals_ok", "expected", "count_429", "bridge_cpu_s"),
    )


if __name__ == "__main__":
    sys.exit(main())
