"""Rules that need both files: the YAML and the DeepSpeed JSON must tell one story."""

from __future__ import annotations

from typing import Any

from wizard.axolotl import keys as K
from wizard.axolotl.batch import sequences_per_step
from wizard.lint.context import Ctx
from wizard.lint.deepspeed_rules import (
    DS_BF16,
    DS_BFLOAT16,
    DS_COMPILE,
    DS_FP16,
    DS_TORCH_COMPILE,
    offload_device,
    stage,
)
from wizard.lint.findings import Finding
from wizard.lint.rules import Rule

# The YAML's precision flags, the dtype each computes in, and the DeepSpeed block that says it.
_DTYPES = {K.BF16: "bfloat16", K.FP16: "float16"}
_DS_BLOCKS = {K.BF16: DS_BF16, K.FP16: DS_FP16}


def _ds(ctx: Ctx) -> dict[str, Any]:
    return ctx.deepspeed.data if ctx.deepspeed else {}


def _enabled_block(block: Any) -> bool | str:
    """`{"enabled": true}` -> True, `"auto"` -> "auto", missing/false -> False."""
    if isinstance(block, dict):
        block = block.get("enabled", False)
    return "auto" if block == "auto" else bool(block)


def _compute_dtype(ctx: Ctx) -> str:
    kwargs = ctx.view.mapping(K.BNB_CONFIG_KWARGS)
    if kwargs.get("bnb_4bit_compute_dtype"):
        return str(kwargs["bnb_4bit_compute_dtype"]).replace("torch.", "")
    for flag, dtype in _DTYPES.items():
        value = ctx.view.value(flag)
        if value is True or (value == "auto" and flag == K.BF16):
            return dtype
    return "float32"


def qlora_zero3_storage(ctx: Ctx) -> list[Finding]:
    """ZeRO-3 shards the 4-bit weights as flat tensors of the storage dtype, which must equal
    the compute dtype; Axolotl stores in bfloat16 unless bnb_config_kwargs says otherwise."""
    if stage(ctx) != 3 or not (ctx.view.adapter == "qlora" or ctx.view.on(K.LOAD_IN_4BIT)):
        return []
    kwargs = ctx.view.mapping(K.BNB_CONFIG_KWARGS)
    storage = "bfloat16"
    if kwargs.get("bnb_4bit_quant_storage"):
        storage = str(kwargs["bnb_4bit_quant_storage"]).replace("torch.", "")
    compute = _compute_dtype(ctx)
    if storage != compute:
        return [
            ctx.at(
                "error",
                "qlora-zero3-dtype",
                f"QLoRA with ZeRO-3 needs the 4-bit "
                f"storage dtype ({storage}) to match the compute dtype ({compute})",
                f"set `bnb_config_kwargs: {{bnb_4bit_quant_storage: {compute}}}`, or "
                "train in bf16 (`bf16: true`)",
                (K.ADAPTER,),
            )
        ]
    return []


def qlora_zero3_offload(ctx: Ctx) -> list[Finding]:
    """ZeRO-3 cannot move bitsandbytes' 4-bit parameters to the CPU: their quantisation state
    stays on the GPU, and the first gather fails."""
    if stage(ctx) != 3 or not (ctx.view.adapter == "qlora" or ctx.view.on(K.LOAD_IN_4BIT)):
        return []
    zero = _ds(ctx).get("zero_optimization")
    offload = zero.get("offload_param") if isinstance(zero, dict) else None
    if not isinstance(offload, dict) or offload.get("device") in (None, "none"):
        return []
    return [
        ctx.in_ds(
            "error",
            "qlora-zero3-offload",
            "QLoRA cannot offload its 4-bit parameters to the CPU with ZeRO-3",
            "remove `offload_param` (optimizer offload is fine)",
            ("zero_optimization", "offload_param"),
        )
    ]


