"""Memory for `new`: the estimate of the run it writes, and auto-fit for answers left to default.

Auto-fit only fills answers nobody gave (no preset, answers file, --set or typed answer): its
choices go in a layer below every other, so anything given explicitly still wins, and the
answers file records the result so `new --answers` reproduces it without fitting again.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

from wizard.errors import WizardError
from wizard.estimate import AutofitError, Estimate, Plan, autofit, estimate
from wizard.layers import Answers, Layer
from wizard.models import ModelArch, resolve_arch
from wizard.runfolder import RunFolder
from wizard.spec import RunSpec

AUTOFIT_LAYER = "auto-fit"
BATCH_KEYS = ("training.gradient_accumulation_steps", "training.effective_batch_size")


@dataclass
class FitReport:
    """What `new` prints about memory: the plan auto-fit chose, or why it could not. `spec` is
    the answers resolved with the plan's layer, when there is a plan."""

    arch: ModelArch | None
    note: str | None = None
    plan: Plan | None = None
    spec: RunSpec | None = None


def model_arch(spec: RunSpec, cwd: Path) -> tuple[ModelArch | None, str | None]:
    """The architecture to estimate GPU memory with; none for a CPU run, which has no GPU."""
    if spec.hardware.accelerator == "cpu":
        return None, None
    try:
        return resolve_arch(spec.model.base_model, base_dir=cwd), None
    except WizardError as err:
        return None, f"no memory estimate: {err.message}"


def fit_answers(answers: Answers, spec: RunSpec, cwd: Path, config: dict[str, Any]) -> FitReport:
    """Add an auto-fit layer when GPU memory is known and the batch layout was left to defaults."""
    arch, note = model_arch(spec, cwd)
    if arch is None or not _wants_autofit(answers, spec):
        return FitReport(arch, note)
    memory = spec.hardware.gpu_memory_gib
    assert memory is not None
    try:
        plan = autofit(
            config,
            arch,
            gpus=spec.hardware.world_size,
            gpu_mem_gib=memory,
            target_batch=effective_target(spec),
        )
    except AutofitError as err:
        return FitReport(arch, f"auto-fit: {err.message}; {err.hint}")
    layer = _plan_layer(answers, plan)
    candidate = Answers([layer, *answers.layers])
    try:
        fitted = candidate.resolve()
    except WizardError as err:
        return FitReport(arch, f"auto-fit skipped: {err.message}")
    answers.layers.insert(0, layer)
    return FitReport(arch, None, plan, fitted)


def _wants_autofit(answers: Answers, spec: RunSpec) -> bool:
    if spec.hardware.accelerator != "cuda" or spec.hardware.gpu_memory_gib is None:
        return False
    return answers.origin("training.micro_batch_size") is None


def effective_target(spec: RunSpec) -> int:
    training = spec.training
    if training.effective_batch_size is not None:
        return training.effective_batch_size
    return training.micro_batch_size * spec.gradient_accumulation * spec.hardware.world_size


def _plan_layer(answers: Answers, plan: Plan) -> Layer:
    """Only the answers nobody gave; the effective batch stays as asked when it was asked."""
    chosen: dict[str, Any] = {
        "training.micro_batch_size": plan.micro_batch,
        "training.gradient_checkpointing": plan.grad_ckpt,
    }
    if all(answers.origin(key) is None for key in BATCH_KEYS):
        chosen["training.gradient_accumulation_steps"] = plan.grad_accum
    if plan.zero_stage and answers.origin("distributed.backend") is None:
        chosen.update(
            {
                "distributed.backend": "deepspeed",
                "distributed.zero_stage": plan.zero_stage,
                "distributed.offload_optimizer": plan.offload_optimizer,
                "distributed.offload_params": plan.offload_params,
            }
        )
    layer = Layer(AUTOFIT_LAYER)
    for key, value in chosen.items():
        if answers.origin(key) is None:
            layer.set(key, value)
    return layer


def estimate_folder(folder: RunFolder, arch: ModelArch) -> Estimate:
    spec = folder.doc.spec
    return estimate(
        folder.config,
        arch,
        deepspeed=folder.deepspeed,
        gpus=spec.hardware.world_size,
        gpu_mem_gib=spec.hardware.gpu_memory_gib,
    )


def memory_line(result: Estimate) -> str:
    capacity = f" of {result.gpu_mem_gib:g} GiB" if result.gpu_mem_gib else ""
    rough = f" (rough: {result.rough_reason})" if result.rough_reason else ""
    line = f"Memory: {result.peak_gib_per_gpu:.1f} GiB peak per GPU{capacity}: {result.verdict}"
    return line + rough
