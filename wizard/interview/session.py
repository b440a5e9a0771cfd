"""The interview: walk the question list (questions.yaml), ask through a Prompter.

Typed answers go into one more layer on top of the others (preset < answers file < --set <
interview), so the answers file and `presets explain` still say where each value came from. An
answer is recorded only when it differs from what the layers below already give: pressing Enter
everywhere leaves the layers untouched, and the run folder is the one `--yes` writes.

Each answer is checked at the prompt by the spec's own field type and constraints, then by its
sub-model (so `sample_packing` with eager attention is refused right there). Rules between
sub-models are the spec's `RunSpec` validators: the review resolves everything and, on an error,
asks again the question the error names.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from pydantic import BaseModel, ValidationError

from wizard.answers.file import PresetRef
from wizard.answers.layers import METHOD_MODELS, Answers, Layer, generic_key
from wizard.errors import Cancelled, WizardError
from wizard.interview.hardware import Detected
from wizard.interview.prompter import Choice, Prompter
from wizard.interview.questions import (
    SUB_MODELS,
    QuestionDef,
    QuestionFile,
    SectionDef,
    answer_text,
    field_info,
    literal_values,
    load_questions,
    parse_answer,
)
from wizard.interview.sniff import SniffReport
from wizard.models import ModelArch

INTERVIEW_LAYER = "interview"
MISSING: Any = object()
_KEY_IN_TEXT = re.compile(r"\b[a-z_]+(?:\.\d+)?(?:\.[a-z_]+)+\b|\b[a-z_]+\b")


@dataclass
class Offer:
    """The default a prompt starts with; `record=False` when taking it changes nothing."""

    value: Any
    record: bool = True


@dataclass
class Interview:
    answers: Answers
    prompter: Prompter
    fixed: set[str] = field(default_factory=set)
    detected: Detected | None = None
    run_dir: Path | None = None
    color: bool = False
    questions: QuestionFile = field(default_factory=load_questions)
    layer: Layer = field(default_factory=lambda: Layer(INTERVIEW_LAYER))
    ask_start: bool = False
    preset: PresetRef | None = None
    arch: ModelArch | None = None
    proposals: dict[str, Any] = field(default_factory=dict)
    sniffs: dict[int, SniffReport] = field(default_factory=dict)
    asked: set[str] = field(default_factory=set)
    trust_remote_code: bool = False  # --trust-remote-code: no need to ask

    def __post_init__(self) -> None:
        self.answers = Answers([*self.answers.layers, self.layer])

    # -- values -------------------------------------------------------------------------------

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
            return "lora"
        try:
            info = field_info(key, self.method_kind())
        except KeyError:
            return None
        return None if info.is_required() else info.get_default(call_default_factory=True)

    def allows_none(self, key: str) -> bool:
        from wizard.interview.questions import allows_none

        return allows_none(key, self.method_kind())

    def method_kind(self) -> str:
        return str(self.merged().get("method.kind", "lora"))

    def dataset_count(self) -> int:
        indices = {int(k.split(".")[1]) for k in self.merged() if k.startswith("datasets.")}
        return max(indices, default=0) + 1

    # -- asking -------------------------------------------------------------------------------

    def run(self) -> Answers:
        """Every section, then the review; returns the answers to write."""
        try:
            if self.ask_start:
                from wizard.interview.start import choose_start

                choose_start(self)
            self.confirm_remote_code()
            for section in self.questions.sections:
                self.ask_section(section)
            self.review()
        except EOFError:
            raise WizardError(
                "the input ended in the middle of the interview; nothing was written",
                "answer every question, or pass --yes with --preset / --set / --answers",
            ) from None
        return self.answers

    def confirm_remote_code(self) -> None:
        """A team or project preset that turns on trust_remote_code needs the user's yes."""
        from wizard.presets.rules import REMOTE_CODE_KEYS, untrusted_remote_code

        sources = untrusted_remote_code(self.answers)
        if not sources or self.trust_remote_code:
            return
        allowed = self.prompter.confirm(
            "model.trust_remote_code:confirm",
            f"Preset {', '.join(sources)} turns on trust_remote_code: the model repository's own "
            "Python code runs when the model loads. Allow it?",
            False,
        )
        merged = self.merged()
        for key in REMOTE_CODE_KEYS:
            if merged.get(key) is True:
                self.layer.values[key] = allowed

    def ask_section(self, section: SectionDef) -> None:
        if section.gate is not None and not self.prompter.confirm(
            f"{section.id}.gate", section.gate, False
        ):
            return
        if section.repeat == "datasets":
            self.ask_datasets(section)
            return
        for question in section.questions:
            self.ask(question)

    def ask_datasets(self, section: SectionDef) -> None:
        index = 0
        while True:
            for question in section.questions:
                self.ask(question, index)
            index += 1
            if index < self.dataset_count():
                continue
            if not self.prompter.confirm("datasets.more", "Add another dataset?", False):
                return

    def applies(self, question: QuestionDef, index: int | None) -> bool:
        for key, accepted in question.when.items():
            concrete = key if index is None else key.replace(".N.", f".{index}.")
            options = accepted if isinstance(accepted, list) else [accepted]
            if answer_text(self.value(concrete)) not in [answer_text(o) for o in options]:
                return False
        if question.hub_only:
            from wizard.interview.kinds import is_hub_id

            return is_hub_id(str(self.value(f"datasets.{index}.path") or ""))
        return True

    def ask(self, question: QuestionDef, index: int | None = None) -> None:
        key = question.at(index)
        if key in self.fixed or generic_key(key) in self.fixed:
            return
        if not self.applies(question, index):
            if question.reset_when_hidden and self.value(key) != self.spec_default(key):
                self.layer.values[key] = self.spec_default(key)
            return
        from wizard.interview.kinds import ask_kind

        self.asked.add(key)
        self.prompter.show(f"  {question.help}")
        offer = self.offer(question, key)
        answer = ask_kind(self, question, key, offer)
        if answer is MISSING or (not offer.record and answer == offer.value):
            return
        self.record(key, answer, question.clears)

    def offer(self, question: QuestionDef, key: str) -> Offer:
        """A typed answer, else a proposal from the data, else the layers below, else a
        suggestion (sequence length from the model and data), else the spec's default."""
        if key in self.layer.values:
            return Offer(self.layer.values[key])
        if key in self.proposals:
            return Offer(self.proposals[key])
        if question.suggest and not self.given_below(key):
            from wizard.interview.kinds import suggest

            suggested = suggest(self, question.suggest, key)
            if suggested is not None:
                return suggested
        return Offer(self.below(key))

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
            return METHOD_MODELS.get(self.method_kind(), METHOD_MODELS["lora"])
        return SUB_MODELS[generic_key(prefix + ".x").rpartition(".")[0]]

    # -- review -------------------------------------------------------------------------------

    def review(self) -> None:
        from wizard.build.plan import plan_run
        from wizard.interview.review import review_text

        while True:
            try:
                plan = plan_run(self.answers, self.preset, self.run_dir, Path.cwd())
            except WizardError as err:
                self.send_back(err)
                continue
            self.prompter.show(review_text(self, plan))
            action = self.prompter.select("review", "Write these files?", self.review_choices(),
                                          "write")  # fmt: skip
            if action == "write":
                return
            if action == "cancel":
                raise Cancelled("cancelled at the review; nothing was written")
            self.ask_section(self.questions.section(action.removeprefix("back:")))

    def review_choices(self) -> list[Choice]:
        choices = [Choice("write", "Write the files")]
        for section in self.questions.sections:
            choices.append(Choice(f"back:{section.id}", f"Go back to {section.title}"))
        choices.append(Choice("cancel", "Cancel (write nothing)"))
        return choices

    def send_back(self, err: WizardError) -> None:
        """Ask again the question a cross-field error names; re-raise when none can be asked."""
        self.prompter.show(f"! {err.message}")
        target = self.concerned(err.message)
        if target is None:
            raise err
        question, index = target
        self.ask(question, index)

    def _keys_named(self, name: str) -> list[str]:
        """Question keys whose last part is `name` (a sub-model rule names bare fields)."""
        return [
            q.key
            for section in self.questions.sections
            for q in section.questions
            if q.key.rsplit(".", 1)[-1] == name and ".N." not in q.key
        ]

    def concerned(self, message: str) -> tuple[QuestionDef, int | None] | None:
        where = message.split(":", 1)[0] if ":" in message else ""
        for word in _KEY_IN_TEXT.findall(message):
            for key in (word, f"{where}.{word}", *self._keys_named(word)):
                found = self.questions.find(key)
                if found is None:
                    continue
                index = int(key.split(".")[1]) if key.startswith("datasets.") else None
                if key.startswith("datasets.") and not key.split(".")[1].isdigit():
                    continue
                question = found[1]
                if key in self.fixed or not self.applies(question, index):
                    continue
                return question, index
        return None


