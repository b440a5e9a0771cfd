"""Cross-field rules that Axolotl enforces in its model validators, said more plainly.

Only rules Axolotl itself applies live here (each names the validator it mirrors), so an error
from this module means Axolotl would refuse the config too. Rules are pure functions of the
context; `RULES` is the list `lint_dict` runs.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from wizard.axolotl.attention import LEGACY_FLAGS, SHORT_NAMES
from wizard.lint.context import Ctx
from wizard.lint.findings import Finding, Rename

Rule = Callable[[Ctx], list[Finding]]


def datasets_required(ctx: Ctx) -> list[Finding]:
    """DatasetValidationMixin.check_dataset_or_pretraining_dataset."""
    if ctx.value("datasets") is None and ctx.value("pretraining_dataset") is None:
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


def batch_size_fields(ctx: Ctx) -> list[Finding]:
    """TrainingValidationMixin.check_batch_size_fields and check_gas_bsz."""
    if ctx.enabled("gradient_accumulation_steps") and ctx.enabled("batch_size"):
        return [
            ctx.at(
                "error",
                "batch-size",
                "set only one of `gradient_accumulation_steps` "
                "and `batch_size`; Axolotl derives the other",
                "delete `batch_size` (the effective batch is micro_batch_size × "
                "gradient_accumulation_steps × GPUs)",
                ("batch_size",),
            )
        ]
    if ctx.enabled("batch_size") and not (
        ctx.enabled("micro_batch_size") or ctx.enabled("gradient_accumulation_steps")
    ):
        return [
            ctx.at(
                "error",
                "batch-size",
                "`batch_size` alone is not enough: Axolotl needs `micro_batch_size` too",
                "add `micro_batch_size: 1` (per GPU)",
                ("batch_size",),
            )
        ]
    return []


def early_stopping(ctx: Ctx) -> list[Finding]:
    """ComplexValidationMixin.check_early_stopping. Fractional steps (of the run) are fine: Axolotl
    checks only that eval_steps divides save_steps, with Python's `%` on the numbers as given."""
    if not ctx.enabled("early_stopping_patience"):
        return []
    save, evals = _step(ctx.value("save_steps")), _step(ctx.value("eval_steps"))
    if not save or not evals:
        return [
            ctx.at(
                "error",
                "early-stopping",
                "`early_stopping_patience` needs both "
                "`save_steps` and `eval_steps` (it compares checkpoints by eval loss)",
                "set e.g. `eval_steps: 50` and `save_steps: 100`, or remove "
                "early_stopping_patience",
                ("early_stopping_patience",),
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
                ("save_steps",),
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
    if ctx.value("save_strategy") == "best" and not ctx.value("metric_for_best_model"):
        return [
            ctx.at(
                "error",
                "save-best-metric",
                "`save_strategy: best` needs `metric_for_best_model`",
                "add `metric_for_best_model: eval_loss`",
                ("save_strategy",),
            )
        ]
    return []


def legacy_attention_with_impl(ctx: Ctx) -> list[Finding]:
    """AxolotlInputConfig's attention normalisation: the new key excludes the old flags."""
    flags = sorted(k for k in LEGACY_FLAGS if ctx.enabled(k))
    if ctx.value("attn_implementation") and flags:
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
    impl = ctx.value("attn_implementation")
    if isinstance(impl, str) and impl in SHORT_NAMES:
        full = SHORT_NAMES[impl]
        key = ("attn_implementation",)
        return [
            ctx.at(
                "error",
                "attention-name",
                f"`attn_implementation: {impl}` is not accepted; the name is `{full}`",
                f"write `attn_implementation: {full}`",
                key,
                Rename(key, "attn_implementation", full),
            )
        ]
    return []


def _fsdp2(ctx: Ctx) -> bool:
    fsdp = ctx.value("fsdp_config")
    version = ctx.value("fsdp_version")
    if version is None and isinstance(fsdp, dict):
        version = fsdp.get("fsdp_version", fsdp.get("version"))
    return bool(fsdp) and str(version) == "2"


def fsdp2_optimizer(ctx: Ctx) -> list[Finding]:
    """OptimizationValidationMixin.check_fsdp2_w_8bit_optimizer."""
    optimizer = ctx.value("optimizer")
    if _fsdp2(ctx) and optimizer in ("adamw_8bit", "adamw_bnb_8bit"):
        return [
            ctx.at(
                "error",
                "fsdp2-optimizer",
                f"FSDP2 does not work with the bitsandbytes optimizer {optimizer}",
                "use `optimizer: adamw_torch_8bit`",
                ("optimizer",),
            )
        ]
    return []


def fsdp2_ram_efficient_4bit(ctx: Ctx) -> list[Finding]:
    """OptimizationValidationMixin.check_fsdp2_cpu_ram_efficient_loading_w_4bit."""
    fsdp = ctx.value("fsdp_config")
    if (
        _fsdp2(ctx)
        and isinstance(fsdp, dict)
        and fsdp.get("cpu_ram_efficient_loading") is True
        and ctx.enabled("load_in_4bit")
    ):
        return [
            ctx.at(
                "error",
                "fsdp2-4bit-loading",
                "FSDP2 with load_in_4bit deadlocks when "
                "`fsdp_config.cpu_ram_efficient_loading` is true",
                "set `fsdp_config.cpu_ram_efficient_loading: false`",
                ("fsdp_config", "cpu_ram_efficient_loading"),
            )
        ]
    return []


def ebft_strided_compile(ctx: Ctx) -> list[Finding]:
    """EBFTValidationMixin.check_ebft_torch_compile."""
    ebft = ctx.value("ebft")
    strided = isinstance(ebft, dict) and ebft.get("mode") == "strided"
    if strided and ctx.value("torch_compile") is True and ctx.enabled("gradient_checkpointing"):
        return [
            ctx.at(
                "error",
                "ebft-compile",
                "EBFT strided mode with `torch_compile: true` "
                "and gradient checkpointing fails (BlockMask mismatch on recompute)",
                "remove `torch_compile`; flex_attention compiles itself",
                ("torch_compile",),
            )
        ]
    return []


def rl_packing(ctx: Ctx) -> list[Finding]:
    """RLValidationMixin.check_sample_packing_w_rl."""
    if ctx.enabled("sample_packing") and ctx.value("rl"):
        return [
            ctx.at(
                "error",
                "rl-packing",
                f"`sample_packing` does not work with `rl: {ctx.value('rl')}`",
                "set `sample_packing: false`",
                ("sample_packing",),
            )
        ]
    return []


def warmup_both(ctx: Ctx) -> list[Finding]:
    """TrainingValidationMixin.check_warmup."""
    if ctx.enabled("warmup_steps") and ctx.enabled("warmup_ratio"):
        return [
            ctx.at(
                "error",
                "warmup",
                "set only one of `warmup_steps` and `warmup_ratio`",
                "delete one of them",
                ("warmup_ratio",),
            )
        ]
    return []


def context_parallel_ring_attn(ctx: Ctx) -> list[Finding]:
    """ComplexValidationMixin.check_context_parallel_size: imports ring_flash_attn."""
    size = _int(ctx.value("context_parallel_size") or ctx.value("sequence_parallel_degree"))
    if size and size > 1 and ctx.env.has("ring_flash_attn") is False:
        return [
            ctx.at(
                "error",
                "missing-package",
                f"context_parallel_size is {size} but "
                "ring-flash-attn is not installed; Axolotl refuses to start",
                "pip install 'ring-flash-attn>=0.1.4' (or axolotl[ring-flash-attn])",
                ("context_parallel_size",),
            )
        ]
    return []


RULES: list[Rule] = [
    datasets_required,
    batch_size_fields,
    early_stopping,
    save_best_metric,
    legacy_attention_with_impl,
    short_attention_name,
    fsdp2_optimizer,
    fsdp2_ram_efficient_4bit,
    ebft_strided_compile,
    rl_packing,
    warmup_both,
    context_parallel_ring_attn,
]
