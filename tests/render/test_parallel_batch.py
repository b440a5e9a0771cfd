"""The effective batch under context and tensor parallelism: a context- or tensor-parallel group
takes one micro batch, so the data-parallel ranks are the GPUs over cp x tp (issue 32). Every
figure the wizard shows is held to Axolotl's own `normalize_config` on the same world size."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from real_validators import run_validators
from tiny_fixtures import tiny_root  # noqa: F401 (a fixture)

from wizard.answers.layers import unflatten
from wizard.axolotl.batch import batch_text, data_parallel_ranks
from wizard.axolotl.view import view_of
from wizard.render.axolotl_config import render_axolotl
from wizard.render.composites import effective_batch
from wizard.render.configtext import config_text
from wizard.render.runfolder import batch_arithmetic
from wizard.runspec import RunSpec

GPUS = 8
# name -> (context parallel, tensor parallel)
SPLITS = {"none": (1, 1), "cp2": (2, 1), "tp2": (1, 2), "cp2-tp2": (2, 2)}


def spec_for(model: str, cp: int, tp: int) -> RunSpec:
    answers: dict[str, Any] = {
        "model.base_model": model,
        "datasets": [{"path": "org/chat", "format": "chat_template"}],
        "method.kind": "full",
        "hardware.gpus_per_node": GPUS,
        "distributed.backend": "fsdp",
        "training.attention": "flash_attention_2",
        "training.micro_batch_size": 1,
        "training.gradient_accumulation_steps": 4,
    }
    if cp > 1:
        answers["distributed.context_parallel_size"] = cp
    if tp > 1:
        answers["distributed.tensor_parallel_size"] = tp
    return RunSpec.model_validate(unflatten(answers))


@pytest.mark.parametrize(("cp", "tp", "ranks"), [(1, 1, 8), (2, 1, 4), (1, 2, 4), (2, 2, 2),
                                                 (8, 1, 1)])  # fmt: skip
def test_the_data_parallel_ranks_are_the_gpus_over_context_and_tensor_parallelism(
    cp: int, tp: int, ranks: int
) -> None:
    assert data_parallel_ranks(GPUS, cp, tp) == ranks
    spec = spec_for("org/model", cp, tp)
    assert spec.data_parallel_ranks == ranks
    assert effective_batch(spec) == 4 * ranks
    assert view_of(render_axolotl(spec).as_dict()).effective_batch(GPUS) == 4 * ranks


def test_the_batch_text_says_how_the_gpus_become_data_parallel_ranks() -> None:
    assert batch_text(1, 4, 8) == "1 micro batch × 4 accumulation × 8 GPUs = 32 sequences"
    assert batch_text(1, 4, 8, context_parallel=2, tensor_parallel=2) == (
        "1 micro batch × 4 accumulation × 2 data-parallel ranks "
        "(8 GPUs ÷ 2 context parallel × 2 tensor parallel) = 8 sequences"
    )
    spec = spec_for("org/model", 2, 1)
    assert batch_arithmetic(spec).startswith(
        "1 micro batch × 4 accumulation × 4 data-parallel ranks (8 GPUs ÷ 2 context parallel) "
        "= 16 sequences"
    )
    text = config_text(render_axolotl(spec), [])  # the accumulation's comment says the same
    assert "1 × 4 × 4 data-parallel ranks (8 GPUs ÷ 2 context parallel) = 16 sequences" in text


def test_an_effective_batch_answer_counts_data_parallel_ranks() -> None:
    answers = {"model.base_model": "org/model", "hardware.gpus_per_node": 8,
               "datasets": [{"path": "org/chat", "format": "chat_template"}],
               "training.attention": "flash_attention_2",
               "distributed.context_parallel_size": 4, "training.micro_batch_size": 1,
               "training.effective_batch_size": 16}  # fmt: skip
    spec = RunSpec.model_validate(unflatten(answers))
    assert spec.gradient_accumulation == 8  # 16 sequences over 2 data-parallel ranks


@pytest.mark.integration
def test_the_effective_batch_is_axolotls(tiny_root: Path) -> None:  # noqa: F811
    model = str(tiny_root / "tiny-llama")
    specs = {name: spec_for(model, cp, tp) for name, (cp, tp) in SPLITS.items()}
    cases = [{"id": name, "config": render_axolotl(spec).as_dict(), "gpus": GPUS,
              "batch": True, "stand_in": ["ring_flash_attn"]}
             for name, spec in specs.items()]  # fmt: skip
    verdicts = run_validators(cases)
    axolotl = {name: verdict.get("batch_size", verdict["axolotl"]) for name, verdict in
               verdicts.items()}  # fmt: skip
    assert axolotl == {"none": 32, "cp2": 16, "tp2": 16, "cp2-tp2": 8}
    ours = {name: effective_batch(spec) for name, spec in specs.items()}
    assert ours == axolotl
    shown = {name: view_of(render_axolotl(spec).as_dict()).effective_batch(GPUS)
             for name, spec in specs.items()}  # fmt: skip
    assert shown == axolotl
