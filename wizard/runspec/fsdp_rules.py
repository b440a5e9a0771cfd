"""The rules FSDP adds between answers: what Axolotl 0.19's FSDP validators and its loaders
refuse, said before anything is written (pure; each rule names the answers it concerns)."""

from __future__ import annotations

from typing import Protocol

from wizard.runspec.base import AnswerConflict
from wizard.runspec.hardware import HardwareSpec
from wizard.runspec.parts import DistributedSpec, Method, ModelSpec
from wizard.runspec.policy import DefaultsPolicy
from wizard.runspec.training import TrainingSpec


class RunSpec(Protocol):
    """The parts of `wizard.runspec.run.RunSpec` the rules read (that module imports this one)."""

    model: ModelSpec
    method: Method
    hardware: HardwareSpec
    training: TrainingSpec
    distributed: DistributedSpec

    @property
    def policy(self) -> DefaultsPolicy: ...

    @property
    def resolved_precision(self) -> str: ...


# bitsandbytes' 8-bit AdamW fails under FSDP2 (validation.py check_fsdp2_w_8bit_optimizer).
BNB_8BIT_ADAMW = ("adamw_8bit", "adamw_bnb_8bit")
LORA_KERNELS = ("mlp_kernel", "qkv_kernel", "o_kernel", "embedding_kernel")
# Where Axolotl 0.19 and accelerate 1.13 refuse FSDP on CPU processes (see the README).
CPU_REFUSAL = (
    'axolotl/utils/distributed.py:314 builds the FSDP device mesh with build_device_mesh("cuda"), '
    "and accelerate/state.py:987 sets an FSDP plugin only for GPU types, never MULTI_CPU"
)


def _version(spec: RunSpec) -> int | None:
    """The FSDP version: a wizard run writes 2 when none is answered; an imported config
    without `fsdp_version` is left to Axolotl (FSDP1), so FSDP2's rules do not apply to it."""
    if spec.distributed.fsdp_version is not None:
        return spec.distributed.fsdp_version
    return spec.policy.fsdp_version


def _eight_bit(optimizer: str) -> bool:
    return "8bit" in optimizer or "bnb" in optimizer or optimizer.startswith("paged_")


def fsdp_rule(spec: RunSpec) -> None:
    """Every FSDP rule, in the order a person would fix them."""
    if spec.distributed.backend != "fsdp":
        return
    for rule in (_falcon, _offload, _qlora, _pin_memory, _fsdp1_kernels):
        rule(spec)


def _falcon(spec: RunSpec) -> None:
    if "falcon" in spec.model.base_model.lower():
        raise AnswerConflict(
            "Axolotl refuses FSDP for Falcon models (check_falcon_fsdp reads model.base_model); "
            "set distributed.backend=deepspeed",
            "distributed.backend",
            "model.base_model",
        )


def _offload(spec: RunSpec) -> None:
    optimizer = spec.training.optimizer
    if spec.distributed.offload_params and _eight_bit(optimizer):
        raise AnswerConflict(
            f"distributed.offload_params runs the optimizer step on the CPU, where the 8-bit "
            f"optimizer {optimizer} cannot; set training.optimizer=adamw_torch or "
            "distributed.offload_params=false",
            "training.optimizer",
            "distributed.offload_params",
        )


def _qlora(spec: RunSpec) -> None:
    if spec.method.kind != "qlora":
        return
    if spec.resolved_precision == "fp16":
        raise AnswerConflict(
            "QLoRA with FSDP: Axolotl stores the 4-bit weights as bf16 (loaders/model.py:809 "
            "bnb_4bit_quant_storage) and fp16 mixed precision would cast them; set "
            "training.precision=bf16, or distributed.backend=deepspeed with zero_stage 2",
            "training.precision",
            "distributed.backend",
        )


def _pin_memory(spec: RunSpec) -> None:
    dist = spec.distributed
    if dist.fsdp.cpu_offload_pin_memory is False and not dist.offload_params:
        raise AnswerConflict(
            "distributed.fsdp.cpu_offload_pin_memory=false only applies to CPU offload (Axolotl "
            "refuses it without); set distributed.offload_params=true or remove it",
            "distributed.fsdp.cpu_offload_pin_memory",
            "distributed.offload_params",
        )
    if dist.fsdp.cpu_offload_pin_memory is False and dist.fsdp_version == 1:
        raise AnswerConflict(
            "FSDP1 always pins offloaded memory; set distributed.fsdp_version=2 or remove "
            "distributed.fsdp.cpu_offload_pin_memory",
            "distributed.fsdp.cpu_offload_pin_memory",
            "distributed.fsdp_version",
        )


def _fsdp1_kernels(spec: RunSpec) -> None:
    if spec.distributed.fsdp_version != 1 or spec.hardware.world_size < 2:
        return
    kernels = [k for k in LORA_KERNELS if getattr(spec.method, k, None)]
    if kernels:
        raise AnswerConflict(
            f"the LoRA kernels ({', '.join(kernels)}) do not work with FSDP1 on several GPUs; "
            "set distributed.fsdp_version=2 or the kernels to false",
            "distributed.fsdp_version",
            *(f"method.{k}" for k in kernels),
        )
