"""The GPUs and the RAM of this machine: what the interview proposes when it runs on the
training machine itself. nvidia-smi is asked once, with a timeout; no GPU, no driver or a
failing nvidia-smi means nothing is detected, never an error."""

from __future__ import annotations

import shutil
import subprocess
from dataclasses import dataclass
from pathlib import Path

from wizard.gpus.catalog import AMPERE, GpuFacts, find

NVIDIA_SMI_TIMEOUT_S = 5
MEMINFO = Path("/proc/meminfo")
# /proc/meminfo is a few kilobytes; a larger "file" is not it.
MEMINFO_MAX_BYTES = 64 * 1024


@dataclass(frozen=True)
class Detected:
    """The first GPU nvidia-smi lists (name, memory, bf16), how many there are, and the catalog
    row of that GPU when the catalog knows it."""

    name: str
    memory_gib: float
    bf16: bool
    count: int
    facts: GpuFacts | None = None

    @property
    def label(self) -> str:
        return f"{self.name} {self.memory_gib:g} GiB" + ("" if self.bf16 else " (no bf16)")


def parse_nvidia_smi(output: str) -> Detected | None:
    """Lines of `name, memory.total [MiB], compute_cap` -> the first GPU model and the count."""
    rows = [[part.strip() for part in line.split(",")] for line in output.splitlines()]
    rows = [row for row in rows if len(row) >= 2]
    if not rows:
        return None
    name, memory = rows[0][0], rows[0][1]
    try:
        memory_gib = int(float(memory) / 1024 * 10) / 10  # one decimal, rounded down
    except ValueError:
        return None
    facts = find(name)
    if len(rows[0]) > 2:
        bf16 = _capability(rows[0][2]) >= AMPERE
    else:
        bf16 = facts.bf16 if facts is not None else True
    return Detected(name.removeprefix("NVIDIA "), memory_gib, bf16, len(rows), facts)


def _capability(text: str) -> tuple[int, int]:
    major, _, minor = text.partition(".")
    try:
        return int(major), int(minor or 0)
    except ValueError:
        return (0, 0)


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


def detect_host_ram_gib(meminfo: Path = MEMINFO) -> float | None:
    """This machine's RAM (MemTotal, GiB, one decimal rounded down), or None off Linux."""
    try:
        with meminfo.open("rb") as handle:
            text = handle.read(MEMINFO_MAX_BYTES).decode("ascii", "replace")
    except OSError:
        return None
    for line in text.splitlines():
        if line.startswith("MemTotal:"):
            parts = line.split()
            if len(parts) >= 2 and parts[1].isdigit():
                return int(int(parts[1]) / 1024 / 1024 * 10) / 10
    return None
