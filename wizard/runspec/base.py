"""What every answer model shares: strict types, number text, the conflict between answers, and
names whose choices are Axolotl's own (read from its bundled schema, never typed here)."""

from __future__ import annotations

import math
import types
from collections.abc import Callable
from typing import Annotated, Any, Union, cast, get_args, get_origin

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    GetCoreSchemaHandler,
)
from pydantic_core import CoreSchema, core_schema

from wizard.axolotl.schema import load_schema
from wizard.records import Record


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


def _whole(bound: float | None) -> int | None:
    return None if bound is None else int(bound)


class Range:
    """The bounds of a number answer: `Annotated[int | None, Range(ge=1, le=64)]`.

    Pydantic builds the same validator from `Field(ge=1, le=64)`, but through its general
    annotation machinery, which costs three times as much per field; `new --yes` builds the
    ~80 bounded answers at every start (bench/bench_new.py). So the bounds go straight into
    Pydantic's core schema, through its public hook for custom types."""

    __slots__ = ("ge", "gt", "le", "lt")

    def __init__(
        self, *, ge: float | None = None, gt: float | None = None, le: float | None = None,
        lt: float | None = None,
    ) -> None:  # fmt: skip
        self.ge, self.gt, self.le, self.lt = ge, gt, le, lt

    def __repr__(self) -> str:
        bounds = {name: getattr(self, name) for name in self.__slots__}
        return f"Range({', '.join(f'{k}={v}' for k, v in bounds.items() if v is not None)})"

    def __get_pydantic_core_schema__(
        self, source: Any, handler: GetCoreSchemaHandler
    ) -> CoreSchema:
        union = get_origin(source) in (Union, types.UnionType)
        options = [arg for arg in get_args(source) if arg is not type(None)] if union else [source]
        if len(options) != 1:
            raise TypeError(f"Range bounds a number answer, not {source}")
        number = self._schema(options[0])
        return core_schema.nullable_schema(number) if union else number

    def _schema(self, number: Any) -> CoreSchema:
        ge, gt, le, lt = self.ge, self.gt, self.le, self.lt
        if number is int:
            return core_schema.int_schema(
                strict=True, ge=_whole(ge), gt=_whole(gt), le=_whole(le), lt=_whole(lt)
            )
        # A float is a Real (`Annotated[Real, Range(…)]` flattens to float with two Ranges).
        if number is float or number == Real:
            real = core_schema.float_schema(
                strict=True, allow_inf_nan=False, ge=ge, gt=gt, le=le, lt=lt
            )
            return core_schema.no_info_before_validator_function(_number_text, real)
        raise TypeError(f"Range bounds int or Real answers, not {number}")


class NotEmpty:
    """A text or list answer that may not be empty: `Annotated[str | None, NOT_EMPTY]`. Like
    `Range`, it puts the bound straight into Pydantic's core schema (the same validator and
    message as `Field(min_length=1)`, at half the cost per field)."""

    min_length = 1  # as annotated_types' MinLen says it (the answers reference reads it)

    def __get_pydantic_core_schema__(
        self, source: Any, handler: GetCoreSchemaHandler
    ) -> CoreSchema:
        union = get_origin(source) in (Union, types.UnionType)
        options = [arg for arg in get_args(source) if arg is not type(None)] if union else [source]
        inner = handler.generate_schema(options[0]) if len(options) == 1 else None
        if inner is None or inner["type"] not in ("str", "list"):
            raise TypeError(f"NotEmpty bounds a text or a list answer, not {source}")
        bounded = cast(CoreSchema, {**inner, "min_length": 1})  # str and list schemas take it
        return core_schema.nullable_schema(bounded) if union else bounded


NOT_EMPTY = NotEmpty()


# A float answer: strict (no bools), but `2e-4` typed or written in YAML is a number.
Real = Annotated[float, Range()]


class StrictModel(BaseModel):
    # strict: an answer of the wrong type is an error, never silently converted (`--set
    # training.micro_batch_size=true` must not become 1).
    model_config = ConfigDict(
        extra="forbid", strict=True, allow_inf_nan=False, validate_assignment=False, frozen=False
    )


def defaults_of(model: type[BaseModel]) -> Any:
    """The field of a part of the answers that may be left out: then it holds its defaults. The
    factory is a plain function, not the model class: Pydantic reads a factory's signature, and
    a model's signature is generated from all its fields (7 M instructions of `new --yes`)."""
    return Field(default_factory=lambda: model())


def _never(value: str) -> bool:
    return False


class AxolotlChoices(Record):
    """A text answer whose values are the names Axolotl accepts for `key` (the interview offers
    them in a select): the marker and the check at once. `extra` are names the wizard adds (its
    short attention names); `also` accepts the texts Axolotl takes beside its names.

    It gives Pydantic the check itself, through the public `__get_pydantic_core_schema__` hook
    (as `Range` does): `AfterValidator` would inspect the check's signature for each field that
    uses it, on every start of `new --yes`."""

    key: str
    extra: tuple[str, ...] = ()
    also: Callable[[str], bool] = _never

    def names(self) -> tuple[str, ...]:
        return tuple(dict.fromkeys(self.extra + load_schema().choices(self.key)))

    def __call__(self, value: str) -> str:
        names = self.names()
        if value in names or self.also(value):
            return value
        import difflib  # here: only a name that is not found pays for it

        near = difflib.get_close_matches(value, names, n=1)
        hint = f"did you mean {near[0]}? " if near else ""
        shown = ", ".join(names[:12]) + (", …" if len(names) > 12 else "")
        raise ValueError(f"{value!r} is not an Axolotl {self.key}; {hint}one of: {shown}")

    def __get_pydantic_core_schema__(
        self, source: Any, handler: GetCoreSchemaHandler
    ) -> CoreSchema:
        return core_schema.no_info_after_validator_function(self, handler(source))


def axolotl_name(key: str, *extra: str) -> Any:
    """A text answer checked against Axolotl's names for `key`."""
    return Annotated[str, AxolotlChoices(key, extra)]
