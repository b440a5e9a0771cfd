"""The New run tab's widgets, one per question of questions.yaml (the first dataset's), and how
a walk of the interview fills them: visible when the interview asks the question, its choices
and value from the prompt it got, read-only when a preset locks it."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from wizard.interview.questions import QuestionDef, SectionDef, answer_text, load_questions
from wizard.ui.walk import Walked

# Widgets by the interview's kind of question.
DROPDOWN_KINDS = ("select", "gpu", "model")


@dataclass(frozen=True)
class Field:
    section: SectionDef
    question: QuestionDef
    key: str  # the concrete key: the first dataset's for a dataset question

    @property
    def elem_id(self) -> str:
        return "q-" + self.key.replace(".", "-")


def fields() -> list[Field]:
    """Every question, in the interview's order; a dataset's questions for the first dataset."""
    found = []
    for section in load_questions().sections:
        index = 0 if section.repeat == "datasets" else None
        found += [Field(section, q, q.at(index)) for q in section.questions]
    return list({f.key: f for f in found}.values())  # a key asked twice (by conditions) once


def choices_of(walked: Walked, field: Field, extra: list[str]) -> list[tuple[str, str]]:
    """(label, value) of what the interview offered for this question, plus `extra` values."""
    prompt = walked.prompter.prompts.get(field.key)
    offered = [] if prompt is None else [c for c in prompt.choices if not c.header]
    pairs = [(c.label, c.value) for c in offered]
    values = {value for _label, value in pairs}
    return pairs + [(value, value) for value in extra if value not in values]


def value_of(walked: Walked, field: Field) -> Any:
    """The answer as the widget shows it: text, a choice, a bool, a list."""
    value = walked.interview.value(field.key)
    kind = field.question.kind
    if kind == "confirm":
        return bool(value)
    if kind == "checkbox":
        if value == "all-linear":
            prompt = walked.prompter.prompts.get(field.key)
            return [c.value for c in prompt.choices] if prompt is not None else []
        return list(value or [])
    if kind == "gpu":
        return "unset" if value is None else str(value)
    if value is None:  # unanswered: `none` where the answer may stay unset, else empty
        return "none" if walked.interview.allows_none(field.key) else ""
    return answer_text(value)


def shown(walked: Walked, field: Field) -> bool:
    return field.key in walked.prompter.prompts or field.key in walked.interview.fixed


def locked(walked: Walked, field: Field) -> bool:
    return field.key in walked.interview.fixed
