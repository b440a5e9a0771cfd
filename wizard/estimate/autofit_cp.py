"""Auto-fit with context parallelism: a sequence too long for any layout on one GPU is split.

Context parallelism (Axolotl's `context_parallel_size`, ring attention) gives each GPU of a
group 1/cp of every sequence's tokens, so activations and logits shrink by cp; the group takes
one micro batch, so there are fewer data-parallel ranks and the accumulation grows to keep the
effective batch. It is only tried when nothing fits without it: it needs flash attention 2 and
the ring-flash-attn package, and it costs the ring's communication (`CP_COST`).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

from wizard.axolotl import keys as K
from wizard.axolotl.view import AxolotlConfig, view_of
from wizard.errors import WizardError
from wizard.estimate.autofit import AutofitError, Host, Keep, Plan, autofit
from wizard.models import ModelArch

# The one attention backend ring-flash-attn patches (Axolotl's check_context_parallel_size).
RING_ATTENTION = "flash_attention_2"


def context_parallel_sizes(gpus: int) -> list[int]:
    """The sizes Axolotl's device mesh takes on `gpus` GPUs: those that divide them."""
    return [size for size in range(2, gpus + 1) if gpus % size == 0]


def autofit_split(
    cfg: Mapping[str, Any] | AxolotlConfig,
    arch: ModelArch,
    *,
    gpus: int,
    gpu_mem_gib: float,
    target_batch: int,
    keep: Keep | None = None,
    host: Host | None = None,
    split: bool = True,
) -> Plan:
    """`autofit`'s plan; when nothing fits and `split` (context parallelism is auto-fit's to
    choose), the fastest plan over every context-parallel size, with flash attention 2 (the
    smaller size between two as fast). When no size fits either, the error without it stands:
    it names the nearest layout as asked."""

    def fit(config: Mapping[str, Any] | AxolotlConfig) -> Plan:
        return autofit(config, arch, gpus=gpus, gpu_mem_gib=gpu_mem_gib,
                       target_batch=target_batch, keep=keep, host=host)  # fmt: skip

    try:
        return fit(cfg)
    except AutofitError as alone:
        if not split:
            raise
        plans = _split_plans(view_of(cfg).raw, gpus, fit)
        if not plans:
            raise alone from None
    return min(plans, key=lambda plan: (round(plan.speed_factor, 9), _size(plan)))


def _split_plans(
    raw: Mapping[str, Any], gpus: int, fit: Callable[[Mapping[str, Any]], Plan]
) -> list[Plan]:
    plans = []
    for size in context_parallel_sizes(gpus):
        split = {**raw, K.CONTEXT_PARALLEL_SIZE: size, K.ATTN_IMPLEMENTATION: RING_ATTENTION}
        try:
            plans.append(fit(split))
        except WizardError:
            continue  # nothing fits at this size, or its runs are refused, or no micro batch
    return plans


def _size(plan: Plan) -> int:
    return plan.estimate.workload.context_parallel
