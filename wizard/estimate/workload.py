"""The run, normalized: everything memory depends on, read from an Axolotl config.

Axolotl's YAML is loose (aliases, strings for booleans, keys that interact); the typed view
(`wizard.axolotl.view`) reads it as Axolotl does, and `workload_from_config` turns that into the
estimator's plain fields, so the terms can work on them.
"""

import math
from collections.abc import Mapping
from typing import Any

from wizard.axolotl import keys as K
from wizard.axolotl.flags import is_on
from wizard.axolotl.view import AxolotlConfig, view_of
from wizard.errors import WizardError
from wizard.records import Record

# Axolotl's own defaults for the keys an estimate needs (axolotl 0.19.0 schema).
DEFAULT_SEQUENCE_LEN = 2048
DEFAULT_OPTIMIZER = "adamw_torch_fused"
# The DeepSpeed JSON's sections that switch half precision on (`bf16.enabled`).
DEEPSPEED_HALF_SECTIONS = ("bf16", "fp16")


class Workload(Record):
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
    # Axolotl's ND parallelism: a sequence split over `context_parallel` GPUs (ring attention),
    # each layer's weights over `tensor_parallel`, and `dp_replicate` whole copies (HSDP).
    context_parallel: int = 1
    tensor_parallel: int = 1
    dp_replicate: int = 1
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
    notes: tuple[str, ...] = ()

    @property
    def tokens(self) -> int:
        """Tokens in one micro batch: packing fills every row, and without packing the peak
        comes from the batch whose longest sample reaches sequence_len."""
        rank_len = -(-self.seq_len // self.context_parallel)  # each rank's slice of a sequence
        return self.micro_batch * rank_len * self.sequences_per_sample

    @property
    def shard_ranks(self) -> int:
        """The GPUs sharded states are split over: FSDP shards along dp_shard x cp (Axolotl's
        `dp_shard_cp` mesh axis), ZeRO over the data-parallel ranks; tensor-parallel ranks and
        HSDP's replicas each hold their own split."""
        return max(1, self.gpus // (self.tensor_parallel * self.dp_replicate))

    @property
    def sharded(self) -> bool:
        return self.zero_stage >= 3 or self.fsdp

    @property
    def deepspeed(self) -> bool:
        return self.zero_stage > 0 and not self.fsdp


def _int(view: AxolotlConfig, key: str, default: int) -> int:
    value = view.value(key)
    if value is None:
        return default
    number = isinstance(value, (int, float)) and not isinstance(value, bool)
    if not number or not math.isfinite(value) or value < 1:
        raise WizardError(
            f"{key} is {value!r}; it must be a whole number of at least 1",
            f"fix {key} in the config",
        )
    return int(value)


def _fraction(view: AxolotlConfig, key: str) -> float:
    """A share such as lora_dropout: 0 when unset; a bad value is an error naming the key."""
    value = view.value(key) or 0.0
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not 0 <= value < 1:
        raise WizardError(f"{key} is {value!r}; it must be a number from 0 to 1", f"fix {key}")
    return float(value)


def _method(view: AxolotlConfig, notes: list[str]) -> tuple[str, int]:
    """The method and the bits of the frozen base weights (`AxolotlConfig.base_bits`)."""
    adapter, in4 = view.adapter, view.on(K.LOAD_IN_4BIT)
    if adapter not in (None, "lora", "qlora"):
        raise WizardError(
            f"adapter {adapter!r} is not one the estimator models",
            "use adapter: lora or qlora, or leave adapter out for full fine-tuning",
        )
    if adapter == "qlora" and not in4:
        notes.append(
            "adapter: qlora without load_in_4bit: true (Axolotl rejects it); estimated as 4-bit"
        )
    if adapter is None and (in4 or view.on(K.LOAD_IN_8BIT)):
        notes.append(
            "load_in_4bit/8bit without an adapter: Axolotl trains no quantized full "
            "model; estimated as full 16-bit"
        )
    return view.method, view.base_bits


def _precision(view: AxolotlConfig, deepspeed: Mapping[str, Any] | None) -> int:
    ds = deepspeed or {}
    ds_half = any(is_on((ds.get(k) or {}).get("enabled")) for k in DEEPSPEED_HALF_SECTIONS)
    return 2 if view.half_precision or ds_half else 4


def _attention(view: AxolotlConfig) -> str:
    """The estimator's kind of attention (flash, flex, eager, sdpa) for Axolotl's backend."""
    impl = (view.attention or "").lower()
    if "flash" in impl:
        return "flash"
    if "flex" in impl:
        return "flex"
    if impl == "eager":
        return "eager"
    # Axolotl leaves attn_implementation to transformers, whose default is sdpa.
    return "sdpa"


def _loss(view: AxolotlConfig) -> str:
    # `cut_cross_entropy` and `liger_*` are the plugins' keys, not in Axolotl's base schema.
    if view.on("cut_cross_entropy") or any("CutCrossEntropy" in p for p in view.plugins):
        return "fused"
    if view.on("liger_fused_linear_cross_entropy"):
        return "fused"
    if view.on(K.CHUNKED_CROSS_ENTROPY):
        return "chunked"
    return "upcast"


def _lora_targets(view: AxolotlConfig) -> tuple[str, ...] | None:
    if view.lora_targets_all_linear:
        return None
    targets = view.value(K.LORA_TARGET_MODULES)
    if isinstance(targets, str):
        return None if targets == "all-linear" else (targets,)
    if not targets:
        return ()  # nothing named: peft's default for the model type (lora_linears)
    return tuple(str(t) for t in targets)


def workload_from_config(
    cfg: Mapping[str, Any] | AxolotlConfig,
    deepspeed: Mapping[str, Any] | None = None,
    *,
    gpus: int = 1,
) -> Workload:
    """Read the memory-relevant settings of a flat Axolotl config (plus its DeepSpeed JSON)."""
    from wizard.estimate.distributed import distributed_fields
    from wizard.estimate.objective_terms import completion_tokens, objective_fields

    view = view_of(cfg)
    notes: list[str] = []
    method, bits = _method(view, notes)
    attention, loss = _attention(view), _loss(view)
    dist = distributed_fields(view, deepspeed, gpus, notes)
    upcast = _upcast(method, attention, loss, dist, notes)
    if not view.sample_packing and not view.on(K.PAD_TO_SEQUENCE_LEN):
        notes.append("no sample packing: assumes the longest batch reaches sequence_len")
    return Workload(
        method=method,
        weight_bits=bits,
        compute_bytes=_precision(view, deepspeed),
        **_lora_fields(view),
        seq_len=_int(view, K.SEQUENCE_LEN, DEFAULT_SEQUENCE_LEN) + completion_tokens(view),
        micro_batch=_int(view, K.MICRO_BATCH_SIZE, 1),
        grad_accum=_int(view, K.GRADIENT_ACCUMULATION_STEPS, 1),
        grad_ckpt=view.gradient_checkpointing,
        activation_offload=view.activation_offload,
        attention=attention,
        optimizer=view.optimizer or DEFAULT_OPTIMIZER,
        loss=loss,
        fused_kernels=view.on("liger_rms_norm") or view.on(K.TORCH_COMPILE),
        upcast_fp32=upcast,
        sample_packing=view.sample_packing,
        **objective_fields(view, method, notes),
        notes=tuple(notes),
        **dist,
    )


def _lora_fields(view: AxolotlConfig) -> dict[str, Any]:
    saved = view.names(K.LORA_MODULES_TO_SAVE)
    return dict(
        # bitsandbytes' setting, read by Axolotl beside its schema; on unless turned off.
        double_quant=is_on(view.value("bnb_4bit_use_double_quant", True)),
        lora_r=_int(view, K.LORA_R, 8),
        lora_targets=_lora_targets(view),
        lora_param_targets=tuple(view.names(K.LORA_TARGET_PARAMETERS)),
        quantize_experts=view.on(K.QUANTIZE_MOE_EXPERTS),
        lora_dropout=_fraction(view, K.LORA_DROPOUT),
        adapter_fp32=is_on(view.value(K.PEFT_AUTOCAST_ADAPTER_DTYPE, True)),
        lora_train_embeddings=any(m in ("embed_tokens", "lm_head") for m in saved),
    )


def _upcast(method: str, attention: str, loss: str, dist: dict[str, Any], notes: list[str]) -> bool:
    """Axolotl upcasts embeddings, lm_head and norms to fp32 and only casts them back for
    adapters, flash/flex attention, FSDP or cut cross entropy (loaders/model.py)."""
    upcast = (
        method == "full"
        and attention in ("sdpa", "eager")
        and not dist["zero_stage"]  # FSDP counts as stage 3
        and loss != "fused"
    )
    if upcast:
        notes.append(
            "full fine-tune without flash attention: Axolotl keeps embeddings, lm_head "
            "and norms in fp32"
        )
    return upcast
