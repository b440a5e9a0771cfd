"""The answers, as strict Pydantic models.

The spec is what the user answered, nested and strict (`extra="forbid"`). Axolotl's YAML is flat
and loose; `wizard.build.render` is the one place that maps between the two. Defaults live here
and only here: the interview and the answers file read them from these models.
"""

from __future__ import annotations

import math
from typing import Annotated, Any, Final, Literal

from pydantic import BaseModel, BeforeValidator, ConfigDict, Field, model_validator

# `axolotl`: the dataset's own `axolotl:` keys say how Axolotl reads it (its `type` among them);
# what an imported config has when its dataset type is not one the wizard asks about.
DatasetFormat = Literal["alpaca", "chat_template", "completion", "input_output", "axolotl"]
# What an answer left unset means: the wizard's defaults (a run made from answers), or Axolotl's
# (an imported config: nothing is added to what it said, so it trains as it did).
Defaults = Literal["wizard", "axolotl"]
Attention = Literal["flash", "sdpa", "eager"]
Precision = Literal["auto", "bf16", "fp16", "fp32"]
Accelerator = Literal["cuda", "cpu"]
Scheduler = Literal["cosine", "linear", "constant", "constant_with_warmup"]
Optimizer = Literal[
    "adamw_torch_fused",
    "adamw_torch",
    "adamw_bnb_8bit",
    "paged_adamw_8bit",
    "paged_adamw_32bit",
    "adafactor",
    "sgd",
]
ALL_LINEAR: Final = "all-linear"
# The learning rate each method trains well with by default, and the range people use.
DEFAULT_LEARNING_RATE: Final = {"full": 1e-5, "lora": 2e-4, "qlora": 2e-4}
USUAL_LEARNING_RATES: Final = {"full": (1e-6, 5e-5), "lora": (5e-5, 5e-4), "qlora": (5e-5, 5e-4)}


class AnswerConflict(ValueError):
    """A rule between answers, with the keys of the answers it concerns (relative to the model
    whose validator raises it), so the interview can ask one of them again."""

    def __init__(self, message: str, *keys: str) -> None:
        super().__init__(message)
        self.keys = keys


def _number_text(value: Any) -> Any:
    """YAML 1.1 (PyYAML) reads `2e-4` as text, not a number; for a float answer, number text is
    the number. Nothing else is coerced: `true` is not 1 and `1` is not true (strict models)."""
    if isinstance(value, str):
        try:
            number = float(value)
        except ValueError:
            return value
        return number if math.isfinite(number) else value
    return value


# A float answer: strict (no bools), but `2e-4` typed or written in YAML is a number.
Real = Annotated[float, BeforeValidator(_number_text)]


class StrictModel(BaseModel):
    # strict: an answer of the wrong type is an error, never silently converted (`--set
    # training.micro_batch_size=true` must not become 1).
    model_config = ConfigDict(
        extra="forbid", strict=True, allow_inf_nan=False, validate_assignment=False, frozen=False
    )


class ModelSpec(StrictModel):
    base_model: str = Field(
        min_length=1,
        description="Hugging Face Hub id (org/name) or a local folder that holds config.json",
    )
    trust_remote_code: bool = Field(
        default=False,
        description="run the model repository's own Python code (only if you trust it)",
    )


class DatasetSpec(StrictModel):
    path: str = Field(min_length=1, description="local file (jsonl, json, parquet, csv) or Hub id")
    format: DatasetFormat = Field(description="how records are laid out")
    split: str | None = Field(default=None, description="Hub dataset split; None means train")
    field_messages: str = Field(
        default="messages", description="chat_template: the field holding the list of messages"
    )
    role_key: str = Field(default="role", description="chat_template: the key of a message's role")
    content_key: str = Field(
        default="content", description="chat_template: the key of a message's text"
    )
    text_field: str = Field(default="text", description="completion: the field holding the text")
    axolotl: dict[str, Any] = Field(
        default_factory=dict,
        description="raw Axolotl keys of this dataset entry, passed through (roles_to_train, …)",
    )

    @model_validator(mode="after")
    def _mapping_only_for_its_format(self) -> DatasetSpec:
        # Compared with the defaults (not "was it given") so a full answers-file dump reloads.
        chat = [
            name
            for name in ("field_messages", "role_key", "content_key")
            if getattr(self, name) != DatasetSpec.model_fields[name].default
        ]
        if chat and self.format != "chat_template":
            raise AnswerConflict(
                f"{', '.join(chat)} only apply to format chat_template, not {self.format}; "
                "remove them or set format=chat_template",
                "field_messages",
                "role_key",
                "content_key",
                "format",
            )
        if self.text_field != "text" and self.format != "completion":
            raise AnswerConflict(
                "text_field only applies to format completion; remove it", "text_field", "format"
            )
        return self


class FullMethod(StrictModel):
    kind: Literal["full"] = "full"


