"""Discord slash commands: options generated from the app's params, read back, and thread names."""

from __future__ import annotations

import random
import re
import shlex
from collections.abc import Sequence
from typing import Any

import pytest
from pydantic import ValidationError

from adapters.discord.commands import (
    ATTACHMENT,
    BOOLEAN,
    INTEGER,
    NUMBER,
    STRING,
    CommandSet,
    command_payloads,
    options_to_params,
    settings_args,
    settings_command_args,
)
from adapters.discord.config import DiscordConfig
from adapters.discord.receive import thread_name
from bridge import COMMANDS, InvalidParam
from bridge.gradio import Param

NAME = re.compile(r"^[-_a-z0-9]{1,32}$")


def payloads(params: Sequence[Param], **kwargs: Any) -> CommandSet:
    """The commands for Gradio inputs, given to the adapter as the core gives them: as Settings."""
    return command_payloads([p.setting(i) for i, p in enumerate(params)], **kwargs)


def units(text: str) -> int:
    return len(text.encode("utf-16-le")) // 2


def assert_discord_valid(commands: CommandSet) -> None:
    """Discord's validation rules for CHAT_INPUT commands, checked on every payload."""
    names = [c["name"] for c in commands.payloads]
    assert len(names) == len(set(names))
    for command in commands.payloads:
        assert command["type"] == 1
        assert NAME.match(command["name"]), command["name"]
        assert 1 <= units(command["description"]) <= 100
        assert command["contexts"] == [0, 1, 2] and command["integration_types"] == [0]
        options = command["options"]
        assert len(options) <= 25
        option_names = [o["name"] for o in options]
        assert len(option_names) == len(set(option_names)), option_names
        required = [bool(o.get("required")) for o in options]
        assert required == sorted(required, reverse=True), "required options come first"
        for option in options:
            assert NAME.match(option["name"]), option["name"]
            assert 1 <= units(option["description"]) <= 100, option["description"]
            assert option["type"] in (STRING, INTEGER, BOOLEAN, NUMBER, ATTACHMENT)
            choices = option.get("choices")
            if choices is not None:
                assert option["type"] == STRING and 1 <= len(choices) <= 25
                for choice in choices:
                    assert 1 <= units(choice["name"]) <= 100 and 1 <= units(choice["value"]) <= 100
            low, high = option.get("min_value"), option.get("max_value")
            for bound in (low, high):
                if bound is not None:
                    assert option["type"] in (INTEGER, NUMBER) and abs(bound) <= 2**53
                    assert not (option["type"] == INTEGER and not isinstance(bound, int))
            if low is not None and high is not None:
                assert low <= high


def options_of(commands: CommandSet, name: str) -> dict[str, dict[str, Any]]:
    command = next(c for c in commands.payloads if c["name"] == name)
    return {o["name"]: o for o in command["options"]}


def slider(
    name: str, label: str | None, default: float, lo: float, hi: float, step: float, **kw: Any
) -> Param:
    return Param(name, label, "slider", 1, default, lo, hi, step, **kw)


PARAMS = [
    Param("system_prompt", "System prompt", "textbox", 1, "You are a helpful assistant."),
    slider("temperature", "Temperature", 0.7, 0.0, 2.0, 0.1),
    slider("max_new_tokens", "Max new tokens!", 256, 1, 4096, 1),
    Param("seed", "Seed", "number", 4, 0, precision=0),
    Param("top_p", "Top-p", "number", 5, 0.9, minimum=0, maximum=1),
    Param("stream", "Stream", "checkbox", 6, True),
    Param("model", "Model", "dropdown", 7, "a", choices=(("Model A", "a"), ("Model B", "b"))),
    Param("tags", "Tags", "dropdown", 8, [], choices=(("x", "x"), ("y", "y")), multiselect=True),
    Param("image", "Image", "image", 9),
]


