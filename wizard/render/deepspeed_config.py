"""Spec -> DeepSpeed config, composed from the JSON fragments in templates/deepspeed/ (pure)."""

from __future__ import annotations

import json
from functools import cache
from typing import Any

from wizard.resources import templates_dir
from wizard.runspec import RunSpec


@cache
def _fragment(name: str) -> dict[str, Any]:
    data: dict[str, Any] = json.loads((templates_dir() / "deepspeed" / name).read_text("utf-8"))
    return data


def deepspeed_filename(spec: RunSpec) -> str:
    """The file name says what is inside; a ZeRO-3 name always contains `zero3` because Axolotl
    decides some ZeRO-3 behaviour (model loading) from the file name alone."""
    dist = spec.distributed
    name = f"zero{dist.zero_stage}"
    if dist.zero_stage == 3:
        name += f"_{spec.resolved_precision}"
    if dist.offload_params:
        name += "_offload_all"
    elif dist.offload_optimizer:
        name += "_offload_optimizer"
    return name + ".json"


def render_deepspeed(spec: RunSpec) -> dict[str, Any] | None:
    """The DeepSpeed dict, or None when the plan does not use DeepSpeed."""
    dist = spec.distributed
    if dist.backend != "deepspeed":
        return None
    zero = dict(_fragment(f"zero{dist.zero_stage}.json"))
    if dist.offload_optimizer or dist.offload_params:
        zero["offload_optimizer"] = dict(_fragment("offload_optimizer.json"))
    if dist.offload_params:
        zero["offload_param"] = dict(_fragment("offload_param.json"))
    config: dict[str, Any] = {"zero_optimization": zero}
    precision = spec.resolved_precision
    if precision in ("bf16", "fp16"):
        config.update(json.loads(json.dumps(_fragment(f"{precision}.json"))))
    if dist.offload_optimizer or dist.offload_params:
        # The HF optimizer the YAML names runs on the CPU copy; DeepSpeed must not swap in its own.
        config["zero_force_ds_cpu_optimizer"] = False
        config["zero_allow_untested_optimizer"] = True
    config.update(_fragment("base.json"))
    return config


def deepspeed_text(config: dict[str, Any]) -> str:
    return json.dumps(config, indent=2) + "\n"
