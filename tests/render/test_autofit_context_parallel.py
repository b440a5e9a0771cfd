"""Auto-fit chooses context parallelism when a long sequence fits no layout without it (issue 32):
the plan written is the plan reported, its estimate is the figure shown, and Axolotl's own
validator accepts the run on the GPUs it names."""

from __future__ import annotations

from typing import Any

import pytest
from answers_path import planned
from real_validators import run_validators

from wizard.estimate.autofit_cp import autofit_split, context_parallel_sizes
from wizard.models import catalog_arch
from wizard.render.plan import RunPlan

CHAT = [{"path": "org/chat", "format": "chat_template"}]
H100X8 = {"hardware.gpu": "H100", "hardware.gpus_per_node": 8, "datasets": CHAT}
# name -> the answers: a 70B LoRA at 64k tokens and an 8B full fine-tune at 128k, 8 x H100.
LONG: dict[str, dict[str, Any]] = {
    "70B LoRA 64k": {**H100X8, "model.base_model": "meta-llama/Llama-3.1-70B-Instruct",
                     "method.kind": "lora", "training.sequence_len": 65536},
    "8B full 128k": {**H100X8, "model.base_model": "meta-llama/Llama-3.1-8B-Instruct",
                     "method.kind": "full", "training.sequence_len": 131072},
}  # fmt: skip


@pytest.fixture(scope="module")
def plans() -> dict[str, RunPlan]:
    return {name: planned(answers) for name, answers in LONG.items()}


def test_the_sizes_tried_divide_the_gpus() -> None:
    assert context_parallel_sizes(8) == [2, 4, 8]
    assert context_parallel_sizes(6) == [2, 3, 6]
    assert context_parallel_sizes(1) == []


@pytest.mark.parametrize("name", list(LONG))
def test_a_long_sequence_gets_context_parallelism_and_fits(
    name: str, plans: dict[str, RunPlan]
) -> None:
    run = plans[name]
    plan, config = run.fit.plan, run.folder.config
    assert plan is not None, run.fit.note
    size = plan.estimate.workload.context_parallel
    assert size > 1
    assert config["context_parallel_size"] == size
    assert config["attn_implementation"] == "flash_attention_2"
    assert f"context parallelism over {size} GPUs" in plan.describe()
    # The figure shown is the estimate of the files written, and it fits.
    assert run.estimate is not None and run.estimate.fits is True
    assert run.estimate.peak_gib_per_gpu == pytest.approx(plan.estimate.peak_gib_per_gpu)
    # The effective batch is kept: the accumulation makes up for fewer data-parallel ranks.
    ranks = 8 // size
    written = config["micro_batch_size"] * config["gradient_accumulation_steps"] * ranks
    assert written == plan.effective_batch
    assert not [f for f in run.findings if f.severity == "error" and f.code != "missing-package"]


def test_without_context_parallelism_nothing_fits() -> None:
    """The reason it is chosen: the same 70B run with every other layout does not fit."""
    arch = catalog_arch("meta-llama/Llama-3.1-70B-Instruct")
    assert arch is not None
    cfg = {"adapter": "lora", "lora_target_linear": True, "sequence_len": 65536,
           "sample_packing": True, "bf16": True,
           "attn_implementation": "flash_attention_2"}  # fmt: skip
    fit = {"gpus": 8, "gpu_mem_gib": 80.0, "target_batch": 16}
    with pytest.raises(Exception, match="nothing fits"):
        autofit_split(cfg, arch, split=False, **fit)  # type: ignore[arg-type]
    assert autofit_split(cfg, arch, **fit).estimate.workload.context_parallel > 1  # type: ignore[arg-type]


def test_a_run_that_fits_alone_is_not_split(plans: dict[str, RunPlan]) -> None:
    short = planned({**LONG["8B full 128k"], "training.sequence_len": 4096})
    assert short.fit.plan is not None
    assert short.fit.plan.estimate.workload.context_parallel == 1
    assert "context_parallel_size" not in short.folder.config


def test_an_attention_given_that_ring_attention_cannot_use_keeps_it_unsplit() -> None:
    run = planned({**LONG["70B LoRA 64k"], "training.attention": "sdpa"})
    assert run.fit.plan is None and run.fit.note is not None
    assert "nothing fits" in run.fit.note
    assert "context_parallel_size" not in run.folder.config


@pytest.mark.integration
def test_axolotl_accepts_the_split_runs(plans: dict[str, RunPlan]) -> None:
    cases = [{"id": name, "config": run.folder.config, "deepspeed": run.folder.deepspeed,
              "gpus": 8, "stand_in": ["ring_flash_attn"]}
             for name, run in plans.items()]  # fmt: skip
    verdicts = run_validators(cases)
    assert {name: v["axolotl"] for name, v in verdicts.items()} == dict.fromkeys(LONG, "ok")
    deepspeed = {name: v["deepspeed"] for name, v in verdicts.items()}
    assert set(deepspeed.values()) <= {"ok", None}
