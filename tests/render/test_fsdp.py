"""FSDP2 as an answer (issue 17): its rules, the layer class from the family table, Axolotl 0.19's
own `validate_config` on full / LoRA / QLoRA runs made by the `new` path on 2 and 8 GPUs, the
estimate of what is written, and auto-fit's choice between DDP, ZeRO and FSDP2."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import yaml
from answers_path import planned, refusal
from real_validators import run_validators

from wizard.answers.layers import Answers, Layer, LayerKind, unflatten
from wizard.errors import WizardError
from wizard.estimate import autofit
from wizard.estimate.autofit import PREFER_FSDP
from wizard.estimate.entry import estimate
from wizard.models import catalog_arch
from wizard.models.families import family, family_names
from wizard.presets.assemble import collect_answers
from wizard.render.axolotl_config import render_axolotl
from wizard.render.plan import plan_run
from wizard.render.runfolder import CONFIG_FILENAME
from wizard.runspec import RunSpec

LLAMA = "meta-llama/Llama-3.1-8B"
BASE = {"model.base_model": LLAMA, "datasets": [{"path": "d.jsonl", "format": "alpaca"}],
        "hardware.gpus_per_node": 8, "distributed.backend": "fsdp"}  # fmt: skip

# (answers on top of BASE, words the message or its fix must hold, an answer the refusal names):
# the spec refuses the answers that make no sense together, `check`'s rules the configs Axolotl
# or its trainer would refuse; either way the one error names an answer to change.
REFUSED: dict[str, tuple[dict[str, Any], str, str]] = {
    "one GPU": ({"hardware.gpus_per_node": 1}, "shards nothing", "hardware.gpus_per_node"),
    "CPU": ({"hardware.accelerator": "cpu", "training.precision": "fp32"},
            "run FSDP on GPUs only", "distributed.backend"),
    "bnb 8-bit AdamW": ({"training.optimizer": "adamw_bnb_8bit"}, "adamw_torch_8bit",
                        "training.optimizer"),
    "offload with 8-bit": ({"distributed.offload_params": True, "method.kind": "full",
                            "training.optimizer": "adamw_torch_8bit"}, "on the CPU",
                           "training.optimizer"),
    "QLoRA rank-0 loading": ({"method.kind": "qlora",
                              "distributed.fsdp.cpu_ram_efficient_loading": True},
                             "deadlocks", "distributed.fsdp"),
    "QLoRA fp16": ({"method.kind": "qlora", "training.precision": "fp16",
                    "hardware.bf16_supported": False},
                   "bnb_4bit_quant_storage", "training.precision"),
    "QLoRA DPO": ({"method.kind": "qlora", "objective.kind": "dpo",
                   "datasets": [{"path": "d.jsonl", "format": "preference"}]},
                  "FSDP2 does not shard a 4-bit or 8-bit base model", "distributed.fsdp_version"),
    "pin memory without offload": ({"distributed.fsdp.cpu_offload_pin_memory": False},
                                   "CPU offload only", "distributed.fsdp"),
    "offload_optimizer": ({"distributed.offload_optimizer": True}, "FSDP offloads parameters",
                          "distributed.offload_params"),
}  # fmt: skip


def spec_of(answers: dict[str, Any]) -> RunSpec:
    return RunSpec.model_validate(unflatten({**BASE, **answers}))


@pytest.mark.parametrize("name", list(REFUSED))
def test_a_refused_combination_is_one_line_naming_the_answers(name: str) -> None:
    answers, words, key = REFUSED[name]
    err = refusal({**BASE, **answers})
    said = f"{err.message} {err.hint}"
    assert words in said and "\n" not in said
    assert key in err.keys or key in err.message, (err.keys, err.message)


def test_falcon_trains_with_fsdp2_which_axolotl_takes() -> None:
    """Axolotl refuses FSDP1's `fsdp:` list for Falcon (check_falcon_fsdp), not FSDP2: the run
    is written, with FSDP2's keys only."""
    config = yaml.safe_load(planned({**BASE, "model.base_model": "tiiuae/falcon-7b"})
                            .folder.files[CONFIG_FILENAME])  # fmt: skip
    assert config["fsdp_version"] == 2 and "fsdp" not in config


