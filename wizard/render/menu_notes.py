"""Memory per GPU for the interview: each method next to the Method question.

A note is the estimate of the run folder `new` would write if that method were chosen now: the
answers so far, the method on top, placeholders for the required answers not given yet, through
the same `plan_run` (auto-fit included) as the review and `new`. Before the training questions
are answered their defaults stand in, so these figures are a first look.
"""

from __future__ import annotations

from pathlib import Path

from wizard.answers.file import PresetRef
from wizard.answers.layers import Answers, Layer, LayerKind
from wizard.answers.placeholders import placeholder_layer
from wizard.errors import WizardError
from wizard.render.autofit_layer import fit_verdict
from wizard.render.plan import plan_run


def method_note(answers: Answers, preset: PresetRef | None, kind: str, cwd: Path) -> str | None:
    """`~18.2 GiB per GPU, fits in 24 GiB` for method `kind` on the GPUs answered so far; None
    when there is nothing to estimate (a CPU run, an architecture not found here)."""
    return trial_note(answers, preset, {"method.kind": kind}, cwd)


def sharding_note(
    answers: Answers, preset: PresetRef | None, backend: str, cwd: Path
) -> str | None:
    """The same note for a sharding backend (none, deepspeed at the answered ZeRO stage, fsdp),
    with the layout auto-fit would write for it."""
    note = trial_note(answers, preset, {"distributed.backend": backend}, cwd)
    if note is None or backend != "deepspeed" or note.startswith("not possible"):
        return note
    stage = trial_stage(answers)
    return f"ZeRO-{stage}: {note}"


def trial_stage(answers: Answers) -> int:
    try:
        return answers.resolve().distributed.zero_stage
    except WizardError:
        return 2


def trial_note(
    answers: Answers, preset: PresetRef | None, values: dict[str, object], cwd: Path
) -> str | None:
    """The memory note of the run with `values` on top of the answers so far."""
    choice = Layer("trial choice", values, kind=LayerKind.TRIAL)
    layers = [*answers.layers, choice]
    trial = Answers([*layers, placeholder_layer(layers)])
    try:
        plan = plan_run(trial, preset, None, cwd)
    except WizardError as err:
        hint = f"; {err.hint}" if err.hint else ""
        return f"not possible with the answers so far ({err.message}{hint})"
    result = plan.estimate
    if result is None:
        return None
    fitted = plan.fit.plan
    layout = f" with {fitted.sharding_text()}" if fitted is not None else ""
    text = f"~{result.peak_gib_per_gpu:.1f} GiB per GPU{layout}"
    if result.gpu_mem_gib is None:
        return text
    return f"{text}, {fit_verdict(result, plan.spec)} in {result.gpu_mem_gib:g} GiB"
