"""The run a follow-up works on, and the preflight checks that it is ready for one: training
finished, and the output folder holds what the verb needs (an adapter, or the full weights)."""

from __future__ import annotations

import json
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from wizard.axolotl import keys as K
from wizard.errors import WizardError
from wizard.launch.checks import Check, Preflight
from wizard.launch.manifest import LAUNCHES_DIR, MANIFEST_FILENAME
from wizard.launch.outputs import output_dir
from wizard.launch.preflight import check_config, check_model, check_packages
from wizard.launch.target import Target, planned_layout, resolve_target
from wizard.terminal import shell_path
from wizard.yamlio import read_text_file

ADAPTER_CONFIG = "adapter_config.json"
ADAPTER_WEIGHTS = ("adapter_model.safetensors", "adapter_model.bin")
FULL_WEIGHTS = ("*.safetensors", "pytorch_model*.bin")
MAX_MANIFEST_BYTES = 4 * 1024 * 1024  # a manifest is a few kB; its warnings are bounded too
TRAIN = "train"  # the verb of a training launch (manifests before follow-ups have none)


@dataclass
class Trained:
    target: Target
    output: Path  # absolute: the run's output_dir

    @classmethod
    def of(cls, target: Target) -> Trained:
        return cls(target, output_dir(target).resolve())

    @property
    def run_dir(self) -> Path:
        return self.target.run_dir

    @property
    def adapter(self) -> str | None:
        return self.target.config.adapter

    @property
    def output_arg(self) -> str:
        """The output folder as Axolotl, started in the run folder, names it."""
        return as_child_sees(self.output, self.run_dir)

    @property
    def has_eval_split(self) -> bool:
        config = self.target.config
        size = config.value(K.VAL_SET_SIZE) or 0
        split = isinstance(size, (int, float)) and not isinstance(size, bool) and size > 0
        return split or bool(config.value(K.TEST_DATASETS))

    @property
    def has_adapter(self) -> bool:
        weights = any((self.output / name).is_file() for name in ADAPTER_WEIGHTS)
        return (self.output / ADAPTER_CONFIG).is_file() and weights

    @property
    def has_full_weights(self) -> bool:
        found = any(any(self.output.glob(pattern)) for pattern in FULL_WEIGHTS)
        return (self.output / "config.json").is_file() and found


def as_child_sees(path: Path, run_dir: Path) -> str:
    try:
        return f"./{path.relative_to(run_dir)}"
    except ValueError:
        return str(path)


def trained_run(path: Path) -> Trained:
    return Trained.of(resolve_target(path))


def preflight(trained: Trained, python: str, checks: tuple[Check, ...]) -> Preflight:
    """The launch checks a follow-up shares (the config passes `check`, Axolotl importable by
    `python`, the base model here), then `checks`."""
    layout, _precision = planned_layout(trained.target)
    pre = Preflight(trained.target, layout, python)
    for check in (check_config, check_packages, check_model, *checks):
        check(pre)
    return pre


def last_training(run_dir: Path) -> dict[str, Any] | None:
    """The manifest of the newest training launch of the run (folders are named by UTC time).
    A WizardError for a manifest that cannot be read: skipping it would judge the run by an
    older launch."""
    for path in sorted((run_dir / LAUNCHES_DIR).glob(f"*/{MANIFEST_FILENAME}"), reverse=True):
        if os.path.islink(path):
            continue  # not one `launch` wrote (it writes files, never links)
        text = read_text_file(path, "launch manifest", MAX_MANIFEST_BYTES)
        try:
            record = json.loads(text)
        except (ValueError, RecursionError):
            raise WizardError(
                f"{path} is not a readable launch manifest (not JSON)",
                "move that launch folder away if it is not a launch",
            ) from None
        if isinstance(record, dict) and record.get("verb", TRAIN) == TRAIN:
            return record
    return None


def check_finished(pre: Preflight) -> None:
    """The last launch finished. A run trained without the wizard has no manifest: then the
    weights it left (`check_weights`) are all there is to go by."""
    run_dir = pre.target.run_dir
    try:
        record = last_training(run_dir)
    except WizardError as err:
        pre.error(err.message, err.hint)
        return
    again = f"axolotl-wizard launch {shell_path(run_dir)}"
    if record is None:
        return
    outcome, when = record.get("outcome"), record.get("time_utc", "?")
    if outcome is None:
        pre.error(
            f"the last launch of this run (started {when}) has not ended: it is still "
            "training, or was killed",
            f"wait for it to finish; if it was killed, continue it with: {again} --resume",
        )
    elif outcome != "finished":
        pre.error(
            f"the last launch of this run (started {when}) {outcome} (exit code "
            f"{record.get('exit_code')}): its weights are not those of a finished run",
            f"finish it first: {again} --resume (or launch it again)",
        )


def check_weights(pre: Preflight) -> None:
    """The output folder holds the model the run trained: an adapter, or full weights."""
    trained = Trained.of(pre.target)
    if trained.adapter is not None and not trained.has_adapter:
        pre.error(
            f"{trained.output} holds no adapter ({ADAPTER_CONFIG} and "
            f"{ADAPTER_WEIGHTS[0]}), and the run trains a {trained.adapter} adapter",
            f"train it first: axolotl-wizard launch {shell_path(trained.run_dir)}",
        )
    elif trained.adapter is None and not trained.has_full_weights:
        pre.error(
            f"{trained.output} holds no model weights (config.json and *.safetensors)",
            f"train it first: axolotl-wizard launch {shell_path(trained.run_dir)}",
        )


def check_mergeable(pre: Preflight) -> None:
    """Only an adapter merges; a full fine-tune's weights are the whole model already."""
    trained = Trained.of(pre.target)
    if trained.adapter is None:
        pre.error(
            f"this run is a full fine-tune: there is no adapter to merge, and its weights in "
            f"{trained.output} are the whole model already",
            f"use that folder as it is; axolotl-wizard export {shell_path(trained.run_dir)} "
            "--format gguf converts it",
        )
    else:
        check_weights(pre)


def refuse_problems(pre: Preflight, verb: str) -> None:
    errors = pre.errors
    if errors:
        raise WizardError(
            f"preflight found {len(errors)} problem{'s' if len(errors) > 1 else ''}; "
            f"nothing was started",
            f"fix the above and run `axolotl-wizard {verb}` again",
        )
