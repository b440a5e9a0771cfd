"""Auto-fit: the batch layout, checkpointing and ZeRO setup that fits and costs least speed.

Every candidate keeps the effective batch (micro batch x accumulation x GPUs) at the target and
is estimated in full; the cheapest one under the budget minus a safety margin wins. The speed
factors are coarse relative step times, used only to rank candidates.
"""

from collections.abc import Callable, Mapping
from typing import Any

from wizard.axolotl import keys as K
from wizard.axolotl.batch import data_parallel_ranks, ranks_text, sequences_per_step
from wizard.axolotl.view import AxolotlConfig, view_of
from wizard.errors import WizardError
from wizard.estimate.core import Estimate, compose
from wizard.estimate.workload import Workload, workload_from_config
from wizard.models import ModelArch
from wizard.records import Record

# Relative step time of each technique (1.0 = none): checkpointing recomputes the forward pass,
# ZeRO adds communication, offload moves states over PCIe every step. FSDP2 gathers and scatters
# exactly what ZeRO-3 does (every layer's weights, forward and backward), so it costs the same;
# between two plans as fast, the one without DeepSpeed wins (PREFER_FSDP).
CKPT_COST = 1.30
ZERO_COST = {0: 1.0, 1: 1.03, 2: 1.05, 3: 1.15}
FSDP_COST = ZERO_COST[3]
PREFER_FSDP = "FSDP2 over ZeRO-3: same memory, no DeepSpeed dependency"
# Ring attention passes each rank's keys and values around its context-parallel group every
# layer; most of it hides behind the attention it feeds (wizard/estimate/autofit_cp.py).
CP_COST = 1.10
OFFLOAD_OPT_COST = 1.6
OFFLOAD_PARAM_COST = 2.5
# Below this many tokens per micro batch a GPU is not kept busy (a soft knee, not a cliff).
SATURATION_TOKENS = 1024


class Layout(Record):
    """One way of placing the model states. FSDP2 is stage 3 with `fsdp` (it shards what ZeRO-3
    shards); its offload moves parameters, gradients and optimizer states together."""

    zero_stage: int = 0
    offload_optimizer: bool = False
    offload_params: bool = False
    fsdp: bool = False


DDP = Layout()
FSDP2 = Layout(3, fsdp=True)
FSDP2_OFFLOAD = Layout(3, True, True, fsdp=True)


