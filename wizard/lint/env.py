"""What `check` knows about the machine a config will train on.

Every field may be unknown (None): a gotcha that needs a fact fires only when the fact is known,
so linting on a laptop never claims a training box lacks something. Package presence is probed
with `importlib.util.find_spec`, which locates a module without importing it.
"""

from __future__ import annotations

import importlib.util
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any

from wizard.errors import WizardError
from wizard.gpus.catalog import AMPERE, HOPPER, capability_of
from wizard.records import Record

# Packages whose absence a rule can report (import names).
PACKAGES = ("flash_attn", "ring_flash_attn", "deepspeed", "bitsandbytes")


class Env(Record):
    """GPU capabilities (as Axolotl's GPUCapabilities) and installed packages, when known."""

    bf16: bool | None = None
    fp8: bool | None = None
    tf32: bool | None = None
    n_gpu: int | None = None
    n_node: int = 1
    compute_capability: str | None = None
    cpu: bool = False
    packages: Mapping[str, bool] | None = None
    torch_version: str | None = None
    cwd: Path | None = None  # the folder relative paths are read from; None: this process's

    @property
    def working_dir(self) -> Path:
        """`cwd`, or the folder this process runs in when none was given."""
        return self.cwd if self.cwd is not None else Path.cwd()

    @classmethod
    def for_gpu(cls, arch: str, n_gpu: int | None = 1, n_node: int = 1, **kw: Any) -> Env:
        """Capabilities of an NVIDIA GPU from its arch, e.g. `sm_90`, as Axolotl reports them
        (axolotl/cli/config.py gpu_capabilities): bf16 and tf32 from Ampere (sm_80) on, fp8
        from Hopper (sm_90) on."""
        try:
            major, minor = capability_of(arch)
        except ValueError:
            raise WizardError(
                f"--gpu-arch {arch!r} is not a CUDA arch like sm_80 or sm_90",
                "A100 is sm_80, L40S/RTX 4090 sm_89, H100/H200 sm_90, B200 sm_100",
            ) from None
        return cls(
            bf16=(major, minor) >= AMPERE,
            tf32=(major, minor) >= AMPERE,
            fp8=(major, minor) >= HOPPER,
            n_gpu=n_gpu,
            n_node=n_node,
            compute_capability=f"sm_{major}{minor}",
            **kw,
        )

    @classmethod
    def for_cpu(cls, **kw: Any) -> Env:
        return cls(bf16=False, fp8=False, tf32=False, n_gpu=0, cpu=True, **kw)

    def has(self, module: str) -> bool | None:
        """Whether `module` is importable on the training machine; None when unknown."""
        if self.packages is None:
            return None
        if module not in self.packages:
            return importlib.util.find_spec(module) is not None
        return self.packages[module]

    def gpu_capabilities(self) -> dict[str, object]:
        """The `capabilities` dict Axolotl's validate_config takes (unknowns as its defaults):
        the fields of its GPUCapabilities model, not config keys."""
        return dict(
            bf16=bool(self.bf16),
            fp8=bool(self.fp8),
            tf32=bool(self.tf32),
            n_gpu=self.n_gpu if self.n_gpu is not None else 1,
            n_node=self.n_node,
            compute_capability=self.compute_capability,
        )


def probe_packages(names: Iterable[str] = PACKAGES) -> dict[str, bool]:
    """Which of `names` this interpreter can import (found, not imported)."""
    found = {}
    for name in names:
        try:
            found[name] = importlib.util.find_spec(name) is not None
        except (ImportError, ValueError):
            found[name] = False
    return found


def local_training_env() -> bool:
    """Is this interpreter a training environment? Only then do package probes mean anything."""
    return importlib.util.find_spec("axolotl") is not None
