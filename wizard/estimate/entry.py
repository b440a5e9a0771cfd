"""The estimator's front door: an Axolotl config (or its typed view) in, the estimate (with
advice) out."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from wizard.axolotl.view import AxolotlConfig
from wizard.estimate.advice import HostLimit
from wizard.estimate.advice import advise as with_advice
from wizard.estimate.confidence import confidence
from wizard.estimate.core import Estimate, compose
from wizard.estimate.workload import workload_from_config
from wizard.models import ModelArch


def estimate(
    cfg: Mapping[str, Any] | AxolotlConfig,
    arch: ModelArch,
    *,
    deepspeed: Mapping[str, Any] | None = None,
    gpus: int = 1,
    gpu_mem_gib: float | None = None,
    advise: bool = True,
    host: HostLimit | None = None,
) -> Estimate:
    """Peak GPU memory per GPU of the run a flat Axolotl config (and DeepSpeed dict) describes;
    with `advise`, what to change when it does not fit (a change the host's RAM, when `host`
    knows it, cannot hold does not count as fitting); always, the checked runs it resembles."""
    result = compose(arch, workload_from_config(cfg, deepspeed, gpus=gpus), gpu_mem_gib)
    result = result._replace(confidence=confidence(result.workload, result.total_params))
    if not advise or result.verdict == "fits":
        return result
    return with_advice(arch, result, host)
