"""Compose the terms into one peak-memory estimate per GPU, with a verdict against the GPU."""

from typing import Any

from wizard.estimate.activations import activation_peak
from wizard.estimate.confidence import Confidence
from wizard.estimate.states import model_states
from wizard.estimate.terms import (
    adapter_weight_bytes,
    base_weight_bytes,
    optimizer_info,
    quant_bytes_per_param,
    trainable_params,
)
from wizard.estimate.workload import Workload
from wizard.models import (
    ModelArch,
    embedding_params,
    largest_module_params,
    layer_linears,
    total_params,
)
from wizard.records import Record

GIB = 2**30
# The CUDA context, cuBLAS workspaces and kernels loaded by torch: what nvidia-smi shows before
# the first tensor. NCCL adds its own buffers once more than one GPU talks.
CUDA_CONTEXT_GIB = 0.5
NCCL_GIB = 0.4
# PyTorch's caching allocator reserves more than it hands out (block rounding, fragmentation).
FRAGMENTATION = 0.07
# Verdicts: below this share of the GPU it fits with room for spikes; above 1.0 it does not fit.
TIGHT_SHARE = 0.90
# Python, CUDA libraries and the tokenizer/dataset of one training process, on the CPU.
CPU_PER_PROCESS_GIB = 3.0


class Advice(Record):
    """One change that lowers the peak, with the estimate it would give."""

    change: str
    peak_gib_per_gpu: float
    fits: bool | None
    speed_cost: str


