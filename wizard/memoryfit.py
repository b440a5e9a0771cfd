"""Memory per GPU for each method, as the interview shows it next to the Method question.

A parameter-count rule (bytes per parameter for weights, gradients and Adam states, divided by the
GPUs that ZeRO shards them over, plus activations and a fixed overhead). It is deliberately simple
and labelled rough; `axolotl-wizard estimate` gives the layer-by-layer figure for the final config.
"""

from __future__ import annotations

from dataclasses import dataclass

from wizard.models import ModelArch, total_params

GIB = 1024**3
# CUDA context, allocator slack and kernels' workspaces: present whatever the model.
OVERHEAD_GIB = 1.5
# Share of the base model that LoRA adapters add at common ranks (trained, so 16 bytes each).
ADAPTER_SHARE = 0.01


@dataclass(frozen=True)
class Plan:
    """What memory depends on, in the interview's terms."""

    kind: str
    world_size: int
    zero_stage: int | None
    sequence_len: int
    micro_batch: int
    checkpointing: bool


def _bytes_per_param(kind: str) -> tuple[float, float, float]:
    """(weights, gradients, optimizer states) bytes per base-model parameter."""
    if kind == "full":
        return 2.0, 2.0, 12.0  # bf16 weights and grads; fp32 master copy, Adam m and v
    adapters = 16.0 * ADAPTER_SHARE
    weights = 0.55 if kind == "qlora" else 2.0  # NF4 plus its quantization constants
    return weights, 0.0, adapters


def memory_gib(arch: ModelArch, plan: Plan) -> float:
    """Peak GPU memory of one process, in GiB (rough)."""
    params = total_params(arch)
    weights, grads, optimizer = (b * params for b in _bytes_per_param(plan.kind))
    stage = plan.zero_stage or 0
    world = max(plan.world_size, 1)
    if stage >= 1:
        optimizer /= world
    if stage >= 2:
        grads /= world
    if stage >= 3:
        weights /= world
    # Activations kept per layer: one hidden state with checkpointing, ~16 without.
    per_layer = 1 if plan.checkpointing else 16
    tokens = plan.sequence_len * plan.micro_batch
    activations = 2.0 * tokens * arch.hidden_size * arch.num_layers * per_layer
    logits = 4.0 * tokens * arch.vocab_size
    total = weights + grads + optimizer + activations + logits
    return total / GIB + OVERHEAD_GIB


def fit_note(needed_gib: float, available_gib: float | None) -> str:
    """`~18.2 GiB per GPU, fits 24 GiB` — the verdict the user reads."""
    text = f"~{needed_gib:.1f} GiB per GPU"
    if available_gib is None:
        return text
    verdict = "fits" if needed_gib <= available_gib * 0.95 else "does not fit"
    return f"{text}, {verdict} {available_gib:g} GiB"
