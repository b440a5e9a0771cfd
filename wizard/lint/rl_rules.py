"""Axolotl's rules for its RL trainers: GRPO's groups (arithmetic on the batch), the settings a
trainer refuses (SimPO's warmup ratio, KTO's columns)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from wizard.axolotl import keys as K
from wizard.lint.context import Ctx
from wizard.lint.findings import Finding
from wizard.lint.rules import Rule

_KEY = (K.TRL, "num_generations")


def _whole(value: Any) -> int | None:
    if isinstance(value, bool):
        return None
    try:
        return int(value) if value is not None else None
    except (TypeError, ValueError):
        return None


def _generation_batch(ctx: Ctx, trl: Mapping[str, Any]) -> tuple[int | None, str]:
    """GRPO's generation batch and where it comes from, as Axolotl computes it."""
    if trl.get("generation_batch_size") is not None:
        return _whole(trl["generation_batch_size"]), "trl.generation_batch_size"
    micro = _whole(ctx.view.value(K.MICRO_BATCH_SIZE)) or 1
    accum = _whole(ctx.view.value(K.GRADIENT_ACCUMULATION_STEPS)) or 1
    return micro * accum, "micro_batch_size × gradient_accumulation_steps"


def grpo_batch(ctx: Ctx) -> list[Finding]:
    """RLValidationMixin.check_grpo_batch_size_divisibility: every prompt is generated
    num_generations times, and each GPU needs at least one whole group per step. The GPU count
    is Axolotl's capabilities.n_gpu (GPUs per node), else the config's world_size."""
    trl = ctx.view.trl
    groups = trl.get("num_generations")
    if ctx.view.rl != "grpo" or not isinstance(groups, int) or isinstance(groups, bool):
        return []
    if groups < 2:
        return [
            _finding(
                ctx,
                f"GRPO needs `trl.num_generations` >= 2, not {groups}: one "
                "generation per prompt has no advantage to learn from",
                "set `trl.num_generations: 4` (or more)",
            )
        ]
    batch, source = _generation_batch(ctx, trl)
    if not batch:
        return []
    if batch % groups:
        return [
            _finding(
                ctx,
                f"GRPO's generation batch ({source} = {batch}) must be a "
                f"multiple of trl.num_generations ({groups})",
                f"make {source} a multiple of {groups}",
            )
        ]
    world = ctx.env.n_gpu or _whole(ctx.view.value(K.WORLD_SIZE))
    if world and world > 1 and batch < groups * world:
        return [
            _finding(
                ctx,
                f"GRPO on {world} GPUs needs a generation batch of at least "
                f"num_generations × GPUs = {groups * world}, not {batch}",
                "raise gradient_accumulation_steps or micro_batch_size",
            )
        ]
    return []


def _finding(ctx: Ctx, message: str, fix: str) -> Finding:
    return ctx.at("error", "grpo-batch", message, fix, _KEY)


def simpo_warmup(ctx: Ctx) -> list[Finding]:
    """RLValidationMixin.check_simpo_warmup."""
    if ctx.view.rl != "simpo" or not ctx.view.on(K.WARMUP_RATIO):
        return []
    return [
        ctx.at(
            "error",
            "simpo-warmup",
            "Axolotl's SimPO trainer takes no `warmup_ratio`",
            "use `warmup_steps` instead",
            (K.WARMUP_RATIO,),
        )
    ]


def kto_columns(ctx: Ctx) -> list[Finding]:
    """RLValidationMixin.check_kto_config: KTO's trainer reads columns the model does not take."""
    if ctx.view.rl != "kto" or ctx.view.value(K.REMOVE_UNUSED_COLUMNS) is False:
        return []
    return [
        ctx.at(
            "error",
            "kto-columns",
            "KTO reads columns the model does not take, and Axolotl refuses it unless "
            "`remove_unused_columns` is false",
            "set `remove_unused_columns: false`",
            (K.REMOVE_UNUSED_COLUMNS,),
        )
    ]


RL_RULES: list[Rule] = [grpo_batch, simpo_warmup, kto_columns]