def test_chat_command_shape_and_option_types() -> None:
    commands = payloads(PARAMS, multimodal=True)
    assert_discord_valid(commands)
    assert [c["name"] for c in commands.payloads] == ["chat", *COMMANDS]
    chat = options_of(commands, "chat")
    assert list(chat)[:2] == ["message", "file"]
    assert chat["message"] == {
        "type": STRING,
        "name": "message",
        "description": "What to say to the app",
        "max_length": 6000,
        "required": True,
    }
    assert chat["file"]["type"] == ATTACHMENT and "required" not in chat["file"]
    assert chat["system_prompt"]["type"] == STRING and "choices" not in chat["system_prompt"]
    assert chat["temperature"]["type"] == NUMBER
    assert (chat["temperature"]["min_value"], chat["temperature"]["max_value"]) == (0, 2)
    assert chat["max_new_tokens"]["type"] == INTEGER
    assert (chat["max_new_tokens"]["min_value"], chat["max_new_tokens"]["max_value"]) == (1, 4096)
    assert chat["max_new_tokens"]["description"].startswith("Max new tokens!")
    assert chat["seed"]["type"] == INTEGER and "min_value" not in chat["seed"]
    assert chat["top_p"]["type"] == NUMBER and chat["top_p"]["max_value"] == 1
    assert chat["stream"]["type"] == BOOLEAN
    assert chat["model"]["choices"] == [{"name": "Model A", "value": "a"}, {"name": "Model B", "value": "b"}]
    assert chat["tags"]["type"] == STRING and "choices" not in chat["tags"]
    assert "comma-separated" in chat["tags"]["description"]
    assert "image" not in chat  # a component no slash option can carry
    assert commands.option_params == {name: name for name in list(chat)[2:]}
    assert commands.omitted == ()


def test_settings_takes_the_same_options_all_optional_plus_reset() -> None:
    commands = payloads(PARAMS, multimodal=False)
    chat, settings = options_of(commands, "chat"), options_of(commands, "settings")
    assert "file" not in chat
    generated = {k: v for k, v in chat.items() if k != "message"}
    assert {k: v for k, v in settings.items() if k != "reset"} == generated
    assert settings["reset"]["type"] == BOOLEAN and "other" not in settings
    assert not any(o.get("required") for o in settings.values())
    for name in ("reset", "stop", "retry", "help"):
        assert options_of(commands, name) == {}


def test_chat_command_name_is_configurable() -> None:
    commands = payloads(PARAMS, multimodal=False, chat_command="ask")
    assert commands.payloads[0]["name"] == "ask"
    assert commands.hash != payloads(PARAMS, multimodal=False).hash


@pytest.mark.parametrize(
    ("param", "kind"),
    [
        (slider("a", None, 5, 0, 10, 1), INTEGER),
        (slider("a", None, 5.0, 0.0, 10.0, 1.0), INTEGER),  # integral floats, as /config often sends
        (slider("a", None, 0.5, 0, 1, 0.05), NUMBER),
        (slider("a", None, 0.5, 0, 10, 1), NUMBER),  # a fractional default allows fractions
        (slider("a", None, 5, 0.5, 10, 1), NUMBER),  # so does a fractional minimum
        (slider("a", None, 5, 0, 10, 0.5, precision=0), INTEGER),
        (Param("a", None, "number", 1, 3), NUMBER),  # no step: any number
        (Param("a", None, "number", 1, 3.5, precision=2), NUMBER),
    ],
)
def test_numeric_options_are_integer_only_when_every_value_is(param: Param, kind: int) -> None:
    option = options_of(payloads([param], multimodal=False), "chat")["a"]
    assert option["type"] == kind


def test_integer_bounds_are_rounded_inwards_and_bounds_clamped() -> None:
    params = [
        Param("a", None, "slider", 1, 5, 0.2, 9.7, None, precision=0),
        Param("b", None, "number", 2, 0.0, -1e300, 1e300),
        Param("c", None, "number", 3, 0.0, 5.0, 1.0),  # min above max: neither is offered
    ]
    commands = payloads(params, multimodal=False)
    assert_discord_valid(commands)
    chat = options_of(commands, "chat")
    assert (chat["a"]["min_value"], chat["a"]["max_value"]) == (1, 9)
    assert (chat["b"]["min_value"], chat["b"]["max_value"]) == (-(2**53), 2**53)
    assert "min_value" not in chat["c"] and "max_value" not in chat["c"]


