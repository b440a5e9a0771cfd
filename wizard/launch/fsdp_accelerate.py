"""accelerate's own FSDP settings for a run whose Axolotl config uses FSDP (pure).

Axolotl turns its `fsdp_config` into FSDP_* variables in the child (`setup_fsdp_envs`), but
only the settings that are on. `accelerate launch --use_fsdp` sets every FSDP_* variable from
its config file first, with defaults of its own where the file is silent, and one of them is
wrong for us: `fsdp_cpu_ram_efficient_loading` defaults to true, which Axolotl refuses with
4-bit weights. So the block says every setting the launcher reads, mirroring the Axolotl config,
and `distributed_type: FSDP` with `--use_fsdp` makes accelerate read it (with `--multi_gpu` it
would read the block and ignore it).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from wizard.axolotl import keys as K
from wizard.axolotl.view import AxolotlConfig, view_of

FSDP2_WRAP = "TRANSFORMER_BASED_WRAP"
LAUNCH_FLAG = "--use_fsdp"
# accelerate's config file: the FSDP block's key, and the prefix of each setting in it.
FSDP_BLOCK = "fsdp_config"
SETTING_PREFIX = "fsdp_"


def _fsdp1_strategy(config: AxolotlConfig) -> str:
    options = config.value(K.FSDP)
    names = [str(o).lower() for o in options] if isinstance(options, list) else []
    for option, strategy in (("shard_grad_op", "SHARD_GRAD_OP"), ("no_shard", "NO_SHARD"),
                             ("hybrid_shard", "HYBRID_SHARD")):  # fmt: skip
        if option in names:
            return strategy
    return "FULL_SHARD"


def fsdp_block(config: Mapping[str, Any] | AxolotlConfig) -> dict[str, Any] | None:
    """accelerate's `fsdp_config` block for this Axolotl config; None without FSDP."""
    view = view_of(config)
    version = view.fsdp_version
    if version is None:
        return None
    settings = view.fsdp_settings
    ram_efficient = settings.get("cpu_ram_efficient_loading") is True
    reshard = settings.get("reshard_after_forward", True) is not False
    block: dict[str, Any] = {
        "version": version,
        "offload_params": view.fsdp_offload,
        "auto_wrap_policy": settings.get("auto_wrap_policy") or FSDP2_WRAP,
        "reshard_after_forward": reshard if version == 2 else _fsdp1_strategy(view),
        "cpu_ram_efficient_loading": ram_efficient,
        # accelerate's launcher refuses RAM-efficient loading without it (utils/launch.py:306).
        "sync_module_states": ram_efficient or settings.get("sync_module_states") is True,
        "activation_checkpointing": settings.get("activation_checkpointing") is True,
        "use_orig_params": settings.get("use_orig_params", version == 1) is not False,
    }
    for key in ("transformer_layer_cls_to_wrap", "state_dict_type", "min_num_params"):
        if settings.get(key) is not None:
            block[key] = settings[key]
    return {SETTING_PREFIX + name: value for name, value in block.items()}


def with_fsdp(
    accelerate: dict[str, Any], config: Mapping[str, Any] | AxolotlConfig
) -> dict[str, Any]:
    """accelerate's config file, with the FSDP block when the Axolotl config uses FSDP on
    several processes (one process shards nothing: it stays a plain run)."""
    block = fsdp_block(config)
    multi_gpu = accelerate.get("distributed_type") == "MULTI_GPU" and not accelerate.get("use_cpu")
    if block is None or not multi_gpu:
        return accelerate
    return {**accelerate, "distributed_type": "FSDP", FSDP_BLOCK: block}
