"""The configuration file: the example loads, and every mistake is named by its key path."""

from __future__ import annotations

import re
import tomllib
from importlib.metadata import EntryPoint
from pathlib import Path
from typing import Literal

import pytest

from adapters.console.config import ConsoleConfig
from adapters.discord.config import DiscordConfig
from adapters.telegram.config import TelegramConfig
from bridge import registry
from bridge.adapterconfig import AdapterConfig
from bridge.config import BridgeSettings, Config, SpaceConfig, load_config, parse_config
from bridge.errors import ConfigError

ROOT = Path(__file__).resolve().parent.parent
EXAMPLE = ROOT / "config.example.toml"

BASE = """
[spaces.echo]
src = "owner/echo"

[adapters.term]
type = "console"
space = "echo"
"""


def load(tmp_path: Path, text: str, env: dict[str, str] | None = None) -> Config:
    path = tmp_path / "bridge.toml"
    path.write_text(text)
    return load_config(path, env={} if env is None else env)


def problem(tmp_path: Path, text: str, env: dict[str, str] | None = None) -> ConfigError:
    with pytest.raises(ConfigError) as caught:
        load(tmp_path, text, env)
    return caught.value


def test_the_example_loads_without_secrets_and_shows_the_defaults() -> None:
    config = load_config(EXAMPLE, env={})
    assert config.bridge == BridgeSettings()
    assert config.spaces == {"demo": SpaceConfig(src="http://127.0.0.1:7860")}
    assert config.adapters == {"term": ConsoleConfig(space="demo")}
    assert type(config.adapters["term"]) is ConsoleConfig


def test_the_example_documents_every_key() -> None:
    text = EXAMPLE.read_text()
    keys = set(re.findall(r"^#? ?([a-z_]+) = ", text, re.MULTILINE))
    for model in (BridgeSettings, SpaceConfig, ConsoleConfig, TelegramConfig, DiscordConfig):
        assert set(model.model_fields) - keys == set(), model.__name__


def test_the_commented_platform_tables_load_when_uncommented() -> None:
    text = EXAMPLE.read_text()
    blocks = []
    for table in ("# [adapters.tg]", "# [adapters.dc]"):
        start = text.index(table)
        blocks.append(text[start : text.find("\n\n", start) % (len(text) + 1)])
    block = "\n".join(blocks)
    block = "\n".join(
        line[2:] for line in block.splitlines() if line.startswith("# ") and not line.startswith("# #")
    )
    config = parse_config(
        tomllib.loads(text + "\n" + block),
        env={"TELEGRAM_TOKEN": "1:x", "TELEGRAM_WEBHOOK_SECRET": "s", "DISCORD_TOKEN": "d"},
    )
    tg = config.adapters["tg"]
    assert isinstance(tg, TelegramConfig) and tg.mode == "polling" and tg.drafts
    dc = config.adapters["dc"]
    assert isinstance(dc, DiscordConfig) and dc.threads and dc.shard_ids == [0]


def test_several_spaces_and_adapters_load(tmp_path: Path) -> None:
    config = load(
        tmp_path,
        """
        [bridge]
        state = "memory://"
        http = "0.0.0.0:8080"
        session_ttl_days = 0

        [spaces.echo]
        src = "owner/echo"
        params = { temperature = 0.7, persona = "pirate", stops = ["a", 1] }

        [spaces.local]
        src = "http://127.0.0.1:7860/"
        api_name = "/chat"
        wake_timeout_s = 5

        [adapters.one]
        type = "console"
        space = "echo"
        allow_users = [12345, "alice"]
        scope = "user"

        [adapters.two]
        type = "console"
        space = "local"
        prompt = "? "
        """,
    )
    assert list(config.spaces) == ["echo", "local"]
    assert config.spaces["echo"].params == {"temperature": 0.7, "persona": "pirate", "stops": ["a", 1]}
    assert config.spaces["local"].client_options().wake_timeout == 5
    assert {name: a.space for name, a in config.adapters.items()} == {"one": "echo", "two": "local"}
    one, two = config.adapters["one"], config.adapters["two"]
    assert isinstance(one, ConsoleConfig) and isinstance(two, ConsoleConfig)
    assert one.allow_users == ["12345", "alice"] and one.scope == "user"
    assert two.prompt == "? "
    assert config.bridge.http_address() == ("0.0.0.0", 8080)
    assert config.bridge.session_ttl_days is None
    assert config.credentials("echo") == (None, None)


