"""The base of every config model, and the keys every ``[adapters.NAME]`` table accepts.

Small on purpose: an adapter's ``config.py`` imports :class:`AdapterConfig` (through ``bridge``)
without loading the config loader (:mod:`bridge.config`), the relay or the Gradio client.
"""

from __future__ import annotations

import re
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, NonNegativeInt, PositiveInt, ValidationInfo, field_validator

MiB = 1024 * 1024

_ENV_NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")
_HF_TOKEN = re.compile(r"^hf_[A-Za-z0-9]{20,}$")


class Model(BaseModel):
    """Strict (TOML values are typed), closed (unknown keys are errors) and immutable."""

    model_config = ConfigDict(extra="forbid", frozen=True, strict=True)

    @field_validator("*")
    @classmethod
    def _env_names(cls, value: Any, info: ValidationInfo) -> Any:
        if (info.field_name or "").endswith("_env") and isinstance(value, str):
            if _HF_TOKEN.match(value):
                raise ValueError(
                    "this looks like a token: put it in an environment variable, write its name here"
                )
            if not _ENV_NAME.match(value):
                raise ValueError("expected the name of an environment variable (letters, digits, '_')")
        return value


def string_ids(value: Any) -> Any:
    """A list of ids as strings: platform ids are numbers that TOML writes bare (``[12, "bob"]``).

    For a ``mode="before"`` validator of an adapter's own id lists; anything else passes unchanged.
    """
    if isinstance(value, list):
        return [str(x) if isinstance(x, int) and not isinstance(x, bool) else x for x in value]
    return value


class AdapterConfig(Model):
    """Keys every ``[adapters.NAME]`` table accepts; each adapter type's model subclasses this.

    A subclass narrows ``type`` to a ``Literal`` and adds platform keys; its ``*_env`` keys are checked
    and resolved like all others. Ids are strings (TOML integers are converted); an empty allow list
    allows everyone.
    """

    type: str
    space: str
    scope: Literal["chat", "user", "thread"] = "chat"
    allow_users: list[str] = []
    block_users: list[str] = []
    allow_chats: list[str] = []
    block_chats: list[str] = []
    max_in_flight_per_user: PositiveInt = 2
    turns_per_minute: NonNegativeInt = 10  # per user; 0 = unlimited
    max_attachments: NonNegativeInt = 4
    max_attachment_bytes: PositiveInt = 20 * MiB
    show_thoughts: bool = True
    show_outputs: bool = True  # an event chain's extra outputs (code, JSON, images…) after the reply
    refuse_in_groups: bool = True  # false: users the access lists refuse get silence in groups/channels

    @field_validator("allow_users", "block_users", "allow_chats", "block_chats", mode="before")
    @classmethod
    def _ids(cls, value: Any) -> Any:
        return string_ids(value)