def test_the_good_neighbours_of_the_refusals_pass() -> None:
    """Each refusal is about its combination only: one step away, the answers are taken."""
    spec_of({"training.optimizer": "adamw_torch_8bit"})
    spec_of({"method.kind": "full", "distributed.offload_params": True})
    spec_of({"method.kind": "qlora", "training.precision": "bf16"})
    spec_of({"distributed.offload_params": True, "distributed.fsdp.cpu_offload_pin_memory": False})


def test_raw_deepspeed_key_cannot_join_fsdp() -> None:
    with pytest.raises(WizardError, match="DeepSpeed and FSDP cannot shard one run"):
        render_axolotl(spec_of({}), {"deepspeed": "ds.json"})
    zero = spec_of({"distributed.backend": "deepspeed"})
    with pytest.raises(WizardError, match=r"axolotl\.fsdp_config"):
        render_axolotl(zero, {"fsdp_config": {"offload_params": True}})


def test_every_family_names_the_layer_class_transformers_does_not_split() -> None:
    """The table's class is in the model's own `_no_split_modules` (read from the installed
    transformers source, not imported)."""
    import transformers

    models = Path(transformers.__file__).parent / "models"
    folder_of = {"gemma3_text": "gemma3", "llama4_text": "llama4"}
    for name in family_names():
        fam = family(name)
        assert fam is not None and fam.layer_class, name
        folder = folder_of.get(name, name)
        source = (models / folder / f"modeling_{folder}.py").read_text()
        assert f'_no_split_modules = ["{fam.layer_class}"' in source, (name, fam.layer_class)


def _case(preset: str, gpus: int, *extra: str) -> dict[str, Any]:
    sets = ["datasets.0.path=data/train.jsonl", "training.effective_batch_size=null",
            "training.gradient_accumulation_steps=2", f"hardware.gpus_per_node={gpus}",
            "distributed.backend=fsdp", *extra]  # fmt: skip
    answers, ref = collect_answers(preset, None, sets)
    plan = plan_run(answers, ref, None, Path.cwd())
    config = yaml.safe_load(plan.folder.files[CONFIG_FILENAME])
    assert plan.estimate is not None
    return {"id": f"{preset}/{gpus}", "config": config, "deepspeed": plan.folder.deepspeed,
            "gpus": gpus, "bf16": True, "peak": plan.estimate.peak_gib_per_gpu,
            "folder": plan.folder}  # fmt: skip


MATRIX = [(preset, gpus) for preset in ("llama-3.1-8b-full-zero3", "llama-3.1-8b-lora",
                                        "llama-3.1-8b-qlora") for gpus in (2, 8)]  # fmt: skip


@pytest.fixture(scope="module")
def matrix() -> dict[str, dict[str, Any]]:
    return {f"{p}/{g}": _case(p, g) for p, g in MATRIX}


def test_the_new_path_writes_fsdp2_with_the_layer_class(matrix: dict[str, dict[str, Any]]) -> None:
    for case in matrix.values():
        config = case["config"]
        assert config["fsdp_version"] == 2 and "deepspeed" not in config, case["id"]
        assert config["fsdp_config"]["transformer_layer_cls_to_wrap"] == "LlamaDecoderLayer"
        assert case["deepspeed"] is None


def test_new_shows_the_estimate_of_the_written_config(matrix: dict[str, dict[str, Any]]) -> None:
    arch = catalog_arch("meta-llama/Llama-3.1-8B-Instruct")
    assert arch is not None
    for case in matrix.values():
        again = estimate(case["config"], arch, gpus=case["gpus"], advise=False)
        assert again.peak_gib_per_gpu == pytest.approx(case["peak"]), case["id"]


