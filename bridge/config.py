"""The configuration file: TOML → validated, immutable pydantic models (see ``config.example.toml``).

``[bridge]`` is :class:`BridgeSettings`, each ``[spaces.NAME]`` a :class:`SpaceConfig`, each
``[adapters.NAME]`` the model of its ``type`` (a subclass of :class:`AdapterConfig`, found through
:mod:`bridge.registry`). :func:`load_config` reports every problem in one ConfigError, a line each as
``dotted.key.path: what is wrong``, suggesting the closest key for typos (see :mod:`bridge.configcheck`).

Secrets are only named: every ``*_env`` key of any model holds the NAME of an environment variable,
checked at load time (set, non-empty; ``auth_env`` holds ``user:password``), so a missing secret stops
start-up. Values never appear in ``repr``, dumps or messages (read: :meth:`Config.secret`, ``credentials``).
"""

from __future__ import annotations

import difflib
import os
import tomllib
from collections.abc import Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any, Literal

from pydantic import (
    AfterValidator,
    Field,
    NonNegativeFloat,
    PositiveFloat,
    PositiveInt,
    PrivateAttr,
    SecretStr,
    field_validator,
)

from bridge import registry
from bridge.adapterconfig import AdapterConfig, MiB, Model
from bridge.configcheck import Problem, failure, tables, toml_error, unknown, validate
from bridge.errors import ConfigError
from bridge.gradio.spaceid import is_space_id

if TYPE_CHECKING:
    from bridge.gradio.http import ClientOptions

Secret = tuple[str, SecretStr]  # (environment variable name, its value)

_SCALARS = (str, int, float, bool)


def _state_url(value: str) -> str:
    if value == "memory://" or value.startswith(("redis://", "rediss://")):
        return value
    if value.startswith("sqlite:///") and len(value) > len("sqlite:///"):
        return value
    raise ValueError("expected 'memory://', 'sqlite:///PATH' or 'redis://HOST:PORT/DB'")


def _host_port(value: str) -> tuple[str, int]:
    host, _, port = value.rpartition(":")
    host = host.removeprefix("[").removesuffix("]")
    if not host or not port.isdigit() or not 0 < int(port) < 65536:
        raise ValueError("expected HOST:PORT, like '127.0.0.1:8080'")
    return host, int(port)


def _http(value: str) -> str:
    _host_port(value)
    return value


def _ttl(value: float | None) -> float | None:
    if value is not None and value < 0:
        raise ValueError("must be a number of days, or 0 to keep sessions forever")
    return value or None


def _src(value: str) -> str:
    scheme, _, rest = value.partition("://")
    if is_space_id(value) or (scheme in ("http", "https") and rest.split("/", 1)[0]):
        return value
    raise ValueError("expected a Space id like 'owner/name' or an http(s) URL like 'http://127.0.0.1:7860'")


class BridgeSettings(Model):
    """``[bridge]``: process-wide settings."""

    state: Annotated[str, AfterValidator(_state_url)] = "sqlite:///bridge-state.db"
    log_format: Literal["console", "json"] = "console"
    log_level: Literal["debug", "info", "warning", "error"] = "info"
    http: Annotated[str, AfterValidator(_http)] | None = None
    shutdown_timeout_s: PositiveFloat = 10.0
    session_ttl_days: Annotated[float | None, AfterValidator(_ttl)] = 30.0  # 0 in TOML → None: forever
    max_sessions: PositiveInt = 100_000
    history_turns: PositiveInt = 50
    delivery_deadline_s: PositiveFloat = 900.0  # a final text is retried this long through outages
    store_wait_s: NonNegativeFloat = 120.0  # a turn waits this long for an unreachable state store

    @property
    def session_ttl_s(self) -> float | None:
        """``session_ttl_days`` in seconds; None keeps conversations forever."""
        return self.session_ttl_days * 86400 if self.session_ttl_days else None

    def http_address(self) -> tuple[str, int] | None:
        """``http`` as ``(host, port)``, or None when the HTTP server is off."""
        return None if self.http is None else _host_port(self.http)


class SpaceConfig(Model):
    """``[spaces.NAME]``: one Gradio app."""

    src: Annotated[str, AfterValidator(_src)]
    token_env: str | None = None
    auth_env: str | None = None
    api_name: str | None = None
    params: dict[str, str | int | float | bool | list[str | int | float | bool]] = {}
    wake_timeout_s: PositiveFloat = 300.0
    max_download_bytes: PositiveInt = 50 * MiB
    connect_timeout_s: PositiveFloat = 10.0
    read_timeout_s: PositiveFloat = 60.0
    idle_timeout_s: PositiveFloat = 60.0  # once a reply started: nothing new from the app this long ends it
    turn_timeout_s: PositiveFloat = 600.0  # a turn ends after this long, whatever the app does
    app_wait_s: NonNegativeFloat = 60.0  # an unreachable app (a restart) is tried again this long

    @field_validator("params", mode="before")
    @classmethod
    def _params(cls, value: Any) -> Any:
        for key, item in value.items() if isinstance(value, dict) else ():
            if not isinstance(item, _SCALARS) and not (
                isinstance(item, list) and all(isinstance(x, _SCALARS) for x in item)
            ):
                raise ValueError(f"'{key}' must be a string, a number, true/false or a list of those")
        return value

    def client_options(self) -> ClientOptions:
        """Transport settings for ``GradioClient.connect(..., options=...)``."""
        from bridge.gradio.http import ClientOptions  # the client (and httpx) only when connecting

        return ClientOptions(
            connect_timeout=self.connect_timeout_s,
            read_timeout=self.read_timeout_s,
            wake_timeout=self.wake_timeout_s,
        )


