"""The first question: start from a preset (grouped by family), the answers file already in the
run folder, or nothing. Its answer adds layers below everything else the user gave."""

from __future__ import annotations

from collections import defaultdict
from typing import TYPE_CHECKING

from wizard.answers.layers import Answers
from wizard.interview.prompter import Choice
from wizard.interview.state import InterviewState
from wizard.presets.assemble import preset_start
from wizard.presets.locks import apply_locks

if TYPE_CHECKING:
    from wizard.presets.store import Preset

NOTHING, ANSWERS = "<nothing>", "<answers file>"


def preset_choices() -> list[Choice]:
    """Every usable preset a name reaches (highest source wins), grouped by family. A broken
    team preset is left out here (`presets list` shows why) instead of breaking the question."""
    from wizard.presets.views import list_presets

    families: dict[str, list[Preset]] = defaultdict(list)
    for listing in list_presets():
        if listing.status == "ok" and listing.preset is not None:
            families[listing.preset.data.family].append(listing.preset)
    choices: list[Choice] = []
    for family in sorted(families):
        choices.append(Choice.group(family))
        for preset in families[family]:
            note = preset.data.description
            if preset.source != "builtin":
                note = f"{note} [{preset.source}]"
            choices.append(Choice(preset.name, note=note))
    return choices


def choose_start(iv: InterviewState) -> None:
    from wizard.answers.file import ANSWERS_FILENAME

    answers_path = iv.run_dir / ANSWERS_FILENAME if iv.run_dir is not None else None
    choices = [Choice(NOTHING, "Nothing: answer every question")]
    if answers_path is not None and answers_path.is_file():
        choices.append(Choice(ANSWERS, f"The answers in {answers_path}"))
    choices += preset_choices()
    picked = iv.prompter.select("start", "Start from", choices, NOTHING, search=True)
    if picked == NOTHING:
        return
    if picked == ANSWERS and answers_path is not None:
        from wizard.answers.file import load_answers_file

        loaded = load_answers_file(answers_path)
        iv.answers.layers.insert(0, loaded.layer)
        iv.preset = loaded.preset
        return
    _use_preset(iv, picked)


def _use_preset(iv: InterviewState, name: str) -> None:
    """Put the preset's layers under everything else; its locked answers over them."""
    start = preset_start(name)
    others = [layer for layer in iv.answers.layers if layer is not iv.layer]
    answers = apply_locks(Answers([*start.layers, *others]), start.locks)
    iv.fixed.update(start.locks)
    iv.answers.layers[:] = [*answers.layers, iv.layer]
    iv.preset = start.ref
    for warning in start.warnings:
        iv.prompter.show(f"! {warning}")
