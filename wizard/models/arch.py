"""The shapes of a model that memory depends on, read from a Hugging Face `config.json` dict.

Only numbers go in here: no weights, no torch. The layer names and shapes come from the family
table (families.yaml) by `model_type`; a type not in the table still gets an architecture, with
generic, unnamed layers and `rough_reasons` saying why its numbers are approximate.
"""

import math
from collections.abc import Mapping
from typing import Any

from wizard.errors import WizardError
from wizard.models.families import (
    Family,
    Linear,
    evaluate,
    extra_params,
    family,
    layer_linears_of,
    moe_layer_count,
)
from wizard.records import Record
from wizard.terminal import shown

# config.json's architecture name (transformers' key; Axolotl's `model_type` is another thing).
MODEL_TYPE = "model_type"
# Multimodal wrappers whose text part is one of the families in the table.
MULTIMODAL_TYPES = {
    "gemma3": "gemma3_text",
    "mllama": "llama",
    "llava": "llama",
    "qwen2_vl": "qwen2",
    "qwen2_5_vl": "qwen2",
    "mistral3": "mistral",
    "llama4": "llama4_text",
}

_KEYS: dict[str, tuple[str, ...]] = {
    "hidden_size": ("hidden_size", "n_embd", "n_embed", "d_model"),
    "num_layers": ("num_hidden_layers", "n_layer", "n_layers", "num_layers"),
    "num_heads": ("num_attention_heads", "n_head", "n_heads"),
    "intermediate_size": ("intermediate_size", "n_inner", "ffn_hidden_size"),
    "vocab_size": ("vocab_size", "padded_vocab_size"),
    "max_positions": ("max_position_embeddings", "n_positions", "max_seq_len"),
}
# The largest each size may be, far past any published model (Llama 3.1 405B: 126 layers, hidden
# 16,384; DeepSeek-V3: 256 experts; Gemma 3: 262k tokens): a config.json beyond them is broken or
# hostile, and is refused in one line rather than estimated in absurd numbers.
_LIMITS = {
    "hidden_size": 1 << 17, "num_layers": 1024, "num_heads": 4096, "head_dim": 1 << 13,
    "intermediate_size": 1 << 20, "vocab_size": 1 << 22, "max_positions": 1 << 30,
    "num_experts": 1 << 14, "experts_per_token": 1 << 10, "moe_intermediate_size": 1 << 20,
    "shared_expert_intermediate_size": 1 << 20,
}  # fmt: skip
# Per-norm parameters by the table's norm kinds.
NORM_WEIGHTS = {"rms": 1, "layer": 2, "layer_nobias": 1, "none": 0}
# What a model_type outside the table is counted with: unnamed, Llama-shaped layers.
_GENERIC = Family(
    "",
    {
        "attention": [["(attention in)", "h", "q+2*kv"], ["(attention out)", "q", "h"]],
        "mlp": [["(mlp in)", "h", "2*i"], ["(mlp out)", "i", "h"]],
    },
)


class ModelArch(Record):
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
    linears: tuple[Linear, ...] = ()
    other_params: int = 0  # norms, learned positions, biases outside the linears
    known_family: bool = True
    default_lora_targets: tuple[str, ...] = ("q_proj", "v_proj")  # peft's, when none are named
    mlp: str = "gated"
    norm: str = "rms"
    norms_per_layer: int = 2
    hidden_act: str = "silu"
    qk_norm: bool = False
    num_experts: int = 0
    experts_per_token: int = 0
    moe_intermediate_size: int = 0
    shared_expert_intermediate_size: int = 0
    multimodal: bool = False
    layer_class: str = ""  # the decoder layer class FSDP wraps; empty: not known here
    source: str = "config"
    rough_reasons: tuple[str, ...] = ()

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
            f"{name}: config.json has no usable {keys} (found {shown(value)})",
            "give a complete Hugging Face config.json, or a catalog model name",
        )
    return _within_limit(value, what, name)


def _finite_number(value: Any) -> bool:
    return isinstance(value, int) or (isinstance(value, float) and math.isfinite(value))


