"""Adapter types: the ``type`` of an ``[adapters.NAME]`` table → the code that runs and validates it.

Every target is a ``"module:Class"`` string imported lazily (importlib), so the core never imports an
adapter module statically (house rule 1) and a platform library matters only when a config uses it.

* :data:`ADAPTERS` maps a built-in type to its adapter class. An adapter class exposes its config
  model (a subclass of :class:`bridge.config.AdapterConfig`) as the class attribute ``Config``.
* :data:`CONFIGS` maps a built-in type straight to that config model, so validating a file
  (``bridge check``) imports only the small ``adapters.<type>.config`` module, not the adapter and its
  platform library. For built-ins the two must agree (``ConsoleAdapter.Config is ConsoleConfig``).
* Third-party adapters declare an entry point in the group ``bridge.adapters``: its name is the type,
  its value the adapter class (``"pkg.module:MyAdapter"``); the config model is the class's ``Config``.
  Built-in types win over entry points of the same name.

Failures are :class:`~bridge.errors.ConfigError` without a path; the config loader adds
``adapters.NAME.type``.
"""

from __future__ import annotations

import difflib
import importlib
from importlib.metadata import entry_points
from typing import Any, TypeVar

from bridge.errors import ConfigError

T = TypeVar("T")

ENTRY_POINT_GROUP = "bridge.adapters"
ADAPTERS: dict[str, str] = {
    "console": "adapters.console.adapter:ConsoleAdapter",
    "discord": "adapters.discord.adapter:DiscordAdapter",
    "telegram": "adapters.telegram.adapter:TelegramAdapter",
}
CONFIGS: dict[str, str] = {
    "console": "adapters.console.config:ConsoleConfig",
    "discord": "adapters.discord.config:DiscordConfig",
    "telegram": "adapters.telegram.config:TelegramConfig",
}


def _plugins() -> dict[str, str]:
    found = entry_points(group=ENTRY_POINT_GROUP)
    return {ep.name: f"{ep.module}:{ep.attr}" for ep in found if ep.name not in ADAPTERS}


def adapter_types() -> list[str]:
    """Every type a config may name: the built-ins and the installed entry points, sorted."""
    return sorted({*ADAPTERS, *_plugins()})


def adapter_class(type_name: str) -> type:
    """The adapter class for ``type_name``, imported now."""
    target = ADAPTERS.get(type_name) or _plugins().get(type_name)
    if target is None:
        raise ConfigError(unknown_type(type_name))
    found = _load(target, type_name)
    if not isinstance(found, type):
        raise ConfigError(f"adapter type '{type_name}': {target} is not a class")
    return found


def config_model(type_name: str, base: type[T]) -> type[T]:
    """The model that validates an ``[adapters.NAME]`` table of type ``type_name``: a subclass of ``base``.

    ``base`` is :class:`bridge.config.AdapterConfig`, passed in so this module need not import the
    config loader that imports it.
    """
    target = CONFIGS.get(type_name)
    model = _load(target, type_name) if target else getattr(adapter_class(type_name), "Config", None)
    if not (isinstance(model, type) and issubclass(model, base)):
        raise ConfigError(
            f"adapter type '{type_name}' has no config model: its class needs a Config attribute "
            "that subclasses bridge.config.AdapterConfig"
        )
    return model


def unknown_type(type_name: str) -> str:
    """The message for a type nobody registered, with the closest known type."""
    known = adapter_types()
    close = difflib.get_close_matches(type_name, known, n=1)
    hint = f" (did you mean '{close[0]}'?)" if close else ""
    return f"unknown adapter type '{type_name}'{hint}; known types: {', '.join(known)}"


def _load(target: str, type_name: str) -> Any:
    module_name, _, attr = target.partition(":")
    try:
        module = importlib.import_module(module_name)
    except ImportError as exc:
        raise ConfigError(
            f"adapter type '{type_name}' cannot be loaded ({exc}); is its package or extra installed?"
        ) from exc
    try:
        return getattr(module, attr)
    except AttributeError:
        raise ConfigError(f"adapter type '{type_name}': {module_name} has no attribute {attr}") from None
