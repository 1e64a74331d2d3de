"""The ``bridge`` command: the parser and :func:`main`; each command is a module of this package.

- :mod:`bridge.cli.serve` ``serve CONFIG``: run every bot of a config file (:func:`bridge.app.serve`);
- :mod:`bridge.cli.check` ``check CONFIG``: validate a config and connect to its Spaces;
- :mod:`bridge.cli.info` ``info SRC``: an app's endpoints, parameters and constraints;
- :mod:`bridge.cli.ask` ``ask SRC MESSAGE``: one message, through the console adapter one-shot;
- :mod:`bridge.cli.demo` ``demo``: the bundled demo app and a terminal chat.

Each module has ``add(commands)``, which declares its sub-parser, and ``run(args)``, the coroutine
it runs, returning the exit code; :mod:`bridge.cli.common` says what the exit codes mean. A
``BridgeError`` that reaches :func:`main` is printed as one ``error:`` line.
"""

from __future__ import annotations

import argparse
import asyncio
import sys
from collections.abc import Sequence

from bridge.cli import ask, check, demo, info, serve
from bridge.cli.common import INTERRUPTED, exit_code, explain
from bridge.errors import BridgeError

COMMANDS = (serve, check, info, ask, demo)


def parser() -> argparse.ArgumentParser:
    """The ``bridge`` argument parser, one sub-command per module of :data:`COMMANDS`."""
    p = argparse.ArgumentParser(prog="bridge", description="Turn Gradio chat apps into chat bots.")
    commands = p.add_subparsers(dest="command", required=True)
    for command in COMMANDS:
        command.add(commands)
    return p


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of the ``bridge`` console script."""
    args = parser().parse_args(argv)
    try:
        code: int = asyncio.run(args.run(args))
    except KeyboardInterrupt:
        return INTERRUPTED
    except BridgeError as exc:
        sys.stderr.write(explain(exc))
        return exit_code(type(exc))
    return code