def _count(config: Mapping[str, Any], names: tuple[str, ...], what: str, name: str) -> int:
    """A count that may be absent (0): a whole number, finite, within its limit."""
    value = _first(config, names)
    if isinstance(value, float) and value.is_integer():  # `8.0`: a count all the same
        value = int(value)
    if value is None or value is False:
        return 0
    if isinstance(value, bool) or not isinstance(value, int) or value < 0:
        raise WizardError(
            f"{name}: config.json's {' / '.join(names)} is {shown(value)}, not a count",
            "give a complete Hugging Face config.json, or a catalog model name",
        )
    return _within_limit(value, what, name)


def _within_limit(value: int, what: str, name: str) -> int:
    limit = _LIMITS[what]
    if value > limit:
        raise WizardError(
            f"{name}: config.json gives {what} {shown(value)}, more than {limit:,}: no model "
            "is that large",
            "is this the model's own config.json? give a complete one, or a catalog model name",
        )
    return value


def _text_config(config: Mapping[str, Any]) -> tuple[Mapping[str, Any], str, bool]:
    """Unwrap a multimodal config to its language model part."""
    model_type = str(config.get(MODEL_TYPE, "")).lower()
    text = config.get("text_config")
    if isinstance(text, Mapping) and (model_type in MULTIMODAL_TYPES or "vision_config" in config):
        inner = str(text.get(MODEL_TYPE) or MULTIMODAL_TYPES.get(model_type, "llama")).lower()
        return text, inner, True
    return config, model_type, "vision_config" in config


def _kv_heads(config: Mapping[str, Any], model_type: str, heads: int) -> int:
    """Grouped-query heads; Falcon and StarCoder spell multi-query attention their own way."""
    kv = config.get("num_key_value_heads")
    if model_type == "falcon":
        if config.get("new_decoder_architecture"):
            kv = config.get("num_kv_heads")
        elif config.get("multi_query", True):
            kv = 1
    if model_type == "gpt_bigcode":
        kv = 1 if config.get("multi_query", True) else heads
    return int(kv) if isinstance(kv, int) and kv > 0 else heads


def _norms(fam: Family, config: Mapping[str, Any]) -> int:
    """Falcon's norm count follows its attention layout (FalconDecoderLayer)."""
    if fam.name != "falcon":
        return fam.norms
    if not config.get("parallel_attn", True):
        return 2
    parallel = config.get("num_ln_in_parallel_attn")
    if parallel is None:
        parallel = 2 if config.get("new_decoder_architecture") else 1
    return int(parallel)


def _moe_fields(config: Mapping[str, Any], name: str) -> dict[str, int]:
    experts = ("num_local_experts", "num_experts", "n_routed_experts")
    per_token = ("num_experts_per_tok", "experts_per_token", "top_k")
    return {
        "num_experts": _count(config, experts, "num_experts", name),
        "experts_per_token": _count(config, per_token, "experts_per_token", name),
        **{key: _count(config, (key,), key, name)
           for key in ("moe_intermediate_size", "shared_expert_intermediate_size")},
    }  # fmt: skip


def _flags(fam: Family, config: Mapping[str, Any]) -> dict[str, Any]:
    """The family's config keys: its transformers defaults, overridden by config.json."""
    return {**fam.defaults, **{k: v for k, v in config.items() if k in fam.defaults}}


def _dims(fam: Family, base: dict[str, int], text: Mapping[str, Any]) -> dict[str, int]:
    """Symbols for the table's size expressions: the family's defaults, config.json's numbers,
    the normalized sizes, then the family's own overrides."""
    raw = {**fam.defaults, **text}
    # NaN or Infinity (JSON allows them) is no size: left out, as a value that is not a number.
    numbers = {k: int(v or 0) for k, v in raw.items() if v is None or _finite_number(v)}
    dims = {**numbers, **base}
    for key, expr in (fam.spec.get("dims") or {}).items():
        try:
            dims[key] = evaluate(expr, dims)
        except KeyError as missing:
            raise WizardError(
                f"config.json of model_type {fam.name!r} has no {missing.args[0]}",
                "give the model's complete config.json",
            ) from None
    dims["q"] = dims["heads"] * dims["head_dim"]
    dims["kv"] = dims["kv_heads"] * dims["head_dim"]
    return dims


