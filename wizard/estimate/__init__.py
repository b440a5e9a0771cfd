"""Peak GPU memory of an Axolotl run, before launching it, and the batch layout that fits.

Pure: no torch, transformers, axolotl, deepspeed or accelerate. Entry points:
`estimate(cfg, arch, ...)`, `autofit(cfg, arch, ...)`,
`workload_from_config(cfg, deepspeed, gpus=)`; `cfg` is an Axolotl config or its typed view
(`wizard.axolotl.view`), which reads every key.
"""

from __future__ import annotations

from wizard.estimate.advice import HostLimit
from wizard.estimate.autofit import AutofitError, Host, Keep, Layout, Plan, autofit
from wizard.estimate.core import GIB, Advice, Estimate, compose, verdict_for
from wizard.estimate.entry import estimate
from wizard.estimate.workload import Workload, workload_from_config

__all__ = [
    "GIB",
    "Advice",
    "AutofitError",
    "Estimate",
    "Host",
    "HostLimit",
    "Keep",
    "Layout",
    "Plan",
    "Workload",
    "autofit",
    "compose",
    "estimate",
    "verdict_for",
    "workload_from_config",
]