def test_choices_up_to_25_are_offered_and_more_become_free_text() -> None:
    few = Param("pick", None, "radio", 1, "v0", choices=tuple((f"Label {i}", f"v{i}") for i in range(25)))
    many = Param("big", None, "dropdown", 2, 0, choices=tuple((f"L{i}", i) for i in range(26)))
    custom = Param("free", None, "dropdown", 3, "a", choices=(("a", "a"),), custom_values=True)
    chat = options_of(payloads([few, many, custom], multimodal=False), "chat")
    assert len(chat["pick"]["choices"]) == 25
    assert chat["pick"]["choices"][3] == {"name": "Label 3", "value": "v3"}
    assert "choices" not in chat["big"] and chat["big"]["description"].startswith("big: one of 0, 1, 2")
    assert len(chat["big"]["description"]) <= 100
    assert "choices" not in chat["free"] and "e.g." in chat["free"]["description"]


def test_choice_values_too_long_for_discord_go_as_labels_the_core_accepts() -> None:
    long_value = "x" * 150
    param = Param("p", None, "dropdown", 1, long_value, choices=(("Long one", long_value), ("Short", "s")))
    option = options_of(payloads([param], multimodal=False), "chat")["p"]
    assert option["choices"] == [{"name": "Long one", "value": "Long one"}, {"name": "Short", "value": "s"}]
    assert param.coerce(option["choices"][0]["value"]) == long_value  # what the core will do with it
    hopeless = Param("q", None, "dropdown", 2, "", choices=(("y" * 120, "z" * 120),))
    assert "choices" not in options_of(payloads([hopeless], multimodal=False), "chat")["q"]


def test_option_names_from_odd_names_and_labels() -> None:
    params = [
        Param("Max new tokens!", None, "slider", 1, 1, 0, 9, 1),
        Param("température", None, "slider", 2, 1, 0, 9, 1),
        Param("温度", "Temperature", "slider", 3, 1, 0, 9, 1),
        Param("温度", "温度", "slider", 4, 1, 0, 9, 1),
        Param("a" * 40, None, "checkbox", 5, False),
        Param("a" * 40 + "b", None, "checkbox", 6, False),
        Param("temperature", None, "checkbox", 7, False),
        Param("message", None, "textbox", 8, ""),
        Param("file", None, "textbox", 9, ""),
        Param("reset", None, "checkbox", 10, False),
        Param("__x__", None, "checkbox", 11, False),
    ]
    commands = payloads(params, multimodal=True)
    assert_discord_valid(commands)
    assert list(commands.option_params) == [
        "max_new_tokens",
        "temperature",
        "temperature_2",
        "param_4",
        "a" * 32,
        "a" * 30 + "_2",
        "temperature_3",
        "message_2",
        "file_2",
        "reset_2",
        "x",
    ]
    assert list(commands.option_params.values()) == [p.name for p in params]


def test_options_over_the_cap_are_left_to_the_settings_other_option() -> None:
    params = [Param(f"p{i}", None, "checkbox", i, False) for i in range(30)]
    commands = payloads(params, multimodal=True)
    assert_discord_valid(commands)
    chat, settings = options_of(commands, "chat"), options_of(commands, "settings")
    assert len(chat) == 25 and len(settings) == 25
    assert list(commands.option_params) == [f"p{i}" for i in range(23)]
    assert commands.omitted == tuple(f"p{i}" for i in range(23, 30))
    assert list(settings)[-2:] == ["reset", "other"]
    assert "p23=" in settings["other"]["description"]
    assert "/settings" in commands.payloads[0]["description"]


@pytest.mark.parametrize(("count", "multimodal", "kept"), [(24, False, 24), (24, True, 23), (25, False, 23)])
def test_the_cap_keeps_as_many_params_as_fit(count: int, multimodal: bool, kept: int) -> None:
    params = [Param(f"p{i}", None, "checkbox", i, False) for i in range(count)]
    commands = payloads(params, multimodal=multimodal)
    assert_discord_valid(commands)
    assert len(commands.option_params) == kept and len(commands.omitted) == count - kept


