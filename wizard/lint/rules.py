"""Cross-field rules that Axolotl enforces in its model validators, said more plainly.

Only rules Axolotl itself applies live here (each names the validator it mirrors), so an error
from this module means Axolotl would refuse the config too. Rules are pure functions of the
context; `RULES` is the list `lint_dict` runs.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from wizard.axolotl import keys as K
from wizard.axolotl.attention import LEGACY_FLAGS, SHORT_NAMES
from wizard.lint.context import Ctx
from wizard.lint.findings import Finding, Rename

Rule = Callable[[Ctx], list[Finding]]


def datasets_required(ctx: Ctx) -> list[Finding]:
    """DatasetValidationMixin.check_dataset_or_pretraining_dataset."""
    if not ctx.view.has(K.DATASETS) and not ctx.view.has(K.PRETRAINING_DATASET):
        return [
            ctx.at(
                "error",
                "no-datasets",
                "the config has neither `datasets` nor "
                "`pretraining_dataset`; there is nothing to train on",
                "add a `datasets:` list (path and type of each dataset)",
            )
        ]
    return []


def streamed_max_steps(ctx: Ctx) -> list[Finding]:
    """PretrainingValidationMixin.check_pretraining_w_max_steps and check_streaming_w_max_steps:
    a streamed dataset has no length, so the trainer cannot schedule the learning rate without
    a step count."""
    streamed = next((k for k in (K.PRETRAINING_DATASET, K.STREAMING) if ctx.view.on(k)), None)
    if streamed is None or ctx.view.on(K.MAX_STEPS):
        return []
    what = "`pretraining_dataset` streams" if streamed == K.PRETRAINING_DATASET else "streaming"
    return [
        ctx.at(
            "error",
            "streamed-max-steps",
            f"{what}, so the data's length is unknown: Axolotl needs `max_steps` to schedule "
            "the learning rate",
            "set max_steps (training.max_steps=N: the optimizer steps to train)",
            (streamed,),
        )
    ]


def streamed_packing(ctx: Ctx) -> list[Finding]:
    """PretrainingValidationMixin.check_streaming_w_multiple_datasets."""
    view = ctx.view
    if not (view.on(K.STREAMING) and view.on(K.SAMPLE_PACKING) and len(view.datasets) > 1):
        return []
    return [
        ctx.at(
            "error",
            "streamed-packing",
            "Axolotl cannot pack samples from several streamed datasets",
            "set sample_packing: false, or stream one dataset",
            (K.SAMPLE_PACKING,),
        )
    ]


def batch_size_fields(ctx: Ctx) -> list[Finding]:
    """TrainingValidationMixin.check_batch_size_fields and check_gas_bsz."""
    view = ctx.view
    if view.on(K.GRADIENT_ACCUMULATION_STEPS) and view.on(K.BATCH_SIZE):
        return [
            ctx.at(
                "error",
                "batch-size",
                "set only one of `gradient_accumulation_steps` "
                "and `batch_size`; Axolotl derives the other",
                "delete `batch_size` (the effective batch is micro_batch_size × "
                "gradient_accumulation_steps × GPUs)",
                (K.BATCH_SIZE,),
            )
        ]
    if view.on(K.BATCH_SIZE) and not (
        view.on(K.MICRO_BATCH_SIZE) or view.on(K.GRADIENT_ACCUMULATION_STEPS)
    ):
        return [
            ctx.at(
                "error",
                "batch-size",
                "`batch_size` alone is not enough: Axolotl needs `micro_batch_size` too",
                "add `micro_batch_size: 1` (per GPU)",
                (K.BATCH_SIZE,),
            )
        ]
    return []


def early_stopping(ctx: Ctx) -> list[Finding]:
    """ComplexValidationMixin.check_early_stopping. Fractional steps (of the run) are fine: Axolotl
    checks only that eval_steps divides save_steps, with Python's `%` on the numbers as given."""
    if not ctx.view.on(K.EARLY_STOPPING_PATIENCE):
        return []
    save, evals = _step(ctx.view.value(K.SAVE_STEPS)), _step(ctx.view.value(K.EVAL_STEPS))
    if not save or not evals:
        return [
            ctx.at(
                "error",
                "early-stopping",
                "`early_stopping_patience` needs both "
                "`save_steps` and `eval_steps` (it compares checkpoints by eval loss)",
                "set e.g. `eval_steps: 50` and `save_steps: 100`, or remove "
                "early_stopping_patience",
                (K.EARLY_STOPPING_PATIENCE,),
            )
        ]
    if save % evals != 0:
        return [
            ctx.at(
                "error",
                "early-stopping",
                f"`early_stopping_patience` needs "
                f"eval_steps ({evals:g}) to divide save_steps ({save:g}) evenly",
                f"set save_steps to a multiple of {evals:g}",
                (K.SAVE_STEPS,),
            )
        ]
    return []


def _step(value: Any) -> float | None:
    """A step count or fraction as Pydantic's `int | float` reads it."""
    if value is None or isinstance(value, bool):
        return None
    try:
        number = float(value)
    except (TypeError, ValueError):
        return None
    return int(number) if number.is_integer() else number


def _int(value: Any) -> int | None:
    try:
        return int(value) if value is not None and not isinstance(value, bool) else None
    except (TypeError, ValueError):
        return None


def save_best_metric(ctx: Ctx) -> list[Finding]:
    """AxolotlInputConfig.check_save_strategy_best_requires_metric."""
    if ctx.view.value(K.SAVE_STRATEGY) == "best" and not ctx.view.value(K.METRIC_FOR_BEST_MODEL):
        return [
            ctx.at(
                "error",
                "save-best-metric",
                "`save_strategy: best` needs `metric_for_best_model`",
                "add `metric_for_best_model: eval_loss`",
                (K.SAVE_STRATEGY,),
            )
        ]
    return []


