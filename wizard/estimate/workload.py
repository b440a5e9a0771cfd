"""The run, normalized: everything memory depends on, read from a flat Axolotl config dict.

Axolotl's YAML is loose (aliases, strings for booleans, keys that interact);
`workload_from_config` is the one place that interprets it for the estimator, so the terms can
work on plain fields.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from wizard.axolotl.attention import backend as attention_backend
from wizard.axolotl.flags import is_on
from wizard.errors import WizardError

# Axolotl's own defaults for the keys an estimate needs (axolotl 0.19.0 schema).
DEFAULT_SEQUENCE_LEN = 2048
DEFAULT_OPTIMIZER = "adamw_torch_fused"


@dataclass(frozen=True)
class Workload:
    """One training process layout. Sizes are per GPU unless a name says otherwise."""

    method: str = "full"  # full | lora | qlora
    weight_bits: int = 16  # storage of the frozen base weights: 32, 16, 8 or 4
    compute_bytes: int = 2  # 2 for bf16/fp16, 4 for fp32 training
    double_quant: bool = True
    lora_r: int = 8
    # None = every linear layer (lora_target_linear); () = none named, peft's per-type default
    lora_targets: tuple[str, ...] | None = None
    lora_param_targets: tuple[str, ...] = ()  # lora_target_parameters: fused MoE experts
    quantize_experts: bool = False  # quantize_moe_experts: bitsandbytes also takes the experts
    lora_dropout: float = 0.0
    lora_train_embeddings: bool = False  # lora_modules_to_save names embed_tokens / lm_head
    adapter_fp32: bool = True  # peft_autocast_adapter_dtype (peft's default: fp32 adapters)
    seq_len: int = DEFAULT_SEQUENCE_LEN
    micro_batch: int = 1
    grad_accum: int = 1
    grad_ckpt: bool = False
    activation_offload: bool = False
    attention: str = "sdpa"  # flash | sdpa | eager | flex
    optimizer: str = DEFAULT_OPTIMIZER
    loss: str = "upcast"  # upcast | chunked | fused | chunked_output (torchtune's, not Axolotl's)
    fused_kernels: bool = False  # liger rms_norm + glu, or torch.compile fusing the same ops
    upcast_fp32: bool = False  # embeddings, lm_head and norms left in fp32 by Axolotl
    zero_stage: int = 0
    offload_optimizer: bool = False
    offload_params: bool = False
    fsdp: bool = False
    gpus: int = 1
    # Not Axolotl options, used to replay other trainers' reference rows: torchtune's
    # optimizer_in_bwd; torchao's NF4 tensors, whose scales FSDP shards with the data
    # (torchao/dtypes/nf4tensor.py:984 fsdp_pre_all_gather), where bitsandbytes' are not.
    optimizer_in_backward: bool = False
    quant_constants_sharded: bool = False
    # accelerate upcasts FSDP's trainable shards to fp32; torchtune's and LitGPT's bf16 runs
    # shard the bf16 parameters as they are (no mixed-precision policy).
    fsdp_fp32_shards: bool = True
    sample_packing: bool = False
    # The objective (wizard.estimate.objective_terms): `rl:` and what its trainer adds.
    objective: str = "sft"
    sequences_per_sample: int = 1  # 2: chosen and rejected (or KTO's KL pair) in one batch
    reference_model: bool = False  # a frozen full copy of the model (DPO/IPO/KTO, full weights)
    vllm_share: float = 0.0  # GRPO, vLLM colocated: the share of each GPU it takes
    # DeepSpeed communication buffers, in elements; 0 means "auto" (hidden_size squared).
    ds_reduce_bucket: int = 0
    ds_allgather_bucket: int = 500_000_000
    notes: tuple[str, ...] = field(default=())

    @property
    def tokens(self) -> int:
        """Tokens in one micro batch: packing fills every row, and without packing the peak
        comes from the batch whose longest sample reaches sequence_len."""
        return self.micro_batch * self.seq_len * self.sequences_per_sample

    @property
    def sharded(self) -> bool:
        return self.zero_stage >= 3 or self.fsdp

    @property
    def deepspeed(self) -> bool:
        return self.zero_stage > 0 and not self.fsdp


def _int(cfg: Mapping[str, Any], key: str, default: int) -> int:
    value = cfg.get(key)
    if value is None:
        return default
    number = isinstance(value, (int, float)) and not isinstance(value, bool)
    if not number or not math.isfinite(value) or value < 1:
        raise WizardError(
            f"{key} is {value!r}; it must be a whole number of at least 1",
            f"fix {key} in the config",
        )
    return int(value)


def _fraction(cfg: Mapping[str, Any], key: str) -> float:
    """A share such as lora_dropout: 0 when unset; a bad value is an error naming the key."""
    value = cfg.get(key) or 0.0
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not 0 <= value < 1:
        raise WizardError(f"{key} is {value!r}; it must be a number from 0 to 1", f"fix {key}")
    return float(value)


def _method(cfg: Mapping[str, Any], notes: list[str]) -> tuple[str, int]:
    adapter = str(cfg.get("adapter") or "").lower() or None
    in4, in8 = is_on(cfg.get("load_in_4bit")), is_on(cfg.get("load_in_8bit"))
    if adapter == "qlora":
        if not in4:
            notes.append(
                "adapter: qlora without load_in_4bit: true (Axolotl rejects it); estimated as 4-bit"
            )
        return "qlora", 4
    if adapter == "lora":
        return "lora", 8 if in8 else 4 if in4 else 16
    if adapter is not None:
        raise WizardError(
            f"adapter {adapter!r} is not one the estimator models",
            "use adapter: lora or qlora, or leave adapter out for full fine-tuning",
        )
    if in4 or in8:
        notes.append(
            "load_in_4bit/8bit without an adapter: Axolotl trains no quantized full "
            "model; estimated as full 16-bit"
        )
    return "full", 16


def _precision(cfg: Mapping[str, Any], deepspeed: Mapping[str, Any] | None) -> int:
    ds = deepspeed or {}
    ds_half = any(is_on((ds.get(k) or {}).get("enabled")) for k in ("bf16", "fp16"))
    half = any(is_on(cfg.get(k)) for k in ("bf16", "fp16", "bfloat16", "float16"))
    return 2 if half or ds_half else 4


def _attention(cfg: Mapping[str, Any]) -> str:
    """The estimator's kind of attention (flash, flex, eager, sdpa) for Axolotl's backend."""
    impl = (attention_backend(cfg) or "").lower()
    if "flash" in impl:
        return "flash"
    if "flex" in impl:
        return "flex"
    if impl == "eager":
        return "eager"
    # Axolotl leaves attn_implementation to transformers, whose default is sdpa.
    return "sdpa"


def _loss(cfg: Mapping[str, Any]) -> str:
    plugins = " ".join(str(p) for p in cfg.get("plugins") or [])
    if is_on(cfg.get("cut_cross_entropy")) or "CutCrossEntropy" in plugins:
        return "fused"
    if is_on(cfg.get("liger_fused_linear_cross_entropy")):
        return "fused"
    if is_on(cfg.get("chunked_cross_entropy")):
        return "chunked"
    return "upcast"


def _lora_targets(cfg: Mapping[str, Any]) -> tuple[str, ...] | None:
    if is_on(cfg.get("lora_target_linear")):
        return None
    targets = cfg.get("lora_target_modules")
    if isinstance(targets, str):
        return None if targets == "all-linear" else (targets,)
    if not targets:
        return ()  # nothing named: peft's default for the model type (lora_linears)
    return tuple(str(t) for t in targets)


def _names(value: Any) -> tuple[str, ...]:
    if isinstance(value, str):
        return (value,)
    return tuple(str(v) for v in value or [])


def _checkpointing(cfg: Mapping[str, Any]) -> tuple[bool, bool]:
    value = cfg.get("gradient_checkpointing")
    offload_value = cfg.get("activation_offloading")
    offload = (offload_value not in (None, False, "disk")) and is_on(offload_value)
    if isinstance(value, str) and value.lower().startswith("offload"):
        return True, True
    return is_on(value) or offload, offload


def workload_from_config(
    cfg: Mapping[str, Any], deepspeed: Mapping[str, Any] | None = None, *, gpus: int = 1
) -> Workload:
    """Read the memory-relevant settings of a flat Axolotl config (plus its DeepSpeed JSON)."""
    from wizard.estimate.distributed import distributed_fields
    from wizard.estimate.objective_terms import completion_tokens, objective_fields

    notes: list[str] = []
    method, bits = _method(cfg, notes)
    attention, loss = _attention(cfg), _loss(cfg)
    ckpt, offload = _checkpointing(cfg)
    dist = distributed_fields(cfg, deepspeed, gpus, notes)
    upcast = _upcast(method, attention, loss, dist, notes)
    if not is_on(cfg.get("sample_packing")) and not is_on(cfg.get("pad_to_sequence_len")):
        notes.append("no sample packing: assumes the longest batch reaches sequence_len")
    return Workload(
        method=method,
        weight_bits=bits,
        compute_bytes=_precision(cfg, deepspeed),
        **_lora_fields(cfg),
        seq_len=_int(cfg, "sequence_len", DEFAULT_SEQUENCE_LEN) + completion_tokens(cfg),
        micro_batch=_int(cfg, "micro_batch_size", 1),
        grad_accum=_int(cfg, "gradient_accumulation_steps", 1),
        grad_ckpt=ckpt,
        activation_offload=offload,
        attention=attention,
        optimizer=str(cfg.get("optimizer") or DEFAULT_OPTIMIZER).lower(),
        loss=loss,
        fused_kernels=is_on(cfg.get("liger_rms_norm")) or is_on(cfg.get("torch_compile")),
        upcast_fp32=upcast,
        sample_packing=is_on(cfg.get("sample_packing")),
        **objective_fields(cfg, method, notes),
        notes=tuple(notes),
        **dist,
    )


def _lora_fields(cfg: Mapping[str, Any]) -> dict[str, Any]:
    save = [str(m) for m in cfg.get("lora_modules_to_save") or []]
    return {
        "double_quant": is_on(cfg.get("bnb_4bit_use_double_quant", True)),
        "lora_r": _int(cfg, "lora_r", 8),
        "lora_targets": _lora_targets(cfg),
        "lora_param_targets": _names(cfg.get("lora_target_parameters")),
        "quantize_experts": is_on(cfg.get("quantize_moe_experts")),
        "lora_dropout": _fraction(cfg, "lora_dropout"),
        "adapter_fp32": is_on(cfg.get("peft_autocast_adapter_dtype", True)),
        "lora_train_embeddings": any(m in ("embed_tokens", "lm_head") for m in save),
    }


def _upcast(method: str, attention: str, loss: str, dist: dict[str, Any], notes: list[str]) -> bool:
    """Axolotl upcasts embeddings, lm_head and norms to fp32 and only casts them back for
    adapters, flash/flex attention, FSDP or cut cross entropy (loaders/model.py)."""
    upcast = (
        method == "full"
        and attention in ("sdpa", "eager")
        and not dist["fsdp"]
        and not dist["zero_stage"]
        and loss != "fused"
    )
    if upcast:
        notes.append(
            "full fine-tune without flash attention: Axolotl keeps embeddings, lm_head "
            "and norms in fp32"
        )
    return upcast
