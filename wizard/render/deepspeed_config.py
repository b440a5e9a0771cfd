"""Spec -> DeepSpeed config, composed from the JSON fragments in templates/deepspeed/, or the
file `distributed.deepspeed_config` names: one of Axolotl's own, or one the answers carry
(pure)."""

from __future__ import annotations

import json
from collections.abc import Mapping
from functools import cache
from pathlib import PurePosixPath
from typing import Any

from wizard.axolotl.deepspeed_file import shipped_deepspeed
from wizard.errors import WizardError
from wizard.resources import templates_dir
from wizard.runspec import RunSpec

DEEPSPEED_DIR = "deepspeed"


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


def deepspeed_path(spec: RunSpec) -> str:
    """Where the run folder holds its DeepSpeed JSON, as `deepspeed:` names it. A file given by
    name keeps its name (Axolotl reads ZeRO-3 from a `zero3` in it)."""
    given = spec.distributed.deepspeed_config
    name = deepspeed_filename(spec) if given is None else PurePosixPath(given).name
    return f"{DEEPSPEED_DIR}/{name}"


def run_deepspeed(spec: RunSpec, carried: Mapping[str, Any]) -> tuple[str, dict[str, Any]] | None:
    """(path in the run folder, JSON) of the run's DeepSpeed file, or None without DeepSpeed:
    the file `distributed.deepspeed_config` names (`carried`: the answers' `files:`), else the
    wizard's own."""
    given = spec.distributed.deepspeed_config
    composed = render_deepspeed(spec)
    if given is None:
        return None if composed is None else (deepspeed_path(spec), composed)
    return deepspeed_path(spec), named_deepspeed(given, carried)


def named_deepspeed(given: str, carried: Mapping[str, Any]) -> dict[str, Any]:
    """The JSON of `distributed.deepspeed_config`: Axolotl's bundled file, or the carried one."""
    shipped = shipped_deepspeed(given)
    if shipped is not None:
        return shipped[1]
    if isinstance(carried.get(given), dict):
        data: dict[str, Any] = carried[given]
        return data
    raise WizardError(
        f"distributed.deepspeed_config names {given}, a file the answers do not carry (files:)",
        "name one of Axolotl's own files (deepspeed_configs/zero2.json, ...), or import the "
        "config that uses the file (`new --from`)",
        keys=("distributed.deepspeed_config",),
    )


def render_deepspeed(spec: RunSpec) -> dict[str, Any] | None:
    """The DeepSpeed dict the wizard composes, or None when the plan does not use DeepSpeed or
    names a file of its own."""
    dist = spec.distributed
    if dist.backend != "deepspeed" or dist.deepspeed_config is not None:
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
