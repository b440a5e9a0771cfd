"""FSDP's keys in the Axolotl config: `fsdp_version`, FSDP1's `fsdp:` list and `fsdp_config`
(pure). Axolotl turns them into accelerate's FSDP settings itself (`setup_fsdp_envs`)."""

from __future__ import annotations

from typing import Any

from wizard.spec import RunSpec

# FSDP2 as the wizard writes it when nothing else is said; the layer class to wrap is left to
# accelerate, which takes the model's own (`_no_split_modules`), so nobody types a class name.
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
    imported = spec.defaults == "axolotl"
    settings: dict[str, Any] = {} if imported else {"offload_params": dist.offload_params,
                                                    **FSDP2_DEFAULTS}  # fmt: skip
    if imported and "offload_params" in dist.model_fields_set:
        settings["offload_params"] = dist.offload_params
    settings.update({name: value for name, value in dist.fsdp if value is not None})
    if settings:
        entries.append(("fsdp_config", settings, "", "distributed.backend"))
    return entries