class Config(Model):
    """The whole file, validated; build it with :func:`load_config` or :func:`parse_config`."""

    bridge: BridgeSettings = BridgeSettings()
    spaces: dict[str, SpaceConfig] = Field(min_length=1)
    adapters: dict[str, AdapterConfig] = Field(min_length=1)
    _secrets: dict[str, SecretStr] = PrivateAttr(default_factory=dict)

    def secret(self, env_name: str) -> str:
        """The value of the environment variable ``env_name``, as resolved when the file was loaded."""
        found = self._secrets.get(env_name)
        if found is None:
            raise ConfigError(f"no *_env key names the environment variable {env_name}, so it was not loaded")
        return found.get_secret_value()

    def secret_names(self) -> list[str]:
        """The environment variables whose values were loaded (every ``*_env`` key that is set)."""
        return sorted(self._secrets)

    def credentials(self, space: str) -> tuple[str | None, tuple[str, str] | None]:
        """``(hf_token, auth)`` of a Space, as ``GradioClient.connect`` takes them."""
        cfg = self.spaces[space]
        token = self.secret(cfg.token_env) if cfg.token_env else None
        if not cfg.auth_env:
            return token, None
        user, _, password = self.secret(cfg.auth_env).partition(":")
        return token, (user, password)


def load_config(path: Path, env: Mapping[str, str] = os.environ) -> Config:
    """Read, validate and resolve ``path``; raises one ConfigError listing every problem."""
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except OSError as exc:
        raise ConfigError(f"cannot read {path}: {exc.strerror or exc}") from None
    except UnicodeDecodeError:
        raise ConfigError(f"{path}: not UTF-8 text; save the file as UTF-8") from None
    except tomllib.TOMLDecodeError as exc:
        raise toml_error(path, str(exc)) from None
    return parse_config(data, env, source=str(path))


def parse_config(
    data: Mapping[str, Any], env: Mapping[str, str] = os.environ, source: str = "config"
) -> Config:
    """Validate an already parsed TOML document; ``source`` names it in messages."""
    problems: list[Problem] = []
    for key in [k for k in data if k not in Config.model_fields]:
        if key in BridgeSettings.model_fields:
            problems.append((key, "unknown key here; it belongs in the [bridge] table"))
        else:
            what = "table" if isinstance(data[key], dict) else "key"
            problems.append((key, unknown(key, list(Config.model_fields), what)))
    settings = validate(BridgeSettings, data.get("bridge", {}), "bridge", problems)
    space_tables = tables(data, "spaces", problems)
    spaces: dict[str, SpaceConfig] = {}
    for name, table in space_tables.items():
        if (space := validate(SpaceConfig, table, f"spaces.{name}", problems)) is not None:
            spaces[name] = space
    adapters: dict[str, AdapterConfig] = {}
    for name, table in tables(data, "adapters", problems).items():
        if (adapter := _adapter(name, table, space_tables, problems)) is not None:
            adapters[name] = adapter
    secrets: dict[str, SecretStr] = {}
    for where, model in [*_named("spaces", spaces), *_named("adapters", adapters)]:
        secrets.update(_resolve(model, where, env, problems))
    if problems or settings is None:
        raise failure(source, problems)
    config = Config(bridge=settings, spaces=spaces, adapters=adapters)
    config._secrets.update(secrets)
    return config


def _adapter(
    name: str, table: Any, spaces: Mapping[str, Any], problems: list[Problem]
) -> AdapterConfig | None:
    path = f"adapters.{name}"
    if not isinstance(table, dict):
        problems.append((path, "expected a table"))
        return None
    type_name = table.get("type")
    if not isinstance(type_name, str):
        what = "is required" if type_name is None else "expected a string"
        problems.append((f"{path}.type", f"{what}; known types: {', '.join(registry.adapter_types())}"))
        return None
    try:
        model = registry.config_model(type_name, AdapterConfig)
    except ConfigError as exc:
        problems.append((f"{path}.type", str(exc)))
        return None
    adapter = validate(model, table, path, problems)
    if adapter is not None and spaces and adapter.space not in spaces:
        close = difflib.get_close_matches(adapter.space, list(spaces), n=1)
        hint = f" (did you mean '{close[0]}'?)" if close else ""
        declared = ", ".join(f"'{s}'" for s in spaces)
        problems.append((f"{path}.space", f"no Space named '{adapter.space}'{hint}; declared: {declared}"))
        return None
    return adapter


def _named(section: str, models: Mapping[str, Model]) -> list[tuple[str, Model]]:
    return [(f"{section}.{name}", model) for name, model in models.items()]


def _resolve(model: Model, path: str, env: Mapping[str, str], problems: list[Problem]) -> list[Secret]:
    """The ``*_env`` variables ``model`` names, read from ``env``; no value ever goes in a message."""
    found: list[Secret] = []
    for field in type(model).model_fields:
        name, where = getattr(model, field), f"{path}.{field}"
        if not field.endswith("_env") or not isinstance(name, str):
            continue
        value = env.get(name, "")
        if not value:
            problems.append((where, f"the environment variable {name} is not set; set it before starting"))
        elif field == "auth_env" and (":" not in value or value.startswith(":")):
            problems.append((where, f"the environment variable {name} must hold 'user:password'"))
        else:
            found.append((name, SecretStr(value)))
    return found