def zero3_bf16(ctx: Ctx) -> list[Finding]:
    """Without a bf16 (or fp16) block, ZeRO-3 keeps fp32 parameters: twice the memory."""
    if stage(ctx) != 3:
        return []
    ds = _ds(ctx)
    if not _enabled_block(ds.get(DS_BF16, ds.get(DS_BFLOAT16))) and not _enabled_block(
        ds.get(DS_FP16)
    ):
        return [
            ctx.in_ds(
                "warning",
                "zero3-precision",
                "ZeRO-3 file without an enabled `bf16` "
                "block: DeepSpeed keeps fp32 parameters (twice the memory)",
                'add "bf16": {"enabled": "auto"}',
                ("zero_optimization",),
            )
        ]
    return []


def precision_agrees(ctx: Ctx) -> list[Finding]:
    """The HF Trainer fills DeepSpeed's "auto" precision from the YAML and refuses a concrete
    `enabled` that differs ("DeepSpeed config values that mismatch TrainingArguments"), where an
    unset YAML flag counts as false. `auto` in the YAML is left alone: it depends on the GPU."""
    ds, out = _ds(ctx), []
    for flag, ds_key in _DS_BLOCKS.items():
        block = ds.get(ds_key)
        concrete = block.get("enabled") if isinstance(block, dict) else None
        yaml_value = ctx.view.value(flag)
        if not isinstance(concrete, bool) or yaml_value == "auto":
            continue
        yaml_on = yaml_value is True
        if concrete != yaml_on:
            said = (
                f"`{flag}: {str(yaml_value).lower()}`" if flag in ctx.view.raw else f"no `{flag}`"
            )
            out.append(
                ctx.in_ds(
                    "error",
                    "precision-mismatch",
                    f'the DeepSpeed file says "{ds_key}": {{"enabled": {str(concrete).lower()}}} '
                    f"but the YAML has {said}; the trainer refuses the mismatch",
                    f'use "{ds_key}": {{"enabled": "auto"}} so the YAML decides',
                    (ds_key,),
                )
            )
    return out


def optimizer_override(ctx: Ctx) -> list[Finding]:
    out = []
    for block, yaml_keys in (
        ("optimizer", "optimizer / learning_rate / weight_decay"),
        ("scheduler", "lr_scheduler / warmup"),
    ):
        if block in _ds(ctx):
            out.append(
                ctx.in_ds(
                    "warning",
                    "deepspeed-overrides-yaml",
                    f"the DeepSpeed file "
                    f"has an `{block}` block, which silently replaces the YAML's "
                    f"{yaml_keys}",
                    f"delete the `{block}` block",
                    (block,),
                )
            )
    return out


def zero2_cpu_offload(ctx: Ctx) -> list[Finding]:
    if stage(ctx) in (1, 2) and offload_device(ctx, "offload_optimizer") == "cpu":
        return [
            ctx.in_ds(
                "warning",
                "zero2-offload",
                "CPU optimizer offload with ZeRO-1/2 "
                "makes every step wait on the CPU Adam (several times slower)",
                "drop the offload if the model fits, or use ZeRO-3",
                ("zero_optimization", "offload_optimizer"),
            )
        ]
    return []


def compile_in_json(ctx: Ctx) -> list[Finding]:
    ds = _ds(ctx)
    key = DS_TORCH_COMPILE if DS_TORCH_COMPILE in ds else DS_COMPILE if DS_COMPILE in ds else None
    if key is None:
        return []
    return [
        ctx.in_ds(
            "warning",
            "compile-in-deepspeed",
            f"`{key}` in the DeepSpeed file is not how Axolotl compiles the model",
            "delete it and set `torch_compile: true` in the YAML",
            (key,),
        )
    ]


