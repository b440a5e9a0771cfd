"""FSDP's rules: Axolotl's own validators on `fsdp_config` and `fsdp_version` (each names the
validator it mirrors), and the mixes the wizard knows fail once training starts (they name the
Axolotl or TRL code that fails)."""

from __future__ import annotations

from wizard.axolotl import keys as K
from wizard.lint.context import Ctx
from wizard.lint.findings import Finding
from wizard.lint.rules import Rule

LORA_KERNELS = (K.LORA_MLP_KERNEL, K.LORA_QKV_KERNEL, K.LORA_O_KERNEL, K.LORA_EMBEDDING_KERNEL)
# TRL's preference trainers that Axolotl refuses to shard a quantised base with, under FSDP2.
QUANTISED_RL_REFUSED = ("dpo", "kto", "orpo", "ipo")


def _fsdp2(ctx: Ctx) -> bool:
    """FSDP2 with an `fsdp_config` (Axolotl's FSDP2 checks test both)."""
    return bool(ctx.view.fsdp_settings) and ctx.view.fsdp_version == 2


# bitsandbytes' 8-bit AdamW, which FSDP2 cannot shard (`adamw_torch_8bit` is the one it can).
BNB_ADAMW_8BIT = ("adamw_8bit", "adamw_bnb_8bit")


def _eight_bit(optimizer: str) -> bool:
    return "8bit" in optimizer or "bnb" in optimizer or optimizer.startswith("paged_")


def fsdp2_optimizer(ctx: Ctx) -> list[Finding]:
    """OptimizationValidationMixin.check_fsdp2_w_8bit_optimizer."""
    optimizer = ctx.view.optimizer
    if _fsdp2(ctx) and optimizer in BNB_ADAMW_8BIT:
        return [
            ctx.at(
                "error",
                "fsdp2-optimizer",
                f"FSDP2 does not work with the bitsandbytes optimizer {optimizer}",
                "use `optimizer: adamw_torch_8bit`",
                (K.OPTIMIZER,),
            )
        ]
    return []


def fsdp2_ram_efficient_4bit(ctx: Ctx) -> list[Finding]:
    """OptimizationValidationMixin.check_fsdp2_cpu_ram_efficient_loading_w_4bit."""
    if (
        _fsdp2(ctx)
        and ctx.view.fsdp_settings.get("cpu_ram_efficient_loading") is True
        and ctx.view.on(K.LOAD_IN_4BIT)
    ):
        return [
            ctx.at(
                "error",
                "fsdp2-4bit-loading",
                "FSDP2 with load_in_4bit deadlocks when "
                "`fsdp_config.cpu_ram_efficient_loading` is true",
                "set `fsdp_config.cpu_ram_efficient_loading: false`",
                (K.FSDP_CONFIG, "cpu_ram_efficient_loading"),
            )
        ]
    return []


def fsdp_offload_8bit(ctx: Ctx) -> list[Finding]:
    """OptimizationValidationMixin.check_fsdp_offload_w_8bit_optimizer (FSDP1), and FSDP2's
    offload too: the optimizer step then runs on CPU tensors, which the 8-bit optimizers'
    CUDA kernels cannot take."""
    optimizer = ctx.view.optimizer or ""
    if ctx.view.fsdp_version is None or not ctx.view.fsdp_settings.get("offload_params"):
        return []
    if not _eight_bit(optimizer):
        return []
    return [
        ctx.at(
            "error",
            "fsdp-offload-8bit",
            f"`fsdp_config.offload_params` runs the optimizer step on the CPU, where the 8-bit "
            f"optimizer {optimizer} cannot",
            "use `optimizer: adamw_torch`, or `fsdp_config.offload_params: false`",
            (K.OPTIMIZER,),
        )
    ]


