"""Training states of the trainable parameters: gradients, optimizer states, fp32 master copy.

Without DeepSpeed, HF Trainer keeps them in the parameter's dtype (bf16 models train "pure bf16").
DeepSpeed ZeRO keeps 16-bit params and grads plus an fp32 master copy, fp32 optimizer states and an
fp32 gradient partition, split across GPUs by stage - the same accounting as DeepSpeed's own
`estimate_zero2/3_model_states_mem_needs` (2 + 2 + 4 + 8 + 4 bytes for Adam).
"""

from wizard.estimate.terms import (
    lora_linears,
    lora_params,
    optimizer_info,
    trainable_bytes_each,
    trainable_params,
)
from wizard.estimate.workload import Workload
from wizard.models import ModelArch, largest_module_params
from wizard.records import Record

FP32 = 4
# bitsandbytes' paged optimizers take state buffers of tensors with at least this many elements
# from CUDA managed memory, the smaller ones from torch (bitsandbytes/optim/optimizer.py:383-390).
PAGED_MIN_NUMEL = 100_000


class States(Record):
    """Bytes on one GPU (and on the CPU, all ranks of the node together)."""

    grads_full: float  # every gradient of one step, live at the end of backward
    grads_backward: float  # gradients live at the start of backward (first layers' grads)
    optimizer: float
    master: float
    step_temp: float  # optimizer-step temporaries (non-fused foreach AdamW)
    cpu: float
    # The part of `optimizer` in CUDA managed memory (paged optimizers): outside PyTorch's
    # allocator, so max_memory_allocated/reserved never count it, and the driver pages it to the
    # host under memory pressure.
    paged: float = 0.0


def _state_elem(spec: Workload, arch: ModelArch) -> float:
    info, _ = optimizer_info(spec.optimizer)
    if info.state_bytes is not None:
        return info.state_bytes
    return FP32 if spec.deepspeed else trainable_bytes_each(arch, spec)


def _split(spec: Workload, value: float, partitioned: bool) -> float:
    return value / spec.shard_ranks if partitioned else value


def model_states(arch: ModelArch, spec: Workload) -> States:
    """Gradients, optimizer states and master weights of the trainable parameters."""
    states = _tensor_split(_model_states(arch, spec), spec.tensor_parallel)
    if not optimizer_info(spec.optimizer)[0].paged:
        return states
    return states._replace(paged=states.optimizer * paged_share(arch, spec))


def _tensor_split(states: States, tp: int) -> States:
    """Tensor parallelism gives each rank 1/tp of every layer, so of its gradients, optimizer
    states and master copy (on the GPU or offloaded)."""
    if tp == 1:
        return states
    return States(*(value / tp for value in states._asdict().values()))


def paged_share(arch: ModelArch, spec: Workload) -> float:
    """The share of trainable parameters whose optimizer states bitsandbytes pages: those of
    tensors of at least PAGED_MIN_NUMEL elements (functional.py:91 get_paged -> cudaMallocManaged).
    Every weight matrix of a full fine-tune; of LoRA's A (r x in) and B (out x r), the big ones."""
    n = trainable_params(arch, spec)
    if spec.method == "full" or n == 0:
        return 1.0
    paged = sum(
        lin.layers * lin.count * sum(spec.lora_r * fan for fan in (lin.fan_in, lin.fan_out)
                                     if spec.lora_r * fan >= PAGED_MIN_NUMEL)
        for lin in lora_linears(arch, spec)
    )  # fmt: skip
    # The trainable parameters that are not LoRA's own are whole embeddings: paged.
    return min(1.0, (paged + n - lora_params(arch, spec)) / n)


def _model_states(arch: ModelArch, spec: Workload) -> States:
    info, _ = optimizer_info(spec.optimizer)
    n = trainable_params(arch, spec)
    opt = n * info.states * _state_elem(spec, arch)
    if spec.deepspeed:
        return _deepspeed_states(arch, spec, n, opt)
    if spec.fsdp and spec.compute_bytes < FP32 and spec.fsdp_fp32_shards:
        return _fsdp_states(arch, spec, n)
    grad_each = trainable_bytes_each(arch, spec)
    grads = _split(spec, n * grad_each, spec.fsdp)
    opt = _split(spec, opt, spec.fsdp)
    cpu = 0.0
    if spec.fsdp and spec.offload_params:
        cpu, grads, opt = (grads + opt) * spec.gpus, 0.0, 0.0
    if spec.gpus > 1 and not spec.fsdp:
        # DDP reduces through bucket copies of every gradient (gradient_as_bucket_view is off).
        grads *= 2
    return States(
        grads_full=grads,
        grads_backward=_first_grads(arch, spec, grads, n),
        optimizer=opt,
        master=0.0,
        step_temp=0.0 if info.fused else opt / max(info.states, 1),
        cpu=cpu,
    )


def _deepspeed_states(arch: ModelArch, spec: Workload, n: int, opt: float) -> States:
    g, stage = spec.shard_ranks, spec.zero_stage
    half_grads = n * 2 / (g if stage >= 2 else 1)
    fp32_grads, master = n * FP32 / g, n * FP32 / g
    opt = opt / g
    cpu = 0.0
    if spec.offload_optimizer:
        # ZeRO-Offload moves the master copy, optimizer states and fp32 grads to pinned CPU memory.
        cpu = (master + opt + fp32_grads) * spec.gpus
        half_grads = 0.0 if stage >= 2 else half_grads
        master, opt, fp32_grads = 0.0, 0.0, 0.0
    info, _ = optimizer_info(spec.optimizer)
    return States(
        grads_full=half_grads + fp32_grads,
        grads_backward=_first_grads(arch, spec, half_grads, n),
        optimizer=opt,
        master=master,
        step_temp=0.0 if info.fused else master,
        cpu=cpu,
    )


def _fsdp_states(arch: ModelArch, spec: Workload, n: int) -> States:
    """FSDP2 under mixed precision: accelerate upcasts the trainable shards to fp32
    (accelerate/utils/fsdp_utils.py:733), so each GPU holds 1/N of fp32 parameters, fp32
    gradients and fp32 optimizer states (FSDP's own accounting; ZeRO-3's 16 bytes a parameter).
    The 16-bit layers gathered for compute are buffers; `master` is the fp32 shards' bytes above
    the 16-bit weights the weights term counts."""
    info, _ = optimizer_info(spec.optimizer)
    g = spec.shard_ranks
    each = info.state_bytes if info.state_bytes is not None else FP32
    opt = n * info.states * each / g
    grads = n * FP32 / g
    master = n * max(FP32 - trainable_bytes_each(arch, spec), 0.0) / g
    cpu = 0.0
    if spec.offload_params:
        cpu, grads, opt, master = (grads + opt + master) * spec.gpus, 0.0, 0.0, 0.0
    return States(
        grads_full=grads,
        grads_backward=_first_grads(arch, spec, grads, n),
        optimizer=opt,
        master=master,
        step_temp=0.0 if info.fused else opt / max(info.states, 1),
        cpu=cpu,
    )


def _first_grads(arch: ModelArch, spec: Workload, grads_full: float, n: int) -> float:
    """Gradients already live when the backward pass peaks.

    With gradient accumulation the previous micro batches' gradients stay for the whole backward;
    otherwise only the output layer's gradient exists that early (full fine-tuning).
    """
    if spec.grad_accum > 1 and not spec.optimizer_in_backward:
        return grads_full
    if spec.method != "full" or n == 0:
        return 0.0
    return grads_full * min(1.0, largest_module_params(arch) / n)
