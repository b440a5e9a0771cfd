"""What every answer model shares: strict types, number text, the conflict between answers, and
names whose choices are Axolotl's own (read from its bundled schema, never typed here)."""

from __future__ import annotations

import difflib
import math
from dataclasses import dataclass
from typing import Annotated, Any

from pydantic import AfterValidator, BaseModel, BeforeValidator, ConfigDict

from wizard.axolotl.schema import load_schema


class AnswerConflict(ValueError):
    """A rule between answers, with the keys of the answers it concerns (relative to the model
    whose validator raises it), so the interview can ask one of them again."""

    def __init__(self, message: str, *keys: str) -> None:
        super().__init__(message)
        self.keys = keys


def number_in_text(text: str) -> float | None:
    """The finite number a text spells (`2e-4`), else None."""
    try:
        number = float(text)
    except ValueError:
        return None
    return number if math.isfinite(number) else None


def _number_text(value: Any) -> Any:
    """YAML 1.1 (PyYAML) reads `2e-4` as text, not a number; for a float answer, number text is
    the number. Nothing else is coerced: `true` is not 1 and `1` is not true (strict models)."""
    if isinstance(value, str):
        number = number_in_text(value)
        return value if number is None else number
    return value


# A float answer: strict (no bools), but `2e-4` typed or written in YAML is a number.
Real = Annotated[float, BeforeValidator(_number_text)]


class StrictModel(BaseModel):
    # strict: an answer of the wrong type is an error, never silently converted (`--set
    # training.micro_batch_size=true` must not become 1).
    model_config = ConfigDict(
        extra="forbid", strict=True, allow_inf_nan=False, validate_assignment=False, frozen=False
    )


@dataclass(frozen=True)
class AxolotlChoices:
    """Marks a text answer whose values are the names Axolotl accepts for `key` (the interview
    offers them in a select); `extra` are names the wizard adds (its short attention names)."""

    key: str
    extra: tuple[str, ...] = ()

    def names(self) -> tuple[str, ...]:
        return tuple(dict.fromkeys(self.extra + load_schema().choices(self.key)))

    def __call__(self, value: str) -> str:
        names = self.names()
        if value in names:
            return value
        near = difflib.get_close_matches(value, names, n=1)
        hint = f"did you mean {near[0]}? " if near else ""
        shown = ", ".join(names[:12]) + (", …" if len(names) > 12 else "")
        raise ValueError(f"{value!r} is not an Axolotl {self.key}; {hint}one of: {shown}")


def axolotl_name(key: str, *extra: str) -> Any:
    """A text answer checked against Axolotl's names for `key`."""
    choices = AxolotlChoices(key, extra)
    return Annotated[str, AfterValidator(choices), choices]