class Plan(Record):
    micro_batch: int
    grad_accum: int
    gpus: int
    grad_ckpt: bool
    zero_stage: int
    offload_optimizer: bool
    offload_params: bool
    budget_gib: float
    speed_factor: float
    estimate: Estimate
    fsdp: bool = False
    why: str = ""  # the rule that picked this layout over one as fast, when one applied

    @property
    def layout(self) -> Layout:
        return Layout(self.zero_stage, self.offload_optimizer, self.offload_params, self.fsdp)

    @property
    def effective_batch(self) -> int:
        workload = self.estimate.workload
        return sequences_per_step(self.micro_batch, self.grad_accum, self.gpus,
                                  workload.context_parallel, workload.tensor_parallel)  # fmt: skip

    @property
    def tokens_per_step(self) -> int:
        return self.effective_batch * self.estimate.workload.seq_len

    def arithmetic(self) -> str:
        peak = self.estimate.peak_gib_per_gpu
        workload = self.estimate.workload
        ranks = ranks_text(self.gpus, False, workload.context_parallel, workload.tensor_parallel)
        return (
            f"{self.micro_batch} micro batch x {self.grad_accum} accumulation x {ranks} "
            f"= {self.effective_batch} sequences "
            f"({self.tokens_per_step:,} tokens) per optimizer step; peak {peak:.1f} GiB of "
            f"{self.budget_gib:.1f} GiB usable per GPU"
        )

    def describe(self) -> str:
        """What auto-fit chose, without a memory figure: the estimate of what is written is
        shown once, next to it."""
        why = f" ({self.why})" if self.why else ""
        return (
            f"micro batch {self.micro_batch}, {self.layout_text()}: the fastest layout under "
            f"{self.budget_gib:.1f} GiB per GPU{why}"
        )

    def layout_text(self) -> str:
        """`ZeRO-3 with optimizer offload, gradient checkpointing`: how the states are placed."""
        parts = [f"ZeRO-{self.zero_stage}" if self.zero_stage else "no ZeRO sharding"]
        if (cp := self.estimate.workload.context_parallel) > 1:
            parts.append(f"context parallelism over {cp} GPUs")
        if self.fsdp:
            parts[0] = "FSDP2 with CPU offload" if self.offload_params else "FSDP2"
        elif self.offload_params:
            parts[0] += " with parameter and optimizer offload"
        elif self.offload_optimizer:
            parts[0] += " with optimizer offload"
        parts.append("gradient checkpointing" if self.grad_ckpt else "no gradient checkpointing")
        return ", ".join(parts)

    def sharding_text(self) -> str:
        """`ZeRO-2 with optimizer offload`, `FSDP2 with CPU offload`, or `no sharding`: where the
        states live, in the words the interview's menus use."""
        if self.fsdp:
            return "FSDP2 with CPU offload" if self.offload_params else "FSDP2"
        if not self.zero_stage:
            return "no sharding"
        offload = ""
        if self.offload_params:
            offload = " with parameter and optimizer offload"
        elif self.offload_optimizer:
            offload = " with optimizer offload"
        return f"ZeRO-{self.zero_stage}{offload}"

    def axolotl_keys(self) -> dict[str, Any]:
        """The Axolotl keys this plan sets; DeepSpeed is described, the caller renders the JSON."""
        keys: dict[str, Any] = {
            K.MICRO_BATCH_SIZE: self.micro_batch,
            K.GRADIENT_ACCUMULATION_STEPS: self.grad_accum,
            K.GRADIENT_CHECKPOINTING: self.grad_ckpt,
        }
        if (cp := self.estimate.workload.context_parallel) > 1:
            keys[K.CONTEXT_PARALLEL_SIZE] = cp
        if self.fsdp:
            keys[K.FSDP_VERSION] = 2
            keys["fsdp_offload_params"] = self.offload_params
        elif self.zero_stage:
            keys["deepspeed_zero_stage"] = self.zero_stage
            keys["deepspeed_offload_optimizer"] = self.offload_optimizer
            keys["deepspeed_offload_params"] = self.offload_params
        return keys


class Keep(Record):
    """What auto-fit must not change: None means it is auto-fit's to choose."""

    layouts: list[Layout] | None = None
    accumulation: int | None = None
    checkpointing: bool | None = None
    min_micro: int = 1  # the trainer's least micro batch (KTO: 2)
    # Why the run a plan would write is refused (the rules of `check` on it), or None: a plan
    # Axolotl or its trainer would refuse (FSDP2 with a bnb optimizer, GRPO's partial groups,
    # ...) is passed over for the next fastest.
    refusal: Callable[[Plan], WizardError | None] | None = None


class Host(Record):
    """The CPU RAM of one node (None: unknown, not checked) and how many nodes share the run."""

    ram_gib: float | None = None
    nodes: int = 1

    def holds(self, plan: Plan, margin: float) -> bool:
        if self.ram_gib is None:
            return True
        return plan.estimate.host_ram_per_node_gib(self.nodes) <= self.ram_gib * (1 - margin)


class AutofitError(WizardError):
    """Nothing fits; `nearest` is the plan that came closest."""

    def __init__(self, message: str, hint: str, nearest: Plan) -> None:
        super().__init__(message, hint)
        self.nearest = nearest


def layouts_for(spec: Workload, gpus: int) -> list[Layout]:
    """The layouts worth trying for this method: DDP, ZeRO 1/2/3, FSDP2, and their offloads."""
    layouts: list[Layout] = [DDP]
    if gpus > 1:
        layouts += [Layout(1), Layout(2), FSDP2]  # FSDP2 shards QLoRA's 4-bit weights too
        if spec.method != "qlora":  # Axolotl does not combine QLoRA with ZeRO-3
            layouts += [Layout(3)]
    if spec.method == "full":
        layouts += [Layout(2, True), Layout(3, True), Layout(3, True, True), FSDP2_OFFLOAD]
    return layouts


