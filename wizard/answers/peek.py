"""A few answers read straight from an answers file, without building the spec.

`estimate RUN_DIR` and `check` need only the run's GPUs (their name, count and memory) and the
host's RAM, and stay fast by not importing Pydantic for them. The values are checked here as
strictly as the spec would check them.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

from wizard.errors import WizardError
from wizard.gpus.catalog import GpuFacts, UnknownGpu, lookup
from wizard.gpus.host import HostRam, host_ram_of
from wizard.yamlio import load_yaml_mapping


@dataclass(frozen=True)
class PlannedHardware:
    gpus_per_node: int
    nodes: int
    gpu_memory_gib: float | None
    gpu: GpuFacts | None = None
    host_ram: HostRam | None = None
    cpu: bool = False

    @property
    def world_size(self) -> int:
        return self.gpus_per_node * self.nodes


def planned_hardware(path: Path) -> PlannedHardware:
    """`answers.hardware` of an answers file: GPUs per node, nodes, GPU memory."""
    data = load_yaml_mapping(path, "answers file")
    answers = data.get("answers")
    if not isinstance(answers, dict):
        raise WizardError(f"{path} has no answers", "make the run again with `new`")
    # An imported config names no hardware: one GPU, unknown (the launch gives the GPUs).
    hardware = answers.get("hardware", {})
    if not isinstance(hardware, dict):
        raise WizardError(f"{path}: answers.hardware is not a mapping", "fix the answers file")
    memory, ram = _size(hardware, "gpu_memory_gib", path), _size(hardware, "host_ram_gib", path)
    facts = _gpu(hardware.get("gpu"), path)
    if memory is None and facts is not None:
        memory = facts.memory_gib
    gpus = _count(hardware, "gpus_per_node", path)
    return PlannedHardware(
        gpus,
        _count(hardware, "nodes", path),
        memory,
        facts,
        host_ram_of(facts, ram, memory, gpus),
        hardware.get("accelerator") == "cpu",
    )


def _size(hardware: dict[str, Any], key: str, path: Path) -> float | None:
    value = hardware.get(key)
    if value is not None and not _positive(value, float):
        raise WizardError(f"{path}: hardware.{key} is {value!r}", "fix the answers file")
    return None if value is None else float(value)


def _gpu(name: Any, path: Path) -> GpuFacts | None:
    if name is None:
        return None
    try:
        return lookup(str(name))
    except UnknownGpu as err:
        raise WizardError(f"{path}: hardware.gpu: {err}", "fix the answers file") from None


def _count(hardware: dict[str, Any], key: str, path: Path) -> int:
    value = hardware.get(key, 1)
    if not _positive(value, int):
        raise WizardError(f"{path}: hardware.{key} is {value!r}", "fix the answers file")
    return int(value)


def _positive(value: Any, kind: type) -> bool:
    numbers = (int, float) if kind is float else (int,)
    return isinstance(value, numbers) and not isinstance(value, bool) and value > 0
