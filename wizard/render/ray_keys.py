"""Axolotl's Ray Train keys, for `distributed.launcher: ray`.

Axolotl starts one Ray worker per GPU of the run and asks Ray for one GPU each (its Ray path
hard-codes `use_gpu=True`), so a Ray run needs GPUs in the Ray cluster.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from wizard.runspec import RunSpec


def ray_entries(spec: RunSpec) -> list[tuple[str, Any, str]]:
    """(key, value, comment) for the config; nothing unless the answer is ray."""
    if spec.distributed.launcher != "ray":
        return []
    workers = spec.hardware.gpus_per_node * spec.hardware.nodes
    return [
        ("use_ray", True, "launch: ray job submit … -- axolotl train axolotl.yml --use-ray"),
        ("ray_num_workers", workers, "one Ray Train worker per GPU of the run"),
        ("resources_per_worker", {"GPU": 1}, ""),
    ]
