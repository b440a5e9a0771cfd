"""The question list (wizard/interview/questions.yaml) and the spec's rules for a single answer.

Questions are data; this module reads them into small models and answers two questions for the
interview: which spec field does a key name (so its type and constraints check a typed answer),
and how does an answer travel between the prompt's text and the spec's value.
"""

from __future__ import annotations

from functools import lru_cache
from typing import Annotated, Any, Literal, get_args, get_origin

import yaml
from pydantic import BaseModel, ConfigDict, Field, TypeAdapter, ValidationError
from pydantic.fields import FieldInfo

from wizard.answers.answer_keys import generic_key
from wizard.errors import WizardError
from wizard.resources import package_path
from wizard.runspec import (
    DEFAULT_METHOD,
    METHODS,
    OBJECTIVES,
    AxolotlChoices,
    DatasetSpec,
    DataSpec,
    DistributedSpec,
    HardwareSpec,
    HubSpec,
    MethodKind,
    ModelSpec,
    ObjectiveKind,
    SftObjective,
    SpeedSpec,
    TrackingSpec,
    TrainingSpec,
)
from wizard.yamlio import check_shape, safe_load

Kind = Literal["select", "text", "confirm", "path", "checkbox", "model", "gpu"]
NONE_WORDS = ("", "none", "null", "~", "-")
SUB_MODELS: dict[str, type[BaseModel]] = {
    "model": ModelSpec,
    "datasets.N": DatasetSpec,
    "hardware": HardwareSpec,
    "training": TrainingSpec,
    "distributed": DistributedSpec,
    "data": DataSpec,
    "tracking": TrackingSpec,
    "hub": HubSpec,
    "speed": SpeedSpec,
}


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class ChoiceDef(_Strict):
    value: str
    note: str = ""


class QuestionDef(_Strict):
    key: str
    kind: Kind
    message: str
    help: str
    choices: list[ChoiceDef] = Field(default_factory=list)
    when: dict[str, Any] = Field(default_factory=dict)
    unless: dict[str, Any] = Field(default_factory=dict)
    clears: list[str] = Field(default_factory=list)
    reset_when_hidden: bool = False
    suggest: str | None = None
    notes: str | None = None
    hub_only: bool = False
    calls_for: list[str] = Field(default_factory=list)

    def at(self, index: int | None) -> str:
        """The concrete key for dataset `index` (`datasets.N.path` -> `datasets.2.path`)."""
        return self.key if index is None else self.key.replace(".N.", f".{index}.")


class SectionDef(_Strict):
    id: str
    title: str
    questions: list[QuestionDef]
    repeat: Literal["datasets", None] = None  # asked once per dataset of the answers
    gate: str | None = None


class QuestionFile(_Strict):
    sections: list[SectionDef]

    def section(self, section_id: str) -> SectionDef:
        return next(s for s in self.sections if s.id == section_id)

    def find(self, key: str) -> tuple[SectionDef, QuestionDef] | None:
        shape = generic_key(key)
        for section in self.sections:
            for question in section.questions:
                if question.key == shape:
                    return section, question
        return None


@lru_cache(maxsize=1)
def load_questions() -> QuestionFile:
    text = package_path("wizard.interview", "questions.yaml").read_text(encoding="utf-8")
    return QuestionFile.model_validate(safe_load(text))


def field_info(key: str, method_kind: str = DEFAULT_METHOD) -> FieldInfo:
    """The spec's FieldInfo for a dotted answer key; KeyError when the key is not a spec field."""
    shape = generic_key(key)
    head, _, name = shape.rpartition(".")
    model: type[BaseModel]
    if head == "method":
        model = METHODS.get(method_kind, METHODS[DEFAULT_METHOD])
        if name == "kind":
            return FieldInfo.from_annotation(MethodKind)  # type: ignore[arg-type]
    elif head == "objective":
        if name == "kind":
            return FieldInfo.from_annotation(ObjectiveKind)  # type: ignore[arg-type]
        # The objectives that share a field (beta) share its type: the first that has it.
        model = next((m for m in OBJECTIVES.values() if name in m.model_fields), SftObjective)
    else:
        model = SUB_MODELS[head]
    return model.model_fields[name]


@lru_cache(maxsize=128)
def _adapter(key: str, method_kind: str) -> TypeAdapter[Any]:
    info = field_info(key, method_kind)
    # As strict as the spec's models: a typed answer is checked exactly as a --set one.
    strict = ConfigDict(strict=True, allow_inf_nan=False)
    if not info.metadata:
        return TypeAdapter(info.annotation, config=strict)
    annotated: Any = Annotated  # built at run time from the field's own constraints
    return TypeAdapter(annotated[tuple([info.annotation, *info.metadata])], config=strict)


def allows_none(key: str, method_kind: str = DEFAULT_METHOD) -> bool:
    annotation = field_info(key, method_kind).annotation
    return type(None) in get_args(annotation)


def literal_values(key: str, method_kind: str = DEFAULT_METHOD) -> list[str]:
    """The values a select offers when it lists none: a Literal's, or the names Axolotl accepts
    (an `AxolotlChoices` answer: the optimizers, schedules, … of its bundled schema)."""
    info = field_info(key, method_kind)
    return _values_of(info.annotation, info.metadata)


def _values_of(annotation: Any, metadata: list[Any]) -> list[str]:
    for marker in metadata:
        if isinstance(marker, AxolotlChoices):
            return list(marker.names())
    if get_origin(annotation) is Literal:
        return [str(v) for v in get_args(annotation)]
    for option in get_args(annotation):
        inner = list(get_args(option)[1:]) if get_origin(option) is Annotated else []
        found = _values_of(get_args(option)[0] if inner else option, inner)
        if found:
            return found
    return []


def parse_answer(key: str, text: str, method_kind: str = DEFAULT_METHOD) -> Any:
    """Typed text -> the spec's value, checked by the field's own type and constraints.

    Raises ValueError with a one-line reason. The text is tried as it is first (so a model name
    such as `1e5` stays a string), then read as YAML (so `3` can match `Literal[1, 2, 3]`).
    """
    stripped = text.strip()
    if stripped.lower() in NONE_WORDS and allows_none(key, method_kind):
        return None
    adapter = _adapter(generic_key(key), method_kind)
    try:
        return adapter.validate_python(stripped)
    except ValidationError as first:
        try:
            check_shape(stripped, key)
            loaded = safe_load(stripped)
        except (yaml.YAMLError, WizardError):
            raise ValueError(_reason(first)) from None
        if loaded == stripped:
            raise ValueError(_reason(first)) from None  # YAML read it as the same text
        try:
            return adapter.validate_python(loaded)
        except ValidationError as second:
            raise ValueError(_reason(second)) from None


def check_value(key: str, value: Any, method_kind: str = DEFAULT_METHOD) -> str | None:
    """None when `value` passes the field's rules, else the reason."""
    try:
        _adapter(generic_key(key), method_kind).validate_python(value)
    except ValidationError as err:
        return _reason(err)
    return None


def _reason(err: ValidationError) -> str:
    first = err.errors(include_url=False)[0]
    return str(first["msg"]).removeprefix("Value error, ")


def answer_text(value: Any) -> str:
    """A spec value as the text a prompt starts with (the inverse of parse_answer)."""
    if value is None:
        return "none"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, float):
        return f"{value:g}"
    return str(value)
