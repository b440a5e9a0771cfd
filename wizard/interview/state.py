"""What the interview knows while it runs: the layered answers with its own layer on top, and
how a typed answer is checked. The flow (session) and the kinds of question (kinds, start,
suggest) work on this state; none of them imports another.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from pydantic import BaseModel, ValidationError

from wizard.answers.answer_keys import generic_key
from wizard.answers.file import PresetRef
from wizard.answers.layers import Answers, Layer, LayerKind
from wizard.gpus.detect import Detected
from wizard.interview.prompter import Prompter
from wizard.interview.questions import (
    SUB_MODELS,
    QuestionDef,
    QuestionFile,
    allows_none,
    field_info,
    load_questions,
    parse_answer,
)
from wizard.interview.sniff import SniffReport
from wizard.models import ModelArch
from wizard.runspec import DEFAULT_METHOD, METHODS

if TYPE_CHECKING:
    from wizard.preview.report import Preview

MISSING: Any = object()


@dataclass
class Offer:
    """The default a prompt starts with; `record=False` when taking it changes nothing."""

    value: Any
    record: bool = True


@dataclass
class InterviewState:
    answers: Answers
    prompter: Prompter
    fixed: set[str] = field(default_factory=set)
    detected: Detected | None = None
    run_dir: Path | None = None
    color: bool = False
    questions: QuestionFile = field(default_factory=load_questions)
    layer: Layer = field(default_factory=lambda: Layer("interview", kind=LayerKind.INTERVIEW))
    ask_start: bool = False
    preset: PresetRef | None = None
    arch: ModelArch | None = None
    proposals: dict[str, Any] = field(default_factory=dict)
    sniffs: dict[int, SniffReport] = field(default_factory=dict)
    asked: set[str] = field(default_factory=set)
    trust_remote_code: bool = False  # --trust-remote-code: no need to ask
    host_ram_gib: float | None = None  # this machine's RAM, when its GPUs were detected
    preview: Preview | None = None  # the records Axolotl tokenized, when the user asked to see

    def __post_init__(self) -> None:
        self.answers = Answers([*self.answers.layers, self.layer])

    def merged(self) -> dict[str, Any]:
        return self.answers.merged()

    def below(self, key: str) -> Any:
        """The value without the interview's own answers (a spec default when no layer has it)."""
        lower = Answers([lay for lay in self.answers.layers if lay is not self.layer]).merged()
        return lower[key] if key in lower else self.spec_default(key)

    def value(self, key: str) -> Any:
        merged = self.merged()
        return merged[key] if key in merged else self.spec_default(key)

    def spec_default(self, key: str) -> Any:
        if generic_key(key) == "method.kind":
            return DEFAULT_METHOD
        if key == "objective.kind":
            return "sft"
        try:
            info = field_info(key, self.method_kind())
        except KeyError:
            return None
        return None if info.is_required() else info.get_default(call_default_factory=True)

    def allows_none(self, key: str) -> bool:
        return allows_none(key, self.method_kind())

    def method_kind(self) -> str:
        return str(self.merged().get("method.kind", DEFAULT_METHOD))

    def dataset_count(self) -> int:
        indices = {int(k.split(".")[1]) for k in self.merged() if k.startswith("datasets.")}
        return max(indices, default=0) + 1

    def given_below(self, key: str) -> bool:
        return key in Answers([x for x in self.answers.layers if x is not self.layer]).merged()

    def record(self, key: str, value: Any, clears: Sequence[str] = ()) -> None:
        """Keep a typed answer in the interview layer, unless it is what the layers give anyway."""
        if value == self.below(key):
            for name in (key, *clears):
                self.layer.values.pop(name, None)
            return
        self.layer.values[key] = value
        for cleared in clears:
            self.layer.values[cleared] = None

    def validator(self, question: QuestionDef, key: str) -> Any:
        """A prompt validator: the field's rules, then its sub-model's rules with this answer."""
        cleared = {name.rpartition(".")[2]: None for name in question.clears}

        def check(text: str) -> str | None:
            try:
                value = parse_answer(key, text, self.method_kind())
            except ValueError as err:
                return f"{err} (got {text.strip()!r})"
            return self.submodel_reason(key, value, cleared)

        return check

    def submodel_reason(
        self, key: str, value: Any, extra: dict[str, Any] | None = None
    ) -> str | None:
        """Why the sub-model refuses `value`, if it accepted the old value (no old-rule traps)."""
        prefix, _, name = key.rpartition(".")
        model = self._sub_model(prefix)
        current = {
            k[len(prefix) + 1 :]: v
            for k, v in self.merged().items()
            if k.startswith(prefix + ".") and "." not in k[len(prefix) + 1 :]
        }
        if prefix == "method":
            current.pop("kind", None)
        if _model_error(model, current) is not None:
            return None
        return _model_error(model, {**current, name: value, **(extra or {})})

    def _sub_model(self, prefix: str) -> type[BaseModel]:
        if prefix == "method":
            return METHODS.get(self.method_kind(), METHODS[DEFAULT_METHOD])
        return SUB_MODELS[generic_key(prefix + ".x").rpartition(".")[0]]


def _model_error(model: type[BaseModel], values: dict[str, Any]) -> str | None:
    try:
        model.model_validate(values)
    except ValidationError as err:
        problems = [p for p in err.errors(include_url=False) if p["type"] != "missing"]
        if problems:
            return str(problems[0]["msg"]).removeprefix("Value error, ")
    return None