def test_a_typo_suggests_the_closest_key(tmp_path: Path) -> None:
    error = problem(tmp_path, BASE.replace('src = "owner/echo"', 'src = "owner/echo"\ntokn_env = "HF_TOKEN"'))
    assert "spaces.echo.tokn_env: unknown key (did you mean 'token_env'?)" in str(error)
    assert error.path == "spaces.echo.tokn_env"
    error = problem(tmp_path, BASE + 'scpoe = "user"\n')
    assert "adapters.term.scpoe: unknown key (did you mean 'scope'?)" in str(error)


def test_an_unknown_key_without_a_close_match_lists_the_known_ones(tmp_path: Path) -> None:
    error = problem(tmp_path, BASE + "zzzz = 1\n")
    assert "adapters.term.zzzz: unknown key; known: type, space, scope" in str(error)


def test_unknown_tables_are_named_and_suggested(tmp_path: Path) -> None:
    error = problem(tmp_path, BASE + '[space.other]\nsrc = "a/b"\n')
    assert "space: unknown table (did you mean 'spaces'?)" in str(error)
    error = problem(tmp_path, 'state = "memory://"\n' + BASE)
    assert "state: unknown key here; it belongs in the [bridge] table" in str(error)


def test_a_wrong_choice_names_its_path_and_the_choices(tmp_path: Path) -> None:
    error = problem(tmp_path, BASE + 'scope = "room"\n')
    assert (
        str(error)
        == f"{tmp_path / 'bridge.toml'}: adapters.term.scope: expected one of 'chat', 'user', 'thread'"
    )
    assert error.path == "adapters.term.scope"


def test_wrong_types_say_what_was_expected_and_all_problems_come_together(tmp_path: Path) -> None:
    text = '[bridge]\nmax_sessions = "many"\nlog_format = 1\n' + BASE
    text += 'show_thoughts = "yes"\nallow_users = [true]\nmax_attachments = -1\nturns_per_minute = 1.5\n'
    message = str(problem(tmp_path, text))
    assert "6 problems" in message
    assert "bridge.max_sessions: expected an integer" in message
    assert "bridge.log_format: expected one of 'console', 'json'" in message
    assert "adapters.term.show_thoughts: expected true or false" in message
    assert "adapters.term.allow_users[0]: expected a string" in message
    assert "adapters.term.max_attachments: must be at least 0" in message
    assert "adapters.term.turns_per_minute: expected an integer" in message


def test_params_take_scalars_and_lists_only(tmp_path: Path) -> None:
    error = problem(
        tmp_path, BASE.replace('src = "owner/echo"', 'src = "owner/echo"\nparams = { x = { y = 1 } }')
    )
    assert "spaces.echo.params: 'x' must be a string, a number, true/false or a list of those" in str(error)


def test_src_is_required_and_must_be_a_space_id_or_url(tmp_path: Path) -> None:
    error = problem(tmp_path, BASE.replace('src = "owner/echo"', 'api_name = "/chat"'))
    assert "spaces.echo.src: is required" in str(error)
    error = problem(tmp_path, BASE.replace('"owner/echo"', '"ftp://example.com"'))
    assert "spaces.echo.src: expected a Space id like 'owner/name' or an http(s) URL" in str(error)


def test_sections_are_required(tmp_path: Path) -> None:
    message = str(problem(tmp_path, "[bridge]\n"))
    assert "spaces: is required: declare at least one [spaces.NAME] table" in message
    assert "adapters: is required: declare at least one [adapters.NAME] table" in message


def test_an_adapter_bound_to_an_unknown_space(tmp_path: Path) -> None:
    error = problem(tmp_path, BASE.replace('space = "echo"', 'space = "ecoh"'))
    assert "adapters.term.space: no Space named 'ecoh' (did you mean 'echo'?); declared: 'echo'" in str(error)


def test_an_unknown_adapter_type_suggests_a_known_one(tmp_path: Path) -> None:
    error = problem(tmp_path, BASE.replace('type = "console"', 'type = "consol"'))
    assert "adapters.term.type: unknown adapter type 'consol' (did you mean 'console'?)" in str(error)
    assert "known types: console" in str(error)
    error = problem(tmp_path, BASE.replace('type = "console"', ""))
    assert "adapters.term.type: is required; known types: console" in str(error)


def test_a_missing_env_var_is_named_with_its_path(tmp_path: Path) -> None:
    text = BASE.replace('src = "owner/echo"', 'src = "owner/echo"\ntoken_env = "MY_HF_TOKEN"\nauth_env = "A"')
    error = problem(tmp_path, text, env={"A": ""})
    assert "spaces.echo.token_env: the environment variable MY_HF_TOKEN is not set" in str(error)
    assert "spaces.echo.auth_env: the environment variable A is not set" in str(error)
    assert error.path == "spaces.echo.token_env"