def _divisors(n: int) -> list[int]:
    return [d for d in range(1, n + 1) if n % d == 0]


def _speed(spec: Workload) -> float:
    tokens = spec.tokens
    utilization = tokens / (tokens + SATURATION_TOKENS)
    factor = (FSDP_COST if spec.fsdp else ZERO_COST[spec.zero_stage]) / utilization
    factor *= CKPT_COST if spec.grad_ckpt else 1.0
    factor *= CP_COST if spec.context_parallel > 1 else 1.0
    factor *= OFFLOAD_OPT_COST if spec.offload_optimizer else 1.0
    return factor * (OFFLOAD_PARAM_COST if spec.offload_params else 1.0)


def _plans(
    arch: ModelArch,
    base: Workload,
    per_gpu: int,
    gpu_mem: float,
    budget: float,
    layouts: list[Layout],
    keep: Keep,
) -> list[Plan]:
    plans = []
    for layout in layouts:
        for ckpt in (False, True) if keep.checkpointing is None else (keep.checkpointing,):
            for mb in _divisors(per_gpu):
                if keep.accumulation is not None and per_gpu // mb != keep.accumulation:
                    continue
                if mb < keep.min_micro:
                    continue
                spec = base._replace(
                    **layout._asdict(),  # a Layout's fields are the Workload's of the same names
                    grad_ckpt=ckpt,
                    micro_batch=mb,
                    grad_accum=per_gpu // mb,
                    upcast_fp32=base.upcast_fp32 and layout.zero_stage == 0,
                )
                result = compose(arch, spec, gpu_mem)
                plan = Plan(mb, per_gpu // mb, base.gpus, ckpt, layout.zero_stage,
                            layout.offload_optimizer, layout.offload_params, budget,
                            _speed(spec), result, layout.fsdp)  # fmt: skip
                plans.append(plan)
    return plans


