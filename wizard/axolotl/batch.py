"""The effective batch: micro batch × gradient accumulation × processes, in one place.

Pure and light (no Pydantic): the answers, the rendered YAML's comments, auto-fit and `launch`
(which can change the number of processes) all say it with these functions.
"""

from __future__ import annotations


def device_noun(world: int, cpu: bool) -> str:
    noun = "process" if cpu else "GPU"
    if world == 1:
        return noun
    return noun + ("es" if cpu else "s")


def sequences_per_step(micro_batch: int, accumulation: int, world: int) -> int:
    return micro_batch * accumulation * world


def batch_text(micro_batch: int, accumulation: int, world: int, cpu: bool = False) -> str:
    """`1 micro batch × 2 accumulation × 8 GPUs = 16 sequences`."""
    total = sequences_per_step(micro_batch, accumulation, world)
    return (
        f"{micro_batch} micro batch × {accumulation} accumulation × {world} "
        f"{device_noun(world, cpu)} = {total} sequences"
    )
