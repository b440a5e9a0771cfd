"""What the wizard chooses for the answers left unset, from the recipe table (`wizard.recipes`):
precision, attention and packing for the GPU's architecture; learning rate, effective batch and
warmup for the objective and method; GRPO's generation batch. (A given answer that makes a mix
Axolotl warns about on that GPU is refused by `check`'s rules, which the answers path runs:
`wizard.lint.gpu_rules`.)

An imported config (`defaults: axolotl`) gets none of these: what it left out is Axolotl's to
decide, so it trains as it did.
"""

from __future__ import annotations

from typing import Literal, Protocol

from wizard.axolotl import attention
from wizard.recipes.table import ArchRecipe, TrainingRecipe, arch_recipe, training_recipe
from wizard.runspec.hardware import HardwareSpec
from wizard.runspec.objective import GrpoObjective, Objective
from wizard.runspec.parts import Method
from wizard.runspec.policy import DefaultsPolicy
from wizard.runspec.training import TrainingSpec

# Axolotl warns that packing with torch SDPA in bf16 "may result in 0.0 loss" before Hopper (the
# lint rule packing-sdpa-bf16): the recipe does not choose packing there.
HOPPER = (9, 0)
# flash-attn 2 runs on Ampere (8.0) and newer.
FLASH_ATTN_FIRST = (8, 0)
Resolved = Literal["bf16", "fp16", "fp32"]


class RunSpec(Protocol):
    """The parts of `wizard.runspec.run.RunSpec` read here (that module imports this one)."""

    method: Method
    objective: Objective
    hardware: HardwareSpec
    training: TrainingSpec

    @property
    def policy(self) -> DefaultsPolicy: ...

    @property
    def training_processes(self) -> int: ...

    @property
    def data_parallel_ranks(self) -> int: ...


def gpu_recipe(spec: RunSpec) -> ArchRecipe:
    hardware = spec.hardware
    return arch_recipe(hardware.capability, hardware.bf16)


def run_recipe(spec: RunSpec) -> TrainingRecipe:
    return training_recipe(spec.objective.kind, spec.method.kind)


def precision(spec: RunSpec) -> Resolved:
    """As answered; auto: fp32 on the CPU, else the GPU's recipe (bf16 from Ampere on; fp16
    before it, but fp32 for a full fine-tune, whose fp16 weights the AMP scaler refuses)."""
    chosen = spec.training.precision
    if chosen != "auto":
        return chosen
    if spec.hardware.accelerator == "cpu":
        return "fp32"
    if spec.hardware.bf16:
        return "bf16"
    if spec.method.kind == "full" and spec.policy.fills_recipes:
        return _resolved(gpu_recipe(spec).full_precision)
    return "fp16"


def _resolved(name: str) -> Resolved:
    if name not in ("bf16", "fp16", "fp32"):
        raise ValueError(f"recipes.yaml names precision {name!r}; use bf16, fp16 or fp32")
    return name  # type: ignore[return-value]


def attention_answer(spec: RunSpec) -> str:
    """The `training.attention` the run uses: as answered, else the GPU's recipe (torch SDPA on
    the CPU)."""
    if spec.training.attention is not None:
        return spec.training.attention
    if spec.hardware.accelerator == "cpu" or not spec.policy.fills_recipes:
        return "sdpa"
    return gpu_recipe(spec).attention


def attention_backend(spec: RunSpec) -> str:
    """Axolotl's `attn_implementation` for the run."""
    chosen = attention_answer(spec)
    return attention.FROM_ANSWER.get(chosen, chosen)


def packing(spec: RunSpec) -> bool:
    """`sample_packing`: as answered; else off for preference and RL trainers (they cannot read
    packed rows) and where the attention would mix samples or lose the loss; else the recipe's."""
    given = spec.training.sample_packing
    if given is not None:
        return given
    if spec.objective.kind != "sft" or not spec.policy.fills_recipes:
        return False
    if _sdpa_bf16_before_hopper(spec):
        return False
    return spec.hardware.accelerator == "cpu" or gpu_recipe(spec).sample_packing


def _sdpa_bf16_before_hopper(spec: RunSpec) -> bool:
    """Axolotl's 0.0-loss mix: packing, torch SDPA and bf16 on a GPU before Hopper (a GPU nobody
    named counts as one: the recipe takes it for Ampere)."""
    if spec.hardware.accelerator == "cpu" or precision(spec) != "bf16":
        return False
    if attention_backend(spec) != "sdpa":
        return False
    capability = spec.hardware.capability
    return capability is None or capability < HOPPER


def learning_rate(spec: RunSpec) -> float:
    given = spec.training.learning_rate
    return given if given is not None else run_recipe(spec).learning_rate


def warmup_ratio(spec: RunSpec) -> float:
    given = spec.training.warmup_ratio
    return given if given is not None else run_recipe(spec).warmup_ratio


def accumulation(spec: RunSpec) -> int:
    """Steps to accumulate: given; from the effective batch given; GRPO's smallest valid
    generation batch; else the recipe's effective batch (1 for an import: Axolotl's default)."""
    training = spec.training
    if training.gradient_accumulation_steps is not None:
        return training.gradient_accumulation_steps
    per_step = training.micro_batch_size * spec.data_parallel_ranks
    if training.effective_batch_size is not None:
        return max(1, training.effective_batch_size // per_step)
    if not spec.policy.fills_recipes:
        return 1
    if isinstance(spec.objective, GrpoObjective):
        return grpo_accumulation(spec.objective.num_generations, training.micro_batch_size,
                                 spec.training_processes)  # fmt: skip
    return run_recipe(spec).batch_for(per_step) // per_step


def grpo_accumulation(generations: int, micro: int, trainers: int) -> int:
    """The least accumulation whose generation batch (micro x accumulation on each trainer) is
    whole groups of `generations` and at least `generations` x trainers: Axolotl's check."""
    steps = 1
    while (micro * steps) % generations or micro * steps < generations * trainers:
        steps += 1
    return steps


def min_micro_batch(spec: RunSpec) -> int:
    """The smallest micro batch the trainer works with (KTO's KL estimate needs two)."""
    if not spec.policy.fills_recipes:
        return 1
    return run_recipe(spec).min_micro_batch
