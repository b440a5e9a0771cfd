"""The answers, as strict Pydantic models.

The spec is what the user answered, nested and strict (`extra="forbid"`). Axolotl's YAML is flat
and loose; `wizard.render.axolotl_config` is the one place that maps between the two. Defaults
live here and only here: the interview and the answers file read them from these models.
"""

# No `from __future__ import annotations` here: Pydantic would compile and evaluate the text
# of each field's annotation as it builds the models, 1.5% of `new --yes`.
from typing import Annotated, Any, Literal

from pydantic import model_validator

import wizard.runspec.recipe_choices as choices
from wizard.axolotl import attention, batch
from wizard.axolotl.schema import load_schema
from wizard.recipes.table import TrainingRecipe, training_recipe
from wizard.runspec.base import NOT_EMPTY, AnswerConflict, StrictModel, defaults_of
from wizard.runspec.datasets import DatasetSpec
from wizard.runspec.distributed import DistributedSpec
from wizard.runspec.hardware import HardwareSpec
from wizard.runspec.objective import Objective, SftObjective
from wizard.runspec.objective_rules import objective_rules
from wizard.runspec.parts import (
    DEFAULT_METHOD,
    METHODS,
    DataSpec,
    HubSpec,
    LoraMethod,
    Method,
    ModelSpec,
    SpeedSpec,
    TrackingSpec,
)
from wizard.runspec.policy import Defaults, DefaultsPolicy
from wizard.runspec.training import TrainingSpec


class RunSpec(StrictModel):
    defaults: Defaults = "wizard"
    """wizard: the wizard's defaults; axolotl: an imported config"""
    model: ModelSpec
    datasets: list[DatasetSpec]
    """what the run trains on (at least one, unless pretraining_dataset is given)"""
    test_datasets: Annotated[list[DatasetSpec] | None, NOT_EMPTY] = None
    """datasets held out for evaluation, instead of a share (val_set_size)"""
    pretraining_dataset: Annotated[list[DatasetSpec] | None, NOT_EMPTY] = None
    """datasets a pretraining run streams (Axolotl's pretraining_dataset), instead of datasets"""
    data: DataSpec = defaults_of(DataSpec)
    method: Method = defaults_of(LoraMethod)  # DEFAULT_METHOD
    objective: Objective = defaults_of(SftObjective)
    hardware: HardwareSpec = defaults_of(HardwareSpec)
    training: TrainingSpec = defaults_of(TrainingSpec)
    distributed: DistributedSpec = defaults_of(DistributedSpec)
    speed: SpeedSpec = defaults_of(SpeedSpec)
    plugins: list[str] | None = None
    """Axolotl plugins; none: those the speed answers need"""
    tracking: TrackingSpec = defaults_of(TrackingSpec)
    hub: HubSpec = defaults_of(HubSpec)

    @model_validator(mode="before")
    @classmethod
    def _pretraining_needs_no_datasets(cls, data: Any) -> Any:
        """A pretraining run streams its own datasets: `datasets` is then not a missing answer."""
        if isinstance(data, dict) and data.get("pretraining_dataset") and "datasets" not in data:
            return {**data, "datasets": []}
        return data

    @model_validator(mode="before")
    @classmethod
    def _micro_batch_floor(cls, data: Any) -> Any:
        """A trainer that needs more than one sequence a GPU (KTO) starts from its least micro
        batch when none is given; auto-fit may raise it."""
        if not isinstance(data, dict) or data.get("defaults") == "axolotl":
            return data
        objective, method = data.get("objective"), data.get("method")
        training = data.get("training") or {}
        if not isinstance(objective, dict) or not isinstance(training, dict):
            return data
        if objective.get("kind") != "kto" or "micro_batch_size" in training:
            return data
        kind = method.get("kind", DEFAULT_METHOD) if isinstance(method, dict) else DEFAULT_METHOD
        least = training_recipe("kto", str(kind)).min_micro_batch if kind in METHODS else 1
        return {**data, "training": {**training, "micro_batch_size": least}}

    @model_validator(mode="after")
    def _parts_agree(self) -> "RunSpec":
        rules = (_deepspeed_rule, _cpu_rule, _batch_rule,
                 objective_rules)  # fmt: skip
        for rule in rules:
            rule(self)
        return self

    @property
    def policy(self) -> DefaultsPolicy:
        """What an answer left unset means for this run (`runspec.policy`)."""
        return DefaultsPolicy(self.defaults)

    def needed_plugins(self) -> list[str]:
        """The plugins the speed answers switch on, by the name Axolotl's schema gives them."""
        schema, needed = load_schema(), []
        for name, value in self.speed:
            plugin = next(iter(schema.plugin_for_key(name)), None) if value else None
            if plugin and plugin not in needed:
                needed.append(plugin)
        return needed

    @property
    def resolved_precision(self) -> Literal["bf16", "fp16", "fp32"]:
        return choices.precision(self)

    @property
    def resolved_attention(self) -> str:
        """`training.attention` as the run uses it (the answer, else the GPU's recipe)."""
        return choices.attention_answer(self)

    @property
    def resolved_packing(self) -> bool:
        return choices.packing(self)

    @property
    def gradient_accumulation(self) -> int:
        """Steps to accumulate: given, from the effective batch, or the recipe's batch."""
        return choices.accumulation(self)

    @property
    def training_processes(self) -> int:
        """The GPUs that train: all of them, but those GRPO's vLLM server generates on (on the
        main node: one server serves every trainer)."""
        generation = getattr(self.objective, "generation_gpus", 0)
        # At least one: with no GPU left to train, the objective's rule says so.
        return max(1, self.hardware.world_size - generation)

    @property
    def gpus_named(self) -> bool:
        """Whether the answers say how many GPUs train: an import names none unless told (the
        launch gives them), so rules about the GPU count wait for the launch."""
        return self.policy.hardware_known or "hardware" in self.model_fields_set

    @property
    def data_parallel_ranks(self) -> int:
        """The training processes that each take their own micro batch: context and tensor
        parallel groups share one (Axolotl's effective world size)."""
        return batch.data_parallel_ranks(self.training_processes, *self.parallel_splits)

    @property
    def parallel_splits(self) -> tuple[int, int]:
        """(context parallel, tensor parallel) sizes, 1 where unset."""
        dist = self.distributed
        return dist.context_parallel_size or 1, dist.tensor_parallel_size or 1

    @property
    def learning_rate(self) -> float:
        return choices.learning_rate(self)

    @property
    def warmup_ratio(self) -> float:
        return choices.warmup_ratio(self)

    @property
    def recipe(self) -> TrainingRecipe:
        """The recipe row of this objective and method (defaults and their sources)."""
        return choices.run_recipe(self)


