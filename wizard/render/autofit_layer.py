"""Memory for `new`: auto-fit for answers left to default, and the estimate of what is written.

Auto-fit only fills answers nobody gave (no preset, answers file, --set or typed answer): its
choices go in a layer below every other, so anything given explicitly still wins, and the
answers file records the result so `new --answers` reproduces it without fitting again. What the
user did give (a sharding backend, a ZeRO stage, an offload, the accumulation, checkpointing) is
kept: auto-fit only tries plans that keep it, so the plan it reports is the plan that is written.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from wizard.answers.layers import Answers, Layer, LayerKind
from wizard.axolotl.attention import FROM_ANSWER
from wizard.axolotl.view import AxolotlConfig
from wizard.errors import WizardError
from wizard.estimate import (
    AutofitError,
    Estimate,
    Host,
    HostLimit,
    Keep,
    Layout,
    Plan,
    estimate,
)
from wizard.estimate.autofit_cp import RING_ATTENTION, autofit_split
from wizard.estimate.distributed import distributed_fields
from wizard.models import ModelArch, resolve_arch
from wizard.recipes.table import kto_chat_template
from wizard.records import Record
from wizard.render.axolotl_config import render_axolotl
from wizard.render.composites import effective_batch
from wizard.render.deepspeed_config import named_deepspeed
from wizard.render.runfolder import RunFolder
from wizard.runspec import DistributedSpec, RunSpec
from wizard.runspec.recipe_choices import min_micro_batch

AUTOFIT_LAYER = "auto-fit"
CATALOG_LAYER = "model catalog"
FAMILY_LAYER = "model family"
LAYER_CLASS = "distributed.fsdp.transformer_layer_cls_to_wrap"
BATCH_KEYS = ("training.gradient_accumulation_steps", "training.effective_batch_size")
STAGES = (1, 2, 3)
RING_ANSWER = "flash"  # the `training.attention` answer for RING_ATTENTION
# Why the run these answers make would be refused, or None (`plan.plan_run` lints it).
Refusal = Callable[[Answers], WizardError | None]


class FitReport(Record):
    """The answers a run is made from (with auto-fit's layer when it chose a plan), their spec,
    the architecture memory is estimated with, and what auto-fit did or why it could not."""

    arch: ModelArch | None
    answers: Answers
    spec: RunSpec
    note: str | None = None
    plan: Plan | None = None


def model_arch(spec: RunSpec, cwd: Path) -> tuple[ModelArch | None, str | None]:
    """The architecture to estimate GPU memory with; none for a CPU run, which has no GPU."""
    if spec.hardware.accelerator == "cpu":
        return None, None
    try:
        return resolve_arch(spec.model.base_model, base_dir=cwd), None
    except WizardError as err:
        return None, f"no memory estimate: {err.message}"


def fit_answers(answers: Answers, cwd: Path, refusal: Refusal | None = None) -> FitReport:
    """Resolve the answers; add an auto-fit layer when GPU memory is known and the batch layout
    was left to defaults (passing over plans whose run `refusal` refuses); then the FSDP layer
    class of the model. `answers` is not changed."""
    answers = _with_family_template(answers, cwd)
    spec = answers.resolve()
    arch, note = model_arch(spec, cwd)
    return _with_layer_class(_autofit(answers, spec, arch, note, refusal))


def _with_family_template(answers: Answers, cwd: Path) -> Answers:
    """KTO writes its prompts in chatml or llama3 markup: nobody chose one, so the model
    family's (the recipe table's `kto_chat_template`)."""
    merged = answers.merged()
    if merged.get("objective.kind") != "kto" or "data.chat_template" in merged:
        return answers
    if merged.get("defaults") == "axolotl":
        return answers
    base = merged.get("model.base_model")
    arch = None
    if isinstance(base, str) and base:
        try:
            arch = resolve_arch(base, base_dir=cwd)
        except WizardError:
            arch = None
    template = kto_chat_template(*((arch.model_type, arch.vocab_size) if arch else (None, None)))
    layer = Layer(FAMILY_LAYER, {"data.chat_template": template}, kind=LayerKind.AUTOFIT)
    return Answers([layer, *answers.layers])


def _with_layer_class(report: FitReport) -> FitReport:
    """FSDP wraps the model's decoder layer class, named from the family table, so nobody types
    it; a model the table does not know keeps accelerate's choice (its `_no_split_modules`)."""
    spec, arch = report.spec, report.arch
    wanted = spec.distributed.backend == "fsdp" and spec.policy.fits
    if not wanted or arch is None or not arch.layer_class:
        return report
    if report.answers.origin(LAYER_CLASS) is not None:
        return report
    layer = Layer(CATALOG_LAYER, {LAYER_CLASS: arch.layer_class}, kind=LayerKind.AUTOFIT)
    answers = Answers([layer, *report.answers.layers])
    return report._replace(answers=answers, spec=answers.resolve())


