"""``bridge check CONFIG``: validate a config end to end and print a verdict per part.

Checks, in order: the file (keys, types, env vars), the state store, each adapter type, and each
Space (connect, wake it if asleep, find the chat endpoint, validate the configured ``params``
against the app's constraints). Every problem is printed; the exit code is 0 only when all pass.
"""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path
from typing import TextIO

from bridge import registry
from bridge.cli.common import Commands
from bridge.cli.info import describe_chat
from bridge.config import Config, load_config
from bridge.errors import BridgeError, ConfigError, InvalidParam
from bridge.gradio.chat import resolve_params
from bridge.gradio.client import GradioClient
from bridge.gradio.events import SpaceStatus
from bridge.sessions import open_store


def add(commands: Commands) -> None:
    """Declare ``check`` on the ``bridge`` parser's sub-commands."""
    sp = commands.add_parser("check", help="validate a config file and connect to its Spaces")
    sp.add_argument("config", type=Path, help="the TOML config to check")
    sp.set_defaults(run=run)


async def run(args: argparse.Namespace) -> int:
    """Check ``args.config``, printing to stdout."""
    return await check(args.config)


async def check(path: Path, out: TextIO = sys.stdout) -> int:
    """Print what works and what does not; return the exit code (0 = all good)."""
    try:
        config = load_config(path)
    except ConfigError as exc:
        out.write(f"✗ {exc}\n")
        return 2
    out.write(f"✓ {path}: {len(config.spaces)} space(s), {len(config.adapters)} adapter(s)\n")
    problems = await _store(config, path, out)
    for name, cfg in config.adapters.items():
        try:
            registry.adapter_class(cfg.type)
            out.write(f"✓ adapters.{name}: {cfg.type} bot for space '{cfg.space}'\n")
        except (ConfigError, ImportError) as exc:
            out.write(f"✗ adapters.{name}: {exc}\n")
            problems += 1
    for name in config.spaces:
        problems += await _space(config, name, out)
    out.write("All good.\n" if not problems else f"{problems} problem(s) found.\n")
    return 0 if not problems else 1


async def _store(config: Config, path: Path, out: TextIO) -> int:
    url = config.bridge.state
    if url.startswith("sqlite:///"):
        db = Path(url.removeprefix("sqlite:///"))
        folder = (db if db.is_absolute() else Path.cwd() / db).parent
        if not db.exists():  # do not create the database just to check it
            if os.access(folder, os.W_OK):
                out.write(f"✓ bridge.state: {db} will be created in {folder}\n")
                return 0
            out.write(f"✗ bridge.state: cannot create {db}: {folder} is not writable\n")
            return 1
    try:
        store = open_store(config.bridge.state, base_dir=Path.cwd())
        try:
            await store.keys("state:")
            waiting = len(await store.inbox.pending())
        finally:
            await store.close()
    except BridgeError as exc:
        out.write(f"✗ bridge.state: {exc}\n")
        return 1
    kind = config.bridge.state.split("://")[0]
    unanswered = f"; {waiting} unanswered message(s) will be answered at start" if waiting else ""
    out.write(f"✓ bridge.state: {kind} store opens{unanswered}\n")
    return 0


async def _space(config: Config, name: str, out: TextIO) -> int:
    sc = config.spaces[name]
    token, auth = config.credentials(name)

    def status(event: SpaceStatus) -> None:
        out.write(f"  … spaces.{name}: {event.message}\n")

    try:
        async with await GradioClient.connect(
            sc.src,
            hf_token=token,
            auth=auth,
            api_name=sc.api_name,
            on_status=status,
            options=sc.client_options(),
        ) as client:
            endpoint = client.chat
            out.write(f"✓ spaces.{name}: {sc.src} (gradio {client.app.version})\n")
            out.write("".join(f"    {line}\n" for line in describe_chat(endpoint, client.app)))
            if sc.params:
                resolve_params(endpoint, sc.params)
                out.write(f"✓ spaces.{name}.params: accepted by the app\n")
    except BridgeError as exc:
        where = f"spaces.{name}.params" if isinstance(exc, InvalidParam) else f"spaces.{name}"
        out.write(f"✗ {where}: {exc}\n")
        return 1
    return 0
