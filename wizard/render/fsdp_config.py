"""FSDP's keys in the Axolotl config: `fsdp_version`, FSDP1's `fsdp:` list and `fsdp_config`
(pure). Axolotl turns them into accelerate's FSDP settings itself (`setup_fsdp_envs`)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from wizard.axolotl import keys as K
from wizard.errors import WizardError
from wizard.runspec import RunSpec

# FSDP2 as the wizard writes it when nothing else is said. The layer class to wrap is an answer
# that `build.fitting` fills from the family table (families.yaml `layer_class`); for a model
# the table does not know it stays unset, and accelerate wraps the model's own
# `_no_split_modules`: either way nobody types a class name.
FSDP2_DEFAULTS: dict[str, Any] = {
    "auto_wrap_policy": "TRANSFORMER_BASED_WRAP",
    "state_dict_type": "FULL_STATE_DICT",
    "reshard_after_forward": True,
}


def fsdp_entries(spec: RunSpec) -> list[tuple[str, Any, str, str]]:
    """(key, value, comment, answer) of the FSDP keys the run writes."""
    dist = spec.distributed
    version = 2 if dist.fsdp_version is None else dist.fsdp_version
    entries: list[tuple[str, Any, str, str]] = [
        ("fsdp_version", version, "FSDP2: torch's fully_shard" if version == 2 else "",
         "distributed.fsdp_version"),
    ]  # fmt: skip
    if dist.fsdp_options is not None:
        entries.append(("fsdp", list(dist.fsdp_options), "", "distributed.fsdp_options"))
    imported = spec.policy.imported
    settings: dict[str, Any] = {} if imported else {"offload_params": dist.offload_params,
                                                    **FSDP2_DEFAULTS}  # fmt: skip
    if imported and "offload_params" in dist.model_fields_set:
        settings["offload_params"] = dist.offload_params
    settings.update({name: value for name, value in dist.fsdp if value is not None})
    if settings:
        entries.append(("fsdp_config", settings, "", "distributed.backend"))
    return entries


FSDP_KEYS = ("fsdp", "fsdp_config", "fsdp_version")


def check_sharding_raw(spec: RunSpec, raw: Mapping[str, Any]) -> None:
    """Raw keys cannot add the other sharding: Axolotl refuses DeepSpeed and FSDP together
    (validation.py check_fsdp_deepspeed)."""
    backend = spec.distributed.backend
    fsdp_raw = next((key for key in FSDP_KEYS if raw.get(key)), None)
    if backend == "fsdp" and raw.get(K.DEEPSPEED):
        clash = "axolotl.deepspeed"
    elif backend == "deepspeed" and fsdp_raw:
        clash = f"axolotl.{fsdp_raw}"
    else:
        return
    raise WizardError(
        f"{clash} with distributed.backend={backend}: DeepSpeed and FSDP cannot shard one run "
        "(Axolotl refuses both)",
        f"remove {clash}, or choose one with distributed.backend=deepspeed or fsdp",
    )