def _autofit(
    answers: Answers,
    spec: RunSpec,
    arch: ModelArch | None,
    note: str | None,
    refusal: Refusal | None,
) -> FitReport:
    if arch is None or not _wants_autofit(answers, spec):
        return FitReport(arch, answers, spec, note)
    memory = spec.hardware.memory_gib
    assert memory is not None
    try:
        plan = autofit_split(
            render_axolotl(spec).as_dict(),
            arch,
            gpus=spec.hardware.world_size,
            gpu_mem_gib=memory,
            target_batch=effective_target(spec),
            keep=kept_choices(answers, spec, refusal),
            host=host_of(spec),
            split=_may_split(answers, spec),
        )
    except AutofitError as err:
        return FitReport(arch, answers, spec, f"auto-fit: {err.message}; {err.hint}")
    fitted = Answers([_plan_layer(answers, plan), *answers.layers])
    try:
        fitted_spec = fitted.resolve()
    except WizardError as err:
        return FitReport(arch, answers, spec, f"auto-fit skipped: {err.message}")
    return FitReport(arch, fitted, fitted_spec, None, plan)


def _wants_autofit(answers: Answers, spec: RunSpec) -> bool:
    if not spec.policy.fits:
        return False  # an imported run trains as its config says; the estimate still shows
    if spec.hardware.accelerator != "cuda" or spec.hardware.memory_gib is None:
        return False
    return answers.origin("training.micro_batch_size") is None


def _may_split(answers: Answers, spec: RunSpec) -> bool:
    """Context parallelism is auto-fit's to choose: nobody set its size, and the attention
    answer leaves room for ring attention (flash attention 2)."""
    if answers.origin("distributed.context_parallel_size") is not None:
        return False
    chosen = spec.training.attention
    if answers.origin("training.attention") is None or chosen is None:
        return True
    return FROM_ANSWER.get(chosen, chosen) == RING_ATTENTION


def effective_target(spec: RunSpec) -> int:
    training = spec.training
    if training.effective_batch_size is not None:
        return training.effective_batch_size
    return effective_batch(spec)


def kept_choices(answers: Answers, spec: RunSpec, refusal: Refusal | None = None) -> Keep:
    """What the user gave that auto-fit must keep, and the refusal of a plan's run."""
    given = answers.origin
    accumulation = spec.training.gradient_accumulation_steps
    checkpointing = spec.training.gradient_checkpointing
    return Keep(
        layouts=_kept_layouts(answers, spec.distributed),
        accumulation=accumulation if given("training.gradient_accumulation_steps") else None,
        checkpointing=checkpointing if given("training.gradient_checkpointing") else None,
        min_micro=min_micro_batch(spec),
        refusal=None if refusal is None else _plan_refusal(answers, refusal),
    )


def _plan_refusal(answers: Answers, refusal: Refusal) -> Callable[[Plan], WizardError | None]:
    def refused(plan: Plan) -> WizardError | None:
        return refusal(Answers([_plan_layer(answers, plan), *answers.layers]))

    return refused


def host_of(spec: RunSpec) -> Host:
    """The host RAM auto-fit must respect: a node's, as answered or the GPU box's default."""
    ram = spec.hardware.host_ram
    return Host(None if ram is None else ram.gib, spec.hardware.nodes)