def _model_error(model: type[BaseModel], values: dict[str, Any]) -> str | None:
    try:
        model.model_validate(values)
    except ValidationError as err:
        problems = [p for p in err.errors(include_url=False) if p["type"] != "missing"]
        if problems:
            return str(problems[0]["msg"]).removeprefix("Value error, ")
    return None


def literal_choices(question: QuestionDef, method_kind: str) -> list[Choice]:
    if question.choices:
        return [Choice(c.value, note=c.note) for c in question.choices]
    return [Choice(v) for v in literal_values(question.key, method_kind)]


def fixed_keys(answers: Answers) -> set[str]:
    """Keys not to ask: what --set gave, and what a preset locks."""
    keys: set[str] = set()
    for layer in answers.layers:
        if layer.name == "--set":
            keys.update(layer.values)
    from wizard.presets.rules import locked_keys

    return keys | locked_keys(answers)


def interview_in_terminal(
    answers: Answers, run_dir: Path | None = None, trust_remote_code: bool = False
) -> tuple[Answers, PresetRef | None]:
    """The interview on this terminal: real prompts, colour, GPUs detected with nvidia-smi.
    Returns the answers and the preset picked at the start question, if one was."""
    import sys

    from wizard.interview.hardware import detect_gpus
    from wizard.interview.prompter import QuestionaryPrompter

    starts_empty = not any(
        layer.name.startswith(("preset ", "answers file ")) for layer in answers.layers
    )
    interview = Interview(
        answers, QuestionaryPrompter(), fixed=fixed_keys(answers), detected=detect_gpus(),
        run_dir=run_dir, color=sys.stdout.isatty(), ask_start=starts_empty,
        trust_remote_code=trust_remote_code,
    )  # fmt: skip
    return interview.run(), interview.preset
