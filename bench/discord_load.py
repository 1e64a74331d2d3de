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
``"MESSAGE #K w0 ... w{TOKENS-1}"``, started through ``bench/loadkit.py --app``, which also logs
the wall-clock time of each reply's start and of its final chunk. The processes, the load loop, the
measurements and the report's common parts are that harness's (``bench/loadkit.py``); this script has
the fake's stamping, the conversations, the checks and its columns.

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
import contextlib
import json
import sys
import time
from collections import Counter
from collections.abc import AsyncIterator, Awaitable, Callable, Mapping
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
    Span,
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

TOKEN = "bench-discord-bot-token"
TOKEN_ENV = "DC_BENCH_TOKEN"
KINDS = ("slash", "mention")
BUDGETS = ("channel creates", "message edits", "global")


# -- conversations ------------------------------------------------------------------------------
@dataclass
class ConvTurn(Turn):
    """A turn of one conversation (``kind`` "slash" or "mention", its conversation's)."""

    conv: Conv = field(kw_only=True, repr=False)
    ack: float | None = None  # slash turns: the interaction's answer (the prompt in #general)
    user_message_id: str | None = None  # the message the reply answers (all but a slash first turn)
    answer_id: str | None = None  # slash first turns: the interaction's answer message
    reply_ids: list[str] = field(default_factory=list)  # the bot messages of the reply


@dataclass
class Conv:
    """One conversation: a user, where it talks, and its turns."""

    kind: str  # "slash" or "mention"
    tag: str
    user_id: str
    channel_id: str  # #general for slash conversations, an extra channel for mentions
    turns: list[ConvTurn] = field(default_factory=list)
    thread_id: str | None = None  # the thread its /chat opened
    in_channel: bool = False  # its /chat opened no thread: the bridge answered in the channel instead
    current: ConvTurn | None = None

    @property
    def place(self) -> str:
        """Where its replies go: its thread, or its channel."""
        return self.thread_id or self.channel_id

    def reply_target(self, turn: ConvTurn) -> str | None:
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
            ConvTurn(kind, t, f"{tag}t{t}", expected_reply(f"{tag}t{t}", t, tokens), conv=conv)
            for t in range(turns)
        ]
        convs.append(conv)
    return convs


# -- the fake Discord, with a timestamp per call and per write -----------------------------------
def make_fake_class() -> type[Any]:
    """FakeDiscord on the wall clock, recording every REST call, classifying its 429s and attributing
    every bot write to the turn it belongs to (imported late: the fake lives in the tests package).
    A turn's ``final`` (and ``done``) is the first write whose content is the final text, without
    components (the Stop button)."""
    from tests.fakes.discord import ApiError, FakeDiscord

    class StampedDiscord(FakeDiscord):
        def __init__(self, token: str) -> None:
            super().__init__(token, clock=time.time)  # writes and budgets on the wall clock
            self.log: list[CallRecord] = []
            self.refused: list[tuple[float, str, str, float | None]] = []  # (at, route, budget, retry)
            self.by_user: dict[str, Conv] = {}
            self.by_thread: dict[str, Conv] = {}
            self.by_reply: dict[str, ConvTurn] = {}
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
                turn.finals += 1
                if turn.final is None:
                    turn.final = write.at
                    turn.done.set()

        def _owner(self, msg: Any, body: dict[str, Any], at: float) -> ConvTurn | None:
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


# -- one run --------------------------------------------------------------------------------------
class DiscordRun(LoadRun):
    """One run: ``spec`` is ``{"conversations": N}``. The guild's extra channels, the users and the
    conversations (and two warm-up ones, in a channel of their own) exist before the bridge connects."""

    tmp_prefix = "dc-load-"
    adapter_name = "dc"
    token_env = TOKEN_ENV
    token = TOKEN
    ready_what = "register /chat"
    kinds = KINDS
    app_key = "app_to_dc_s"
    # discord.py's start-up notes that voice support (PyNaCl, davey) is not installed: the bridge uses none
    log_ignore = ("voice will NOT",)
    convs: list[Conv]  # the load's conversations and the warm-up's, planned in serve()
    warm: list[Conv]

    @contextlib.asynccontextmanager
    async def serve(self) -> AsyncIterator[str]:
        from tests.fakes.discord import serve_discord

        args = self.args
        fake = self.fake = make_fake_class()(TOKEN)
        channels = [fake.add_channel(fake.guild_id, f"load-{i}") for i in range(1, args.channels + 1)]
        self.convs = plan(
            fake, self.spec["conversations"], args.slash_share, channels, args.turns, args.tokens
        )
        warm_channel = fake.add_channel(fake.guild_id, "warm")
        self.warm = plan(
            fake, 2, 0.5, [warm_channel], 1, args.tokens, prefix="warm", slash_channel=warm_channel
        )
        fake.by_user.update({c.user_id: c for c in [*self.warm, *self.convs]})
        async with serve_discord(fake) as url:
            yield url

    def adapter(self, fake_url: str) -> dict[str, Any]:
        return {
            "type": "discord",
            "token_env": TOKEN_ENV,
            "api_base_url": f"{fake_url}/api/v10",
            "gateway_url": self.fake.gateway_url,
            "scope": "thread",
        }

    def ready(self) -> bool:
        """The bridge is on the gateway and has registered its slash commands."""
        return bool(self.fake.sessions and self.fake.find_command("chat", None))

    def extra_spans(self) -> Mapping[str, Span]:
        return {"ack_s": lambda t: None if t.ack is None else t.ack - t.pushed}

    async def push(self, turn: ConvTurn) -> None:
        fake, conv = self.fake, turn.conv
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

    async def drive(self, bridge: Child, app: Child) -> tuple[dict[str, Any], list[Any]]:
        fake, spec, args, convs = self.fake, self.spec, self.args, self.convs
        # one slash and one mention turn (connects the bridge to the app); then let the warm-up's last
        # calls (typing, MESSAGE_UPDATEs) pass
        warm = [c.turns for c in self.warm]
        spec["warm_s"] = await warm_up(warm, self.push, bridge, args.start_timeout, 1.5)
        start_log, start_errors, start_refused = len(fake.log), len(fake.errors), len(fake.refused)
        start_429, start_stray = fake.count_429, len(fake.stray)
        flat = [t for conv in convs for t in conv.turns]
        numbers, start = await measure(
            lambda: load([c.turns for c in convs], self.push, bridge, args.run_timeout, args.stall),
            flat,
            bridge,
            app,
            args.settle,
        )
        calls = fake.log[start_log:]
        refused = fake.refused[start_refused:]
        if args.dump_calls:
            dump_calls(args.dump_calls, spec, calls, refused, start)
        result = {
            **spec,
            "slash": sum(c.kind == "slash" for c in convs),
            "mention": sum(c.kind == "mention" for c in convs),
            "channels": args.channels,
            "turns": args.turns,
            **numbers,
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
        }
        return result, flat


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


