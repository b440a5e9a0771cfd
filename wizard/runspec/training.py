"""How the run trains: batch, schedule, optimizer, precision, evaluation and saving cadence."""

# No `from __future__ import annotations` here: Pydantic would compile and evaluate the text
# of each field's annotation as it builds the models, 1.5% of `new --yes`.
from typing import Annotated, Final, Literal

from pydantic import Field, model_validator

from wizard.runspec.base import (
    NOT_EMPTY,
    AnswerConflict,
    AxolotlChoices,
    Range,
    Real,
    StrictModel,
    axolotl_name,
)

Precision = Literal["auto", "bf16", "fp16", "fp32"]
# The wizard's short names for the usual backends; any of Axolotl's own names is an answer too.
SHORT_ATTENTION: Final = ("flash", "sdpa", "eager")


def _hub_kernel(value: str) -> bool:
    # Axolotl passes a Hub kernel (`kernels-community/flash-attn3`) through to transformers.
    return "/" in value


Attention = Annotated[str, AxolotlChoices("attn_implementation", SHORT_ATTENTION, _hub_kernel)]
Checkpointing = bool | axolotl_name("gradient_checkpointing")
Offloading = bool | axolotl_name("activation_offloading")
# A cadence: every N steps, or (a float under 1) a share of the total steps.
Cadence = int | Real
# Bounds far past any run, so a typo (or a hostile file) is one line, not a number that
# overflows a C integer inside the trainer: steps, counts and seeds.
MAX_STEPS = 100_000_000
MAX_COUNT = 1_000_000
MAX_SEED = 2**32 - 1  # numpy's seeds are 32-bit unsigned


