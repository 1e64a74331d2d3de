"""The ``bridge`` command: argument parsing only; the work happens in the modules it calls.

Exit codes: 0 success, 1 the app reported an error (``serve``: an adapter crashed; ``check``: a
problem was found), 2 bad usage, input or config (also: the app's validator refused the message),
3 the app or Space could not be used (unreachable, asleep too long, broken, no chat endpoint), 130
interrupted.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import sys
from collections.abc import Sequence
from pathlib import Path

from bridge.errors import (
    AppError,
    BridgeError,
    ConfigError,
    FileTooLarge,
    InputRejected,
    InvalidParam,
    Unsupported,
)
from bridge.gradio.chat import ChatTurn
from bridge.gradio.client import GradioClient
from bridge.gradio.session import ChatSession
from bridge.info import describe_app
from bridge.model import Attachment
from bridge.terminal import TerminalPrinter, stream_turn

DEFAULT_MAX_DOWNLOAD = 100 * 1024 * 1024


def _parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="bridge", description="Turn Gradio chat apps into chat bots.")
    sub = p.add_subparsers(dest="command", required=True)

    def source(sp: argparse.ArgumentParser) -> None:
        sp.add_argument("src", help="a Space id (owner/name) or the URL of a Gradio app")
        sp.add_argument("--api-name", help="use this endpoint instead of the discovered chat endpoint")
        sp.add_argument(
            "--token-env",
            default="HF_TOKEN",
            help="env var holding a Hugging Face token for private Spaces (default HF_TOKEN)",
        )
        sp.add_argument("--auth-env", help="env var holding user:password for apps launched with auth=")

    info = sub.add_parser("info", help="show an app's endpoints, parameters, types, defaults and constraints")
    source(info)
    ask = sub.add_parser("ask", help="send one message and stream the reply to stdout")
    source(ask)
    ask.add_argument("message", help="the message to send")
    ask.add_argument("--file", action="append", default=[], type=Path, help="attach a file (repeatable)")
    ask.add_argument(
        "--param",
        action="append",
        default=[],
        metavar="NAME=VALUE",
        help="set an additional input of the app (repeatable)",
    )
    ask.add_argument("--out", type=Path, default=Path("."), help="folder for files the app returns")
    ask.add_argument(
        "--max-download", type=int, default=DEFAULT_MAX_DOWNLOAD, help="largest file to download, in bytes"
    )
    serve = sub.add_parser("serve", help="run every bot of a config file")
    serve.add_argument("config", type=Path, help="the TOML config (see config.example.toml)")
    check = sub.add_parser("check", help="validate a config file and connect to its Spaces")
    check.add_argument("config", type=Path, help="the TOML config to check")
    demo = sub.add_parser("demo", help="chat in the terminal with the bundled demo app (no tokens)")
    demo.add_argument("--port", type=int, default=0, help="port for the demo app (default: a free one)")
    return p


def _credentials(args: argparse.Namespace) -> tuple[str | None, tuple[str, str] | None]:
    token = os.environ.get(args.token_env) or None
    auth = None
    if args.auth_env:
        raw = os.environ.get(args.auth_env)
        if not raw or ":" not in raw:
            raise InvalidParam(args.auth_env, "set this env var to user:password")
        user, password = raw.split(":", 1)
        auth = (user, password)
    return token, auth


async def _connect(args: argparse.Namespace, printer: TerminalPrinter) -> GradioClient:
    token, auth = _credentials(args)
    return await GradioClient.connect(
        args.src, hf_token=token, auth=auth, api_name=args.api_name, on_status=printer.space_status
    )


async def _info(args: argparse.Namespace) -> int:
    printer = TerminalPrinter()
    async with await _connect(args, printer) as client:
        sys.stdout.write(describe_app(client.app))
    return 0


async def _ask(args: argparse.Namespace) -> int:
    printer = TerminalPrinter()
    params: dict[str, str] = {}
    for item in args.param:
        name, sep, value = item.partition("=")
        if not sep or not name:
            raise InvalidParam(item, "write parameters as NAME=VALUE")
        params[name.strip()] = value
    for f in args.file:
        if not f.is_file():
            raise InvalidParam(str(f), "no such file")
    attachments = [Attachment.from_path(f) for f in args.file]
    async with await _connect(args, printer) as client:
        turn = ChatTurn(client, ChatSession(), args.message, attachments, params)
        task = asyncio.ensure_future(stream_turn(client, turn, printer, args.out, args.max_download))
        try:
            await asyncio.shield(task)
        except asyncio.CancelledError:
            await turn.cancel()
            await task
            return 130
    return 0


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of the ``bridge`` console script."""
    args = _parser().parse_args(argv)
    try:
        if args.command == "info":
            return asyncio.run(_info(args))
        if args.command == "ask":
            return asyncio.run(_ask(args))
        if args.command == "serve":
            from bridge.app import serve
            from bridge.config import load_config

            return asyncio.run(serve(load_config(args.config)))
        if args.command == "check":
            from bridge.check import check

            return asyncio.run(check(args.config))
        if args.command == "demo":
            from bridge.demo.run import run_demo

            return asyncio.run(run_demo(args.port))
    except KeyboardInterrupt:
        return 130
    except ConfigError as exc:
        sys.stderr.write(f"error: {exc}\n")
        return 2
    except (InvalidParam, FileTooLarge, Unsupported, InputRejected) as exc:
        sys.stderr.write(f"error: {exc}\n")
        return 2
    except AppError as exc:
        sys.stderr.write(f"error: the app failed: {exc}\n")
        return 1
    except BridgeError as exc:
        sys.stderr.write(f"error: {exc}\n")
        return 3
    return 2


if __name__ == "__main__":
    raise SystemExit(main())