def test_random_params_always_give_valid_payloads() -> None:
    rng = random.Random(20260704)
    alphabet = ["a", "Z", " ", "_", "-", "!", "é", "温", "😀", "\n", "0", "."]
    kinds = ["slider", "number", "checkbox", "dropdown", "radio", "textbox", "image", "state"]

    def text(most: int) -> str:
        return "".join(rng.choices(alphabet, k=rng.randint(0, most)))

    for _ in range(200):
        params = []
        for slot in range(rng.randint(0, 40)):
            bounds = sorted(rng.uniform(-1e6, 1e6) for _ in range(2))
            size = rng.choice([0, 1, 3, 25, 26, 30]) if rng.random() < 0.5 else None
            choices = None
            if size is not None:
                choices = tuple((text(120), rng.choice([text(120), rng.randint(0, 9)])) for _ in range(size))
            params.append(
                Param(
                    text(40) or f"n{slot}",
                    rng.choice([None, text(150)]),
                    rng.choice(kinds),
                    slot,
                    rng.choice([None, 0, 1.5, "x", True]),
                    rng.choice([None, bounds[0], float(round(bounds[0]))]),
                    rng.choice([None, bounds[1]]),
                    rng.choice([None, 1, 0.1]),
                    rng.choice([None, 0, 2]),
                    choices,
                    rng.random() < 0.2,
                    rng.random() < 0.2,
                )
            )
        commands = payloads(params, multimodal=rng.random() < 0.5)
        assert_discord_valid(commands)
        assert set(commands.option_params.values()) | set(commands.omitted) <= {p.name for p in params}


def test_hash_is_stable_and_follows_the_params() -> None:
    first = payloads(PARAMS, multimodal=True)
    assert first.hash == payloads(list(PARAMS), multimodal=True).hash
    assert re.fullmatch(r"[0-9a-f]{64}", first.hash)
    changed = [*PARAMS[:1], slider("temperature", "Temperature", 0.7, 0.0, 1.0, 0.1), *PARAMS[2:]]
    assert payloads(changed, multimodal=True).hash != first.hash
    assert payloads(PARAMS, multimodal=False).hash != first.hash
    assert payloads(PARAMS[:-2], multimodal=True).hash != first.hash


def test_options_round_trip_to_param_names() -> None:
    params = [
        Param("Max new tokens!", None, "slider", 1, 1, 0, 9, 1),
        Param("top_p", "Top p", "number", 2, 0.5),
    ]
    commands = payloads(params, multimodal=True)
    interaction = [
        {"name": "message", "type": STRING, "value": "hi"},
        {"name": "file", "type": ATTACHMENT, "value": "123"},
        {"name": "max_new_tokens", "type": INTEGER, "value": 7},
        {"name": "top_p", "type": NUMBER, "value": 0.25},
        {"name": "unknown", "type": STRING, "value": "x"},
    ]
    values = options_to_params(interaction, commands.option_params)
    assert values == {"Max new tokens!": 7, "top_p": 0.25}
    assert {p.name: p.coerce(values[p.name]) for p in params} == values


def test_settings_args_quote_for_the_core_parser() -> None:
    values = {
        "temperature": 0.1,
        "max_new_tokens": 7,
        "stream": False,
        "system": "Be 'brief'\nplease",
        "tags": ["a", "b c"],
    }
    args = settings_args(values)
    words = shlex.split(args)
    assert words == [
        "temperature=0.1",
        "max_new_tokens=7",
        "stream=false",
        "system=Be 'brief'\nplease",
        "tags=a,b c",
    ]
    assert settings_args({"flag": True, "empty": ""}) == "flag=true empty="
    assert settings_args({}) == ""


def test_settings_interaction_to_core_arguments() -> None:
    params = [Param(f"p{i}", None, "checkbox", i, False) for i in range(30)]
    commands = payloads(params, multimodal=False)
    shown = settings_command_args([], commands)
    assert shown == ""
    chosen = [
        {"name": "p1", "type": BOOLEAN, "value": True},
        {"name": "other", "type": STRING, "value": " p29=on "},
    ]
    assert settings_command_args(chosen, commands) == "p1=true p29=on"
    with_reset = [*chosen, {"name": "reset", "type": BOOLEAN, "value": True}]
    assert settings_command_args(with_reset, commands) == "reset"
    not_reset = [{"name": "reset", "type": BOOLEAN, "value": False}]
    assert settings_command_args(not_reset, commands) == ""


