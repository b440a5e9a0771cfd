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

import sys
from pathlib import Path
from typing import TYPE_CHECKING, Any

from wizard.answers.answer_keys import generic_key
from wizard.answers.file import PresetRef
from wizard.answers.layers import GPU_DESCRIPTION, GPU_NAME, Answers, LayerKind
from wizard.axolotl.paths import is_hub_id
from wizard.errors import Cancelled, WizardError
from wizard.interview.kinds import ask_kind
from wizard.interview.needs import calls_for
from wizard.interview.preview_offer import offer_preview
from wizard.interview.prompter import Choice
from wizard.interview.questions import QuestionDef, SectionDef, answer_text
from wizard.interview.review import review_text
from wizard.interview.start import choose_start
from wizard.interview.state import MISSING, InterviewState, Offer
from wizard.interview.suggestions import suggest
from wizard.presets.locks import REMOTE_CODE_KEYS, locked_keys, untrusted_remote_code
from wizard.render.plan import plan_run
from wizard.runspec import METHODS, OBJECTIVES

if TYPE_CHECKING:
    from wizard.preview.report import Preview


class Interview(InterviewState):
    """The interview's flow: the start question, every section, then the review."""

    def run(self) -> Answers:
        """Every section, then the review; returns the answers to write."""
        try:
            if self.ask_start:
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
            offer_preview(self)
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
            if any(key.startswith("datasets.") for key in locked_keys(self.answers)):
                return  # a preset locks the list: no dataset may be added to it
            if not self.prompter.confirm("datasets.more", "Add another dataset?", False):
                return

    def applies(self, question: QuestionDef, index: int | None) -> bool:
        if not self.kind_has(question.key):
            return False
        if not all(self.holds(k, v, index) for k, v in question.when.items()):
            return False
        if any(self.holds(k, v, index) for k, v in question.unless.items()):
            return False
        if question.calls_for and not any(calls_for(self, n) for n in question.calls_for):
            return False
        if question.hub_only:
            return is_hub_id(str(self.value(f"datasets.{index}.path") or ""))
        return True

    def kind_has(self, key: str) -> bool:
        """A method or objective answer is asked only when the one chosen has it: the spec's
        union (`METHODS`, `OBJECTIVES`) says which fields each kind has."""
        section, _, name = key.partition(".")
        if name == "kind" or section not in ("method", "objective"):
            return True
        kinds = METHODS if section == "method" else OBJECTIVES
        chosen = self.method_kind() if section == "method" else str(self.value("objective.kind"))
        model = kinds.get(chosen)
        return model is not None and name in model.model_fields

    def holds(self, key: str, accepted: Any, index: int | None) -> bool:
        """The answer at `key` is `accepted` (or one of a list of them), compared as text."""
        concrete = key if index is None else key.replace(".N.", f".{index}.")
        options = accepted if isinstance(accepted, list) else [accepted]
        return answer_text(self.value(concrete)) in [answer_text(o) for o in options]

    def ask(self, question: QuestionDef, index: int | None = None) -> None:
        key = question.at(index)
        if key in self.fixed or generic_key(key) in self.fixed:
            return
        if question.kind == "gpu" and self.fixed & {GPU_NAME, *GPU_DESCRIPTION}:
            return  # the GPU was given another way (its memory with --set, a locked name)
        if not self.applies(question, index):
            if question.reset_when_hidden and self.value(key) != self.spec_default(key):
                self.layer.values[key] = self.spec_default(key)
            return
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
            suggested = suggest(self, question.suggest, key)
            if suggested is not None:
                return suggested
        return Offer(self.below(key))

    # -- review -------------------------------------------------------------------------------

    def review(self) -> None:
        while True:
            try:
                plan = plan_run(self.answers, self.preset, self.run_dir, Path.cwd())
            except WizardError as err:
                self.send_back(err)
                continue
            self.prompter.show(
                review_text(plan, self.run_dir, self.asked, self.color, self.preview)
            )
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
        """Ask again the question a cross-field error concerns; re-raise when none can be asked."""
        self.prompter.show(f"! {err.message}")
        target = self.concerned(err.keys)
        if target is None:
            raise err
        question, index = target
        self.ask(question, index)

    def concerned(self, keys: tuple[str, ...]) -> tuple[QuestionDef, int | None] | None:
        """The first of `keys` that has a question the user may answer now."""
        for key in keys:
            found = self.questions.find(key)
            parts = key.split(".")
            index = int(parts[1]) if parts[0] == "datasets" and parts[1].isdigit() else None
            if found is None or key in self.fixed or not self.applies(found[1], index):
                continue
            return found[1], index
        return None


def fixed_keys(answers: Answers) -> set[str]:
    """Keys not to ask: what --set gave, and what a preset locks."""
    keys = {key for layer in answers.of_kind(LayerKind.SET) for key in layer.values}
    return keys | locked_keys(answers)


def interview_in_terminal(
    answers: Answers, run_dir: Path | None = None, trust_remote_code: bool = False
) -> tuple[Answers, PresetRef | None, Preview | None]:
    """The interview on this terminal: real prompts, colour, GPUs detected with nvidia-smi.
    Returns the answers, the preset picked at the start question, if one was, and the records
    Axolotl tokenized when the user asked for the preview."""
    from wizard.gpus.detect import detect_gpus, detect_host_ram_gib
    from wizard.interview.prompter import QuestionaryPrompter  # imports questionary: only here

    starts_empty = not answers.of_kind(LayerKind.PRESET, LayerKind.ANSWERS_FILE, LayerKind.IMPORT)
    detected = detect_gpus()
    interview = Interview(
        answers, QuestionaryPrompter(), fixed=fixed_keys(answers), detected=detected,
        run_dir=run_dir, color=sys.stdout.isatty(), ask_start=starts_empty,
        trust_remote_code=trust_remote_code,
        host_ram_gib=detect_host_ram_gib() if detected is not None else None,
    )  # fmt: skip
    return interview.run(), interview.preset, interview.preview
