"""House rules checked in code: dependencies point inward, the public surface is deliberate."""

from __future__ import annotations

import ast
import subprocess
import sys
from pathlib import Path

import pytest

import bridge
import bridge.gradio
from tests.house import circles

ROOT = Path(__file__).resolve().parent.parent


def _imports(path: Path) -> set[str]:
    names: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Import):
            names.update(a.name for a in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module:
            names.add(node.module)
    return names


def test_core_never_imports_adapters() -> None:
    offenders = [
        str(p.relative_to(ROOT))
        for p in (ROOT / "bridge").rglob("*.py")
        if any(n == "adapters" or n.startswith("adapters.") for n in _imports(p))
    ]
    assert offenders == []


def test_adapters_import_only_the_public_surface() -> None:
    offenders = []
    for path in (ROOT / "adapters").rglob("*.py"):
        package = path.relative_to(ROOT).parts[:2]
        for name in _imports(path):
            if name.startswith("bridge.") or (
                name.startswith("adapters.") and tuple(name.split(".")[:2]) != package
            ):
                offenders.append(f"{path.relative_to(ROOT)}: {name}")
    assert offenders == []


def test_core_does_not_import_gradio_outside_the_demo_app() -> None:
    # The client speaks the wire protocol itself; gradio is only the demo app's dependency.
    offenders = [
        str(p.relative_to(ROOT))
        for p in (ROOT / "bridge").rglob("*.py")
        if p.name != "app.py" and any(n.split(".")[0] in ("gradio", "gradio_client") for n in _imports(p))
    ]
    assert offenders == []


def test_public_surface_is_exactly_all() -> None:
    for module in (bridge, bridge.gradio):
        exported = set(module.__all__)
        public = {n for n in vars(module) if not n.startswith("_")} - {"annotations", "TYPE_CHECKING"}
        submodules = {n for n in public if type(getattr(module, n)).__name__ == "module"}
        assert public - submodules - exported == set(), module.__name__
        assert all(hasattr(module, n) for n in exported)


def test_modules_stay_small() -> None:
    sizes = {
        str(p.relative_to(ROOT)): len(p.read_text().splitlines())
        for p in [*(ROOT / "bridge").rglob("*.py"), *(ROOT / "adapters").rglob("*.py")]
    }
    assert {k: v for k, v in sizes.items() if v > 320} == {}


def test_no_import_circles() -> None:
    # Imports inside functions and under TYPE_CHECKING count too: a circle there is still a tangle.
    assert circles() == []


@pytest.mark.parametrize(
    "modules",
    [
        "bridge.adapter",
        "bridge",
        "adapters.console.config, adapters.discord.config, adapters.telegram.config",
    ],
)
def test_the_contract_loads_neither_the_relay_nor_httpx(modules: str) -> None:
    # What an adapter author imports must not drag in the Gradio client: checked in a fresh process.
    code = (
        f"import sys, {modules}\n"
        "from bridge import Adapter, AdapterConfig, Capabilities, Incoming, Setting\n"
        "heavy = ('httpx', 'bridge.gradio.client', 'bridge.turn', 'bridge.app')\n"
        "loaded = [m for m in heavy if m in sys.modules]\n"
        "assert not loaded, loaded"
    )
    result = subprocess.run(
        [sys.executable, "-c", code], check=False, capture_output=True, text=True, cwd=ROOT
    )
    assert result.returncode == 0, result.stderr


ROOMS = {"__init__", "adapter", "receive", "send", "render", "config"}
OPTIONAL_ROOMS = {"pacing", "commands", "choices", "errors", "catchup", "files", "access"}


def test_every_adapter_folder_has_the_same_rooms() -> None:
    # docs/adapters.md: "where does X happen?" has one answer on every platform.
    folders = [p for p in (ROOT / "adapters").iterdir() if (p / "__init__.py").exists()]
    assert {p.name for p in folders} >= {"console", "discord", "telegram"}
    for folder in folders:
        rooms = {p.stem for p in folder.glob("*.py")}
        assert rooms >= ROOMS, f"{folder.name} lacks {sorted(ROOMS - rooms)}"
        assert rooms <= ROOMS | OPTIONAL_ROOMS, f"{folder.name} has {sorted(rooms - ROOMS - OPTIONAL_ROOMS)}"
