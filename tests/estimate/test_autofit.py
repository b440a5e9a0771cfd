"""Auto-fit: the plan fits its budget by the estimator, keeps the batch, and costs least speed."""

from __future__ import annotations

from typing import Any

import pytest

from wizard.errors import WizardError
from wizard.estimate import AutofitError, Plan, autofit, compose
from wizard.estimate.autofit import Keep, _plans, layouts_for
from wizard.estimate.workload import workload_from_config
from wizard.models import ModelArch, catalog_arch

QLORA = {
    "adapter": "qlora",
    "load_in_4bit": True,
    "lora_r": 16,
    "lora_target_linear": True,
    "sequence_len": 4096,
    "sample_packing": True,
    "bf16": True,
    "flash_attention": True,
}
FULL = {"sequence_len": 4096, "sample_packing": True, "bf16": True, "flash_attention": True}


def _arch(name: str) -> ModelArch:
    arch = catalog_arch(name)
    assert arch is not None
    return arch


CASES: list[tuple[str, dict[str, Any], int, float, int]] = [
    ("meta-llama/Llama-3.1-8B", QLORA, 1, 24, 16),
    ("meta-llama/Llama-3.1-8B", FULL, 8, 80, 64),
    ("meta-llama/Llama-3.3-70B-Instruct", QLORA, 1, 80, 8),
    ("meta-llama/Llama-3.2-1B", FULL, 1, 16, 32),
    ("Qwen/Qwen2.5-7B", {**QLORA, "adapter": "lora", "load_in_4bit": False}, 2, 48, 12),
]


@pytest.mark.parametrize(("name", "cfg", "gpus", "mem", "batch"), CASES)
def test_plan_fits_budget_and_keeps_effective_batch(
    name: str, cfg: dict[str, Any], gpus: int, mem: float, batch: int
) -> None:
    arch = _arch(name)
    plan = autofit(cfg, arch, gpus=gpus, gpu_mem_gib=mem, target_batch=batch)
    assert plan.estimate.peak_gib_per_gpu <= mem * 0.9
    assert plan.effective_batch == batch
    again = compose(arch, plan.estimate.workload, mem)
    assert again.peak_gib_per_gpu == pytest.approx(plan.estimate.peak_gib_per_gpu)
    assert f"= {batch} sequences" in plan.arithmetic()
    keys = plan.axolotl_keys()
    assert keys["micro_batch_size"] * keys["gradient_accumulation_steps"] * gpus == batch


@pytest.mark.parametrize(("name", "cfg", "gpus", "mem", "batch"), CASES[:3])
def test_plan_is_the_fastest_that_fits(
    name: str, cfg: dict[str, Any], gpus: int, mem: float, batch: int
) -> None:
    arch = _arch(name)
    plan = autofit(cfg, arch, gpus=gpus, gpu_mem_gib=mem, target_batch=batch)
    base = workload_from_config(cfg, gpus=gpus)
    rivals = _plans(arch, base, batch // gpus, mem, mem * 0.9, layouts_for(base, gpus), Keep())
    fitting = [p for p in rivals if p.estimate.peak_gib_per_gpu <= mem * 0.9]
    assert plan.speed_factor == min(p.speed_factor for p in fitting)


def test_roomy_gpu_needs_no_checkpointing_or_accumulation() -> None:
    plan = autofit(
        {**QLORA, "sequence_len": 512},
        _arch("HuggingFaceTB/SmolLM2-135M"),
        gpus=1,
        gpu_mem_gib=80,
        target_batch=8,
    )
    assert (plan.micro_batch, plan.grad_accum, plan.grad_ckpt, plan.zero_stage) == (8, 1, False, 0)


def test_tight_budget_turns_on_checkpointing_then_zero() -> None:
    arch = _arch("meta-llama/Llama-3.1-8B")
    plan = autofit(FULL, arch, gpus=8, gpu_mem_gib=80, target_batch=64)
    assert plan.zero_stage >= 2  # 8B full fine-tuning cannot hold 16 bytes/param on one GPU
    assert isinstance(plan, Plan)


def test_impossible_budget_names_the_nearest_option() -> None:
    arch = _arch("meta-llama/Llama-3.1-70B")
    with pytest.raises(AutofitError) as err:
        autofit(QLORA, arch, gpus=1, gpu_mem_gib=24, target_batch=8)
    message, hint = err.value.message, err.value.hint or ""
    assert "nothing fits in 24 GiB" in message and "nearest option" in message
    assert "GiB per GPU" in message and "more GPUs" in hint
    nearest = err.value.nearest
    assert nearest.micro_batch == 1 and nearest.grad_ckpt
    assert nearest.estimate.peak_gib_per_gpu > 24 * 0.9


def test_shorter_sequence_is_suggested_when_it_would_fit() -> None:
    arch = _arch("meta-llama/Llama-3.1-8B")
    with pytest.raises(AutofitError) as err:
        autofit({**QLORA, "sequence_len": 65536}, arch, gpus=1, gpu_mem_gib=24, target_batch=4)
    assert "sequence_len" in (err.value.hint or "")
    assert "micro batch 1" in (err.value.hint or "")


@pytest.mark.parametrize(("mem", "batch", "margin"), [(0, 8, 0.1), (24, 0, 0.1), (24, 8, 1.0)])
def test_bad_autofit_input_is_a_clear_error(mem: float, batch: int, margin: float) -> None:
    with pytest.raises(WizardError, match="auto-fit needs"):
        autofit(
            QLORA,
            _arch("meta-llama/Llama-3.1-8B"),
            gpus=1,
            gpu_mem_gib=mem,
            target_batch=batch,
            margin=margin,
        )
