"""Axolotl's rules about its ND parallelism: context parallelism (ring attention), tensor
parallelism and the data-parallel replicate/shard split, and how they fit the world size.

Each rule names the Axolotl 0.19.0 validator (or launch-time check) it mirrors; the parity cases
in tests/lint/test_parity.py run them against Axolotl's own code.
"""

from __future__ import annotations

from typing import Any

from wizard.axolotl import keys as K
from wizard.axolotl.view import AxolotlConfig
from wizard.lint.context import Ctx
from wizard.lint.findings import Finding
from wizard.lint.rules import Rule

# The only attention backend ring-flash-attn patches (Axolotl's check_context_parallel_size).
RING_ATTENTION = "flash_attention_2"


def cp_attention(ctx: Ctx) -> list[Finding]:
    """ComplexValidationMixin.check_context_parallel_size: ring attention is flash attention 2's
    (unless the GLM DSA kernels bring their own)."""
    view, size = ctx.view, ctx.view.context_parallel
    if size < 2 or view.on("use_glm_dsa_kernels") or view.attention == RING_ATTENTION:
        return []
    return [
        ctx.at(
            "error",
            "cp-attention",
            f"context_parallel_size is {size}, and ring attention needs "
            f"attn_implementation: {RING_ATTENTION} (this config uses {view.attention or 'sdpa'})",
            f"set `attn_implementation: {RING_ATTENTION}`, or context_parallel_size: 1",
            (K.CONTEXT_PARALLEL_SIZE,),
        )
    ]


def cp_packed_micro_batch(ctx: Ctx) -> list[Finding]:
    """ComplexValidationMixin.check_context_parallel_size: ring-flash-attn's varlen path takes one
    packed row per step."""
    view, size = ctx.view, ctx.view.context_parallel
    if size < 2 or view.on("use_glm_dsa_kernels") or not view.sample_packing:
        return []
    if view.micro_batch_size <= 1:
        return []
    return [
        ctx.at(
            "error",
            "cp-micro-batch",
            f"context_parallel_size is {size} with sample packing, so micro_batch_size must be 1 "
            f"(ring-flash-attn); it is {view.micro_batch_size}",
            "set `micro_batch_size: 1` (raise gradient_accumulation_steps to keep the batch)",
            (K.MICRO_BATCH_SIZE,),
        )
    ]


def grpo_liger_cp(ctx: Ctx) -> list[Finding]:
    """RLValidationMixin.check_grpo_liger_sequence_parallel."""
    view = ctx.view
    # Axolotl reads `context_parallel_size` as written here (a before-validator).
    if view.rl != "grpo" or not view.trl.get("use_liger_loss"):
        return []
    if view.parallel_size(K.CONTEXT_PARALLEL_SIZE) < 2:
        return []
    return [
        ctx.at(
            "error",
            "grpo-liger-cp",
            "GRPO with Liger's loss (trl.use_liger_loss) does not run with context parallelism",
            "set `trl.use_liger_loss: false`, or context_parallel_size: 1",
            (K.CONTEXT_PARALLEL_SIZE,),
        )
    ]


def parallel_world(ctx: Ctx) -> list[Finding]:
    """axolotl/utils/distributed.py `_get_parallel_config_kwargs` and accelerate's
    ParallelismConfig (as Axolotl patches it): the sizes fill the world size exactly, and a
    dp_shard_size smaller than what is left needs FSDP. Checked when the GPUs are known."""
    view, env = ctx.view, ctx.env
    if env.n_gpu is None or env.cpu:
        return []
    world = max(env.n_gpu, 1) * max(env.n_node, 1)
    problem = world_problem(view, world)
    if problem is None:
        return []
    return [
        ctx.at(
            "error",
            "parallel-sizes",
            problem,
            "make dp_replicate_size x dp_shard_size x context_parallel_size x "
            "tensor_parallel_size equal the GPUs in the run (unset sizes fill what is left)",
            (K.DP_SHARD_SIZE if view.has(K.DP_SHARD_SIZE) else K.CONTEXT_PARALLEL_SIZE,),
        )
    ]


def world_problem(view: AxolotlConfig, world: int) -> str | None:
    """Why Axolotl's mesh cannot be built on `world` GPUs, or None: its
    `_get_parallel_config_kwargs` step by step, then accelerate's total == world."""
    tp, cp = view.parallel_size(K.TENSOR_PARALLEL_SIZE), view.context_parallel
    shard: Any = view.value(K.DP_SHARD_SIZE)
    shard = shard if isinstance(shard, int) and not isinstance(shard, bool) else None
    replicate = view.parallel_size(K.DP_REPLICATE_SIZE)
    fsdp = bool(view.value(K.FSDP) or view.value(K.FSDP_CONFIG))
    sizes = {name: size for name, size in (("tp", tp), ("cp", cp)) if size > 1}
    left = world // tp // cp
    if shard is None and replicate == 1 and left > 1:
        sizes["dp_shard"], left = left, 1
    if replicate > 1:
        sizes["dp_replicate"], left = replicate, left // replicate
    if left > 1 and shard is not None and shard > 1:
        if not fsdp:
            return f"dp_shard_size is {shard}, which needs FSDP (fsdp_config); this run has none"
        sizes["dp_shard"], left = shard, left // shard
        if left > 1 and "dp_replicate" not in sizes:
            sizes["dp_replicate"], left = left, 1
    if left > 1 and "dp_shard" not in sizes and fsdp:
        sizes["dp_shard"], left = left, 1
    total = 1
    for size in sizes.values():
        total *= size
    if left > 1 or (sizes and total != world):
        named = " x ".join(f"{name} {size}" for name, size in sizes.items()) or "dp_shard 1"
        return f"the parallel sizes ({named}) do not fill the run's {world} GPUs"
    return None


PARALLEL_RULES: list[Rule] = [
    cp_attention,
    cp_packed_micro_batch,
    grpo_liger_cp,
    parallel_world,
]
