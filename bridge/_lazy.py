"""Public names imported on first use (PEP 562), for the packages whose ``__init__`` is a surface.

A package lists ``name → (module, attribute)`` and assigns the two functions this returns to its
``__getattr__`` and ``__dir__``: importing the package then costs nothing, and reading a name
imports only the module that defines it.
"""

from __future__ import annotations

import importlib
import sys
from collections.abc import Callable, Mapping
from typing import Any


def lazy_exports(
    package: str, table: Mapping[str, tuple[str, str]]
) -> tuple[Callable[[str], Any], Callable[[], list[str]]]:
    """``(__getattr__, __dir__)`` for ``package``, serving the names of ``table``."""

    def getattr_(name: str) -> Any:
        try:
            module, attr = table[name]
        except KeyError:
            raise AttributeError(f"module {package!r} has no attribute {name!r}") from None
        value = getattr(importlib.import_module(module), attr)
        vars(sys.modules[package])[name] = value  # later reads skip this function
        return value

    def dir_() -> list[str]:
        return sorted({*vars(sys.modules[package]), *table})

    return getattr_, dir_
