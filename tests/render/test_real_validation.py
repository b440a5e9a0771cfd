"""Every built-in preset, on 1 GPU and on 8 GPUs with ZeRO-2 and ZeRO-3, renders into a config
that the real Axolotl 0.19.0 accepts, and a DeepSpeed JSON that the real DeepSpeed accepts."""

from __future__ import annotations

from typing import Any

import pytest
import yaml
from real_validators import INFORMATIONAL, fill_deepspeed_autos, run_validators

from wizard.answers.file import AnswersDocument
from wizard.presets.assemble import collect_answers
from wizard.render.runfolder import CONFIG_FILENAME, build_run_folder
from wizard.resources import presets_dir

pytestmark = pytest.mark.integration

BUILTIN = sorted(p.stem for p in presets_dir().glob("*.yml"))
# The preference and RL presets have layouts of their own (tests/render/test_objectives.py).
OBJECTIVE_PRESETS = sorted(
    p.stem
    for p in presets_dir().glob("*.yml")
    if "objective" in (yaml.safe_load(p.read_text(encoding="utf-8"))["answers"])
)
GPU_PRESETS = [name for name in BUILTIN if name != "tiny-cpu" and name not in OBJECTIVE_PRESETS]
# One GPU as the preset names it; eight in an 8 x H100 box (a preset's T4 has no bf16, which
# the wizard's ZeRO-3 files need).
VARIANTS: dict[str, list[str]] = {
    "1gpu": ["hardware.gpus_per_node=1", "distributed.backend=none"],
    "8gpu-zero2": [
        "hardware.gpu=H100",
        "hardware.gpus_per_node=8",
        "distributed.backend=deepspeed",
        "distributed.zero_stage=2",
    ],
    "8gpu-zero3": [
        "hardware.gpu=H100",
        "hardware.gpus_per_node=8",
        "distributed.backend=deepspeed",
        "distributed.zero_stage=3",
    ],
    "8gpu-zero3-offload": [
        "hardware.gpu=H100",
        "hardware.gpus_per_node=8",
        "distributed.backend=deepspeed",
        "distributed.zero_stage=3",
        "distributed.offload_optimizer=true",
    ],
}
# Fixed accumulation so every variant's batch arithmetic divides evenly on 8 GPUs.
BATCH = ["training.effective_batch_size=null", "training.gradient_accumulation_steps=2"]


def render_case(preset: str, variant: str) -> dict[str, Any]:
    sets = ["datasets.0.path=data/train.jsonl", *BATCH, *VARIANTS[variant]]
    if variant == "8gpu-zero3-offload" and preset.endswith("qlora"):
        sets.append("distributed.offload_optimizer=false")
    answers, ref = collect_answers(preset, None, sets)
    spec = answers.resolve()
    folder = build_run_folder(AnswersDocument(spec, answers.raw_axolotl(), ref))
    config = yaml.safe_load(folder.files[CONFIG_FILENAME])
    gpus = 1 if variant == "1gpu" else 8
    facts = spec.hardware.facts
    assert facts is not None, f"{preset} names no GPU"
    return {
        "id": f"{preset}/{variant}",
        "config": config,
        "deepspeed": folder.deepspeed,
        "gpus": gpus,
        "bf16": facts.bf16,
        "arch": facts.arch,  # Axolotl judges it with the capabilities of the GPU it names
    }


@pytest.fixture(scope="module")
def verdicts() -> dict[str, dict[str, Any]]:
    cases = [render_case(p, v) for p in GPU_PRESETS for v in VARIANTS]
    answers, ref = collect_answers("tiny-cpu", None, [])
    tiny = build_run_folder(AnswersDocument(answers.resolve(), answers.raw_axolotl(), ref))
    cases.append(
        {
            "id": "tiny-cpu/cpu",
            "config": yaml.safe_load(tiny.files[CONFIG_FILENAME]),
            "deepspeed": None,
            "gpus": 1,
            "bf16": False,
        }
    )
    return run_validators(cases)


def test_at_least_ten_builtin_presets_cover_the_families() -> None:
    assert len(BUILTIN) >= 10
    for family in ("llama-3.2-1b", "llama-3.1-8b", "70b", "mistral-7b", "qwen", "gemma", "phi"):
        assert any(family in name for name in BUILTIN), family
    assert {"tiny-cpu"} <= set(BUILTIN)


@pytest.mark.parametrize("variant", list(VARIANTS))
@pytest.mark.parametrize("preset", GPU_PRESETS)
def test_axolotl_accepts_rendered_config(
    verdicts: dict[str, dict[str, Any]], preset: str, variant: str
) -> None:
    verdict = verdicts[f"{preset}/{variant}"]
    assert verdict["axolotl"] == "ok", verdict["axolotl"]
    warned = [w for w in verdict["warnings"] if not w.startswith(INFORMATIONAL)]
    assert warned == [], f"Axolotl warns about {preset} on its own GPU: {warned}"
    if variant == "1gpu":
        assert verdict["deepspeed"] is None
    else:
        assert verdict["deepspeed"] == "ok", verdict["deepspeed"]


def test_axolotl_accepts_tiny_cpu_config(verdicts: dict[str, dict[str, Any]]) -> None:
    assert verdicts["tiny-cpu/cpu"]["axolotl"] == "ok"


def test_the_validators_can_fail() -> None:
    """The harness reports real rejections: a bad config and a bad DeepSpeed JSON."""
    good = render_case("llama-3.1-8b-lora", "8gpu-zero2")
    bad_config = {
        **good,
        "id": "bad-config",
        "config": {**good["config"], "micro_batch_size": -3, "sample_packing": "sometimes"},
    }
    bad_ds = dict(good["deepspeed"])
    bad_ds["zero_optimization"] = {**bad_ds["zero_optimization"], "stage": 7}
    bad_deepspeed = {**good, "id": "bad-deepspeed", "deepspeed": bad_ds}
    verdicts = run_validators([bad_config, bad_deepspeed])
    assert verdicts["bad-config"]["axolotl"] != "ok"
    assert verdicts["bad-deepspeed"]["deepspeed"] != "ok"


def test_fill_autos_leaves_no_auto() -> None:
    case = render_case("llama-3.1-8b-full-zero3", "8gpu-zero3")
    filled = fill_deepspeed_autos(case["deepspeed"], case["config"])
    assert "auto" not in str(filled)
    assert case["deepspeed"]["train_batch_size"] == "auto"