def fsdp_pin_memory(ctx: Ctx) -> list[Finding]:
    """FSDPValidationMixin.check_fsdp2_cpu_offload_pin_memory."""
    settings = ctx.view.fsdp_settings
    if settings.get("cpu_offload_pin_memory") is not False:
        return []
    key = (K.FSDP_CONFIG, "cpu_offload_pin_memory")
    if ctx.view.fsdp_version != 2:
        problem, fix = "FSDP1 always pins offloaded memory", "set `fsdp_version: 2`"
    elif not settings.get("offload_params"):
        problem = "`cpu_offload_pin_memory: false` applies to CPU offload only"
        fix = "set `fsdp_config.offload_params: true`, or remove `cpu_offload_pin_memory`"
    else:
        return []
    return [ctx.at("error", "fsdp-pin-memory", f"{problem} (Axolotl refuses it)", fix, key)]


def fsdp2_quantised_rl(ctx: Ctx) -> list[Finding]:
    """FSDPValidationMixin.check_fsdp2_base_model_quant_rl."""
    view = ctx.view
    quantised = view.on(K.LOAD_IN_4BIT) or view.on(K.LOAD_IN_8BIT)
    if view.fsdp_version != 2 or view.rl not in QUANTISED_RL_REFUSED or not quantised:
        return []
    return [
        ctx.at(
            "error",
            "fsdp2-quantised-rl",
            f"FSDP2 does not shard a 4-bit or 8-bit base model for `rl: {view.rl}`",
            "use DeepSpeed ZeRO-2 (`deepspeed:`), or LoRA on a bf16 base",
            (K.FSDP_VERSION,),
        )
    ]


def qlora_fsdp_fp16(ctx: Ctx) -> list[Finding]:
    """QLoRA under FSDP stores its 4-bit weights as bf16 (axolotl/loaders/model.py, where it
    sets bnb_4bit_quant_storage), and fp16 mixed precision would cast them."""
    view = ctx.view
    if view.fsdp_version is None or not view.on(K.LOAD_IN_4BIT):
        return []
    if not view.in_fp16 or view.in_bf16:
        return []
    return [
        ctx.at(
            "error",
            "qlora-fsdp-fp16",
            "QLoRA with FSDP stores the 4-bit weights as bf16 (bnb_4bit_quant_storage), and "
            "fp16 mixed precision would cast them",
            "train in bf16 (`bf16: true`), or shard with DeepSpeed ZeRO-2",
            (K.FP16,),
        )
    ]


def fsdp1_lora_kernels(ctx: Ctx) -> list[Finding]:
    """Axolotl's LoRA kernels patch the layers FSDP1 has already flattened on several GPUs."""
    view, env = ctx.view, ctx.env
    processes = None if env.n_gpu is None else env.n_gpu * env.n_node
    if view.fsdp_version != 1 or processes is None or processes < 2:
        return []
    kernels = [key for key in LORA_KERNELS if view.on(key)]
    if not kernels:
        return []
    return [
        ctx.at(
            "error",
            "fsdp1-lora-kernels",
            f"the LoRA kernels ({', '.join(kernels)}) do not work with FSDP1 on several GPUs",
            "set `fsdp_version: 2`, or the kernels to false",
            (kernels[0],),
        )
    ]


def falcon_fsdp(ctx: Ctx) -> list[Finding]:
    """ModelCompatibilityValidationMixin.check_falcon_fsdp (it reads FSDP1's `fsdp:` list)."""
    base = ctx.view.base_model or ""
    if "falcon" not in base.lower() or not ctx.view.on(K.FSDP):
        return []
    return [
        ctx.at(
            "error",
            "falcon-fsdp",
            "Axolotl refuses FSDP1 (`fsdp:`) for Falcon models",
            "use `fsdp_version: 2` with `fsdp_config`, or DeepSpeed",
            (K.FSDP,),
        )
    ]


FSDP_RULES: list[Rule] = [fsdp2_optimizer, fsdp2_ram_efficient_4bit, fsdp_offload_8bit,
                          fsdp_pin_memory, fsdp2_quantised_rl, qlora_fsdp_fp16,
                          fsdp1_lora_kernels, falcon_fsdp]  # fmt: skip
