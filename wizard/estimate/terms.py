"""Model-state terms: weights, trainable parameters, gradients, optimizer states, master copy.

All sizes are bytes on one GPU. Each function is one line of the breakdown, so each can be unit
tested against a hand calculation.
"""

import re

from wizard.errors import WizardError
from wizard.estimate.workload import Workload
from wizard.models import (
    ModelArch,
    all_linear_names,
    embedding_params,
    layer_linears,
    linear_names,
    linear_params,
    quantizable_params,
    total_params,
)
from wizard.models.linears import Linear
from wizard.records import Record


class Optimizer(Record):
    """Per trainable parameter: how many state tensors, and bytes per state element.

    `state_bytes` None means "the parameter's own dtype" (torch optimizers); bitsandbytes and
    torchao keep their own element sizes. `fused` optimizers need no full-size temporaries.
    """

    states: int
    state_bytes: float | None = None
    fused: bool = False
    paged: bool = False


_TORCH_ADAM = Optimizer(2)
OPTIMIZERS: dict[str, Optimizer] = {
    "adamw_torch": _TORCH_ADAM,
    "adamw_hf": _TORCH_ADAM,
    "adamw": _TORCH_ADAM,
    "adam": _TORCH_ADAM,
    "adamw_torch_fused": Optimizer(2, fused=True),
    "adamw_apex_fused": Optimizer(2, fused=True),
    "adamw_bnb_8bit": Optimizer(2, 1.0, fused=True),
    "adamw_8bit": Optimizer(2, 1.0, fused=True),
    "adamw_torch_8bit": Optimizer(2, 1.0, fused=True),
    "paged_adamw_8bit": Optimizer(2, 1.0, fused=True, paged=True),
    "adamw_torch_4bit": Optimizer(2, 0.5, fused=True),
    "paged_adamw_32bit": Optimizer(2, 4.0, fused=True, paged=True),
    "adamw_32bit": Optimizer(2, 4.0, fused=True),
    "lion_8bit": Optimizer(1, 1.0, fused=True),
    "paged_lion_8bit": Optimizer(1, 1.0, fused=True, paged=True),
    "lion_32bit": Optimizer(1, 4.0, fused=True),
    "paged_lion_32bit": Optimizer(1, 4.0, fused=True, paged=True),
    "ademamix": Optimizer(3),
    "ademamix_8bit": Optimizer(3, 1.0, fused=True),
    "paged_ademamix_8bit": Optimizer(3, 1.0, fused=True, paged=True),
    "schedule_free_adamw": Optimizer(2),
    "adagrad": Optimizer(1),
    "rmsprop": Optimizer(1),
    "muon": Optimizer(1),
    # Adafactor factors its second moment into row and column vectors: a few bytes per matrix.
    "adafactor": Optimizer(1, 0.02),
    "sgd": Optimizer(0),
    # The 8- and 4-bit AdamW of torchao, Axolotl's custom AdamW variants, and more of
    # transformers' own: the same moments, stored at the width their names say.
    "ao_adamw_8bit": Optimizer(2, 1.0, fused=True),
    "ao_adamw_4bit": Optimizer(2, 0.5, fused=True),
    "ao_adamw_fp8": Optimizer(2, 1.0, fused=True),
    "optimi_adamw": Optimizer(2),
    "adopt_adamw": Optimizer(2),
    "adamc": Optimizer(2),
    "stable_adamw": Optimizer(2),
    "grokadamw": Optimizer(2),
    "adamw_anyprecision": Optimizer(2),
    "adamw_torch_xla": Optimizer(2),
    "adamw_torch_npu_fused": Optimizer(2, fused=True),
    "paged_ademamix_32bit": Optimizer(3, 4.0, fused=True, paged=True),
    "schedule_free_radam": Optimizer(2),
    "schedule_free_sgd": Optimizer(1),
    "rmsprop_bnb": Optimizer(1, 1.0, fused=True),
    "rmsprop_bnb_8bit": Optimizer(1, 1.0, fused=True),
    "rmsprop_bnb_32bit": Optimizer(1, 4.0, fused=True),
    "dion": Optimizer(1),
    "flash_adamw": Optimizer(2, fused=True),
    "flash_adam": Optimizer(2, fused=True),
    "flash_sgd": Optimizer(1, fused=True),
    "flash_sgdw": Optimizer(1, fused=True),
    "flash_lion": Optimizer(1, fused=True),
}


def optimizer_info(name: str) -> tuple[Optimizer, str | None]:
    """The optimizer's state layout, and a note when an unknown one is estimated as AdamW."""
    info = OPTIMIZERS.get(name)
    if info is not None:
        return info, None
    return _TORCH_ADAM, f"optimizer {name!r} is not modelled; its states are estimated as AdamW"


def quant_bytes_per_param(bits: int, double_quant: bool) -> float:
    """Storage of one quantized weight including its block constants.

    NF4 keeps one absmax per 64 weights: fp32 (4/64 B) or, with double quantization, 8-bit
    absmax plus one fp32 per 256 blocks. LLM.int8 keeps one fp32 scale per row (negligible).
    """
    if bits == 4:
        constants = (1 / 64 + 4 / (64 * 256)) if double_quant else 4 / 64
        return 0.5 + constants
    if bits == 8:
        return 1.0
    return bits / 8


