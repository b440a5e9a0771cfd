"""The effective batch: micro batch × gradient accumulation × data-parallel ranks, in one place.

Pure and light (no Pydantic): the answers, the rendered YAML's comments, auto-fit and `launch`
(which can change the number of processes) all say it with these functions.

The GPUs of one context-parallel group split one sequence, and those of one tensor-parallel
group one layer: each group takes one micro batch, so the data-parallel ranks are the processes
over context x tensor parallelism. That is Axolotl's own arithmetic (`normalize_config` in
`axolotl/utils/config/__init__.py`: `batch_size` uses `world_size // context_parallel_size //
tensor_parallel_size`).
"""

from __future__ import annotations


def device_noun(world: int, cpu: bool) -> str:
    noun = "process" if cpu else "GPU"
    if world == 1:
        return noun
    return noun + ("es" if cpu else "s")


def data_parallel_ranks(processes: int, context_parallel: int = 1, tensor_parallel: int = 1) -> int:
    """The ranks that each take their own micro batch (at least 1: sizes the processes do not
    divide are `check`'s `parallel-sizes` to report)."""
    return max(1, processes // max(context_parallel, 1) // max(tensor_parallel, 1))


def sequences_per_step(
    micro_batch: int,
    accumulation: int,
    processes: int,
    context_parallel: int = 1,
    tensor_parallel: int = 1,
) -> int:
    ranks = data_parallel_ranks(processes, context_parallel, tensor_parallel)
    return micro_batch * accumulation * ranks


def batch_text(
    micro_batch: int,
    accumulation: int,
    world: int,
    cpu: bool = False,
    context_parallel: int = 1,
    tensor_parallel: int = 1,
) -> str:
    """`1 micro batch × 2 accumulation × 8 GPUs = 16 sequences`; with context or tensor
    parallelism `... × 2 data-parallel ranks (8 GPUs ÷ 4 context parallel) = 4 sequences`."""
    total = sequences_per_step(micro_batch, accumulation, world, context_parallel, tensor_parallel)
    return f"{micro_batch} micro batch × {accumulation} accumulation × " + (
        f"{ranks_text(world, cpu, context_parallel, tensor_parallel)} = {total} sequences"
    )


def ranks_text(world: int, cpu: bool, context_parallel: int = 1, tensor_parallel: int = 1) -> str:
    """`8 GPUs`, or `2 data-parallel ranks (8 GPUs ÷ 2 context parallel × 2 tensor parallel)`."""
    processes = f"{world} {device_noun(world, cpu)}"
    splits = [f"{size} {name} parallel" for size, name in
              ((context_parallel, "context"), (tensor_parallel, "tensor")) if size > 1]  # fmt: skip
    if not splits:
        return processes
    ranks = data_parallel_ranks(world, context_parallel, tensor_parallel)
    noun = "rank" if ranks == 1 else "ranks"
    return f"{ranks} data-parallel {noun} ({processes} ÷ {' × '.join(splits)})"