class TrainingSpec(StrictModel):
    sequence_len: Annotated[int, Range(ge=16, le=1_048_576)] = 2048
    sample_packing: bool | None = None
    """pack short samples into full rows; none: the recipe's (SFT: yes, where the attention
    backend keeps packed rows apart)"""
    pad_to_sequence_len: bool | None = None
    """none: padded to full rows when packing"""
    sample_packing_group_size: Annotated[int | None, Range(ge=1, le=MAX_STEPS)] = None
    """samples packed at a time (Axolotl: 100000)"""
    sample_packing_bin_size: Annotated[int | None, Range(ge=1, le=MAX_COUNT)] = None
    """samples a packed row holds (Axolotl: 200)"""
    micro_batch_size: Annotated[int, Range(ge=1, le=4096)] = 1
    gradient_accumulation_steps: Annotated[int | None, Range(ge=1, le=65536)] = None
    effective_batch_size: Annotated[int | None, Range(ge=1, le=MAX_COUNT)] = None
    """sequences per optimizer step; sets gradient accumulation; none: the recipe's"""
    num_epochs: Annotated[int, Range(ge=1, le=1000)] = 1
    max_steps: Annotated[int | None, Range(ge=1, le=MAX_STEPS)] = None
    """stop after this many steps"""
    learning_rate: Annotated[Real | None, Range(gt=0, lt=1)] = None
    """none: the recipe's for the method and objective"""
    lr_scheduler: axolotl_name("lr_scheduler") = "cosine"  # type: ignore[valid-type]
    cosine_min_lr_ratio: Annotated[Real | None, Range(ge=0, le=1)] = None
    cosine_constant_lr_ratio: Annotated[Real | None, Range(ge=0, le=1)] = None
    warmup_ratio: Annotated[Real | None, Range(ge=0, lt=1)] = None
    """none: the recipe's"""
    warmup_steps: Annotated[int | None, Range(ge=0, le=MAX_STEPS)] = None
    optimizer: axolotl_name("optimizer") = "adamw_torch_fused"  # type: ignore[valid-type]
    adam_beta1: Annotated[Real | None, Range(gt=0, lt=1)] = None
    adam_beta2: Annotated[Real | None, Range(gt=0, lt=1)] = None
    adam_epsilon: Annotated[Real | None, Range(gt=0)] = None
    weight_decay: Annotated[Real, Range(ge=0)] = 0.0
    max_grad_norm: Annotated[Real | None, Range(ge=0)] = None
    """gradient clipping"""
    neftune_noise_alpha: Annotated[Real | None, Range(gt=0)] = None
    """NEFTune noise"""
    group_by_length: bool | None = None
    dataloader_num_workers: Annotated[int | None, Range(ge=0, le=1024)] = None
    """processes loading batches; 0: the trainer's own"""
    dataloader_pin_memory: bool | None = None
    """batches in page-locked RAM, for faster copies to the GPU"""
    dataloader_prefetch_factor: Annotated[int | None, Range(ge=1, le=1024)] = None
    """batches each loading process reads ahead"""
    gradient_checkpointing: Checkpointing = True  # type: ignore[valid-type]
    """true, false, offload (to CPU) or offload_disk"""
    use_reentrant: bool | None = None
    """gradient_checkpointing_kwargs.use_reentrant"""
    activation_offloading: Offloading | None = None  # type: ignore[valid-type]
    precision: Precision = "auto"
    """auto: the GPU's recipe (bf16 from Ampere on, else fp16)"""
    precision_flags: Literal["both", "on"] = "both"
    """both: bf16 and fp16 are written (with precision auto, fp16: false beside bf16: auto: fp32,
    not fp16, on a GPU without bf16); on: only the one that is on, as many configs write it"""
    tf32: bool | None = None
    """none: on where the GPU has it"""
    bfloat16: bool | None = None
    """true: Axolotl reads it as bf16 (weights and training in bf16)"""
    float16: bool | None = None
    """true: weights loaded in fp16, without the trainer's mixed precision (fp16)"""
    attention: Attention | None = None
    """none: the GPU's recipe (flash-attention 2 on Ampere to Hopper, else sdpa); flash needs the
    flash-attn package"""
    val_set_size: Annotated[Real, Range(ge=0, lt=1)] = 0.0
    """share held out for eval"""
    evals_per_epoch: Annotated[int | None, Range(ge=0, le=MAX_COUNT)] = None
    eval_steps: Cadence | None = Field(default=None, gt=0, le=MAX_STEPS)
    """every N steps"""
    eval_strategy: axolotl_name("eval_strategy") | None = None  # type: ignore[valid-type]
    eval_batch_size: Annotated[int | None, Range(ge=1, le=4096)] = None
    eval_sample_packing: bool | None = None
    """none: as packing allows"""
    early_stopping_patience: Annotated[int | None, Range(ge=1, le=MAX_COUNT)] = None
    loss_watchdog_threshold: Annotated[Real | None, Range(gt=0)] = None
    loss_watchdog_patience: Annotated[int | None, Range(ge=1, le=MAX_COUNT)] = None
    eval_max_new_tokens: Annotated[int | None, Range(ge=0, le=MAX_COUNT)] = None
    """tokens generated per sample for eval_table_size and eval_causal_lm_metrics; none or 0: 128
    (Axolotl deprecates it for generation_max_new_tokens)"""
    load_best_model_at_end: bool | None = None
    """the checkpoint with the best metric_for_best_model is loaded at the end (saves and evals
    on the same cadence)"""
    metric_for_best_model: Annotated[str | None, NOT_EMPTY] = None
    """the eval metric that ranks checkpoints; none: loss"""
    output_dir: Annotated[str, NOT_EMPTY] = "./outputs"
    seed: Annotated[int, Range(ge=0, le=MAX_SEED)] = 42
    logging_steps: Annotated[int, Range(ge=1, le=MAX_STEPS)] = 1
    saves_per_epoch: Annotated[int | None, Range(ge=0, le=MAX_COUNT)] = None
    """none: 1, unless save_steps or save_strategy is given"""
    save_steps: Cadence | None = Field(default=None, gt=0, le=MAX_STEPS)
    """every N steps"""
    save_strategy: axolotl_name("save_strategy") | None = None  # type: ignore[valid-type]
    save_total_limit: Annotated[int | None, Range(ge=1, le=MAX_COUNT)] = None
    """checkpoints kept"""
    save_only_model: bool | None = None
    auto_resume_from_checkpoints: bool | None = None
    save_safetensors: bool | None = None
    """Axolotl 0.19 takes only true (Transformers 5 always writes safetensors)"""
    strict: bool | None = None
    """Axolotl's strict: CLI overrides"""

    @model_validator(mode="after")
    def _one_way_to_set_each_thing(self) -> "TrainingSpec":
        for first, second, keys in _EXCLUSIVE:
            if getattr(self, first) is not None and getattr(self, second) is not None:
                raise AnswerConflict(f"set either {first} or {second}, not both", *keys)
        if self.saves_per_epoch is not None and self.save_steps is not None:
            raise AnswerConflict(
                "saves_per_epoch and save_steps are two cadences for the same checkpoints "
                "(Axolotl takes one); keep one (training.saves_per_epoch=null clears it)",
                "saves_per_epoch",
                "save_steps",
            )
        for cadence, strategy in (("save_steps", "save_strategy"), ("eval_steps", "eval_strategy"),
                                  ("evals_per_epoch", "eval_strategy")):  # fmt: skip
            if getattr(self, cadence) and getattr(self, strategy) not in (None, "steps"):
                raise AnswerConflict(
                    f"{cadence} needs {strategy}=steps (or none), not {getattr(self, strategy)}",
                    strategy,
                    cadence,
                )
        if self.use_reentrant is not None and self.gradient_checkpointing is False:
            raise AnswerConflict(
                "use_reentrant only applies with gradient_checkpointing; remove it",
                "use_reentrant",
                "gradient_checkpointing",
            )
        return self

    @property
    def saves_by_steps(self) -> bool:
        """Checkpoints follow save_steps/save_strategy, so saves_per_epoch is not written."""
        return self.save_steps is not None or self.save_strategy is not None


# Answers that set the same thing two ways (Axolotl takes one of each), and the keys to re-ask.
_EXCLUSIVE = (
    ("gradient_accumulation_steps", "effective_batch_size",
     ("effective_batch_size", "gradient_accumulation_steps")),
    ("warmup_ratio", "warmup_steps", ("warmup_ratio", "warmup_steps")),
    ("evals_per_epoch", "eval_steps", ("eval_steps", "evals_per_epoch")),
)  # fmt: skip
