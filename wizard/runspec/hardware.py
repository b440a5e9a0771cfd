"""The hardware answers: the GPU by name (its memory, bf16 and architecture follow from the
catalog in `wizard.gpus`), how many, and the host's RAM."""

# No `from __future__ import annotations` here: Pydantic would compile and evaluate the text
# of each field's annotation as it builds the models, 1.5% of `new --yes`.
from typing import Annotated, Literal

from pydantic import AfterValidator, model_validator

from wizard.gpus.catalog import GpuFacts
from wizard.gpus.catalog import lookup as lookup_gpu
from wizard.gpus.host import HostRam, host_ram_of
from wizard.runspec.base import AnswerConflict, Range, Real, StrictModel

Accelerator = Literal["cuda", "cpu"]


def _gpu_name(value: str) -> str:
    # Any spelling (nvidia-smi's name, a short form) is stored as the catalog's own name, so an
    # answers file made on one machine reads the same on every other.
    return lookup_gpu(value).name


GpuName = Annotated[str, AfterValidator(_gpu_name)]


class HardwareSpec(StrictModel):
    accelerator: Accelerator = "cuda"
    """cuda GPUs, or cpu for a smoke test"""
    gpu: GpuName | None = None
    """the GPU by name, as nvidia-smi prints it or short (H100, A100-80GB, RTX 4090, T4): its
    memory, bf16 and the recipe for its architecture follow"""
    gpus_per_node: Annotated[int, Range(ge=1, le=64)] = 1
    nodes: Annotated[int, Range(ge=1, le=1024)] = 1
    gpu_memory_gib: Annotated[Real | None, Range(gt=0, le=1024)] = None
    """memory of one GPU; none: the named GPU's"""
    bf16_supported: bool | None = None
    """none: the named GPU's (Ampere and newer); true when unnamed"""
    host_ram_gib: Annotated[Real | None, Range(gt=0, le=65536)] = None
    """CPU RAM of one node; none: a typical machine with the named GPU"""

    @model_validator(mode="after")
    def _agrees_with_gpu(self) -> "HardwareSpec":
        facts = self.facts
        if facts is None:
            return self
        if self.accelerator == "cpu":
            raise AnswerConflict(
                f"hardware.gpu names a {facts.name} but the run is on the CPU; remove "
                "hardware.gpu or set hardware.accelerator=cuda",
                "gpu",
                "accelerator",
            )
        if self.bf16_supported is not None and self.bf16_supported != facts.bf16:
            raise AnswerConflict(
                f"the {facts.name} ({facts.arch}) {'has' if facts.bf16 else 'has no'} bf16, "
                f"but hardware.bf16_supported={str(self.bf16_supported).lower()}; remove "
                "hardware.bf16_supported (the GPU's name says it)",
                "bf16_supported",
                "gpu",
            )
        if self.gpu_memory_gib is not None and self.gpu_memory_gib > facts.memory_gib + 0.5:
            raise AnswerConflict(
                f"the {facts.name} has {facts.memory_gib:g} GiB, less than "
                f"hardware.gpu_memory_gib={self.gpu_memory_gib:g}; remove hardware.gpu_memory_gib "
                "(or give less, for a MIG slice)",
                "gpu_memory_gib",
                "gpu",
            )
        return self

    @property
    def world_size(self) -> int:
        return self.gpus_per_node * self.nodes

    @property
    def facts(self) -> GpuFacts | None:
        """The named GPU's row of the catalog (None when no GPU is named)."""
        return None if self.gpu is None else lookup_gpu(self.gpu)

    @property
    def memory_gib(self) -> float | None:
        """The memory of one GPU: as answered, else the named GPU's, else unknown."""
        if self.gpu_memory_gib is not None:
            return self.gpu_memory_gib
        facts = self.facts
        return None if facts is None else facts.memory_gib

    @property
    def bf16(self) -> bool:
        """bf16 on these GPUs: as answered, else the named GPU's, else assumed (Ampere on)."""
        if self.bf16_supported is not None:
            return self.bf16_supported
        facts = self.facts
        return True if facts is None else facts.bf16

    @property
    def capability(self) -> tuple[int, int] | None:
        facts = self.facts
        return None if facts is None else facts.capability

    @property
    def host_ram(self) -> HostRam | None:
        """The CPU RAM of one node, and where the figure comes from (unknown for a CPU run
        with nothing answered, where the machine itself is the limit)."""
        return host_ram_of(self.facts, self.host_ram_gib, self.memory_gib, self.gpus_per_node)
