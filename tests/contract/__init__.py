"""Running the kit's contract scenarios (:mod:`bridge.testing`) against this repository's adapters.

One module per platform holds its :class:`~bridge.testing.PlatformView` over the platform's fake
and a *rig*: an async context manager that serves the fake and yields ``(adapter, view)``, the
adapter built as ``bridge serve`` builds it (:func:`build`). ``tests/test_contract.py`` runs every
scenario on every rig.
"""

from __future__ import annotations

import contextlib
from pathlib import Path
from typing import Any, Protocol

import pytest

from bridge import Adapter, registry
from bridge.testing import PlatformView


class Rig(Protocol):
    """``rig(tmp_path, monkeypatch)``: the platform served while the block runs, and the adapter on it."""

    def __call__(
        self, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
    ) -> contextlib.AbstractAsyncContextManager[tuple[Adapter, PlatformView]]: ...


def build(type_name: str, name: str, table: dict[str, Any], secret: str = "") -> Adapter:
    """The adapter of an ``[adapters.NAME]`` table, built as ``bridge serve`` builds it."""
    cls = registry.adapter_class(type_name)
    config = cls.Config.model_validate({"type": type_name, "space": "app", **table})
    adapter: Adapter = cls(name, config, lambda _env: secret)
    return adapter
