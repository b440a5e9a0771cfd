"""The host's RAM: as answered, else that of a typical machine with the named GPU (the catalog's
`host_ram` rows), else twice the GPUs' memory. CPU offload, loading weights and each training
process live there, so a plan only fits when the host holds them too."""

from wizard.gpus.catalog import GpuFacts, unnamed_host_ram
from wizard.records import Record


class HostRam(Record):
    gib: float
    source: str  # "answered", or the machine the default is read from

    @property
    def answered(self) -> bool:
        return self.source == "answered"

    def text(self) -> str:
        """`256 GiB (a typical AWS p5.48xlarge ...; set hardware.host_ram_gib)`."""
        if self.answered:
            return f"{self.gib:g} GiB"
        return f"{self.gib:g} GiB ({self.source}; set hardware.host_ram_gib to your machine's)"


def host_ram_of(
    facts: GpuFacts | None, answered: float | None, gpu_memory_gib: float | None, gpus: int
) -> HostRam | None:
    """The RAM of one node with `gpus` GPUs; None when nothing says (no GPU memory known)."""
    if answered is not None:
        return HostRam(answered, "answered")
    if facts is not None:
        per_gpu = facts.host_ram_per_gpu_gib
        return HostRam(per_gpu * gpus, f"as on {facts.host_ram_machine}: {per_gpu:g} GiB a GPU")
    if gpu_memory_gib is None:
        return None
    factor, at_least = unnamed_host_ram()
    gib = max(at_least, factor * gpu_memory_gib * gpus)
    return HostRam(gib, f"assumed: {factor:g} x the GPUs' memory, as on cloud GPU machines")