def test_secrets_never_show(tmp_path: Path) -> None:
    token, password = "hf_SuperSecretTokenValue1234567890", "pa55-w0rd-secret"
    text = BASE.replace(
        'src = "owner/echo"', 'src = "owner/echo"\ntoken_env = "HF_TOKEN"\nauth_env = "APP_AUTH"'
    )
    config = load(tmp_path, text, env={"HF_TOKEN": token, "APP_AUTH": f"me:{password}"})
    assert config.secret("HF_TOKEN") == token
    assert config.credentials("echo") == (token, ("me", password))
    for shown in (repr(config), str(config), config.model_dump_json(), repr(config.model_dump())):
        assert token not in shown and password not in shown
    with pytest.raises(ConfigError, match="OTHER"):
        config.secret("OTHER")
    error = problem(tmp_path, text, env={"HF_TOKEN": token, "APP_AUTH": password})
    assert "spaces.echo.auth_env: the environment variable APP_AUTH must hold 'user:password'" in str(error)
    assert password not in str(error) and token not in str(error)
    pasted = problem(
        tmp_path, text.replace('token_env = "HF_TOKEN"', f'token_env = "{token}"'), {"APP_AUTH": "a:b"}
    )
    assert "spaces.echo.token_env: this looks like a token" in str(pasted)
    assert token not in str(pasted)


def test_a_toml_syntax_error_names_the_file_line_and_column(tmp_path: Path) -> None:
    error = problem(tmp_path, '[bridge]\nstate = "memory://"\nlog_level "info"\n')
    assert re.match(
        rf"{re.escape(str(tmp_path / 'bridge.toml'))}, line 3, column \d+: invalid TOML: ", str(error)
    )
    assert error.__cause__ is None and error.__suppress_context__


def test_a_missing_file_is_a_config_error(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="cannot read"):
        load_config(tmp_path / "nope.toml", env={})


@pytest.mark.parametrize(
    ("state", "ok"),
    [
        ("memory://", True),
        ("sqlite:///bridge-state.db", True),
        ("sqlite:////var/lib/bridge/state.db", True),
        ("redis://localhost:6379/0", True),
        ("sqlite:///", False),
        ("sqlite://relative.db", False),
        ("postgres://db/bridge", False),
        ("bridge-state.db", False),
    ],
)
def test_the_state_url_scheme_is_checked(tmp_path: Path, state: str, ok: bool) -> None:
    text = f'[bridge]\nstate = "{state}"\n' + BASE
    if ok:
        assert load(tmp_path, text).bridge.state == state
    else:
        error = problem(tmp_path, text)
        assert "bridge.state: expected 'memory://', 'sqlite:///PATH' or 'redis://HOST:PORT/DB'" in str(error)


@pytest.mark.parametrize("http", ["8080", "localhost", ":8080", "host:99999", "host:port"])
def test_the_http_address_is_checked(tmp_path: Path, http: str) -> None:
    error = problem(tmp_path, f'[bridge]\nhttp = "{http}"\n' + BASE)
    assert "bridge.http: expected HOST:PORT" in str(error)


def test_the_console_config_is_the_console_adapters_config() -> None:
    assert registry.adapter_types() == ["console", "discord", "telegram"]
    assert registry.config_model("console", AdapterConfig) is ConsoleConfig
    assert registry.adapter_class("console").Config is ConsoleConfig  # type: ignore[attr-defined]


class PluginConfig(AdapterConfig):
    type: Literal["plugin"] = "plugin"
    token_env: str


class PluginAdapter:
    Config = PluginConfig


def test_third_party_adapters_come_from_entry_points(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    plugin = EntryPoint(name="plugin", value=f"{__name__}:PluginAdapter", group=registry.ENTRY_POINT_GROUP)
    monkeypatch.setattr(registry, "entry_points", lambda group: [plugin] if group == plugin.group else [])
    assert registry.adapter_types() == ["console", "discord", "plugin", "telegram"]
    assert registry.adapter_class("plugin") is PluginAdapter
    text = BASE + '[adapters.p]\ntype = "plugin"\nspace = "echo"\ntoken_env = "PLUGIN_TOKEN"\n'
    config = load(tmp_path, text, env={"PLUGIN_TOKEN": "s3cret-value"})
    assert isinstance(config.adapters["p"], PluginConfig)
    assert config.secret("PLUGIN_TOKEN") == "s3cret-value"
    error = problem(tmp_path, text)
    assert "adapters.p.token_env: the environment variable PLUGIN_TOKEN is not set" in str(error)
    error = problem(tmp_path, text.replace('type = "plugin"', 'type = "plugn"'))
    expected = "unknown adapter type 'plugn' (did you mean 'plugin'?); known types: console, discord, plugin"
    assert expected in str(error)
