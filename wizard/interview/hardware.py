"""The GPUs of this machine (from nvidia-smi, when it is there) and common ones to pick from."""

from __future__ import annotations

import shutil
import subprocess
from dataclasses import dataclass

# bf16 needs compute capability 8.0 (Ampere) or newer.
BF16_MIN_CAPABILITY = 8.0
NVIDIA_SMI_TIMEOUT_S = 5


@dataclass(frozen=True)
class Gpu:
    name: str
    memory_gib: float
    bf16: bool

    @property
    def label(self) -> str:
        return f"{self.name} {self.memory_gib:g} GB" + ("" if self.bf16 else " (no bf16)")


# Memory as nvidia-smi reports it (MiB / 1024, rounded), which is what detection gives too.
COMMON_GPUS: tuple[Gpu, ...] = (
    Gpu("B200", 179, True),
    Gpu("H200", 140, True),
    Gpu("H100", 80, True),
    Gpu("A100", 80, True),
    Gpu("A100", 40, True),
    Gpu("L40S", 45, True),
    Gpu("RTX A6000", 48, True),
    Gpu("L4", 22, True),
    Gpu("A10G", 24, True),
    Gpu("RTX 4090", 24, True),
    Gpu("RTX 3090", 24, True),
    Gpu("T4", 16, False),
)


@dataclass(frozen=True)
class Detected:
    gpu: Gpu
    count: int


def parse_nvidia_smi(output: str) -> Detected | None:
    """Lines of `name, memory.total [MiB], compute_cap` -> the first GPU model and the count."""
    rows = [[part.strip() for part in line.split(",")] for line in output.splitlines()]
    rows = [row for row in rows if len(row) >= 2]
    if not rows:
        return None
    name, memory = rows[0][0], rows[0][1]
    try:
        memory_gib = round(float(memory) / 1024)
    except ValueError:
        return None
    if len(rows[0]) > 2:
        bf16 = _capability(rows[0][2]) >= BF16_MIN_CAPABILITY
    else:
        bf16 = _bf16_by_name(name)
    return Detected(Gpu(name.removeprefix("NVIDIA "), memory_gib, bf16), len(rows))


def _capability(text: str) -> float:
    try:
        return float(text)
    except ValueError:
        return 0.0


def _bf16_by_name(name: str) -> bool:
    # Older drivers do not report compute_cap; these families predate Ampere.
    return not any(old in name for old in ("T4", "V100", "P100", "K80", "P40", "RTX 20", "GTX"))


def detect_gpus() -> Detected | None:
    """What nvidia-smi reports, or None when it is missing or fails (no GPU, no driver)."""
    binary = shutil.which("nvidia-smi")
    if binary is None:
        return None
    query = "--query-gpu=name,memory.total,compute_cap"
    try:
        done = subprocess.run(
            [binary, query, "--format=csv,noheader,nounits"],
            capture_output=True,
            text=True,
            timeout=NVIDIA_SMI_TIMEOUT_S,
            check=False,
        )
    except (OSError, subprocess.SubprocessError):
        return None
    if done.returncode != 0:
        return None
    return parse_nvidia_smi(done.stdout)