@pytest.mark.integration
def test_axolotl_0_19_validates_every_fsdp2_run(matrix: dict[str, dict[str, Any]]) -> None:
    cases = [{k: v for k, v in c.items() if k not in ("peak", "folder")} for c in matrix.values()]
    bad = {**cases[0], "id": "bad", "config": {**cases[0]["config"], "optimizer": "adamw_8bit"}}
    verdicts = run_validators([*cases, bad])
    assert {k: v["axolotl"] for k, v in verdicts.items() if v["axolotl"] != "ok"}.keys() == {"bad"}
    assert "adamw_torch_8bit" in verdicts["bad"]["axolotl"]  # the harness can fail, on FSDP2


FULL = {"sequence_len": 4096, "sample_packing": True, "bf16": True, "flash_attention": True,
        "micro_batch_size": 1, "gradient_checkpointing": True}  # fmt: skip
FSDP2 = {**FULL, "fsdp_version": 2, "fsdp_config": {"offload_params": False}}


def test_fsdp2_full_8b_on_8_gpus_is_well_under_a_third_of_unsharded() -> None:
    arch = catalog_arch(LLAMA)
    assert arch is not None
    unsharded = estimate(FULL, arch, gpus=8, advise=False)
    sharded = estimate(FSDP2, arch, gpus=8, advise=False)
    assert sharded.peak_gib_per_gpu < unsharded.peak_gib_per_gpu / 3
    b = sharded.breakdown_gib
    states = b["weights"] + b["master_weights"] + b["optimizer_states"]
    # FSDP's own accounting: fp32 shards of parameters (16-bit weights + the fp32 rest), Adam's
    # two fp32 states, and fp32 gradients: 16 bytes a parameter over 8 GPUs, as ZeRO-3's 16.
    params = sharded.total_params
    assert states * 2**30 == pytest.approx(params * 12 / 8, rel=1e-6)
    assert b["gradients"] * 2**30 <= params * 4 / 8 + 1  # fp32, sharded
    assert sharded.workload.fsdp and params > 8e9


def test_autofit_prefers_fsdp2_over_zero3_and_says_why() -> None:
    arch = catalog_arch(LLAMA)
    assert arch is not None
    cfg = {k: v for k, v in FULL.items() if k not in ("micro_batch_size", "gradient_checkpointing")}
    plan = autofit(cfg, arch, gpus=8, gpu_mem_gib=40, target_batch=64)
    assert plan.fsdp and plan.why == PREFER_FSDP and PREFER_FSDP in plan.describe()
    roomy = autofit(cfg, arch, gpus=8, gpu_mem_gib=80, target_batch=64)
    assert not roomy.fsdp and roomy.zero_stage == 2  # ZeRO-2 fits: faster than any stage 3


def _fitted(optimizer: str) -> Any:
    nested = {"model": {"base_model": LLAMA},
              "datasets": [{"path": "data/train.jsonl", "format": "alpaca"}],
              "method": {"kind": "full"}, "hardware": {"gpus_per_node": 8, "gpu_memory_gib": 40},
              "training": {"sequence_len": 4096, "sample_packing": True, "attention": "flash",
                           "effective_batch_size": 64, "optimizer": optimizer}}  # fmt: skip
    answers = Answers([Layer.from_nested("test", nested, LayerKind.SET)])
    return plan_run(answers, None, None, Path.cwd())


def test_new_autofits_to_fsdp2_and_writes_it_with_the_layer_class() -> None:
    plan = _fitted("adamw_torch_fused")
    assert plan.fit.plan is not None and plan.fit.plan.fsdp
    config = yaml.safe_load(plan.folder.files[CONFIG_FILENAME])
    assert config["fsdp_version"] == 2 and "deepspeed" not in config
    assert config["fsdp_config"]["transformer_layer_cls_to_wrap"] == "LlamaDecoderLayer"
    assert plan.estimate is not None
    assert plan.estimate.peak_gib_per_gpu == pytest.approx(plan.fit.plan.estimate.peak_gib_per_gpu)


def test_autofit_leaves_fsdp_out_when_the_answers_refuse_it() -> None:
    plan = _fitted("adamw_bnb_8bit")  # FSDP2 refuses bitsandbytes' 8-bit AdamW
    assert plan.fit.plan is not None and plan.fit.note is None
    assert plan.spec.distributed.backend != "fsdp"