def _parameter_match(lin: Linear, targets: tuple[str, ...]) -> bool:
    """`lora_target_parameters` names a fused parameter, with or without its module path."""
    if not lin.param:
        return False
    return any(t == lin.param or t.endswith("." + lin.param) or lin.param.endswith("." + t)
               for t in targets)  # fmt: skip


def lora_linears(arch: ModelArch, spec: Workload) -> list[Linear]:
    """The linear layers LoRA adapts; an error when the named targets match none of them.

    For a family outside the table the names cannot be checked: every layer counts (an upper
    bound), and the estimate says so."""
    linears = layer_linears(arch)
    if not arch.known_family:
        return linears
    wanted = all_linear_names(arch) if spec.lora_targets is None else set(spec.lora_targets)
    if spec.lora_targets == ():
        wanted = set(arch.default_lora_targets)
    params = spec.lora_param_targets
    pattern = _target_pattern(spec.lora_targets)
    chosen = [lin for lin in linears if lin.name in wanted or _parameter_match(lin, params)
              or (pattern is not None and pattern.fullmatch(lin.name) is not None)]  # fmt: skip
    if not chosen and (spec.lora_targets or params):
        named = sorted(wanted | set(params))
        raise WizardError(
            f"lora_target_modules {named} match no linear layer of {arch.name} "
            f"(model_type {arch.model_type})",
            f"its layers are {', '.join(linear_names(arch))}; or set lora_target_linear: true",
        )
    return chosen


def _target_pattern(targets: tuple[str, ...] | None) -> re.Pattern[str] | None:
    """peft reads a text `lora_target_modules` as a regex over full module paths
    (`model.layers.[\\d]+.(mlp|self_attn).(up|q)_proj`); its last path part names the layers."""
    if not targets or len(targets) != 1 or not set(targets[0]) & set("[]()|*+?\\"):
        return None
    last = re.split(r"(?<!\\)\.", targets[0])[-1]
    try:
        return re.compile(last)
    except re.error:
        return None


def lora_params(arch: ModelArch, spec: Workload) -> int:
    """A (r x in) and B (out x r) for every adapted linear of every layer, as peft builds them."""
    return sum(
        lin.layers * lin.count * spec.lora_r * (lin.fan_in + lin.fan_out)
        for lin in lora_linears(arch, spec)
    )


def trainable_params(arch: ModelArch, spec: Workload) -> int:
    if spec.method == "full":
        return total_params(arch)
    extra = embedding_params(arch) if spec.lora_train_embeddings else 0
    return lora_params(arch, spec) + extra


def shard(spec: Workload) -> int:
    """How many ways a GPU's weights are split: ZeRO-3 / FSDP shards, times tensor parallelism
    (each rank holds 1/tp of every layer)."""
    return (spec.shard_ranks if spec.sharded else 1) * spec.tensor_parallel


def base_weight_bytes(arch: ModelArch, spec: Workload) -> float:
    """The model's own weights on one GPU (quantized linears, 16-bit embeddings and norms)."""
    total = total_params(arch)
    linear = linear_params(arch) if spec.quantize_experts else quantizable_params(arch)
    if spec.method == "full" or spec.weight_bits >= 16:
        size = float(total * spec.compute_bytes)
        if spec.upcast_fp32:
            size += embedding_params(arch) * (4 - spec.compute_bytes)
        return 0.0 if spec.offload_params else size / shard(spec)
    dense = 4 if spec.upcast_fp32 or spec.compute_bytes == 4 else 2
    each = quant_bytes_per_param(spec.weight_bits, spec.double_quant)
    constants = linear * (each - spec.weight_bits / 8)
    size = linear * spec.weight_bits / 8 + (total - linear) * dense
    if spec.quant_constants_sharded:
        size += constants
        constants = 0.0
    # bitsandbytes keeps each layer's QuantState (absmax, code, nested scales) on the module, not
    # in a parameter (bitsandbytes/nn/modules.py:485-499, "the quant state got lost ... for
    # fsdp"): FSDP and ZeRO-3 shard and offload the packed weights, never the constants.
    return (0.0 if spec.offload_params else size / shard(spec)) + constants


def adapter_param_bytes(spec: Workload) -> int:
    """peft keeps adapters in fp32 (autocast_adapter_dtype); DeepSpeed casts them to 16 bit."""
    if spec.compute_bytes == 2 and (spec.deepspeed or not spec.adapter_fp32):
        return 2
    return 4


def adapter_weight_bytes(arch: ModelArch, spec: Workload) -> float:
    if spec.method == "full":
        return 0.0
    size = lora_params(arch, spec) * adapter_param_bytes(spec)
    if spec.lora_train_embeddings:
        size += embedding_params(arch) * spec.compute_bytes
    return 0.0 if spec.offload_params else size / shard(spec)


def trainable_bytes_each(arch: ModelArch, spec: Workload) -> float:
    """Average bytes of one trainable parameter as stored (and as its gradient)."""
    if spec.method != "full":
        return float(adapter_param_bytes(spec))
    if not spec.upcast_fp32:
        return float(spec.compute_bytes)
    emb, total = embedding_params(arch), total_params(arch)
    return (emb * 4 + (total - emb) * spec.compute_bytes) / total