# -- the report -----------------------------------------------------------------------------------
def label(r: dict[str, Any]) -> str:
    turns = f", {r['turns']} turns" if r.get("turns", 1) > 1 else ""
    if "slash" not in r:
        return f"{r['conversations']}{turns}"
    return f"{r['conversations']} ({r['slash']}/+{r['mention']}@ in {r['channels']} ch){turns}"


def report(results: list[dict[str, Any]], args: argparse.Namespace) -> str:
    lines = [
        reply_line(args) + "Conversations: N (slash / + mentions in C channels). Times are wall clock; "
        "app→DC is from the app's final chunk to the write carrying the final text.",
        "",
        "| run | finals ok | missing / dup / wrong | threads | 429s create / edit / global | other errors "
        "| wall s | ack p50/p99 ms | first p50/p99 ms | app→DC p50/p99 ms | push→final p50/p99 s "
        + USAGE_HEADER,
        "|---|--:|--:|--:|--:|--:|--:|--:|--:|--:|--:|--:|--:|--:|--:|--:|",
    ]
    for r in results:
        if r.get("failed"):
            lines.append(failed_row(label(r), r, 16))
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
            f"| {pair(a, 'push_to_final_s', num)} " + usage_cells(r)
        )
    lines += kind_table(
        results,
        label,
        KINDS,
        "By kind (ms unless marked; push→app is intake and queueing, gen the app's own streaming):",
        "DC",
        "app_to_dc_s",
        lead=(("ack", "ack_s"), ("first", "first_s")),
    )
    lines += calls_table(
        results,
        label,
        "REST calls during the load, per route (all outcomes; *dispatches*: gateway events sent to the "
        "bridge over the whole run, the bot's own messages and edits included):",
        ["dispatches"],
        lambda r: [str(r["gateway_dispatches"])],
    )
    stopped = (
        f"stopped early: the {args.run_timeout:g} s run timeout, {args.stall:g} s without a final, "
        "or a failed conversation"
    )
    lines += notes(results, label, calls_bits, store_bits, stopped)
    return "\n".join(lines) + "\n"


def calls_bits(r: dict[str, Any]) -> list[str]:
    """The notes on a run's refused and failed calls."""
    bits = []
    if r["refused_by_route"]:
        bits.append(f"429s by route and budget {dict(r['refused_by_route'])}")
    if r["calls_failed"]:
        bits.append(f"failed calls {dict(r['calls_failed'])}")
    other = {k: v for k, v in r["fake_errors"].items() if " 429:" not in k}
    if other:
        bits.append(f"fake error replies {other}")
    return bits


def store_bits(r: dict[str, Any]) -> list[str]:
    """The notes on where a run's replies ended up."""
    bits = []
    if r["store"]["answered_in_channel"]:
        bits.append(
            f"{r['store']['answered_in_channel']} /chat opened no thread and were answered in #general"
        )
    if r["store"]["examples"]:
        bits.append(f"store {r['store']}")
    elif not r["store"]["chat_answers_ok"]:
        bits.append("#general does not hold exactly one thread-opening answer per /chat")
    return bits


# -- main -------------------------------------------------------------------------------------------
def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=(__doc__ or "").split("\n\n")[0])
    parser.add_argument(
        "--conversations", default="100", help="conversations per run, a comma list (default 100)"
    )
    parser.add_argument("--slash-share", type=float, default=0.5, help="fraction started with /chat")
    parser.add_argument("--channels", type=int, default=10, help="extra channels the mentions spread over")
    parser.add_argument(
        "--stall", type=float, default=60.0, help="stop a run after this long without a final"
    )
    add_common_options(parser, unit="conversation", call="REST call", write="writes")
    args = parser.parse_args(argv)
    check_common_options(parser, args, "--conversations", args.conversations, 2000)
    if args.channels < 1:
        parser.error("--channels must be at least 1")
    if not 0 <= args.slash_share <= 1:
        parser.error("--slash-share must be within 0..1")
    return args


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    specs = [({"conversations": n}, f"{n} conversations") for n in args.sizes]
    return run_all(
        specs,
        lambda spec: DiscordRun(spec, args),
        lambda results: report(results, args),
        args,
        ("wall_s", "finals_ok", "expected", "count_429", "bridge_cpu_s", "warm_s"),
    )


if __name__ == "__main__":
    sys.exit(main())
