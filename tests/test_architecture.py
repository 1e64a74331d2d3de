"""House rules checked in code: dependencies point inward, the public surface is deliberate."""

from __future__ import annotations

import ast
from pathlib import Path

import bridge
import bridge.gradio

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
        public = {n for n in vars(module) if not n.startswith("_")} - {"annotations"}
        submodules = {n for n in public if type(getattr(module, n)).__name__ == "module"}
        assert public - submodules - exported == set(), module.__name__
        assert all(hasattr(module, n) for n in exported)


def test_modules_stay_small() -> None:
    sizes = {
        str(p.relative_to(ROOT)): len(p.read_text().splitlines())
        for p in [*(ROOT / "bridge").rglob("*.py"), *(ROOT / "adapters").rglob("*.py")]
    }
    assert {k: v for k, v in sizes.items() if v > 320} == {}
