"""The output folder: never overwrite a trained run by accident, and have room for checkpoints."""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import TYPE_CHECKING, Any

from wizard.axolotl import keys as K
from wizard.axolotl.view import AxolotlConfig
from wizard.errors import WizardError
from wizard.launch.probe import free_bytes, weight_bytes
from wizard.launch.target import Target
from wizard.models.hub_cache import cached_snapshot
from wizard.yamlio import read_text_file

if TYPE_CHECKING:
    from wizard.launch.checks import Preflight

GIB = 1024**3
# What makes an output folder worth protecting: weights or checkpoints, not a debug.log left by
# a run that failed while loading.
TRAINED = ("checkpoint-*", "*.safetensors", "*.bin", "adapter_config.json")
# A checkpoint of a full fine-tune holds the weights and two Adam moments: at least 3x the weight
# files (5x when bf16 weights get fp32 moments). A LoRA checkpoint is the adapter, a few percent.
FULL_CHECKPOINT_FACTOR = 3.0
ADAPTER_CHECKPOINT_FACTOR = 0.05
HEADROOM_BYTES = GIB // 2  # logs, the tokenized dataset cache, the final save's temp files
# The Trainer's state of a checkpoint: its log history makes it a few megabytes after a long run.
MAX_STATE_BYTES = 64 * 1024 * 1024
# The last step the Trainer planned, in trainer_state.json (transformers' name, not Axolotl's).
PLANNED_STEPS = "max_steps"


def output_dir(target: Target) -> Path:
    value = target.config.output_dir or "./model-out"  # Axolotl's own default
    return target.run_dir / Path(value).expanduser()


def trained_files(folder: Path) -> list[str]:
    if not folder.is_dir():
        return []
    return sorted({p.name for pattern in TRAINED for p in folder.glob(pattern)})


def check_output_dir(pre: Preflight) -> None:
    """Refuse to train over a finished or interrupted run unless --resume says to continue it."""
    folder = output_dir(pre.target)
    found = trained_files(folder)
    checkpoints = [name for name in found if name.startswith("checkpoint-")]
    if pre.resume and not checkpoints:
        pre.error(f"--resume: {folder} holds no checkpoint-* folder to resume from",
                  "launch without --resume to start from the beginning")  # fmt: skip
    elif pre.resume:
        _check_not_finished(pre, folder / latest_checkpoint(checkpoints))
    elif found:
        shown = ", ".join(found[:3]) + (", …" if len(found) > 3 else "")
        pre.error(
            f"output_dir {folder} already holds a trained run ({shown}); training would "
            "overwrite it",
            "pass --resume to continue from its last checkpoint, or set another output_dir "
            "(or delete that folder)",
        )


def latest_checkpoint(names: list[str]) -> str:
    """`checkpoint-12` after `checkpoint-8` (by step, not by name)."""
    return max(names, key=lambda name: int(name.rsplit("-", 1)[1]) if name[11:].isdigit() else -1)


def _check_not_finished(pre: Preflight, checkpoint: Path) -> None:
    """Resuming a run that reached its end trains past it (one step more than max_steps)."""
    try:
        step, end = finished_at(checkpoint, pre.target.config)
    except WizardError as err:
        pre.warn(f"{err.message}; whether that run already finished is not checked")
        return
    if step is not None and end is not None and step >= end:
        pre.error(
            f"--resume: the run in {checkpoint.parent} already finished ({checkpoint.name} is "
            f"step {step} of {end}); there is nothing to resume",
            "to train further, raise max_steps (or num_epochs) in the config and resume; "
            "to train again, launch without --resume into another output_dir",
        )


def finished_at(checkpoint: Path, config: AxolotlConfig) -> tuple[int | None, int | None]:
    """(the checkpoint's step, the step the config ends at) from Trainer's trainer_state.json;
    the config's max_steps wins over the one the Trainer computed (it may have been raised).
    WizardError when the file is too big (or not text) to read."""
    state_file = checkpoint / "trainer_state.json"
    if not os.path.lexists(state_file):
        return None, None
    text = read_text_file(state_file, "trainer state", max_bytes=MAX_STATE_BYTES)
    try:
        state = json.loads(text)
    except (ValueError, RecursionError):
        return None, None
    step = state.get("global_step") if isinstance(state, dict) else None
    if not isinstance(step, int):
        return None, None
    limit = config.whole(K.MAX_STEPS)
    if limit is not None:
        return step, limit
    epochs, epoch = config.value(K.NUM_EPOCHS) or 1, state.get("epoch")
    planned = state.get(PLANNED_STEPS)
    if isinstance(epoch, (int, float)) and isinstance(epochs, (int, float)) and epoch < epochs:
        return step, None  # epochs were added since: there is more to train
    return step, planned if isinstance(planned, int) else None


def model_bytes(target: Target) -> int | None:
    """Size of the base model's weight files, when they are on this machine."""
    base = target.config.text(K.BASE_MODEL) or ""
    local = target.run_dir / Path(base).expanduser()
    if (local / "config.json").is_file():
        return weight_bytes(local)
    cached = cached_snapshot(base)
    return weight_bytes(cached) if cached is not None else None


def checkpoints_kept(config: AxolotlConfig) -> int:
    limit = config.value(K.SAVE_TOTAL_LIMIT)
    saves = int(config.value(K.SAVES_PER_EPOCH) or 1) * int(config.value(K.NUM_EPOCHS) or 1)
    if isinstance(limit, int) and limit > 0:
        saves = min(saves, limit)
    return saves + 1  # the final save of the weights


def needed_bytes(config: AxolotlConfig, weights: int) -> int:
    factor = FULL_CHECKPOINT_FACTOR if config.adapter is None else ADAPTER_CHECKPOINT_FACTOR
    return int(weights * factor * checkpoints_kept(config)) + HEADROOM_BYTES


def check_disk(pre: Preflight) -> None:
    weights = model_bytes(pre.target)
    if weights is None:
        return  # downloaded later: its size is not known here
    need = needed_bytes(pre.target.config, weights)
    folder = output_dir(pre.target)
    free = free_bytes(folder)
    if free < need:
        pre.error(
            f"{folder} has {free / GIB:.1f} GiB free; checkpoints need about {need / GIB:.1f} GiB "
            f"({checkpoints_kept(pre.target.config)} saves of a "
            f"{weights / GIB:.1f} GiB model)",
            "free disk space, set output_dir on a bigger disk, or lower save_total_limit",
        )


def deepspeed_path(target: Target) -> Path | None:
    from wizard.axolotl.deepspeed_file import find_deepspeed

    value = target.config.deepspeed
    if not value:
        return None
    return find_deepspeed(value, target.config_path.parent, target.run_dir)


def deepspeed_dict(target: Target) -> dict[str, Any] | None:
    """The DeepSpeed JSON for the memory estimate; None when it is missing or broken, which
    check_config has reported already."""
    from wizard.axolotl.deepspeed_file import load_deepspeed

    try:
        return load_deepspeed(target.config.value(K.DEEPSPEED), target.config_path, target.run_dir)
    except WizardError:
        return None
