"""``bridge serve CONFIG``: run every ``[adapters.NAME]`` bot of a config file until SIGINT/SIGTERM.

The work is :func:`bridge.app.serve`, the composition root; this module only reads the file.
"""

from __future__ import annotations

import argparse
from pathlib import Path

from bridge.app import serve
from bridge.cli.common import Commands
from bridge.config import load_config


def add(commands: Commands) -> None:
    """Declare ``serve`` on the ``bridge`` parser's sub-commands."""
    sp = commands.add_parser("serve", help="run every bot of a config file")
    sp.add_argument("config", type=Path, help="the TOML config (see config.example.toml)")
    sp.set_defaults(run=run)


async def run(args: argparse.Namespace) -> int:
    """Run the bots of ``args.config``; the exit code is :func:`bridge.app.serve`'s."""
    return await serve(load_config(args.config))
