"""A few answers read straight from an answers file, without building the spec.

`estimate RUN_DIR` needs only the run's GPUs and their memory, and stays fast by not importing
Pydantic for them. The values are checked here as strictly as the spec would check them.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

from wizard.errors import WizardError
from wizard.yamlio import load_yaml_mapping


@dataclass(frozen=True)
class PlannedHardware:
    gpus_per_node: int
    nodes: int
    gpu_memory_gib: float | None

    @property
    def world_size(self) -> int:
        return self.gpus_per_node * self.nodes


def planned_hardware(path: Path) -> PlannedHardware:
    """`answers.hardware` of an answers file: GPUs per node, nodes, GPU memory."""
    data = load_yaml_mapping(path, "answers file")
    answers = data.get("answers")
    hardware = answers.get("hardware") if isinstance(answers, dict) else None
    if not isinstance(hardware, dict):
        raise WizardError(f"{path} has no answers.hardware", "make the run again with `new`")
    memory = hardware.get("gpu_memory_gib")
    if memory is not None and not _positive(memory, float):
        raise WizardError(f"{path}: hardware.gpu_memory_gib is {memory!r}", "fix the answers file")
    return PlannedHardware(
        _count(hardware, "gpus_per_node", path), _count(hardware, "nodes", path), memory
    )


def _count(hardware: dict[str, Any], key: str, path: Path) -> int:
    value = hardware.get(key, 1)
    if not _positive(value, int):
        raise WizardError(f"{path}: hardware.{key} is {value!r}", "fix the answers file")
    return int(value)


def _positive(value: Any, kind: type) -> bool:
    numbers = (int, float) if kind is float else (int,)
    return isinstance(value, numbers) and not isinstance(value, bool) and value > 0
