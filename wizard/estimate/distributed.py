"""DeepSpeed ZeRO and FSDP settings: how model states are split across GPUs and offloaded."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from wizard.axolotl import keys as K
from wizard.axolotl.view import AxolotlConfig
from wizard.errors import WizardError

# Where a DeepSpeed `offload_optimizer` / `offload_param` section puts the states.
OFFLOAD_DEVICE = "device"


def _offloaded(section: Any) -> bool:
    if not isinstance(section, Mapping):
        return False
    return str(section.get(OFFLOAD_DEVICE, "none")).lower() in ("cpu", "nvme")


def _elements(value: Any, default: int) -> int:
    """A bucket size from the DeepSpeed JSON; "auto" and missing give the default."""
    if isinstance(value, (int, float)) and not isinstance(value, bool) and value > 0:
        return int(value)
    return default


def _fsdp_shards(view: AxolotlConfig) -> bool:
    """FSDP shards the model states: `fsdp_config` given, or a legacy `fsdp:` list that names
    a sharding strategy."""
    fsdp = view.value(K.FSDP)
    if isinstance(fsdp, list):
        return any("shard" in str(item) for item in fsdp)
    return bool(fsdp) or bool(view.value(K.FSDP_CONFIG))


def distributed_fields(
    view: AxolotlConfig, deepspeed: Mapping[str, Any] | None, gpus: int, notes: list[str]
) -> dict[str, Any]:
    """zero_stage, offload_optimizer, offload_params, fsdp and gpus for a Workload."""
    if not isinstance(gpus, int) or isinstance(gpus, bool) or gpus < 1:
        raise WizardError(f"gpus is {gpus!r}; it must be at least 1", "pass --gpus N with N >= 1")
    fsdp, fsdp_offload = _fsdp_shards(view), view.fsdp_offload
    named = view.value(K.DEEPSPEED)
    if named and deepspeed is None:
        raise WizardError(
            f"the config names deepspeed: {named!r}, but its JSON was not given",
            "make the DeepSpeed JSON path right (relative to the config's folder), or remove it",
        )
    zero = (deepspeed or {}).get("zero_optimization") or {}
    stage = zero.get("stage", 0) if isinstance(zero, Mapping) else 0
    if stage not in (0, 1, 2, 3):
        raise WizardError(
            f"DeepSpeed zero_optimization.stage is {stage!r}", "use a stage of 0, 1, 2 or 3"
        )
    if fsdp and stage:
        raise WizardError("the config uses both FSDP and DeepSpeed", "choose one of them")
    if stage and gpus == 1:
        notes.append(f"ZeRO-{stage} on one GPU shards nothing; only offload saves memory there")
    offload_opt = bool(stage) and _offloaded(zero.get("offload_optimizer"))
    offload_par = stage == 3 and _offloaded(zero.get("offload_param"))
    if fsdp:
        offload_par = fsdp_offload
    return dict(
        ds_reduce_bucket=_elements(zero.get("reduce_bucket_size"), 0),
        ds_allgather_bucket=_elements(zero.get("allgather_bucket_size"), 500_000_000),
        zero_stage=int(stage) if not fsdp else 3,
        offload_optimizer=offload_opt or (fsdp and fsdp_offload),
        offload_params=offload_par,
        fsdp=fsdp,
        gpus=gpus,
        context_parallel=view.context_parallel,
        tensor_parallel=view.tensor_parallel,
        dp_replicate=view.parallel_size(K.DP_REPLICATE_SIZE),
    )