class AdapterMethod(StrictModel):
    """What LoRA and QLoRA share; QLoRA also loads the base weights in 4 bit."""

    kind: Literal["lora", "qlora"]
    r: int = Field(default=16, ge=1, le=1024, description="LoRA rank")
    alpha: int = Field(default=32, ge=1, description="LoRA scaling numerator (often 2 × rank)")
    dropout: Real = Field(default=0.05, ge=0.0, lt=1.0)
    target_modules: Literal["all-linear"] | list[str] = Field(
        default=ALL_LINEAR, description="all-linear, or a list such as [q_proj, v_proj]"
    )

    @model_validator(mode="after")
    def _targets_not_empty(self) -> AdapterMethod:
        if isinstance(self.target_modules, list) and not self.target_modules:
            raise AnswerConflict(
                "target_modules is an empty list; name modules or use all-linear", "target_modules"
            )
        return self


class LoraMethod(AdapterMethod):
    kind: Literal["lora"] = "lora"


class QLoraMethod(AdapterMethod):
    kind: Literal["qlora"] = "qlora"


Method = Annotated[FullMethod | LoraMethod | QLoraMethod, Field(discriminator="kind")]
# The methods by kind: the one list every part of the wizard takes them from.
METHODS: Final[dict[str, type[StrictModel]]] = {
    "full": FullMethod,
    "lora": LoraMethod,
    "qlora": QLoraMethod,
}
MethodKind = Literal["full", "lora", "qlora"]
DEFAULT_METHOD: Final = "lora"  # what a run trains with when nobody says


class HardwareSpec(StrictModel):
    accelerator: Accelerator = Field(
        default="cuda", description="cuda GPUs, or cpu for a smoke test"
    )
    gpus_per_node: int = Field(default=1, ge=1, le=64)
    nodes: int = Field(default=1, ge=1, le=1024)
    gpu_memory_gib: Real | None = Field(default=None, gt=0, le=1024)
    bf16_supported: bool = Field(default=True, description="Ampere (A100, RTX 30xx) and newer")

    @property
    def world_size(self) -> int:
        return self.gpus_per_node * self.nodes


class TrainingSpec(StrictModel):
    sequence_len: int = Field(default=2048, ge=16, le=1_048_576)
    sample_packing: bool = Field(default=True, description="pack short samples into full rows")
    micro_batch_size: int = Field(default=1, ge=1, le=4096)
    gradient_accumulation_steps: int | None = Field(default=None, ge=1, le=65536)
    effective_batch_size: int | None = Field(
        default=None, ge=1, description="sequences per optimizer step; sets gradient accumulation"
    )
    num_epochs: int = Field(default=1, ge=1, le=1000)
    max_steps: int | None = Field(default=None, ge=1, description="stop after this many steps")
    learning_rate: Real | None = Field(
        default=None, gt=0, lt=1, description="None: 2e-4 for LoRA/QLoRA, 1e-5 for full"
    )
    lr_scheduler: Scheduler = "cosine"
    warmup_ratio: Real | None = Field(default=None, ge=0, lt=1)
    warmup_steps: int | None = Field(default=None, ge=0)
    optimizer: Optimizer = "adamw_torch_fused"
    weight_decay: Real = Field(default=0.0, ge=0)
    gradient_checkpointing: bool = True
    precision: Precision = Field(default="auto", description="auto: bf16 where supported")
    # Every backend here keeps packed samples apart: Axolotl 0.19 builds per-sample attention
    # masks for eager too (attn_decontaminates_packing), so packing is not tied to a backend.
    attention: Attention = Field(default="sdpa", description="flash needs flash-attn installed")
    val_set_size: Real = Field(default=0.0, ge=0, lt=1, description="share held out for eval")
    output_dir: str = Field(default="./outputs", min_length=1)
    seed: int = 42
    logging_steps: int = Field(default=1, ge=1)
    saves_per_epoch: int = Field(default=1, ge=0)

    @model_validator(mode="after")
    def _one_way_to_set_each_thing(self) -> TrainingSpec:
        if self.gradient_accumulation_steps is not None and self.effective_batch_size is not None:
            raise AnswerConflict(
                "set either gradient_accumulation_steps or effective_batch_size, not both",
                "effective_batch_size",
                "gradient_accumulation_steps",
            )
        if self.warmup_ratio is not None and self.warmup_steps is not None:
            raise AnswerConflict(
                "set either warmup_ratio or warmup_steps, not both", "warmup_ratio", "warmup_steps"
            )
        return self