def _kept_layouts(answers: Answers, dist: DistributedSpec) -> list[Layout] | None:
    """Every layout that agrees with the distributed answers given; None when none was."""
    if dist.deepspeed_config is not None:
        return [_file_layout(answers, dist.deepspeed_config)]
    given = {name: answers.origin(f"distributed.{name}") is not None
             for name in DistributedSpec.model_fields}  # fmt: skip
    if not any(given.values()):
        return None
    backends = [dist.backend] if given["backend"] else ["none", "deepspeed", "fsdp"]
    stages = [dist.zero_stage] if given["zero_stage"] else list(STAGES)
    optimizer = [dist.offload_optimizer] if given["offload_optimizer"] else [False, True]
    params = [dist.offload_params] if given["offload_params"] else [False, True]
    layouts: list[Layout] = [Layout()] if "none" in backends else []
    # FSDP2 offloads parameters, gradients and optimizer together; a ZeRO stage means DeepSpeed.
    fsdp_fits = not given["zero_stage"] and not (
        given["offload_optimizer"] and dist.offload_optimizer
    )
    if "fsdp" in backends and fsdp_fits:
        layouts += [Layout(3, par, par, fsdp=True) for par in params]
    if "deepspeed" in backends:
        layouts += [
            Layout(stage, opt, par)
            for stage in stages
            for opt in optimizer
            for par in params
            if not par or (stage == 3 and opt)  # parameter offload: ZeRO-3, optimizer too
        ]
    return layouts


def _file_layout(answers: Answers, given: str) -> Layout:
    """The layout a DeepSpeed file the user named fixes: its ZeRO stage and offloads."""
    data = named_deepspeed(given, answers.files())
    fields = distributed_fields(AxolotlConfig({}), data, 1, [])
    return Layout(fields["zero_stage"], fields["offload_optimizer"], fields["offload_params"])


def _plan_layer(answers: Answers, plan: Plan) -> Layer:
    """Only the answers nobody gave; the effective batch stays as asked when it was asked."""
    chosen: dict[str, object] = {
        "training.micro_batch_size": plan.micro_batch,
        "training.gradient_checkpointing": plan.grad_ckpt,
    }
    if all(answers.origin(key) is None for key in BATCH_KEYS):
        chosen["training.gradient_accumulation_steps"] = plan.grad_accum
    if (cp := plan.estimate.workload.context_parallel) > 1:
        chosen["distributed.context_parallel_size"] = cp
        chosen["training.attention"] = RING_ANSWER
    if plan.fsdp:
        chosen["distributed.backend"] = "fsdp"
        chosen["distributed.offload_params"] = plan.offload_params
    elif plan.zero_stage and answers.origin("distributed.deepspeed_config") is None:
        chosen.update(
            {
                "distributed.backend": "deepspeed",
                "distributed.zero_stage": plan.zero_stage,
                "distributed.offload_optimizer": plan.offload_optimizer,
                "distributed.offload_params": plan.offload_params,
            }
        )
    layer = Layer(AUTOFIT_LAYER, kind=LayerKind.AUTOFIT)
    for key, value in chosen.items():
        if answers.origin(key) is None:
            layer.set(key, value)
    return layer


def estimate_folder(folder: RunFolder, arch: ModelArch) -> Estimate:
    """The estimate of the files a run folder holds: the one figure every screen shows."""
    spec = folder.doc.spec
    ram = spec.hardware.host_ram
    return estimate(
        folder.config,
        arch,
        deepspeed=folder.deepspeed,
        gpus=spec.hardware.world_size,
        gpu_mem_gib=spec.hardware.memory_gib,
        host=HostLimit(None if ram is None else ram.gib, spec.hardware.nodes),
    )


def fit_verdict(result: Estimate, spec: RunSpec) -> str:
    """`fits`, `tight`, `does not fit` - or `does not fit (host RAM)` when the GPUs hold the run
    and the host's RAM does not hold what it puts there."""
    ram = spec.hardware.host_ram
    need = result.host_ram_per_node_gib(spec.hardware.nodes)
    if ram is not None and need > ram.gib and result.fits is not False:
        return "does not fit (host RAM)"
    return result.verdict


def memory_line(result: Estimate, spec: RunSpec) -> str:
    """`Memory: 14.7 GiB peak per GPU of 23.9 GiB, host RAM 9 of 64 GiB: fits` - GPU memory
    and the host's RAM together: a run fits only where both do."""
    capacity = f" of {result.gpu_mem_gib:g} GiB" if result.gpu_mem_gib else ""
    rough = f" (rough: {result.rough_reason})" if result.rough_reason else ""
    ram = spec.hardware.host_ram
    need = result.host_ram_per_node_gib(spec.hardware.nodes)
    host = f", host RAM {need:,.0f} GiB" + (f" of {ram.gib:,.0f} GiB" if ram else "")
    verdict = fit_verdict(result, spec)
    return (
        f"Memory: {result.peak_gib_per_gpu:.1f} GiB peak per GPU{capacity}{host}: {verdict}" + rough
    )