def _base_dims(text: Mapping[str, Any], model_type: str, name: str, fam: Family) -> dict[str, int]:
    hidden = _positive_int(text, "hidden_size", name, None)
    heads = _positive_int(text, "num_heads", name, None)
    moe = _moe_fields(text, name)
    head_dim = text.get("head_dim")
    default_inter = fam.spec.get("default_intermediate")
    inter_default = evaluate(default_inter, {"h": hidden}) if default_inter else None
    if inter_default is None and moe["num_experts"]:
        inter_default = moe["moe_intermediate_size"] or None
    return {
        "h": hidden,
        "heads": heads,
        "kv_heads": _kv_heads(text, model_type, heads),
        "head_dim": _within_limit(head_dim, "head_dim", name)
        if isinstance(head_dim, int) and head_dim > 0
        else hidden // heads,
        "i": _positive_int(text, "intermediate_size", name, inter_default),
        "vocab": _positive_int(text, "vocab_size", name, None),
        "positions": _positive_int(text, "max_positions", name, 2048),
        "experts": moe["num_experts"],
        "moe_i": moe["moe_intermediate_size"],
        "shared_i": moe["shared_expert_intermediate_size"],
    }


def _rough(model_type: str, known: bool, experts: int, multimodal: bool) -> tuple[str, ...]:
    rough = []
    if not known:
        rough.append(
            f"model_type {model_type or '(missing)'!r} is not in the family table: layer names "
            "are unknown and the layers are counted as Llama-shaped"
        )
    if experts:
        rough.append(
            f"mixture of experts ({experts} experts): activations and routing buffers are "
            "approximate"
        )
    if multimodal:
        rough.append("multimodal model: the vision tower and image tokens are not counted")
    return tuple(rough)


def arch_from_config(config: Mapping[str, Any], name: str, source: str = "config") -> ModelArch:
    """Build a ModelArch from a Hugging Face config.json mapping."""
    text, model_type, multimodal = _text_config(config)
    fam = family(model_type)
    known = fam is not None
    fam = fam or _GENERIC
    flags = _flags(fam, text)
    dims = _dims(fam, _base_dims(text, model_type, name, fam), text)
    layers = _positive_int(text, "num_layers", name, None)
    linears = layer_linears_of(fam, dims, flags, layers)
    extra_norms, extras = extra_params(fam, dims, layers, moe_layer_count(fam, flags, layers))
    norms = _norms(fam, text)
    per_norm = NORM_WEIGHTS[fam.norm] * dims["h"]
    other = layers * (norms * per_norm + extra_norms) + per_norm + extras
    tied = text.get("tie_word_embeddings", config.get("tie_word_embeddings", fam.tie))
    experts = dims["experts"]
    act = _first(text, ("hidden_act", "hidden_activation", "activation", "activation_function"))
    return ModelArch(
        name=name,
        model_type=model_type,
        hidden_size=dims["h"],
        num_layers=layers,
        num_heads=dims["heads"],
        num_kv_heads=dims["kv_heads"],
        head_dim=dims["head_dim"],
        intermediate_size=dims["i"],
        vocab_size=dims["vocab"],
        tied_embeddings=bool(tied),
        max_positions=dims["positions"],
        linears=linears,
        other_params=other,
        known_family=known,
        default_lora_targets=tuple(fam.spec.get("lora_default", ("q_proj", "v_proj"))),
        mlp=fam.mlp_kind,
        norm=fam.norm,
        norms_per_layer=norms,
        hidden_act=str(act or "silu"),
        qk_norm=bool(fam.spec.get("qk_norm")),
        num_experts=experts,
        experts_per_token=_moe_fields(text, name)["experts_per_token"] if experts else 0,
        moe_intermediate_size=(dims["moe_i"] or dims["i"]) if experts else 0,
        shared_expert_intermediate_size=dims["shared_i"] if experts else 0,
        multimodal=multimodal,
        # A multimodal wrapper has vision layers too: its own `_no_split_modules` names them all.
        layer_class="" if multimodal else fam.layer_class,
        source=source,
        rough_reasons=_rough(model_type, known, experts, multimodal),
    )