class DistributedSpec(StrictModel):
    backend: Literal["none", "deepspeed"] = Field(
        default="none", description="none: one GPU, or plain DDP when there are several"
    )
    zero_stage: Literal[1, 2, 3] = 2
    offload_optimizer: bool = Field(default=False, description="optimizer states in CPU RAM")
    offload_params: bool = Field(default=False, description="ZeRO-3 only: parameters in CPU RAM")

    @model_validator(mode="after")
    def _offload_fits_stage(self) -> DistributedSpec:
        if self.backend == "none" and (self.offload_optimizer or self.offload_params):
            raise AnswerConflict(
                "CPU offload needs DeepSpeed; set distributed.backend=deepspeed",
                "backend",
                "offload_optimizer",
                "offload_params",
            )
        if self.offload_params and self.zero_stage != 3:
            raise AnswerConflict(
                "offload_params needs ZeRO stage 3; set distributed.zero_stage=3 "
                "or offload_params=false",
                "offload_params",
                "zero_stage",
            )
        return self


class RunSpec(StrictModel):
    defaults: Defaults = Field(
        default="wizard", description="wizard: the wizard's defaults; axolotl: an imported config"
    )
    model: ModelSpec
    datasets: list[DatasetSpec] = Field(min_length=1)
    method: Method = Field(default_factory=LoraMethod)  # DEFAULT_METHOD
    hardware: HardwareSpec = Field(default_factory=HardwareSpec)
    training: TrainingSpec = Field(default_factory=TrainingSpec)
    distributed: DistributedSpec = Field(default_factory=DistributedSpec)

    @model_validator(mode="after")
    def _parts_agree(self) -> RunSpec:
        for rule in (_precision_rule, _deepspeed_rule, _cpu_rule, _qlora_rule, _batch_rule):
            rule(self)
        return self

    @property
    def resolved_precision(self) -> Literal["bf16", "fp16", "fp32"]:
        if self.training.precision != "auto":
            return self.training.precision
        if self.hardware.accelerator == "cpu":
            return "fp32"
        return "bf16" if self.hardware.bf16_supported else "fp16"

    @property
    def gradient_accumulation(self) -> int:
        """Steps to accumulate: given directly, derived from the effective batch, or 1."""
        training = self.training
        if training.gradient_accumulation_steps is not None:
            return training.gradient_accumulation_steps
        if training.effective_batch_size is None:
            return 1
        per_step = training.micro_batch_size * self.hardware.world_size
        return training.effective_batch_size // per_step

    @property
    def learning_rate(self) -> float:
        if self.training.learning_rate is not None:
            return self.training.learning_rate
        return DEFAULT_LEARNING_RATE[self.method.kind]


def _precision_rule(spec: RunSpec) -> None:
    precision, hardware = spec.training.precision, spec.hardware
    if precision == "bf16" and hardware.accelerator == "cuda" and not hardware.bf16_supported:
        raise AnswerConflict(
            "training.precision=bf16 but hardware.bf16_supported=false (pre-Ampere GPUs such as "
            "T4 or V100 have no bf16); set training.precision=fp16 or auto",
            "training.precision",
            "hardware.bf16_supported",
        )


def _deepspeed_rule(spec: RunSpec) -> None:
    dist = spec.distributed
    if dist.backend != "deepspeed":
        return
    if spec.hardware.world_size == 1 and not (dist.offload_optimizer or dist.offload_params):
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
    if dist.zero_stage == 3 and spec.resolved_precision == "fp16":
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
    if spec.training.attention == "flash":
        raise AnswerConflict(
            "flash attention needs a CUDA GPU; set training.attention=sdpa", "training.attention"
        )
    if spec.training.optimizer.startswith("paged_") or "bnb" in spec.training.optimizer:
        raise AnswerConflict(
            f"optimizer {spec.training.optimizer} needs bitsandbytes on a GPU; "
            "use adamw_torch on the CPU",
            "training.optimizer",
        )


def _qlora_rule(spec: RunSpec) -> None:
    if spec.method.kind != "qlora":
        return
    if spec.distributed.backend == "deepspeed" and spec.distributed.zero_stage == 3:
        if spec.resolved_precision != "bf16":
            raise AnswerConflict(
                "QLoRA with ZeRO-3 stores the 4-bit weights as bf16 so ZeRO can shard them; "
                "it needs bf16 training (training.precision=bf16) or ZeRO stage 2",
                "training.precision",
                "distributed.zero_stage",
            )
        if spec.distributed.offload_params:
            raise AnswerConflict(
                "QLoRA cannot offload 4-bit parameters to the CPU with ZeRO-3; "
                "set distributed.offload_params=false",
                "distributed.offload_params",
            )


def _batch_rule(spec: RunSpec) -> None:
    training = spec.training
    target = training.effective_batch_size
    if target is None:
        return
    per_step = training.micro_batch_size * spec.hardware.world_size
    if target % per_step:
        lower = max(per_step, target - target % per_step)
        raise AnswerConflict(
            f"effective_batch_size {target} is not a multiple of micro_batch_size × GPUs = "
            f"{per_step}; use {lower} or {lower + per_step}, or change micro_batch_size",
            "training.effective_batch_size",
            "training.micro_batch_size",
        )
