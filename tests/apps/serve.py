"""Launch Gradio test apps on free local ports and report their URLs as one JSON line.

Usage (any interpreter with gradio 4.44.x, 5.x or 6.x; any cwd):

    python tests/apps/serve.py [--v4-type tuples|messages] [--no-stdin] APP [APP...]

APP is a module name in this directory: text, mm, thought, blocks, auth, quiet, twostep, mmchain,
threestep, extras, replica; or upstream/NAME, one of gradio's own demos (tests/apps/upstream, gradio 6 only),
whose module-level ``demo`` is served as it is. Each app is launched on
127.0.0.1 with its own uvicorn thread, queue enabled. Exactly one line goes to stdout:

    {"version": "6.31.0", "apps": {"text": "http://127.0.0.1:41235/", ...}}

Everything gradio prints goes to stderr. The process then serves until stdin reaches EOF (unless
--no-stdin) or it receives SIGTERM/SIGINT, closes the apps and exits 0.
Proves: several apps of any supported version can be served from one process for the tests.
"""

from __future__ import annotations

import argparse
import contextlib
import importlib
import importlib.util
import json
import os
import signal
import socket
import sys
import threading
import traceback
from pathlib import Path
from types import ModuleType
from typing import Any

APPS_DIR = Path(__file__).resolve().parent
APP_NAMES = (
    "text",
    "mm",
    "thought",
    "blocks",
    "auth",
    "quiet",
    "twostep",
    "mmchain",
    "threestep",
    "extras",
    "replica",
)
UPSTREAM = tuple(
    sorted(f"upstream/{p.stem}" for p in (APPS_DIR / "upstream").glob("*.py") if p.stem != "__init__")
)
PACKAGE = "bridge_test_apps"  # private package name, so no clash with any installed `tests` package


def load_app_module(name: str) -> ModuleType:
    """Import tests/apps/<name>.py as a submodule (relative imports work from any cwd)."""
    if __package__:  # imported as tests.apps.serve or run with -m
        return importlib.import_module(f"{__package__}.{name}")
    if PACKAGE not in sys.modules:
        spec = importlib.util.spec_from_file_location(
            PACKAGE, APPS_DIR / "__init__.py", submodule_search_locations=[str(APPS_DIR)]
        )
        assert spec is not None and spec.loader is not None
        package = importlib.util.module_from_spec(spec)
        sys.modules[PACKAGE] = package
        spec.loader.exec_module(package)
    return importlib.import_module(f"{PACKAGE}.{name}")


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def launch_kwargs(name: str, module: ModuleType, port: int | None = None) -> dict[str, Any]:
    kwargs: dict[str, Any] = {
        "server_name": "127.0.0.1",
        "server_port": port or free_port(),
        "prevent_thread_lock": True,
        "quiet": True,
        "show_error": name != "quiet",
    }
    if name == "auth":
        kwargs["auth"] = module.AUTH
    return kwargs


def wait_for_stop(watch_stdin: bool) -> None:
    stop = threading.Event()

    def on_signal(signum: int, frame: Any) -> None:
        stop.set()

    signal.signal(signal.SIGTERM, on_signal)
    signal.signal(signal.SIGINT, on_signal)

    def read_stdin() -> None:
        with contextlib.suppress(Exception):
            while sys.stdin.buffer.read1(65536):  # type: ignore[attr-defined]
                pass
        stop.set()

    if watch_stdin and sys.stdin is not None:
        threading.Thread(target=read_stdin, name="stdin-eof", daemon=True).start()
    while not stop.wait(0.5):
        pass


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument(
        "apps", nargs="+", choices=APP_NAMES + UPSTREAM, metavar="APP", help=", ".join(APP_NAMES)
    )
    parser.add_argument("--v4-type", choices=("tuples", "messages"), help="chatbot type on gradio 4.x")
    parser.add_argument("--no-stdin", action="store_true", help="ignore stdin; stop only on a signal")
    parser.add_argument("--port", type=int, help="serve the (single) app on this port, e.g. to restart it")
    args = parser.parse_args(argv)
    if args.port and len(set(args.apps)) > 1:
        parser.error("--port serves a single app")

    os.environ["GRADIO_ANALYTICS_ENABLED"] = "False"
    if args.v4_type:
        os.environ["BRIDGE_TEST_CHATBOT_TYPE"] = args.v4_type

    # 5.x/6.x only move returned files into the cache when they lie under cwd or the temp dir
    # (PROTOCOL.md §13.7); serving from this directory makes assets/ returnable from any start cwd
    # without adding it to allowed_paths (a raw /file= request for it still gets 403).
    os.chdir(APPS_DIR)
    real_stdout = sys.stdout
    sys.stdout = sys.stderr  # gradio banners and any later print() must not reach our stdout
    import gradio as gr

    demos: list[Any] = []
    urls: dict[str, str] = {}
    try:
        for name in dict.fromkeys(args.apps):
            module = load_app_module(name.replace("/", "."))
            demo = module.build() if hasattr(module, "build") else module.demo  # upstream/*: as written
            kwargs = launch_kwargs(name, module, args.port)
            demo.launch(**kwargs)  # its banner goes to stderr (sys.stdout is swapped above)
            demos.append(demo)
            urls[name] = f"http://127.0.0.1:{kwargs['server_port']}/"
        real_stdout.write(json.dumps({"version": gr.__version__, "apps": urls}) + "\n")
        real_stdout.flush()
        wait_for_stop(watch_stdin=not args.no_stdin)
    finally:
        for demo in demos:
            with contextlib.suppress(Exception):
                demo.close()
    return 0


if __name__ == "__main__":
    try:
        code = main()
    except SystemExit as exc:  # argparse errors and --help
        code = exc.code if isinstance(exc.code, int) else 2
    except BaseException:
        traceback.print_exc()
        code = 1
    sys.stderr.flush()
    os._exit(code)  # do not wait for gradio's leftover non-daemon threads