class Estimate(Record):
    peak_gib_per_gpu: float
    allocated_gib: float
    breakdown_gib: dict[str, float]
    cpu_ram_gib: float
    gpu_mem_gib: float | None
    fits: bool | None
    verdict: str
    phase: str
    total_params: int
    trainable_params: int
    rough_reason: str | None
    notes: tuple[str, ...]
    workload: Workload
    advice: tuple[Advice, ...] = ()
    confidence: Confidence | None = None  # set by `estimate`, the front door

    def host_ram_per_node_gib(self, nodes: int = 1) -> float:
        """The CPU RAM one node needs: its share of what is offloaded, and its processes."""
        gpus, nodes = self.workload.gpus, max(1, nodes)
        offloaded = self.cpu_ram_gib - CPU_PER_PROCESS_GIB * min(gpus, 8)
        return offloaded / nodes + CPU_PER_PROCESS_GIB * min(max(1, gpus // nodes), 8)

    def to_json(self) -> dict[str, Any]:
        return {
            "peak_gib_per_gpu": round(self.peak_gib_per_gpu, 3),
            "allocated_gib": round(self.allocated_gib, 3),
            "breakdown_gib": {k: round(v, 3) for k, v in self.breakdown_gib.items()},
            "cpu_ram_gib": round(self.cpu_ram_gib, 3),
            "gpu_mem_gib": self.gpu_mem_gib,
            "fits": self.fits,
            "verdict": self.verdict,
            "peak_phase": self.phase,
            "gpus": self.workload.gpus,
            "total_params": self.total_params,
            "trainable_params": self.trainable_params,
            "rough": self.rough_reason is not None,
            "rough_reason": self.rough_reason,
            "notes": list(self.notes),
            "advice": [
                {
                    "change": a.change,
                    "peak_gib_per_gpu": round(a.peak_gib_per_gpu, 3),
                    "fits": a.fits,
                    "speed_cost": a.speed_cost,
                }
                for a in self.advice
            ],
            "confidence": self.confidence.to_json() if self.confidence else None,
        }


def _buffers(arch: ModelArch, spec: Workload) -> tuple[float, float]:
    """(during backward, during the optimizer step): dequantization, ZeRO gathers, buckets."""
    c, h = spec.compute_bytes, arch.hidden_size
    backward = 0.0
    if spec.weight_bits < 16 and spec.method != "full":
        biggest = max(lin.fan_in * lin.fan_out for lin in layer_linears(arch) if lin.linear)
        backward += 2 * biggest * c  # bitsandbytes dequantizes one weight (and its transpose)
    if (spec.sharded and spec.gpus > 1) or spec.offload_params:
        layer = sum(lin.layers * lin.params for lin in layer_linears(arch)) / arch.num_layers
        stored = (
            quant_bytes_per_param(spec.weight_bits, spec.double_quant)
            if (spec.method != "full" and spec.weight_bits < 16)
            else c
        )
        backward += _gathered(arch, spec, layer * stored)
    step = 0.0
    if spec.deepspeed and spec.zero_stage < 3:
        bucket = spec.ds_reduce_bucket or h * h
        backward += 2 * bucket * c
        step += min(spec.ds_allgather_bucket, trainable_params(arch, spec)) * c
    return backward, step


def _gathered(arch: ModelArch, spec: Workload, layer: float) -> float:
    """Sharded parameters gathered in full at the backward peak: the layer being computed and
    the prefetched next one. Under FSDP, accelerate wraps each decoder layer and then the model
    itself (accelerate/utils/fsdp_utils.py:689-697), so the root group - embeddings, untied
    lm_head, final norm - is one unit, gathered from the first forward use to its last gradient:
    the whole step. ZeRO-3 fetches module by module, the biggest one (often lm_head) included."""
    if spec.fsdp:
        return 2 * layer + embedding_params(arch) * spec.compute_bytes
    return 2 * max(layer, largest_module_params(arch) * spec.compute_bytes)


def _rough_reason(arch: ModelArch, spec: Workload) -> str | None:
    reasons = list(arch.rough_reasons)
    if optimizer_info(spec.optimizer)[0].paged:
        reasons.append("paged optimizer: states can spill to CPU memory under pressure")
    return "; ".join(reasons) or None


def _live_terms(arch: ModelArch, spec: Workload) -> tuple[str, dict[str, float]]:
    """The terms alive at the peak: during the backward pass, or during the optimizer step
    (whichever is larger), as (phase, bytes by term)."""
    states = model_states(arch, spec)
    acts, logits = activation_peak(arch, spec)
    buf_backward, buf_step = _buffers(arch, spec)
    backward = {
        "gradients": states.grads_backward,
        "activations": acts,
        "logits_loss": logits,
        "buffers": buf_backward,
    }
    in_backward = spec.optimizer_in_backward  # no separate step: nothing more lives then
    step = {
        "gradients": 0.0 if in_backward else states.grads_full,
        "activations": 0.0,
        "logits_loss": 0.0,
        "buffers": buf_step + (0.0 if in_backward else states.step_temp),
    }
    if sum(step.values()) > sum(backward.values()):
        return "optimizer step", step
    return "backward", backward


def compose(arch: ModelArch, spec: Workload, gpu_mem_gib: float | None) -> Estimate:
    """The estimate for an already-normalized run."""
    states = model_states(arch, spec)
    phase, live = _live_terms(arch, spec)
    breakdown = dict(
        weights=base_weight_bytes(arch, spec),
        # DPO/IPO/KTO's frozen copy, stored and sharded as the trained weights are.
        reference_model=base_weight_bytes(arch, spec) if spec.reference_model else 0.0,
        adapter=adapter_weight_bytes(arch, spec),
        optimizer_states=states.optimizer - states.paged,
        master_weights=states.master,
        **live,
    )
    allocated = sum(breakdown.values())  # what PyTorch's caching allocator hands out
    if states.paged:
        # Paged optimizer states sit in CUDA managed memory, beside the allocator: nvidia-smi
        # shows them while resident, torch.cuda.max_memory_* never does.
        breakdown["paged_optimizer_states"] = states.paged
    # vLLM reserves its share of the GPU up front (weights and KV cache), beside training.
    vllm = spec.vllm_share * gpu_mem_gib * GIB if spec.vllm_share and gpu_mem_gib else 0.0
    if vllm:
        breakdown.update(vllm=vllm)
    context = CUDA_CONTEXT_GIB + (NCCL_GIB if spec.gpus > 1 else 0.0)
    breakdown["cuda_overhead"] = allocated * FRAGMENTATION + context * GIB
    beside = vllm + states.paged
    peak = (allocated + breakdown["cuda_overhead"] + beside) / GIB
    fits, verdict = verdict_for(peak, gpu_mem_gib)
    cpu = states.cpu + (total_params(arch) * 2 if spec.offload_params else 0.0)
    return Estimate(
        peak_gib_per_gpu=peak,
        allocated_gib=allocated / GIB,
        breakdown_gib={k: v / GIB for k, v in breakdown.items()},
        cpu_ram_gib=cpu / GIB + CPU_PER_PROCESS_GIB * min(spec.gpus, 8),
        gpu_mem_gib=gpu_mem_gib,
        fits=fits,
        verdict=verdict,
        phase=phase,
        total_params=total_params(arch),
        trainable_params=trainable_params(arch, spec),
        rough_reason=_rough_reason(arch, spec),
        notes=spec.notes + tuple(n for n in [optimizer_info(spec.optimizer)[1]] if n),
        workload=spec,
    )


def verdict_for(peak_gib: float, gpu_mem_gib: float | None) -> tuple[bool | None, str]:
    if gpu_mem_gib is None:
        return None, "unknown (no GPU memory given)"
    if peak_gib <= TIGHT_SHARE * gpu_mem_gib:
        return True, "fits"
    if peak_gib <= gpu_mem_gib:
        return True, "tight"
    return False, "does not fit"