def autofit(
    cfg: Mapping[str, Any] | AxolotlConfig,
    arch: ModelArch,
    *,
    gpus: int,
    gpu_mem_gib: float,
    target_batch: int,
    margin: float = 0.10,
    keep: Keep | None = None,
    host: Host | None = None,
) -> Plan:
    """The fastest plan whose estimated peak stays under (1 - margin) x gpu_mem_gib and whose
    host RAM (what is offloaded, and each process) stays under (1 - margin) x the host's.

    `keep` holds what the user chose already (some of the layout, the accumulation, the
    checkpointing): only plans that keep it are tried, so the plan chosen is the plan written.
    """
    if gpu_mem_gib <= 0 or target_batch < 1 or not 0 <= margin < 1:
        raise WizardError(
            f"auto-fit needs GPU memory > 0, a target batch >= 1 and a margin in [0, 1) "
            f"(got {gpu_mem_gib}, {target_batch}, {margin})",
            "check the GPU memory and the effective batch you asked for",
        )
    # The layouts tried replace the config's own DeepSpeed file.
    cleaned = {k: v for k, v in view_of(cfg).raw.items() if k != K.DEEPSPEED}
    base = workload_from_config(cleaned, None, gpus=gpus)
    # Each data-parallel rank takes its share; context/tensor parallel groups share one.
    ranks = data_parallel_ranks(gpus, base.context_parallel, base.tensor_parallel)
    per_gpu = -(-target_batch // ranks)  # at least the target; rounded up to whole sequences
    budget = gpu_mem_gib * (1 - margin)
    keep, host = keep or Keep(), host or Host()
    tried = layouts_for(base, gpus)
    if keep.layouts is not None:
        # A layout the user picked is tried even where auto-fit would not pick it by itself.
        tried = [layout for layout in tried if layout in keep.layouts] or keep.layouts
    plans = _plans(arch, base, per_gpu, gpu_mem_gib, budget, tried, keep)
    if not plans:
        raise WizardError(
            f"auto-fit found no micro batch of at least {keep.min_micro} that divides the "
            f"{per_gpu} sequences a GPU takes per optimizer step",
            f"raise the effective batch to a multiple of {keep.min_micro * ranks}",
        )
    on_gpu = [p for p in plans if p.estimate.peak_gib_per_gpu <= budget]
    fitting = [p for p in on_gpu if host.holds(p, margin)]
    if fitting:
        return _fastest_allowed(fitting, keep)
    if on_gpu:  # the GPUs would hold it, the host cannot hold what is offloaded
        raise _no_host_fit(min(on_gpu, key=lambda p: _host_need(p, host)), host, margin)
    nearest = min(plans, key=lambda p: p.estimate.peak_gib_per_gpu)
    raise _no_fit(arch, nearest, gpu_mem_gib)


def _rank(plan: Plan) -> tuple[float, bool, float]:
    """Faster first; between plans as fast, one without DeepSpeed (PREFER_FSDP), then the lower
    peak."""
    deepspeed = plan.zero_stage > 0 and not plan.fsdp
    return (round(plan.speed_factor, 9), deepspeed, plan.estimate.peak_gib_per_gpu)


def _fastest_allowed(fitting: list[Plan], keep: Keep) -> Plan:
    """The fastest plan whose run is not refused; the rule is named when it decided between
    FSDP2 and ZeRO-3. When every fitting plan is refused, the fastest one's refusal is the
    error (the plan written without auto-fit would be refused too)."""
    ranked = sorted(fitting, key=_rank)
    refusals = []
    for best in ranked:
        refused = keep.refusal(best) if keep.refusal is not None else None
        if refused is not None:
            refusals.append(refused)
            continue
        twin = Layout(3, best.offload_optimizer, best.offload_params)
        rival = any(p.layout == twin and _rank(p)[0] == _rank(best)[0] for p in fitting)
        return best._replace(why=PREFER_FSDP) if best.fsdp and rival else best
    first = refusals[0]
    raise AutofitError(
        f"every layout that fits is refused, the fastest because {first.message}",
        first.hint or "change the answers it names",
        ranked[0],
    )


def _host_need(plan: Plan, host: Host) -> float:
    return plan.estimate.host_ram_per_node_gib(host.nodes)


def _no_host_fit(nearest: Plan, host: Host, margin: float) -> AutofitError:
    """Every layout that fits the GPUs puts more on the host than its RAM holds."""
    need, ram = _host_need(nearest, host), host.ram_gib or 0.0
    layout = nearest.layout_text().rsplit(", ", 1)[0]
    return AutofitError(
        f"nothing fits: the layouts that fit the GPUs need host RAM, the least of them "
        f"({layout}) about {need:,.0f} GiB a node, over {ram * (1 - margin):,.0f} GiB usable of "
        f"the host's {ram:,.0f} GiB",
        "use more GPUs, LoRA or QLoRA, or a machine with more RAM (hardware.host_ram_gib "
        "says how much yours has)",
        nearest,
    )


def _longest_fitting_seq(arch: ModelArch, plan: Plan) -> int:
    """Binary search the longest sequence_len the nearest plan fits at (0 if none)."""
    low, high = 0, plan.estimate.workload.seq_len
    while high - low > 16:
        mid = (low + high) // 2
        spec = plan.estimate.workload._replace(seq_len=mid, micro_batch=plan.micro_batch)
        if compose(arch, spec, None).peak_gib_per_gpu <= plan.budget_gib:
            low = mid
        else:
            high = mid
    return low


def _no_fit(arch: ModelArch, nearest: Plan, gpu_mem_gib: float) -> AutofitError:
    need = nearest.estimate.peak_gib_per_gpu
    layout = nearest.layout_text().rsplit(", ", 1)[0]
    seq = _longest_fitting_seq(arch, nearest)
    micro = nearest.micro_batch
    shorter = (
        f"sequence_len {seq} (micro batch {micro})" if seq >= 128 else "a shorter sequence_len"
    )
    return AutofitError(
        f"nothing fits in {gpu_mem_gib:g} GiB x {nearest.gpus} GPU: the nearest option "
        f"(micro batch {nearest.micro_batch}, gradient checkpointing, {layout}) needs "
        f"{need:.1f} GiB per GPU, "
        f"over the {nearest.budget_gib:.1f} GiB budget",
        f"use GPUs with at least {need / 0.9:.0f} GiB, more GPUs, QLoRA, or {shorter}",
        nearest,
    )
