"""An app input the user can set (a slider, dropdown, checkbox…), with its constraints.

:meth:`Param.coerce` validates and converts a value — including the strings a CLI flag or a chat
``/settings`` command gives — against what the component accepts, and raises
:class:`~bridge.errors.InvalidParam` with a message that says what is allowed.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

from bridge.errors import InvalidParam
from bridge.model import Setting, SettingKind

_TRUE = {"true", "yes", "on", "1", "y"}
_FALSE = {"false", "no", "off", "0", "n"}


@dataclass(frozen=True, slots=True)
class Param:
    """One additional input of an endpoint; ``slot`` is its position in the endpoint's inputs."""

    name: str
    label: str | None
    component: str
    slot: int
    default: Any = None
    minimum: float | None = None
    maximum: float | None = None
    step: float | None = None
    precision: int | None = None
    choices: tuple[tuple[str, Any], ...] | None = None
    multiselect: bool = False
    custom_values: bool = False

    def setting(self, index: int) -> Setting:
        """This input as the platform-neutral :class:`~bridge.model.Setting` adapters are given."""
        return Setting(
            name=self.name,
            label=self.label,
            kind=self._kind(),
            index=index,
            default=self.default,
            minimum=self.minimum,
            maximum=self.maximum,
            choices=self.choices,
            multiple=self.multiselect,
            free=self.custom_values,
        )

    def _kind(self) -> SettingKind:
        if self.component in ("slider", "number"):
            integral = self.precision == 0 or (
                _integral(self.step) and _integral(self.minimum, True) and _integral(self.default, True)
            )
            return "integer" if integral else "number"
        if self.component == "checkbox":
            return "boolean"
        if self.component in ("dropdown", "radio"):
            return "choice" if self.choices is not None else "text"
        if self.component in ("textbox", "textarea", "code"):
            return "text"
        return "other"

    def describe(self) -> str:
        """A one-line human description: type, allowed values and default."""
        kind = self.component
        bits = [kind]
        if self.minimum is not None or self.maximum is not None:
            bits.append(f"{_num(self.minimum)}..{_num(self.maximum)}")
        if self.step is not None and kind == "slider":
            bits.append(f"step {_num(self.step)}")
        if self.choices is not None:
            bits.append("one of " + ", ".join(repr(v) for _, v in self.choices))
            if self.multiselect:
                bits[-1] = bits[-1].replace("one of", "any of")
        bits.append(f"default {self.default!r}")
        return ", ".join(bits)

    def matches(self, key: str) -> bool:
        """True when ``key`` names this param: its parameter name or its label, case-insensitively."""
        want = _slug(key)
        return want in (_slug(self.name), _slug(self.label or ""))

    def coerce(self, value: Any) -> Any:
        """Return ``value`` converted to what the component accepts, or raise InvalidParam."""
        kind = self.component
        if kind in ("slider", "number"):
            return self._number(value)
        if kind == "checkbox":
            return self._bool(value)
        if self.choices is not None:
            return self._choice(value)
        if kind in ("textbox", "textarea", "code", "markdown"):
            return value if isinstance(value, str) else str(value)
        return value

    def _number(self, value: Any) -> float | int:
        if isinstance(value, bool):
            raise InvalidParam(self.name, f"expected a number, got {value!r}")
        try:
            num = float(value)
        except (TypeError, ValueError):
            raise InvalidParam(self.name, f"expected a number, got {value!r}") from None
        if math.isnan(num) or math.isinf(num):
            raise InvalidParam(self.name, "expected a finite number")
        if self.minimum is not None and num < self.minimum:
            raise InvalidParam(self.name, f"{_num(num)} is below the minimum {_num(self.minimum)}")
        if self.maximum is not None and num > self.maximum:
            raise InvalidParam(self.name, f"{_num(num)} is above the maximum {_num(self.maximum)}")
        if self.component == "slider" and self.step:
            base = self.minimum or 0.0
            steps = (num - base) / self.step
            if abs(steps - round(steps)) > 1e-6:
                raise InvalidParam(
                    self.name,
                    f"{_num(num)} is not a multiple of the step {_num(self.step)} from {_num(base)}",
                )
            num = round(base + round(steps) * self.step, 10)
        if self.precision == 0 or (
            self.component == "number"
            and float(num).is_integer()
            and isinstance(self.default, int)
            and not isinstance(self.default, bool)
        ):
            return round(num)
        if self.precision is not None:
            return round(num, self.precision)
        return num

    def _bool(self, value: Any) -> bool:
        if isinstance(value, bool):
            return value
        text = str(value).strip().lower()
        if text in _TRUE:
            return True
        if text in _FALSE:
            return False
        raise InvalidParam(self.name, f"expected true or false, got {value!r}")

    def _choice(self, value: Any) -> Any:
        assert self.choices is not None
        if self.multiselect:
            items = (
                value if isinstance(value, list) else [v.strip() for v in str(value).split(",") if v.strip()]
            )
            return [self._one_choice(v) for v in items]
        return self._one_choice(value)

    def _one_choice(self, value: Any) -> Any:
        assert self.choices is not None
        for label, val in self.choices:
            if value == val or (isinstance(value, str) and value in (str(val), label)):
                return val
        if self.custom_values:
            return value
        allowed = ", ".join(repr(v) for _, v in self.choices)
        raise InvalidParam(self.name, f"{value!r} is not one of {allowed}")


def _integral(value: Any, none_ok: bool = False) -> bool:
    if value is None:
        return none_ok
    return isinstance(value, int | float) and not isinstance(value, bool) and float(value).is_integer()


def _slug(text: str) -> str:
    return "".join(ch for ch in text.lower() if ch.isalnum())


def _num(value: float | None) -> str:
    if value is None:
        return ""
    return f"{value:g}"


def param_from_component(
    name: str, slot: int, comp_type: str, props: dict[str, Any], default: Any = None
) -> Param:
    """Build a Param from a component's ``/config`` props; ``default`` overrides ``props.value``."""
    raw_choices = props.get("choices")
    choices: tuple[tuple[str, Any], ...] | None = None
    if isinstance(raw_choices, list):
        pairs = []
        for c in raw_choices:
            if isinstance(c, list | tuple) and len(c) == 2:
                pairs.append((str(c[0]), c[1]))
            else:
                pairs.append((str(c), c))
        choices = tuple(pairs)
    label = props.get("label")
    value = props.get("value") if default is None else default
    return Param(
        name=name,
        label=label if isinstance(label, str) and not label.startswith("__i18n__") else None,
        component=comp_type,
        slot=slot,
        default=value,
        minimum=_opt_float(props.get("minimum")),
        maximum=_opt_float(props.get("maximum")),
        step=_opt_float(props.get("step")),
        precision=props.get("precision") if isinstance(props.get("precision"), int) else None,
        choices=choices,
        multiselect=bool(props.get("multiselect")),
        custom_values=bool(props.get("allow_custom_value")),
    )


def _opt_float(value: Any) -> float | None:
    return float(value) if isinstance(value, int | float) and not isinstance(value, bool) else None
