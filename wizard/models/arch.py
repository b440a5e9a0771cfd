"""The shapes of a model that memory depends on, read from a Hugging Face `config.json` dict.

Only numbers go in here: no weights, no torch. `arch_from_config` understands the config keys of
the families the estimator models layer by layer; anything else still gets an architecture, but
with `rough_reasons` saying why the numbers derived from it are approximate.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from wizard.errors import WizardError

# model_type -> (layer layout, MLP kind, norm kind, norms per layer, tie_word_embeddings default).
# The layout decides the names and shapes of the linear layers (what LoRA can target).
# Defaults for tying follow each transformers config class, because many config.json files omit it.
FAMILIES: dict[str, tuple[str, str, str, int, bool]] = {
    "llama": ("llama", "gated", "rms", 2, False),
    "mistral": ("llama", "gated", "rms", 2, False),
    "mixtral": ("mixtral", "gated", "rms", 2, False),
    "qwen2": ("llama", "gated", "rms", 2, False),
    "qwen2_moe": ("qwen_moe", "gated", "rms", 2, False),
    "qwen3": ("llama", "gated", "rms", 2, False),
    "qwen3_moe": ("qwen_moe", "gated", "rms", 2, False),
    "gemma": ("llama", "gated", "rms", 2, True),
    "gemma2": ("llama", "gated", "rms", 4, True),
    "gemma3_text": ("llama", "gated", "rms", 4, True),
    "olmo": ("llama", "gated", "layer", 2, False),
    "olmo2": ("llama", "gated", "rms", 2, False),
    "stablelm": ("llama", "gated", "layer", 2, False),
    "starcoder2": ("starcoder2", "plain", "layer", 2, True),
    "phi": ("phi", "plain", "layer", 1, False),
    "phi3": ("phi3", "gated", "rms", 2, False),
    "falcon": ("fused_qkv", "plain", "layer", 1, True),
    "gpt_neox": ("fused_qkv", "plain", "layer", 2, False),
}

# Multimodal wrappers whose text part is one of the families above.
MULTIMODAL_TYPES = {
    "gemma3": "gemma3_text",
    "mllama": "llama",
    "llava": "llama",
    "qwen2_vl": "qwen2",
    "qwen2_5_vl": "qwen2",
    "mistral3": "mistral",
    "llama4": "llama",
}

_KEYS: dict[str, tuple[str, ...]] = {
    "hidden_size": ("hidden_size", "n_embd", "d_model"),
    "num_layers": ("num_hidden_layers", "n_layer", "num_layers"),
    "num_heads": ("num_attention_heads", "n_head"),
    "intermediate_size": ("intermediate_size", "n_inner", "ffn_hidden_size"),
    "vocab_size": ("vocab_size", "padded_vocab_size"),
    "max_positions": ("max_position_embeddings", "n_positions", "max_sequence_length"),
}


@dataclass(frozen=True)
class ModelArch:
    """A decoder-only transformer, as far as memory is concerned."""

    name: str
    model_type: str
    hidden_size: int
    num_layers: int
    num_heads: int
    num_kv_heads: int
    head_dim: int
    intermediate_size: int
    vocab_size: int
    tied_embeddings: bool
    max_positions: int
    layout: str = "llama"
    mlp: str = "gated"
    norm: str = "rms"
    norms_per_layer: int = 2
    hidden_act: str = "silu"
    qkv_bias: bool = False
    qk_norm: bool = False
    num_experts: int = 0
    experts_per_token: int = 0
    moe_intermediate_size: int = 0
    shared_expert_intermediate_size: int = 0
    multimodal: bool = False
    source: str = "config"
    rough_reasons: tuple[str, ...] = field(default=())

    @property
    def q_dim(self) -> int:
        return self.num_heads * self.head_dim

    @property
    def kv_dim(self) -> int:
        return self.num_kv_heads * self.head_dim

    @property
    def is_moe(self) -> bool:
        return self.num_experts > 0


def _first(config: Mapping[str, Any], names: tuple[str, ...]) -> Any:
    for key in names:
        value = config.get(key)
        if value is not None:
            return value
    return None


def _positive_int(config: Mapping[str, Any], what: str, name: str, default: int | None) -> int:
    value = _first(config, _KEYS.get(what, (what,)))
    if value is None:
        value = default
    if isinstance(value, bool) or not isinstance(value, int) or value <= 0:
        keys = " / ".join(_KEYS.get(what, (what,)))
        raise WizardError(
            f"{name}: config.json has no usable {keys} (found {value!r})",
            "give a complete Hugging Face config.json, or a catalog model name",
        )
    return value


def _text_config(config: Mapping[str, Any]) -> tuple[Mapping[str, Any], str, bool]:
    """Unwrap a multimodal config to its language model part."""
    model_type = str(config.get("model_type", "")).lower()
    text = config.get("text_config")
    if isinstance(text, Mapping) and (model_type in MULTIMODAL_TYPES or "vision_config" in config):
        inner = str(text.get("model_type") or MULTIMODAL_TYPES.get(model_type, "llama")).lower()
        return text, inner, True
    return config, model_type, "vision_config" in config


def _kv_heads(config: Mapping[str, Any], model_type: str, heads: int) -> int:
    kv = config.get("num_key_value_heads")
    if model_type == "falcon":
        if config.get("new_decoder_architecture"):
            kv = config.get("num_kv_heads")
        elif config.get("multi_query", True):
            kv = 1
    return int(kv) if isinstance(kv, int) and kv > 0 else heads


def _moe_fields(config: Mapping[str, Any]) -> dict[str, int]:
    experts = _first(config, ("num_local_experts", "num_experts", "n_routed_experts")) or 0
    return {
        "num_experts": int(experts),
        "experts_per_token": int(_first(config, ("num_experts_per_tok", "top_k")) or 0),
        "moe_intermediate_size": int(config.get("moe_intermediate_size") or 0),
        "shared_expert_intermediate_size": int(config.get("shared_expert_intermediate_size") or 0),
    }


def arch_from_config(config: Mapping[str, Any], name: str, source: str = "config") -> ModelArch:
    """Build a ModelArch from a Hugging Face config.json mapping."""
    text, model_type, multimodal = _text_config(config)
    rough: list[str] = []
    family = FAMILIES.get(model_type)
    if family is None:
        family = FAMILIES["llama"]
        rough.append(
            f"model_type {model_type or '(missing)'!r} is not modelled; assumed a Llama-style layer"
        )
    layout, mlp, norm, norms, tied_default = family
    hidden = _positive_int(text, "hidden_size", name, None)
    heads = _positive_int(text, "num_heads", name, None)
    default_inter = 4 * hidden if mlp == "plain" else None
    moe = _moe_fields(text)
    if moe["num_experts"]:
        rough.append(
            f"mixture of experts ({moe['num_experts']} experts): activations and "
            "routing buffers are approximate"
        )
        default_inter = moe["moe_intermediate_size"] or default_inter
    if multimodal:
        rough.append("multimodal model: the vision tower and image tokens are not counted")
    head_dim = text.get("head_dim")
    tied = text.get("tie_word_embeddings", config.get("tie_word_embeddings", tied_default))
    return ModelArch(
        name=name,
        model_type=model_type,
        hidden_size=hidden,
        num_layers=_positive_int(text, "num_layers", name, None),
        num_heads=heads,
        num_kv_heads=_kv_heads(text, model_type, heads),
        head_dim=int(head_dim) if isinstance(head_dim, int) and head_dim > 0 else hidden // heads,
        intermediate_size=_positive_int(text, "intermediate_size", name, default_inter),
        vocab_size=_positive_int(text, "vocab_size", name, None),
        tied_embeddings=bool(tied),
        max_positions=_positive_int(text, "max_positions", name, 2048),
        layout=layout,
        mlp=mlp,
        norm=norm,
        norms_per_layer=norms,
        hidden_act=str(_first(text, ("hidden_act", "hidden_activation", "activation")) or "silu"),
        qkv_bias=bool(text.get("attention_bias") or model_type == "qwen2"),
        qk_norm=model_type in ("qwen3", "qwen3_moe", "gemma3_text", "olmo2"),
        multimodal=multimodal,
        source=source,
        rough_reasons=tuple(rough),
        **moe,
    )
