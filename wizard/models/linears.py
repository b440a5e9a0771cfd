"""Parameter shapes per decoder layer: what LoRA can target and what quantization touches.

Names follow the transformers implementation of each layout, because that is what
`lora_target_modules` in an Axolotl config is matched against.
"""

from __future__ import annotations

from dataclasses import dataclass

from wizard.models.arch import ModelArch


@dataclass(frozen=True)
class Linear:
    """One kind of nn.Linear in a decoder layer; `count` instances of it per layer (experts)."""

    name: str
    fan_in: int
    fan_out: int
    count: int = 1
    bias: bool = False

    @property
    def params(self) -> int:
        return self.count * (self.fan_in * self.fan_out + (self.fan_out if self.bias else 0))


def _attention(arch: ModelArch) -> list[Linear]:
    h, q, kv, bias = arch.hidden_size, arch.q_dim, arch.kv_dim, arch.qkv_bias
    if arch.layout == "phi3":
        return [Linear("qkv_proj", h, q + 2 * kv), Linear("o_proj", q, h)]
    if arch.layout == "fused_qkv":
        fused_bias = arch.model_type == "gpt_neox"
        return [
            Linear("query_key_value", h, q + 2 * kv, bias=fused_bias),
            Linear("dense", q, h, bias=fused_bias),
        ]
    out_name = "dense" if arch.layout == "phi" else "o_proj"
    all_bias = arch.layout in ("phi", "starcoder2")
    return [
        Linear("q_proj", h, q, bias=bias or all_bias),
        Linear("k_proj", h, kv, bias=bias or all_bias),
        Linear("v_proj", h, kv, bias=bias or all_bias),
        Linear(out_name, q, h, bias=all_bias),
    ]


def _mlp(arch: ModelArch) -> list[Linear]:
    h, inter = arch.hidden_size, arch.intermediate_size
    if arch.layout == "mixtral":
        e = arch.num_experts
        return [
            Linear("gate", h, e),
            Linear("w1", h, inter, e),
            Linear("w3", h, inter, e),
            Linear("w2", inter, h, e),
        ]
    if arch.layout == "qwen_moe":
        e, moe = arch.num_experts, arch.moe_intermediate_size or inter
        layers = [
            Linear("gate", h, e),
            Linear("gate_proj", h, moe, e),
            Linear("up_proj", h, moe, e),
            Linear("down_proj", moe, h, e),
        ]
        shared = arch.shared_expert_intermediate_size
        if shared:
            layers += [Linear("shared_expert_gate", h, 1)]
            layers += [Linear("gate_proj", h, shared), Linear("up_proj", h, shared)]
            layers += [Linear("down_proj", shared, h)]
        return layers
    if arch.layout == "phi3":
        return [Linear("gate_up_proj", h, 2 * inter), Linear("down_proj", inter, h)]
    if arch.layout == "phi":
        return [Linear("fc1", h, inter, bias=True), Linear("fc2", inter, h, bias=True)]
    if arch.layout == "fused_qkv":
        bias = arch.model_type == "gpt_neox"
        return [
            Linear("dense_h_to_4h", h, inter, bias=bias),
            Linear("dense_4h_to_h", inter, h, bias=bias),
        ]
    if arch.layout == "starcoder2":
        return [Linear("c_fc", h, inter, bias=True), Linear("c_proj", inter, h, bias=True)]
    gate, up = Linear("gate_proj", h, inter), Linear("up_proj", h, inter)
    return [gate, up, Linear("down_proj", inter, h)]


def layer_linears(arch: ModelArch) -> list[Linear]:
    """The linear layers of one decoder layer."""
    return _attention(arch) + _mlp(arch)


def linear_names(arch: ModelArch) -> list[str]:
    """Module names that `lora_target_modules` may list for this architecture."""
    return sorted({lin.name for lin in layer_linears(arch)})


def norm_params_per_layer(arch: ModelArch) -> int:
    per_norm = arch.hidden_size * (2 if arch.norm == "layer" else 1)
    qk = 2 * arch.head_dim if arch.qk_norm else 0
    return arch.norms_per_layer * per_norm + qk


def embedding_params(arch: ModelArch) -> int:
    """Input embedding plus the output head (counted once when tied)."""
    emb = arch.vocab_size * arch.hidden_size
    return emb if arch.tied_embeddings else 2 * emb


def linear_params(arch: ModelArch) -> int:
    """Parameters in decoder-layer linears: the part that 8-bit and 4-bit loading quantize."""
    return arch.num_layers * sum(lin.params for lin in layer_linears(arch))


def total_params(arch: ModelArch) -> int:
    """All parameters, shared (tied) weights counted once, like DeepSpeed's `*_all_live`."""
    final_norm = arch.hidden_size * (2 if arch.norm == "layer" else 1)
    norms = arch.num_layers * norm_params_per_layer(arch) + final_norm
    head_bias = arch.vocab_size if arch.layout == "phi" else 0
    return linear_params(arch) + embedding_params(arch) + norms + head_bias


def largest_module_params(arch: ModelArch) -> int:
    """The biggest single module's own parameters (what ZeRO-3 gathers at once)."""
    biggest_linear = max(lin.fan_in * lin.fan_out for lin in layer_linears(arch))
    return max(arch.vocab_size * arch.hidden_size, biggest_linear)
