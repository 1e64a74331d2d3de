"""Checking one TOML table at a time and phrasing problems for the person editing the file.

A problem is ``(dotted.key.path, message)``: ``("adapters.tg.tokn_env", "unknown key (did you mean
'token_env'?)")``. :mod:`bridge.config` collects every problem of a file and raises them together with
:func:`failure`. Messages never contain values from the file or the environment.
"""

from __future__ import annotations

import difflib
import re
from collections.abc import Mapping
from pathlib import Path
from typing import Any, TypeVar

from pydantic import BaseModel, ValidationError

from bridge.errors import ConfigError

Problem = tuple[str, str]
M = TypeVar("M", bound=BaseModel)

_TABLE_NAME = re.compile(r"^[A-Za-z0-9_-]+$")
_TOML_AT = re.compile(r"^(.*) \(at line (\d+), column (\d+)\)$", re.DOTALL)
_EXPECTED = {
    "string_type": "a string",
    "int_type": "an integer",
    "float_type": "a number",
    "bool_type": "true or false",
    "list_type": "a list",
    "dict_type": "a table",
    "model_type": "a table",
}


def validate(model: type[M], table: Any, path: str, problems: list[Problem]) -> M | None:
    """``model`` validated from ``table``, or None after adding its problems under ``path``."""
    if not isinstance(table, dict):
        problems.append((path, "expected a table"))
        return None
    try:
        return model.model_validate(table)
    except ValidationError as exc:
        for err in exc.errors(include_url=False, include_input=False):
            loc = err["loc"]
            where = path + "".join(f"[{p}]" if isinstance(p, int) else f".{p}" for p in loc)
            if err["type"] == "extra_forbidden":
                message = unknown(str(loc[-1]), list(model.model_fields) if len(loc) == 1 else [])
            else:
                message = _message(err["type"], err.get("ctx") or {}, err["msg"])
            if (where, message) not in problems:
                problems.append((where, message))
        return None


def tables(data: Mapping[str, Any], key: str, problems: list[Problem]) -> dict[str, Any]:
    """The NAME → table mapping of the ``[key.NAME]`` tables, of which there must be at least one."""
    section = data.get(key)
    if not isinstance(section, dict) or not section:
        what = "expected a table" if section not in (None, {}) else "is required"
        problems.append((key, f"{what}: declare at least one [{key}.NAME] table"))
        return {}
    bad = [name for name in section if not _TABLE_NAME.match(name)]
    problems += [(f"{key}.{name!r}", "names may use only letters, digits, '_' and '-'") for name in bad]
    return {name: table for name, table in section.items() if name not in bad}


def unknown(key: str, known: list[str], what: str = "key") -> str:
    """The message for an unknown key, suggesting the closest known one (or listing them)."""
    if close := difflib.get_close_matches(key, known, n=1, cutoff=0.6):
        return f"unknown {what} (did you mean '{close[0]}'?)"
    return f"unknown {what}; known: {', '.join(known)}" if known else f"unknown {what}"


def failure(source: str, problems: list[Problem]) -> ConfigError:
    """One ConfigError for all ``problems`` of ``source``; its ``path`` is the first problem's."""
    if len(problems) == 1:
        error = ConfigError(f"{source}: {problems[0][0]}: {problems[0][1]}")
    else:
        lines = "".join(f"\n  {where}: {message}" for where, message in problems)
        error = ConfigError(f"{source}: {len(problems)} problems:{lines}")
    error.path = problems[0][0] if problems else None
    return error


def toml_error(path: Path, text: str) -> ConfigError:
    """A TOML syntax error (tomllib's message) as ``FILE, line L, column C: invalid TOML: …``."""
    found = _TOML_AT.match(text)
    where, what = (f"{path}, line {found[2]}, column {found[3]}", found[1]) if found else (str(path), text)
    return ConfigError(f"{where}: invalid TOML: {what[:1].lower()}{what[1:]}")


def _message(kind: str, ctx: dict[str, Any], msg: str) -> str:
    """A pydantic error in the words of the config file."""
    if kind == "missing":
        return "is required"
    if kind in _EXPECTED:
        return f"expected {_EXPECTED[kind]}"
    if kind == "literal_error":
        return "expected one of " + str(ctx.get("expected", "")).replace("' or '", "', '")
    if kind == "greater_than":
        return f"must be greater than {ctx['gt']:g}"
    if kind == "greater_than_equal":
        return f"must be at least {ctx['ge']:g}"
    if kind == "value_error" and "error" in ctx:
        return str(ctx["error"])
    return msg[:1].lower() + msg[1:]
