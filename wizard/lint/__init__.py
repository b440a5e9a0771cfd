"""Lint Axolotl configs: Axolotl dict (+ DeepSpeed dict) -> findings. Imports nothing heavy.

Entry points:
- `lint_dict(cfg, env=..., source=..., deepspeed=...) -> list[Finding]` for configs in memory;
- `check_file(path, env=..., run_axolotl=False) -> Report` for a file on disk;
- `Env` says what is known about the training machine (`Env.for_gpu("sm_90", n_gpu=8)`).
"""

from __future__ import annotations

from wizard.lint.api import check_file, lint_dict, load_config
from wizard.lint.env import Env
from wizard.lint.findings import Finding, Rename, Report, Severity

__all__ = [
    "Env",
    "Finding",
    "Rename",
    "Report",
    "Severity",
    "check_file",
    "lint_dict",
    "load_config",
]
