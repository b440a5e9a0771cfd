"""Facts about the machine that preflight compares with the plan (each probe is cheap).

The training packages are probed in a subprocess of the Python that will run them: importing
Axolotl here would cost ten seconds and would test our interpreter, not the child's.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
from dataclasses import dataclass
from pathlib import Path

PACKAGES = ("axolotl", "accelerate", "torch", "transformers", "deepspeed", "flash_attn",
            "ring_flash_attn")  # fmt: skip
# find_spec locates a package without importing it; metadata gives the installed version.
_PROBE = """\
import importlib.metadata as m, importlib.util as u, json, sys
out = {}
for name in sys.argv[1:]:
    try:
        found = u.find_spec(name) is not None
    except (ImportError, ValueError):
        found = False
    try:
        out[name] = m.version(name) if found else None
    except m.PackageNotFoundError:
        out[name] = "unknown" if found else None
print(json.dumps(out))
"""


def package_versions(python: str) -> dict[str, str | None]:
    """name -> installed version (None: not importable) as seen by `python`."""
    try:
        done = subprocess.run(
            [python, "-c", _PROBE, *PACKAGES],
            capture_output=True, text=True, timeout=60, check=False,
        )  # fmt: skip
    except (OSError, subprocess.TimeoutExpired):
        return dict.fromkeys(PACKAGES)
    if done.returncode != 0:
        return dict.fromkeys(PACKAGES)
    parsed: dict[str, str | None] = json.loads(done.stdout)
    return parsed


@dataclass(frozen=True)
class Gpus:
    count: int
    memory_gib: list[float]
    source: str  # how we know: "nvidia-smi", "CUDA_VISIBLE_DEVICES", "none"


def visible_gpus() -> Gpus:
    """The NVIDIA GPUs this process may use: nvidia-smi's list, cut by CUDA_VISIBLE_DEVICES."""
    memory = _nvidia_smi_memory()
    mask = os.environ.get("CUDA_VISIBLE_DEVICES")
    if mask is not None:
        ids = [part.strip() for part in mask.split(",") if part.strip() and part.strip() != "-1"]
        if not memory:
            return Gpus(len(ids), [], "CUDA_VISIBLE_DEVICES")
        picked = [memory[int(i)] for i in ids if i.isdigit() and int(i) < len(memory)]
        return Gpus(len(picked), picked, "nvidia-smi and CUDA_VISIBLE_DEVICES")
    if memory is None:
        return Gpus(0, [], "none")
    return Gpus(len(memory), memory, "nvidia-smi")


def _nvidia_smi_memory() -> list[float] | None:
    """Total memory of each GPU in GiB, or None when nvidia-smi is missing or fails."""
    exe = shutil.which("nvidia-smi")
    if exe is None:
        return None
    try:
        done = subprocess.run(
            [exe, "--query-gpu=memory.total", "--format=csv,noheader,nounits"],
            capture_output=True, text=True, timeout=30, check=False,
        )  # fmt: skip
    except (OSError, subprocess.TimeoutExpired):
        return None
    if done.returncode != 0:
        return None
    try:
        return [float(line) / 1024 for line in done.stdout.split() if line.strip()]
    except ValueError:
        return None


def offline() -> bool:
    return os.environ.get("HF_HUB_OFFLINE", "").lower() in ("1", "true", "yes", "on")


def weight_bytes(model_dir: Path) -> int:
    """Size of the weight files in a model folder (the base for checkpoint sizes)."""
    total = 0
    for pattern in ("*.safetensors", "*.bin", "*.pt", "*.pth"):
        for path in model_dir.glob(pattern):
            total += path.stat().st_size  # resolves symlinks: the HF cache links to blobs
    return total


def free_bytes(path: Path) -> int:
    """Free space on the file system that will hold `path` (which may not exist yet)."""
    probe = path
    while not probe.exists() and probe != probe.parent:
        probe = probe.parent
    return shutil.disk_usage(probe).free