def test_values_discord_sends_pass_the_core_validation() -> None:
    commands = payloads(PARAMS, multimodal=False)
    chat = options_of(commands, "chat")
    by_name = {p.name: p for p in PARAMS}
    assert by_name["model"].coerce(chat["model"]["choices"][1]["value"]) == "b"
    assert by_name["tags"].coerce("x, y") == ["x", "y"]
    assert by_name["max_new_tokens"].coerce(chat["max_new_tokens"]["max_value"]) == 4096
    with pytest.raises(InvalidParam):
        by_name["temperature"].coerce(0.15)  # Discord has no step: the core still says what is allowed


@pytest.mark.parametrize(
    ("prompt", "name"),
    [
        ("What is the capital of France?", "What is the capital of France?"),
        ("\n\n  hello   there \n second line", "hello there"),
        ("<@123> <@!456> @everyone @here explain <#789> **this** `code`", "explain this code"),
        ("# A heading\nbody", "A heading"),
        ("> quoted\n", "quoted"),
        ("- [a link](https://example.com) and <https://x.y/z>", "a link and https://x.y/z"),
        ("look <:blob:123456> here", "look :blob: here"),
        ("snake_case stays", "snake_case stays"),
        ("", "Chat"),
        ("   \n\t\n", "Chat"),
        ("<@123> @everyone", "Chat"),
        ("**", "Chat"),
    ],
)
def test_thread_name(prompt: str, name: str) -> None:
    assert thread_name(prompt) == name


def test_thread_name_is_cut_at_a_word_within_100() -> None:
    name = thread_name("word " * 50)
    assert name.endswith("word…") and units(name) <= 100
    long_word = thread_name("x" * 300)
    assert long_word == "x" * 99 + "…"
    emoji = thread_name("😀" * 80)  # 2 UTF-16 units each
    assert units(emoji) <= 100 and emoji.endswith("…") and "\ud83d" not in emoji
    flags = thread_name("🇫🇷" * 60)
    assert units(flags) <= 100 and len(flags.rstrip("…")) % 2 == 0  # never half a flag
    assert thread_name("a" * 100) == "a" * 100


# The config keys that shape the commands and the rest of the Discord table.


def discord_config(**keys: Any) -> DiscordConfig:
    return DiscordConfig.model_validate({"space": "echo", "token_env": "DISCORD_TOKEN", **keys})


def test_config_defaults_and_normalisation() -> None:
    config = discord_config(
        api_base_url="http://127.0.0.1:9/api/v10/", allow_guilds=[123, "456"], allow_roles=[7, "Moderators"]
    )
    assert config.api_base_url == "http://127.0.0.1:9/api/v10"
    assert config.allow_guilds == ["123", "456"] and config.allow_roles == ["7", "Moderators"]
    assert (config.command, config.threads, config.thread_archive_minutes) == ("chat", True, 1440)
    assert (config.trigger, config.thoughts, config.message_content_intent) == ("mention", "quote", True)
    assert discord_config(shard_count=4, shard_ids=[0, 3]).shard_ids == [0, 3]


@pytest.mark.parametrize(
    ("keys", "message"),
    [
        ({"command": "Chat"}, "lowercase"),
        ({"command": "settings"}, "one of the bot's own commands"),
        ({"api_base_url": "discord.com/api"}, "http(s) URL"),
        ({"gateway_url": "https://gateway.discord.gg"}, "websocket URL"),
        ({"shard_ids": [0]}, "needs shard_count"),
        ({"shard_count": 2, "shard_ids": [1, 2]}, "out of range"),
        ({"shard_count": 2, "shard_ids": []}, "at least one shard"),
        ({"shard_count": 2, "shard_ids": [1, 1]}, "twice"),
        ({"trigger": "all", "message_content_intent": False}, "needs message_content_intent"),
        ({"thread_archive_minutes": 30}, "1440"),
    ],
)
def test_config_rejects_with_a_clear_message(keys: dict[str, Any], message: str) -> None:
    with pytest.raises(ValidationError, match=re.escape(message)):
        discord_config(**keys)
