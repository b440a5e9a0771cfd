"""Parameter counts from the linear layers of an architecture: what LoRA can target, what
quantization touches, what ZeRO-3 gathers.

The layers themselves come from the family table (families.yaml) through `arch_from_config`;
names follow the transformers implementation, because that is what `lora_target_modules` in an
Axolotl config is matched against.
"""

from __future__ import annotations

from wizard.models.arch import ModelArch
from wizard.models.families import Linear

__all__ = [
    "Linear",
    "all_linear_names",
    "embedding_params",
    "largest_module_params",
    "layer_linears",
    "linear_names",
    "linear_params",
    "quantizable_params",
    "total_params",
]


def layer_linears(arch: ModelArch) -> list[Linear]:
    """The linear layers of the decoder layers (each says how many layers hold it)."""
    return list(arch.linears)


def linear_names(arch: ModelArch) -> list[str]:
    """Module names that `lora_target_modules` may list; none when the family is unknown (the
    wizard never guesses another family's names)."""
    if not arch.known_family:
        return []
    return sorted({lin.name for lin in arch.linears})


def all_linear_names(arch: ModelArch) -> set[str]:
    """What `lora_target_linear` finds: the names of real nn.Linear modules (Axolotl's
    find_all_linear_names). peft then maps an old MoE expert name among them onto the fused
    experts too, which is why matching is by name."""
    return {lin.name for lin in arch.linears if lin.linear}


def embedding_params(arch: ModelArch) -> int:
    """Input embedding plus the output head (counted once when tied)."""
    emb = arch.vocab_size * arch.hidden_size
    return emb if arch.tied_embeddings else 2 * emb


def linear_params(arch: ModelArch) -> int:
    """Parameters in decoder-layer linears (experts included)."""
    return sum(lin.layers * lin.params for lin in arch.linears)


def quantizable_params(arch: ModelArch) -> int:
    """What bitsandbytes' 4/8-bit loading quantizes: nn.Linear modules only. Fused expert
    parameters (transformers 5) stay 16-bit unless Axolotl's quantize_moe_experts is set."""
    return sum(lin.layers * lin.params for lin in arch.linears if lin.linear)


def total_params(arch: ModelArch) -> int:
    """All parameters, shared (tied) weights counted once, like DeepSpeed's `*_all_live`."""
    return linear_params(arch) + embedding_params(arch) + arch.other_params


def largest_module_params(arch: ModelArch) -> int:
    """The biggest single module's own parameters (what ZeRO-3 gathers at once): a linear, the
    embedding, or one layer's fused experts module."""
    single = [lin.fan_in * lin.fan_out for lin in arch.linears if lin.linear or lin.count == 1]
    fused = sum(lin.params for lin in arch.linears if not lin.linear and lin.count > 1)
    return max([arch.vocab_size * arch.hidden_size, fused, *single])
