"""What to change when a run does not fit, ranked by how little speed it costs.

Each candidate is a change to the normalized run; it is estimated again, so every number shown
is a real estimate, not a rule of thumb. The last item combines the cheapest changes until the
run fits (or shows how close the combination of all of them gets).
"""

from collections.abc import Callable

from wizard.estimate.core import Advice, Estimate, compose
from wizard.estimate.terms import optimizer_info
from wizard.estimate.workload import Workload
from wizard.models import ModelArch
from wizard.records import Record

Change = tuple[str, str, Callable[[Workload], Workload | None]]


def _flash(s: Workload) -> Workload | None:
    if s.attention == "flash":
        return None
    return s._replace(attention="flash", upcast_fp32=False)


def _fused_loss(s: Workload) -> Workload | None:
    return None if s.loss == "fused" else s._replace(loss="fused", upcast_fp32=False)


def _liger(s: Workload) -> Workload | None:
    return None if s.fused_kernels else s._replace(fused_kernels=True)


def _optim8(s: Workload) -> Workload | None:
    state = optimizer_info(s.optimizer)[0].state_bytes
    return None if state is not None and state <= 1 else s._replace(optimizer="adamw_bnb_8bit")


def _half_batch(s: Workload) -> Workload | None:
    if s.micro_batch < 2:
        return None
    return s._replace(micro_batch=s.micro_batch // 2, grad_accum=s.grad_accum * 2)


def _ckpt(s: Workload) -> Workload | None:
    return None if s.grad_ckpt else s._replace(grad_ckpt=True)


def _zero(stage: int) -> Callable[[Workload], Workload | None]:
    def change(s: Workload) -> Workload | None:
        if s.gpus < 2 or s.zero_stage >= stage or s.fsdp or (stage == 3 and s.method == "qlora"):
            return None
        return s._replace(zero_stage=stage, upcast_fp32=False)

    return change


def _qlora(s: Workload) -> Workload | None:
    if s.method == "qlora":
        return None
    return s._replace(
        method="qlora", weight_bits=4, lora_targets=None, lora_r=16, upcast_fp32=False
    )


def _offload_opt(s: Workload) -> Workload | None:
    if s.offload_optimizer or s.method != "full":
        return None
    return s._replace(zero_stage=max(s.zero_stage, 2), offload_optimizer=True, upcast_fp32=False)


def _offload_params(s: Workload) -> Workload | None:
    if s.offload_params or s.method == "qlora":
        return None
    return s._replace(zero_stage=3, offload_optimizer=True, offload_params=True, upcast_fp32=False)


def _double_gpus(s: Workload) -> Workload | None:
    return s._replace(gpus=s.gpus * 2) if s.sharded else None


CHANGES: list[Change] = [
    ("flash_attention: true", "none (usually faster)", _flash),
    (
        "plugins: [axolotl.integrations.cut_cross_entropy.CutCrossEntropyPlugin] "
        "with cut_cross_entropy: true",
        "none",
        _fused_loss,
    ),
    ("Liger kernels (liger_rms_norm: true, liger_glu_activation: true)", "none", _liger),
    ("optimizer: adamw_bnb_8bit", "very small", _optim8),
    ("halve micro_batch_size, double gradient_accumulation_steps", "small", _half_batch),
    ("gradient_checkpointing: true", "about 20-30% slower", _ckpt),
    ("DeepSpeed ZeRO-2 (deepspeed: deepspeed/zero2.json)", "small", _zero(2)),
    ("DeepSpeed ZeRO-3 (deepspeed: deepspeed/zero3.json)", "moderate", _zero(3)),
    (
        "adapter: qlora with load_in_4bit: true (rank 16, all linear layers)",
        "slower steps, and the result may differ from full precision",
        _qlora,
    ),
    ("DeepSpeed with offload_optimizer to CPU", "much slower; needs CPU RAM", _offload_opt),
    (
        "DeepSpeed ZeRO-3 offloading parameters and optimizer to CPU",
        "very slow; needs CPU RAM",
        _offload_params,
    ),
    ("twice as many GPUs", "none per step (more hardware)", _double_gpus),
]


class HostLimit(Record):
    """The CPU RAM of one node (None: unknown) and the nodes of the run: a change that offloads
    more than the host holds does not make the run fit."""

    ram_gib: float | None = None
    nodes: int = 1

    def advice(self, text: str, result: Estimate, cost: str) -> Advice:
        need = result.host_ram_per_node_gib(self.nodes)
        if self.ram_gib is None or need <= self.ram_gib or result.fits is False:
            return Advice(text, result.peak_gib_per_gpu, result.fits, cost)
        over = f"{text}, but it needs about {need:,.0f} GiB of host RAM (the host has "
        return Advice(over + f"{self.ram_gib:,.0f})", result.peak_gib_per_gpu, False, cost)


def candidates(arch: ModelArch, base: Estimate, host: HostLimit | None = None) -> list[Advice]:
    """Every single change that lowers the peak by at least 2%, in the order of CHANGES."""
    found: list[Advice] = []
    host = host or HostLimit()
    for text, cost, apply in CHANGES:
        changed = apply(base.workload)
        if changed is None:
            continue
        result = compose(arch, changed, base.gpu_mem_gib)
        if result.peak_gib_per_gpu < 0.98 * base.peak_gib_per_gpu:
            found.append(host.advice(text, result, cost))
    return found


def _combined(arch: ModelArch, base: Estimate) -> Advice | None:
    """Apply changes in order of speed cost until the run fits; the nearest option otherwise."""
    spec, texts = base.workload, []
    result = base
    for text, _cost, apply in CHANGES:
        changed = apply(spec)
        if changed is None:
            continue
        trial = compose(arch, changed, base.gpu_mem_gib)
        if trial.peak_gib_per_gpu >= 0.98 * result.peak_gib_per_gpu:
            continue
        spec, result = changed, trial
        texts.append(text)
        if result.verdict == "fits":
            break
    if len(texts) < 2:
        return None
    return Advice(
        "all of: " + "; ".join(texts), result.peak_gib_per_gpu, result.fits, "the sum of the above"
    )


def advise(arch: ModelArch, base: Estimate, host: HostLimit | None = None) -> Estimate:
    """The estimate with ranked advice: changes that make it fit first, cheapest first."""
    items = candidates(arch, base, host)
    order = {text: i for i, (text, _c, _a) in enumerate(CHANGES)}
    items.sort(key=lambda a: (not a.fits, order.get(a.change.split(", but ")[0], 99)))
    combined = _combined(arch, base)
    if combined is not None and not any(a.fits for a in items):
        items.append(combined)
    return base._replace(advice=tuple(items))
