"""The page's form is the interview itself: every event walks the questions of questions.yaml
through the interview's own flow (`Interview.ask`), with a prompter that answers from what the
page holds instead of a terminal.

So the form has no list of questions of its own: which questions show, their choices, their
defaults, the data proposals, the memory notes per method and every validation message are the
terminal's. An answer the page has not changed is "Enter" (the interview's default); an answer
the validator refuses keeps the previous value and its reason is shown, as the terminal would
show it before asking again.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from wizard.answers.file import PresetRef
from wizard.answers.layers import Answers
from wizard.axolotl.paths import is_hub_id
from wizard.errors import WizardError
from wizard.interview.flow import Interview, fixed_keys
from wizard.interview.model_question import HUB, LOCAL, SEARCH
from wizard.interview.preview_offer import KEY as PREVIEW_KEY
from wizard.interview.prompter import Choice, ListValidator, Validator
from wizard.interview.questions import QuestionDef, SectionDef, answer_text
from wizard.interview.start import NOTHING
from wizard.models import catalog_names

START = "start"  # the interview's first question: a preset, or nothing
MODEL = "model.base_model"


@dataclass
class Prompt:
    """What the interview asked for one key: how, with which choices, starting from what."""

    kind: str
    message: str
    default: Any
    choices: list[Choice] = field(default_factory=list)


@dataclass
class Draft:
    """What one browser tab holds: the start it chose and the answers it typed, as the page's
    widgets give them (text, a choice, a bool, a list). Plain data: Gradio copies it per tab."""

    start: str = NOTHING
    given: dict[str, Any] = field(default_factory=dict)


class Refused(Exception):
    """A given answer the interview's validator refused; the walk keeps the previous value."""


class FormPrompter:
    """The interview's Prompter, answered by the page. Records every prompt (the form shows its
    choices), every refusal (the form shows the reason) and every line the interview shows."""

    def __init__(self, given: dict[str, Any]) -> None:
        self.given = given
        self.prompts: dict[str, Prompt] = {}
        self.refusals: dict[str, str] = {}
        self.shown: list[str] = []

    def _answer(self, key: str, default: Any, validate: Any = None) -> Any:
        if key not in self.given:
            return default
        value = self.given[key]
        reason = validate(value) if validate is not None else None
        if reason is not None:
            self.refusals[key.partition(":")[0]] = reason
            return default
        return value

    def select(
        self,
        key: str,
        message: str,
        choices: Sequence[Choice],
        default: str | None,
        search: bool = False,
    ) -> str:
        self.prompts.setdefault(key, Prompt("select", message, default, list(choices)))
        if key == MODEL and key in self.given:
            return self._model_route(str(self.given[key]), choices)
        picked = self._answer(key, default)
        values = [c.value for c in choices if not c.header]
        if picked not in values:
            if key in self.given:
                self.refusals[key] = f"not one of the choices: {picked}"
            return default if default in values else values[0]
        return str(picked)

    def _model_route(self, text: str, choices: Sequence[Choice]) -> str:
        """A model typed or picked in the page's one field: which way the model question takes
        it (a listed choice, the catalog search, a local folder, a Hub id)."""
        if text in [c.value for c in choices]:
            return text
        if text in catalog_names():
            return SEARCH
        return HUB if is_hub_id(text) and not Path(text).expanduser().exists() else LOCAL

    def text(self, key: str, message: str, default: str, validate: Validator | None = None) -> str:
        self.prompts.setdefault(key, Prompt("text", message, default))
        return self._typed(key, default, validate)

    def path(self, key: str, message: str, default: str, validate: Validator | None = None) -> str:
        self.prompts.setdefault(key, Prompt("path", message, default))
        return self._typed(key, default, validate)

    def _typed(self, key: str, default: str, validate: Validator | None) -> str:
        base = key.partition(":")[0]
        if key in self.given:
            given = self.given[key]
        elif base == MODEL and MODEL in self.given:
            given = self.given[MODEL]  # the model question's follow-up: the page's one field
        else:
            if not default and validate is not None and validate(default) is not None:
                raise Refused(key)  # nothing given, nothing to default to: left unanswered
            return default
        text = given if isinstance(given, str) else answer_text(given)
        reason = validate(text) if validate is not None else None
        if reason is None:
            return text
        self.refusals[base] = reason
        if not default:
            raise Refused(key)
        return default

    def confirm(self, key: str, message: str, default: bool) -> bool:
        self.prompts.setdefault(key, Prompt("confirm", message, default))
        if key.endswith(".gate"):
            return True  # the page shows every section; the gate only folds it
        return bool(self._answer(key, default))

    def autocomplete(
        self, key: str, message: str, options: Sequence[str], validate: Validator | None = None
    ) -> str:
        return self._typed(key, "", validate)

    def checkbox(
        self,
        key: str,
        message: str,
        choices: Sequence[Choice],
        checked: Sequence[str],
        validate: ListValidator | None = None,
    ) -> list[str]:
        self.prompts.setdefault(key, Prompt("checkbox", message, list(checked), list(choices)))
        return list(self._answer(key, list(checked), validate))

    def show(self, text: str) -> None:
        self.shown.append(text)


@dataclass
class Walked:
    """One walk of the interview over the page's draft."""

    interview: Interview
    prompter: FormPrompter
    problem: WizardError | None = None  # what stopped the walk (a preset that does not load)

    @property
    def answers(self) -> Answers:
        return self.interview.answers

    @property
    def preset(self) -> PresetRef | None:
        return self.interview.preset


def walk(draft: Draft, base: Answers | None = None) -> Walked:
    """Ask every question of questions.yaml in the interview's order, answered by `draft`."""
    given = {**draft.given, START: draft.start}
    prompter = FormPrompter(given)
    answers = base if base is not None else Answers([])
    interview = Interview(answers, prompter, fixed=fixed_keys(answers), ask_start=True)
    walked = Walked(interview, prompter)
    try:
        from wizard.interview.start import choose_start

        choose_start(interview)
        interview.fixed = fixed_keys(interview.answers)
        interview.confirm_remote_code()
        for section in interview.questions.sections:
            _ask_section(interview, prompter, section)
    except WizardError as err:
        walked.problem = err
    return walked


def _ask_section(interview: Interview, prompter: FormPrompter, section: SectionDef) -> None:
    """The interview's section, each question on its own: one left unanswered (a required
    answer the page has not given yet) does not stop the others."""
    if section.repeat == "datasets":
        for question in section.questions:
            _ask(interview, prompter, question, 0)
        from wizard.interview.preview_offer import offer_preview

        offer_preview(interview)
        return
    for question in section.questions:
        kept = dict(interview.layer.values)
        _ask(interview, prompter, question, None)
        if section.gate is not None and question.key not in prompter.given:
            # The terminal does not ask a folded section unless the user opens it: a question
            # of one the page did not touch leaves the answers as they were.
            interview.layer.values.clear()
            interview.layer.values.update(kept)


def _ask(
    interview: Interview, prompter: FormPrompter, question: QuestionDef, index: int | None
) -> None:
    try:
        interview.ask(question, index)
    except Refused:
        return
    except ValueError as err:  # a text the field's type refuses after the validator passed it
        prompter.refusals[question.at(index)] = str(err)


def visible_keys(walked: Walked) -> set[str]:
    """The questions the walk asked: the ones that apply to these answers."""
    return {key.partition(":")[0] for key in walked.prompter.prompts}


__all__ = ["MODEL", "PREVIEW_KEY", "START", "Draft", "FormPrompter", "Prompt", "Walked", "walk"]