def _one_process(spec: RunSpec) -> bool:
    """One training process, as far as the answers say: an import names no GPUs (they are
    the launch's to give), so it is not taken for one."""
    return spec.hardware.world_size == 1 and spec.gpus_named


def _deepspeed_rule(spec: RunSpec) -> None:
    dist = spec.distributed
    if dist.backend == "fsdp" and _one_process(spec) and not dist.offload_params:
        raise AnswerConflict(
            "FSDP with one process shards nothing; set distributed.backend=none, add GPUs "
            "(hardware.gpus_per_node), or offload (distributed.offload_params=true)",
            "distributed.backend",
            "hardware.gpus_per_node",
            "distributed.offload_params",
        )
    if dist.backend != "deepspeed":
        return
    # A file of its own (`deepspeed_config`) is taken as it is: only the CPU rule applies.
    composed = dist.deepspeed_config is None
    if composed and _one_process(spec) and not (dist.offload_optimizer or dist.offload_params):
        raise AnswerConflict(
            "DeepSpeed ZeRO with one GPU shards nothing; set distributed.backend=none, "
            "add GPUs (hardware.gpus_per_node), or enable CPU offload",
            "distributed.backend",
            "hardware.gpus_per_node",
            "distributed.offload_optimizer",
        )
    if spec.hardware.accelerator == "cpu":
        raise AnswerConflict(
            "DeepSpeed ZeRO needs CUDA GPUs; set distributed.backend=none for a CPU run",
            "distributed.backend",
            "hardware.accelerator",
        )
    if composed and dist.zero_stage == 3 and spec.resolved_precision == "fp16":
        raise AnswerConflict(
            "this wizard writes ZeRO-3 configs for bf16 only (fp16 ZeRO-3 loss scaling is "
            "fragile); use ZeRO-2 on GPUs without bf16",
            "distributed.zero_stage",
            "training.precision",
        )


def _cpu_rule(spec: RunSpec) -> None:
    if spec.hardware.accelerator != "cpu":
        return
    if spec.resolved_precision != "fp32":
        raise AnswerConflict(
            f"training.precision={spec.training.precision} on the CPU: Axolotl's CPU path only "
            "trains in fp32; set training.precision=fp32 or auto",
            "training.precision",
        )
    chosen = choices.attention_backend(spec)
    if chosen not in attention.RUN_ON_CPU:
        raise AnswerConflict(
            f"attention {spec.resolved_attention} needs a CUDA GPU; set training.attention=sdpa",
            "training.attention",
        )
    if spec.distributed.launcher == "ray":
        raise AnswerConflict(
            "Axolotl's Ray launcher asks Ray for one GPU per worker (use_gpu=True), so it cannot "
            "train on the CPU; set distributed.launcher=accelerate",
            "distributed.launcher",
            "hardware.accelerator",
        )
    optimizer = spec.training.optimizer
    if optimizer.startswith("paged_") or "bnb" in optimizer or optimizer.endswith("8bit"):
        raise AnswerConflict(
            f"optimizer {optimizer} needs bitsandbytes on a GPU; use adamw_torch on the CPU",
            "training.optimizer",
        )
    if isinstance(spec.method, LoraMethod) and spec.method.load_in_8bit:
        raise AnswerConflict(
            "8-bit LoRA (method.load_in_8bit) needs bitsandbytes on a GPU; set it to false",
            "method.load_in_8bit",
        )
    method = spec.method
    kernels = [k for k in ("mlp_kernel", "qkv_kernel", "o_kernel", "embedding_kernel")
               if getattr(method, k, None)]  # fmt: skip
    if kernels:
        raise AnswerConflict(
            f"the LoRA kernels ({', '.join(kernels)}) are CUDA-only; set them to false",
            *(f"method.{k}" for k in kernels),
        )


def _batch_rule(spec: RunSpec) -> None:
    training = spec.training
    target = training.effective_batch_size
    if target is None:
        return
    per_step = training.micro_batch_size * spec.data_parallel_ranks
    if target % per_step:
        lower = max(per_step, target - target % per_step)
        raise AnswerConflict(
            f"effective_batch_size {target} is not a multiple of micro_batch_size × "
            f"data-parallel ranks = {per_step}; use {lower} or {lower + per_step}, or change "
            "micro_batch_size",
            "training.effective_batch_size",
            "training.micro_batch_size",
        )