def legacy_attention_with_impl(ctx: Ctx) -> list[Finding]:
    """AxolotlInputConfig's attention normalisation: the new key excludes the old flags."""
    flags = sorted(k for k in LEGACY_FLAGS if ctx.view.on(k))
    if ctx.view.value(K.ATTN_IMPLEMENTATION) and flags:
        return [
            ctx.at(
                "error",
                "attention-flags",
                f"`attn_implementation` cannot be combined "
                f"with the legacy flag(s) {', '.join(flags)}",
                f"delete {', '.join(flags)}; keep only attn_implementation",
                (flags[0],),
            )
        ]
    return []


def short_attention_name(ctx: Ctx) -> list[Finding]:
    """AxolotlInputConfig rejects the short attn_implementation aliases."""
    impl = ctx.view.text(K.ATTN_IMPLEMENTATION)
    if impl is not None and impl in SHORT_NAMES:
        full = SHORT_NAMES[impl]
        key = (K.ATTN_IMPLEMENTATION,)
        return [
            ctx.at(
                "error",
                "attention-name",
                f"`attn_implementation: {impl}` is not accepted; the name is `{full}`",
                f"write `attn_implementation: {full}`",
                key,
                Rename(key, K.ATTN_IMPLEMENTATION, full),
            )
        ]
    return []


def ebft_strided_compile(ctx: Ctx) -> list[Finding]:
    """EBFTValidationMixin.check_ebft_torch_compile."""
    view = ctx.view
    strided = view.mapping(K.EBFT).get("mode") == "strided"
    if strided and view.value(K.TORCH_COMPILE) is True and view.on(K.GRADIENT_CHECKPOINTING):
        return [
            ctx.at(
                "error",
                "ebft-compile",
                "EBFT strided mode with `torch_compile: true` "
                "and gradient checkpointing fails (BlockMask mismatch on recompute)",
                "remove `torch_compile`; flex_attention compiles itself",
                (K.TORCH_COMPILE,),
            )
        ]
    return []


def rl_packing(ctx: Ctx) -> list[Finding]:
    """RLValidationMixin.check_sample_packing_w_rl."""
    if ctx.view.sample_packing and ctx.view.rl:
        return [
            ctx.at(
                "error",
                "rl-packing",
                f"`sample_packing` does not work with `rl: {ctx.view.rl}`",
                "set `sample_packing: false`",
                (K.SAMPLE_PACKING,),
            )
        ]
    return []


def warmup_both(ctx: Ctx) -> list[Finding]:
    """TrainingValidationMixin.check_warmup."""
    if ctx.view.on(K.WARMUP_STEPS) and ctx.view.on(K.WARMUP_RATIO):
        return [
            ctx.at(
                "error",
                "warmup",
                "set only one of `warmup_steps` and `warmup_ratio`",
                "delete one of them",
                (K.WARMUP_RATIO,),
            )
        ]
    return []


def context_parallel_ring_attn(ctx: Ctx) -> list[Finding]:
    """ComplexValidationMixin.check_context_parallel_size: imports ring_flash_attn."""
    view = ctx.view
    size = _int(view.value(K.CONTEXT_PARALLEL_SIZE) or view.value(K.SEQUENCE_PARALLEL_DEGREE))
    if size and size > 1 and ctx.env.has("ring_flash_attn") is False:
        return [
            ctx.at(
                "error",
                "missing-package",
                f"context_parallel_size is {size} but "
                "ring-flash-attn is not installed; Axolotl refuses to start",
                "pip install 'ring-flash-attn>=0.1.4' (or axolotl[ring-flash-attn])",
                (K.CONTEXT_PARALLEL_SIZE,),
            )
        ]
    return []


def save_safetensors_false(ctx: Ctx) -> list[Finding]:
    """ModelOutputConfig.validate_save_safetensors: Transformers 5 saves safetensors only."""
    if ctx.view.value(K.SAVE_SAFETENSORS) is False:
        return [
            ctx.at(
                "error",
                "save-safetensors",
                "`save_safetensors: false` is refused: Transformers 5 always saves safetensors",
                "delete it (check --fix does)",
                (K.SAVE_SAFETENSORS,),
            )
        ]
    return []


def lora_kernels_remote_code(ctx: Ctx) -> list[Finding]:
    """LoRAValidationMixin.check_lora_kernels_trust_remote_code."""
    kernels = [
        k for k in (K.LORA_MLP_KERNEL, K.LORA_QKV_KERNEL, K.LORA_O_KERNEL) if ctx.view.value(k)
    ]
    if kernels and ctx.view.value(K.TRUST_REMOTE_CODE):
        return [
            ctx.at(
                "error",
                "lora-kernels-remote-code",
                f"Axolotl's LoRA kernels ({', '.join(kernels)}) do not work with a model's own "
                "code (`trust_remote_code`)",
                "set `trust_remote_code: false`, or the lora_*_kernel keys to false",
                (kernels[0],),
            )
        ]
    return []


RULES: list[Rule] = [
    datasets_required,
    streamed_max_steps,
    streamed_packing,
    batch_size_fields,
    early_stopping,
    save_best_metric,
    legacy_attention_with_impl,
    short_attention_name,
    ebft_strided_compile,
    rl_packing,
    warmup_both,
    context_parallel_ring_attn,
    save_safetensors_false,
    lora_kernels_remote_code,
]
