"""What the commands share: naming an app on the command line, and the exit codes.

Exit codes: 0 success; 1 the app reported an error (``serve``: an adapter crashed; ``check``: a
problem was found); 2 bad usage, input or config (also: the app's validator refused the message);
3 the app or Space could not be used (unreachable, asleep too long, broken, no chat the bridge can
drive); 130 interrupted.
"""

from __future__ import annotations

import argparse
import os
from typing import TypeAlias

from bridge.errors import (
    AppError,
    BridgeError,
    ConfigError,
    FileTooLarge,
    InputRejected,
    InvalidParam,
    Unsupported,
)

Commands: TypeAlias = "argparse._SubParsersAction[argparse.ArgumentParser]"  # argparse names it privately
BAD_INPUT = (ConfigError, InvalidParam, FileTooLarge, Unsupported, InputRejected)
INTERRUPTED = 130


def exit_code(error: type[BaseException]) -> int:
    """The exit code of a command that ended with an ``error`` of this type."""
    if issubclass(error, BAD_INPUT):
        return 2
    if issubclass(error, AppError):
        return 1
    return 3 if issubclass(error, BridgeError) else 1


def explain(exc: BridgeError) -> str:
    """The ``error: …`` line for ``exc``."""
    if isinstance(exc, AppError) and not isinstance(exc, InputRejected):
        return f"error: the app failed: {exc}\n"
    return f"error: {exc}\n"


def add_source(sp: argparse.ArgumentParser) -> None:
    """The arguments naming one app: ``SRC``, ``--api-name``, ``--token-env``, ``--auth-env``."""
    sp.add_argument("src", help="a Space id (owner/name) or the URL of a Gradio app")
    sp.add_argument("--api-name", help="use this endpoint instead of the discovered chat endpoint")
    sp.add_argument(
        "--token-env",
        default="HF_TOKEN",
        help="env var holding a Hugging Face token for private Spaces (default HF_TOKEN)",
    )
    sp.add_argument("--auth-env", help="env var holding user:password for apps launched with auth=")


def credentials(args: argparse.Namespace) -> tuple[str | None, tuple[str, str] | None]:
    """The token (None when its variable is unset) and the ``user:password`` pair of the app."""
    token = os.environ.get(args.token_env) or None
    auth = None
    if args.auth_env:
        raw = os.environ.get(args.auth_env)
        if not raw or ":" not in raw:
            raise InvalidParam(args.auth_env, "set this env var to user:password")
        user, password = raw.split(":", 1)
        auth = (user, password)
    return token, auth