def batch_agrees(ctx: Ctx) -> list[Finding]:
    ds, out = _ds(ctx), []
    micro = ctx.view.value(K.MICRO_BATCH_SIZE)
    accum = ctx.view.value(K.GRADIENT_ACCUMULATION_STEPS) or 1
    pairs = (
        ("train_micro_batch_size_per_gpu", micro, K.MICRO_BATCH_SIZE),
        ("gradient_accumulation_steps", accum, K.GRADIENT_ACCUMULATION_STEPS),
    )
    for ds_key, expected, yaml_key in pairs:
        value = ds.get(ds_key, "auto")
        if value != "auto" and expected is not None and value != expected:
            out.append(
                ctx.in_ds(
                    "error",
                    "batch-mismatch",
                    f"DeepSpeed {ds_key} is {value} but the YAML's {yaml_key} is {expected}",
                    f'set "{ds_key}": "auto"',
                    (ds_key,),
                )
            )
    total = ds.get("train_batch_size", "auto")
    # Every process, not the data-parallel ranks: transformers checks the file's figure against
    # `args.world_size` x micro x accumulation (integrations/deepspeed.py, trainer_config_process)
    # and DeepSpeed against its own world, which knows nothing of Axolotl's context or tensor
    # parallel groups. So this is not the effective batch (axolotl/batch.py) under those.
    gpus = (ctx.env.n_gpu or 0) * ctx.env.n_node
    if total == "auto" or not (isinstance(micro, int) and isinstance(accum, int) and gpus):
        return out
    expected = sequences_per_step(micro, accum, gpus)
    if total != expected:
        out.append(
            ctx.in_ds(
                "error",
                "batch-mismatch",
                f"DeepSpeed train_batch_size is "
                f"{total}, but micro_batch_size × gradient_accumulation_steps "
                f"× GPUs = {micro} × {accum} × {gpus} = {expected}",
                '"train_batch_size": "auto"',
                ("train_batch_size",),
            )
        )
    return out


def zero3_name(ctx: Ctx) -> list[Finding]:
    """Axolotl and accelerate look for `zero3` in the file name to switch on ZeRO-3 loading."""
    ds = ctx.deepspeed
    if stage(ctx) == 3 and ds and ds.file and "zero3" not in ds.file.rsplit("/", 1)[-1]:
        return [
            ctx.at(
                "warning",
                "zero3-name",
                f"{ds.file} is a ZeRO-3 config but its name has "
                "no `zero3`; Axolotl checks the name to load the model for ZeRO-3",
                "rename it, e.g. zero3_bf16.json",
                (K.DEEPSPEED,),
            )
        ]
    return []


def tp_zero3(ctx: Ctx) -> list[Finding]:
    """Tensor parallelism with DeepSpeed is DeepSpeed's AutoTP: Axolotl's
    check_tensor_parallel_size_update_ds_json writes `tensor_parallel.autotp_size` into a copy of
    the file, and DeepSpeed's engine asserts AutoTP with ZeRO stage 2 at most
    (runtime/engine.py `_configure_tensor_parallel_states`), so the run stops as it starts."""
    size = ctx.view.tensor_parallel
    if size < 2 or stage(ctx) != 3:
        return []
    return [
        ctx.at(
            "error",
            "tp-zero3",
            f"tensor_parallel_size is {size} with a ZeRO-3 DeepSpeed file; Axolotl hands tensor "
            "parallelism to DeepSpeed's AutoTP, which refuses ZeRO stage 3 when training starts",
            "use ZeRO stage 1 or 2, FSDP2 (`fsdp_version: 2` and `fsdp_config`) instead of "
            "DeepSpeed, or tensor_parallel_size: 1",
            (K.TENSOR_PARALLEL_SIZE,),
        )
    ]


CROSS_FILE_RULES: list[Rule] = [
    qlora_zero3_storage,
    qlora_zero3_offload,
    zero3_bf16,
    precision_agrees,
    optimizer_override,
    zero2_cpu_offload,
    compile_in_json,
    batch_agrees,
    zero3_name,
    tp_zero3,
]
