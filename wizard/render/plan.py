"""Answers -> the run that will be written: auto-fit, the run folder's files, their estimate.

This is the one path from answers to an Axolotl config. `new` writes `RunPlan.folder`; the
interview's review, its per-method memory notes and `presets check` show `RunPlan.estimate`, the
estimate of exactly those files, so every figure on every screen is the figure of what is written.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from wizard.answers.file import FITTED_KEYS, AnswersDocument, PresetRef
from wizard.answers.layers import Answers, LayerKind
from wizard.axolotl.paths import PathMapper, keep_path, relative_to_run_dir
from wizard.errors import WizardError
from wizard.estimate import Estimate
from wizard.lint import Finding
from wizard.records import Record
from wizard.render.autofit_layer import FitReport, estimate_folder, fit_answers
from wizard.render.axolotl_config import render_axolotl
from wizard.render.rewards import reward_files
from wizard.render.runfolder import RunFolder, build_run_folder
from wizard.render.runlint import lint_run_folder, refusal
from wizard.runspec import RunSpec


class RunPlan(Record):
    fit: FitReport
    folder: RunFolder
    estimate: Estimate | None
    # What `check` finds in the files (errors only when the plan was made with strict=False).
    findings: list[Finding]

    @property
    def warnings(self) -> list[Finding]:
        return [f for f in self.findings if f.severity == "warning"]

    @property
    def spec(self) -> RunSpec:
        return self.fit.spec

    @property
    def answers(self) -> Answers:
        return self.fit.answers


def plan_run(
    answers: Answers,
    preset: PresetRef | None,
    run_dir: Path | None,
    cwd: Path,
    strict: bool = True,
) -> RunPlan:
    """Resolve, auto-fit and render the answers; check and estimate the files that come out.

    Paths the user gave are relative to `cwd`; in the files they become relative to `run_dir`
    (None keeps them as given, for a plan that is only looked at). Axolotl's rules are the lint
    rules of `check`: with `strict`, the first error is raised, naming the answers it concerns.
    """
    mapper = keep_path if run_dir is None else relative_to_run_dir(str(run_dir), str(cwd))
    lint_dir = run_dir if run_dir is not None else cwd

    def refused(trial: Answers) -> WizardError | None:
        try:
            folder = _folder(trial, trial.resolve(), preset, mapper)
        except WizardError as err:
            return err
        return refusal(folder, lint_run_folder(folder, lint_dir))

    fit = fit_answers(answers, cwd, refused)
    folder = _folder(fit.answers, fit.spec, preset, mapper)
    findings = lint_run_folder(folder, lint_dir)
    stop = refusal(folder, findings)
    if stop is not None and strict:
        raise stop
    if not _placeholder(fit.answers, "objective.reward_functions"):
        folder.files.update(reward_files(fit.spec, cwd))
    result = None
    if fit.arch is not None:
        try:
            result = estimate_folder(folder, fit.arch)
        except WizardError as err:
            if not fit.spec.policy.imported:
                raise
            # An imported config is written as it is; what the estimator cannot follow is a note.
            fit = fit._replace(note=f"no memory estimate: {err.message}")
    return RunPlan(fit, folder, result, findings)


def _folder(
    answers: Answers, spec: RunSpec, preset: PresetRef | None, mapper: PathMapper
) -> RunFolder:
    """The run folder of resolved answers: the config, its DeepSpeed JSON, the answers file."""
    fitted, unfitted = fitted_answers(answers, spec)
    doc = AnswersDocument(spec, _raw_keys(answers, spec), preset, answers.files(), fitted,
                          unfitted)  # fmt: skip
    return build_run_folder(doc, mapper)


def fitted_answers(answers: Answers, spec: RunSpec) -> tuple[dict[str, Any], frozenset[str]]:
    """(what auto-fit chose, the fitted answers nobody gave): the second set is left out of the
    answers file so that a later `new --answers` fits them again."""
    if spec.policy.imported:
        return {}, frozenset()
    chosen, unfitted = {}, set()
    for key in FITTED_KEYS:
        layer = answers.origin_layer(key)
        if layer is None or layer.kind is LayerKind.AUTOFIT:
            unfitted.add(key)
        if layer is not None and layer.kind is LayerKind.AUTOFIT:
            chosen[key] = layer.values[key]
    return chosen, frozenset(unfitted)


def _placeholder(answers: Answers, key: str) -> bool:
    """A stand-in for an answer nobody gave yet (a preset looked at before it is used)."""
    layer = answers.origin_layer(key)
    return layer is not None and layer.kind is LayerKind.PLACEHOLDER


def _raw_keys(answers: Answers, spec: RunSpec) -> dict[str, Any]:
    """The raw keys to write. An import keeps a key raw when no answer renders it exactly; an
    answer given over the import (--set, the interview) then replaces that key, never clashes."""
    raw = answers.raw_axolotl()
    if not spec.policy.imported:
        return raw
    rendered = render_axolotl(spec).as_dict()
    return {key: value for key, value in raw.items() if key not in rendered}
