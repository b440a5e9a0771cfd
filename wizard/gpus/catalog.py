"""The GPUs the wizard knows by name (`gpus.yaml`): memory, compute capability, what the
architecture supports, and the host RAM of a typical machine with it.

Every spelling people use finds its row: what `nvidia-smi --query-gpu=name` prints (`NVIDIA
GeForce RTX 4090`, `Tesla T4`, `NVIDIA A100-SXM4-80GB`) and short forms (`RTX 4090`, `A100-80GB`,
`h100`). Names are compared without case, spaces, hyphens and the vendor words, so `rtx4090` is
`RTX 4090`. This module imports neither Pydantic nor anything heavy: `check` and `estimate`
read it too.
"""

import re
from functools import cache
from typing import Any

from wizard.records import Record
from wizard.yamlio import package_data

# Words that say who made the card, not which card it is.
_VENDOR_WORDS = re.compile(r"\b(nvidia|geforce|tesla|quadro)\b")
_SEPARATORS = re.compile(r"[\s\-_]+")
_ARCH = re.compile(r"^sm_?(\d+)$")
# bf16 and tf32 arrive with Ampere (8.0); Axolotl reports fp8 from Hopper (9.0) on.
AMPERE = (8, 0)
HOPPER = (9, 0)


class UnknownGpu(ValueError):
    """A GPU name no row matches, with the closest names (the spec shows it in one line)."""


class GpuFacts(Record):
    name: str
    memory_gib: float
    arch: str  # sm_80
    host_ram_per_gpu_gib: float
    host_ram_machine: str
    source: str

    @property
    def capability(self) -> tuple[int, int]:
        return capability_of(self.arch)

    @property
    def bf16(self) -> bool:
        return self.capability >= AMPERE

    @property
    def tf32(self) -> bool:
        return self.capability >= AMPERE

    @property
    def fp8(self) -> bool:
        return self.capability >= HOPPER

    def label(self) -> str:
        """`RTX 4090, 23.9 GiB (sm_89)`: how a menu or the review names it."""
        return f"{self.name}, {self.memory_gib:g} GiB ({self.arch})"


def capability_of(arch: str) -> tuple[int, int]:
    """`sm_89` -> (8, 9), `sm_120` -> (12, 0); ValueError for anything else."""
    match = _ARCH.match(arch.strip().lower())
    if not match:
        raise ValueError(f"{arch!r} is not a CUDA arch like sm_80 or sm_90")
    digits = match.group(1)
    if len(digits) < 2:
        raise ValueError(f"{arch!r} is not a CUDA arch like sm_80 or sm_90")
    return int(digits[:-1]), int(digits[-1])


def normalized(name: str) -> str:
    """The form names are compared in: `NVIDIA GeForce RTX 4090` -> `rtx4090`."""
    return _SEPARATORS.sub("", _VENDOR_WORDS.sub(" ", name.lower()))


@cache
def _table() -> tuple[tuple[GpuFacts, ...], dict[str, GpuFacts], dict[str, tuple[str, ...]]]:
    data: dict[str, Any] = package_data("wizard.gpus", "gpus.yaml")
    rows, index = [], {}
    for row in data["gpus"]:
        facts = GpuFacts(
            name=row["name"],
            memory_gib=float(row["memory_gib"]),
            arch=row["arch"],
            host_ram_per_gpu_gib=float(row["host_ram"]["per_gpu"]),
            host_ram_machine=row["host_ram"]["machine"],
            source=row["source"],
        )
        rows.append(facts)
        for spelling in (row["name"], *row["aliases"], *row["nvidia_smi"]):
            index[normalized(spelling)] = facts
    ambiguous = {normalized(k): tuple(v) for k, v in data["ambiguous"].items()}
    return tuple(rows), index, ambiguous


def unnamed_host_ram() -> tuple[float, float]:
    """(RAM per GiB of GPU memory, the least RAM) assumed for a machine whose GPU is unnamed."""
    row = package_data("wizard.gpus", "gpus.yaml")["unnamed_host_ram"]
    return float(row["per_gpu_memory"]), float(row["at_least_gib"])


def known_gpus() -> tuple[GpuFacts, ...]:
    return _table()[0]


def lookup(name: str) -> GpuFacts:
    """The row for any spelling of a GPU's name; UnknownGpu says what to write instead."""
    rows, index, ambiguous = _table()
    key = normalized(name)
    if key in index:
        return index[key]
    if key in ambiguous:
        choices = " or ".join(ambiguous[key])
        raise UnknownGpu(f"{name.strip()!r} is sold with more than one memory size: name {choices}")
    import difflib  # here: only a name that is not found pays for it

    near = difflib.get_close_matches(key, list(index), n=1, cutoff=0.6)
    hint = f"did you mean {index[near[0]].name}? " if near else ""
    names = ", ".join(row.name for row in rows)
    raise UnknownGpu(
        f"{name.strip()!r} is not a GPU the wizard knows; {hint}known: {names} "
        "(or leave hardware.gpu unset and give hardware.gpu_memory_gib)"
    )


def find(name: str) -> GpuFacts | None:
    """The row for `name`, or None when no row matches."""
    try:
        return lookup(name)
    except UnknownGpu:
        return None
