"""Preference and RL objectives (issue 16): every objective renders a config the real Axolotl
0.19.0 accepts, the built-in DPO/ORPO/KTO/GRPO presets on one GPU and on 8 too, the dataset type
fits the objective, and the rules between the objective and the other answers hold."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import yaml
from conftest import run_wizard
from real_validators import run_validators

from wizard.answers.file import AnswersDocument
from wizard.errors import WizardError
from wizard.presets.assemble import collect_answers
from wizard.render.plan import plan_run
from wizard.render.runfolder import CONFIG_FILENAME, batch_arithmetic, build_run_folder
from wizard.runspec import OBJECTIVES, RunSpec

OBJECTIVE_PRESETS = {
    "llama-3.1-8b-dpo": 1,
    "llama-3.1-8b-dpo-8gpu": 8,
    "llama-3.1-8b-orpo": 1,
    "llama-3.1-8b-orpo-8gpu": 8,
    "llama-3.1-8b-kto": 1,
    "llama-3.1-8b-kto-8gpu": 8,
    "qwen2.5-1.5b-grpo": 1,
    "qwen2.5-1.5b-grpo-8gpu": 7,  # 8 GPUs: vLLM's server on 1, the trainers see 7
}
REWARDS = "objective.reward_functions=[rewards.correct]"
# Each objective's own data and settings on top of a preset.
OBJECTIVE_SETS: dict[str, list[str]] = {
    "sft": [],
    "dpo": [
        "datasets.0.format=preference",
        "objective.beta=0.2",
        "objective.precompute_ref_log_probs=true",
    ],
    "ipo": ["datasets.0.format=preference", "objective.beta=0.2"],
    "orpo": ["datasets.0.format=preference", "datasets.0.conversations=true", "objective.beta=0.1"],
    "simpo": [
        "datasets.0.format=preference",
        "objective.simpo_gamma=0.5",
        "objective.cpo_alpha=1.0",
    ],
    "kto": [
        "datasets.0.format=unpaired_preference",
        "data.chat_template=chatml",
        "objective.desirable_weight=1.2",
    ],
    "grpo": ["datasets.0.format=prompts", REWARDS, "objective.num_generations=2"],
}


def config_of(preset: str, sets: list[str]) -> dict[str, Any]:
    answers, ref = collect_answers(preset, None, ["datasets.0.path=data/train.jsonl", *sets])
    folder = build_run_folder(AnswersDocument(answers.resolve(), answers.raw_axolotl(), ref))
    return {"config": yaml.safe_load(folder.files[CONFIG_FILENAME]), "deepspeed": folder.deepspeed}


def objective_cases() -> list[dict[str, Any]]:
    cases = []
    for preset, gpus in OBJECTIVE_PRESETS.items():
        sets = [REWARDS] if "grpo" in preset else []
        cases.append(
            {"id": f"preset/{preset}", "gpus": gpus, "bf16": True, **config_of(preset, sets)}
        )
    for kind, sets in OBJECTIVE_SETS.items():
        kind_sets = [f"objective.kind={kind}", *sets]
        gpu = [*kind_sets, "objective.vllm=colocate"] if kind == "grpo" else kind_sets
        cases.append(
            {"id": f"gpu/{kind}", "gpus": 1, "bf16": True, **config_of("llama-3.1-8b-lora", gpu)}
        )
        cpu = [*kind_sets, "objective.vllm=none"] if kind == "grpo" else kind_sets
        if kind in ("dpo", "ipo", "orpo", "simpo"):
            cpu.append("data.chat_template=chatml")
        cases.append({"id": f"cpu/{kind}", "gpus": 1, "bf16": False, **config_of("tiny-cpu", cpu)})
    return cases


@pytest.fixture(scope="module")
def verdicts() -> dict[str, dict[str, Any]]:
    return run_validators(objective_cases())


@pytest.mark.integration
@pytest.mark.parametrize("preset", sorted(OBJECTIVE_PRESETS))
def test_axolotl_accepts_each_objective_preset(
    verdicts: dict[str, dict[str, Any]], preset: str
) -> None:
    verdict = verdicts[f"preset/{preset}"]
    assert verdict["axolotl"] == "ok", verdict["axolotl"]
    if verdict["deepspeed"] is not None:
        assert verdict["deepspeed"] == "ok", verdict["deepspeed"]


@pytest.mark.integration
@pytest.mark.parametrize("where", ["gpu", "cpu"])
@pytest.mark.parametrize("kind", sorted(set(OBJECTIVES)))
def test_axolotl_accepts_every_objective(
    verdicts: dict[str, dict[str, Any]], kind: str, where: str
) -> None:
    verdict = verdicts[f"{where}/{kind}"]
    assert verdict["axolotl"] == "ok", verdict["axolotl"]


def test_each_objective_writes_its_keys_and_dataset_type() -> None:
    dpo = config_of("llama-3.1-8b-lora", ["objective.kind=dpo", *OBJECTIVE_SETS["dpo"]])["config"]
    assert (dpo["rl"], dpo["rl_beta"], dpo["precompute_ref_log_probs"]) == ("dpo", 0.2, True)
    assert dpo["sample_packing"] is False  # the preset packs for SFT; the switch drops it
    assert dpo["datasets"][0]["type"] == "chat_template.default"
    assert dpo["datasets"][0]["field_messages"] == "prompt"
    orpo = config_of("llama-3.1-8b-lora", ["objective.kind=orpo", *OBJECTIVE_SETS["orpo"]])
    assert orpo["config"]["orpo_alpha"] == 0.1
    assert orpo["config"]["datasets"][0]["type"] == "chat_template.argilla"
    kto = config_of("tiny-cpu", ["objective.kind=kto", *OBJECTIVE_SETS["kto"]])["config"]
    assert kto["kto_desirable_weight"] == 1.2
    assert kto["datasets"][0]["type"] == "chatml.prompt_pairs"
    llama3 = config_of("llama-3.1-8b-kto", [])["config"]
    assert llama3["datasets"][0]["type"] == "llama3.prompt_pairs"
    simpo = config_of("llama-3.1-8b-lora", ["objective.kind=simpo", *OBJECTIVE_SETS["simpo"]])
    assert (simpo["config"]["simpo_gamma"], simpo["config"]["cpo_alpha"]) == (0.5, 1.0)
    assert "warmup_ratio" not in simpo["config"] and simpo["config"]["warmup_steps"] == 10


def test_grpo_server_mode_sets_aside_the_generation_gpus() -> None:
    config = config_of("qwen2.5-1.5b-grpo-8gpu", [REWARDS])["config"]
    assert config["trl"]["use_vllm"] is True and config["trl"]["vllm_mode"] == "server"
    assert config["trl"]["reward_funcs"] == ["rewards.correct"]
    assert config["vllm"] == {"tensor_parallel_size": 1}
    # The batch counts the 7 trainers, not the GPU vLLM generates on.
    answers, _ = collect_answers(
        "qwen2.5-1.5b-grpo-8gpu", None, ["datasets.0.path=d.jsonl", REWARDS]
    )
    spec = answers.resolve()
    assert (spec.hardware.world_size, spec.training_processes) == (8, 7)
    # The batch line the run folder and `new` show says the same (it said 8 GPUs).
    text = batch_arithmetic(spec)
    assert "× 7 GPUs = " in text and "8 GPUs" not in text, text


def spec_error(preset: str, sets: list[str]) -> str:
    """The refusal of the answers path: the spec's, or that of `check`'s rules on the config."""
    answers, ref = collect_answers(preset, None, ["datasets.0.path=data/train.jsonl", *sets])
    with pytest.raises(WizardError) as caught:
        plan_run(answers, ref, None, Path.cwd())
    return f"{caught.value.message}; {caught.value.hint}"


@pytest.mark.parametrize(
    ("sets", "words"),
    [
        (["datasets.0.format=preference"], "data for preference or RL training, not SFT"),
        (["objective.kind=dpo"], "objective dpo reads a prompt with a chosen and a rejected"),
        (
            [
                "objective.kind=kto",
                "datasets.0.format=unpaired_preference",
                "data.chat_template=gemma",
            ],
            "KTO data transforms write chatml or llama3",
        ),
        (["objective.kind=orpo", "datasets.0.format=preference"], "whole conversations"),
        (
            ["objective.kind=ipo", "datasets.0.format=preference", "objective.rpo_alpha=1"],
            "IPO has its own loss",
        ),
        (
            ["objective.kind=dpo", "datasets.0.format=preference", "objective.rpo_alpha=1"],
            "Axolotl 0.19 refuses rpo_alpha",
        ),
        (
            ["objective.kind=simpo", "datasets.0.format=preference", "training.warmup_ratio=0.1"],
            "SimPO trainer takes no `warmup_ratio`",
        ),
        (
            ["objective.kind=dpo", "datasets.0.format=preference", "training.sample_packing=true"],
            "`sample_packing` does not work with `rl: dpo`",
        ),
        (
            ["objective.kind=grpo", "datasets.0.format=prompts", REWARDS],
            "vLLM server takes 1 GPU(s) of its own",
        ),
        (
            [
                "objective.kind=grpo",
                "datasets.0.format=prompts",
                REWARDS,
                "hardware.gpus_per_node=8",
                "hardware.nodes=2",
                "training.effective_batch_size=null",
                "training.gradient_accumulation_steps=16",
            ],
            "vLLM server (axolotl vllm-serve) runs on one node",
        ),
        (
            [
                "objective.kind=grpo",
                "datasets.0.format=prompts",
                REWARDS,
                "objective.vllm=colocate",
                "objective.num_generations=3",
            ],
            "multiple of trl.num_generations (3)",
        ),
        (
            [
                "objective.kind=grpo",
                "datasets.0.format=prompts",
                "objective.reward_functions=[correct]",
            ],
            "is not module.function",
        ),
    ],
)
def test_rules_between_the_objective_and_the_other_answers(sets: list[str], words: str) -> None:
    assert words in spec_error("llama-3.1-8b-lora", sets)


def test_a_switch_of_objective_drops_the_other_objectives_fields() -> None:
    answers, _ = collect_answers(
        "llama-3.1-8b-dpo", None, ["datasets.0.path=d.jsonl", "objective.kind=ipo"]
    )
    assert answers.resolve().objective.kind == "ipo"  # beta kept: IPO has one
    answers, _ = collect_answers(
        "llama-3.1-8b-dpo",
        None,
        [
            "datasets.0.path=d.jsonl",
            "objective.kind=grpo",
            "datasets.0.format=prompts",
            REWARDS,
            "objective.vllm=colocate",
            "objective.num_generations=2",
        ],
    )
    assert answers.resolve().objective.kind == "grpo"


def test_spec_objective_default_is_sft() -> None:
    spec = RunSpec.model_validate(
        {"model": {"base_model": "a/b"}, "datasets": [{"path": "x", "format": "alpaca"}]}
    )
    assert spec.objective.kind == "sft" and spec.resolved_packing is True


# -- bad input through the real command: one line, exit 1, nothing written ------------------


def _refused(tmp_path: Path, *args: str) -> str:
    done = run_wizard("new", "run", "--yes", *args, cwd=tmp_path)
    assert done.returncode == 1, done.stdout + done.stderr
    assert not (tmp_path / "run").exists()
    assert "Traceback" not in done.stderr
    lines = [line for line in done.stderr.splitlines() if line.startswith("error: ")]
    assert len(lines) == 1, done.stderr
    return lines[0]


def test_preference_data_given_to_sft_is_refused(tmp_path: Path) -> None:
    line = _refused(
        tmp_path,
        "--preset",
        "llama-3.1-8b-lora",
        "--set",
        "datasets.0.path=org/d",
        "--set",
        "datasets.0.format=preference",
    )
    assert "not SFT; set objective.kind=dpo" in line


def test_sft_data_given_to_dpo_is_refused(tmp_path: Path) -> None:
    line = _refused(
        tmp_path,
        "--preset",
        "llama-3.1-8b-dpo",
        "--set",
        "datasets.0.path=org/d",
        "--set",
        "datasets.0.format=alpaca",
    )
    assert "objective dpo reads" in line


def test_a_missing_reward_module_is_refused(tmp_path: Path) -> None:
    line = _refused(
        tmp_path,
        "--preset",
        "qwen2.5-1.5b-grpo",
        "--set",
        "datasets.0.path=org/d",
        "--set",
        "objective.reward_functions=[my_rewards_nowhere.correct]",
    )
    assert "no my_rewards_nowhere.py here" in line


def test_a_reward_module_without_the_function_is_refused(tmp_path: Path) -> None:
    (tmp_path / "rewards.py").write_text("def other(prompts, completions, **kw):\n    return []\n")
    line = _refused(
        tmp_path,
        "--preset",
        "qwen2.5-1.5b-grpo",
        "--set",
        "datasets.0.path=org/d",
        "--set",
        REWARDS,
    )
    assert "defines no 'correct'" in line


def test_grpo_server_mode_on_one_gpu_is_refused(tmp_path: Path) -> None:
    rewards = "def correct(prompts, completions, **kw):\n    return []\n"
    (tmp_path / "rewards.py").write_text(rewards)
    line = _refused(
        tmp_path,
        "--preset",
        "qwen2.5-1.5b-grpo",
        "--set",
        "datasets.0.path=org/d",
        "--set",
        REWARDS,
        "--set",
        "objective.vllm=server",
        "--set",
        "objective.vllm_memory_share=null",
    )
    assert "set objective.vllm=colocate" in line


def test_the_reward_module_is_carried_into_the_run_folder(tmp_path: Path) -> None:
    source = "def correct(prompts, completions, **kw):\n    return [1.0 for _ in completions]\n"
    (tmp_path / "rewards.py").write_text(source)
    done = run_wizard(
        "new",
        "run",
        "--yes",
        "--preset",
        "qwen2.5-1.5b-grpo-8gpu",
        "--set",
        "datasets.0.path=org/d",
        "--set",
        REWARDS,
        cwd=tmp_path,
    )
    assert done.returncode == 0, done.stderr
    assert (tmp_path / "run" / "rewards.py").read_text() == source
    config = yaml.safe_load((tmp_path / "run" / CONFIG_FILENAME).read_text())
    assert config["rl"] == "grpo" and config["trl"]["num_generations"] == 8


def test_a_field_of_another_objective_or_method_names_its_kind(tmp_path: Path) -> None:
    line = _refused(
        tmp_path, "--preset", "llama-3.1-8b-dpo", "--set", "datasets.0.path=org/d", "--set", REWARDS
    )
    assert "objective.reward_functions is an answer of objective grpo only" in line
    line = _refused(
        tmp_path,
        "--preset",
        "llama-3.1-8b-lora",
        "--set",
        "datasets.0.path=org/d",
        "--set",
        "method.kind=full",
        "--set",
        "method.r=8",
    )
    assert "method.r is an answer of method lora / qlora only" in line


def test_launch_splits_the_grpo_preset_between_vllm_and_the_trainers(tmp_path: Path) -> None:
    """The run the 8-GPU GRPO preset makes, launched with --dry-run: vLLM's server on GPU 0,
    7 trainers on the rest, and the batch the run planned (no warning that it changed)."""
    rewards = "def correct(prompts, completions, **kw):\n    return []\n"
    (tmp_path / "rewards.py").write_text(rewards)
    done = run_wizard(
        "new",
        "run",
        "--yes",
        "--preset",
        "qwen2.5-1.5b-grpo-8gpu",
        "--set",
        "datasets.0.path=org/d",
        "--set",
        REWARDS,
        cwd=tmp_path,
    )
    assert done.returncode == 0, done.stderr
    done = run_wizard("launch", "run", "--dry-run", cwd=tmp_path, env={"CUDA_VISIBLE_DEVICES": ""})
    assert "CUDA_VISIBLE_DEVICES=0 " in done.stdout and "vllm-serve axolotl.yml &" in done.stdout
    assert "export CUDA_VISIBLE_DEVICES=1,2,3,4,5,6,7" in done.stdout
    assert "--num_processes 7" in done.stdout
    assert "8 micro batch × 7 accumulation × 7 GPUs = 392 sequences" in done.stderr
    assert "was planned for" not in done.stderr


def test_the_estimate_names_each_objectives_memory() -> None:
    """DPO with full weights adds a reference copy the size of the weights, none with LoRA;
    pairs double the tokens; GRPO's sequences include the completion; colocated vLLM takes its
    share of the GPU."""
    from wizard.estimate import estimate
    from wizard.models import catalog_arch

    arch = catalog_arch("meta-llama/Llama-3.1-8B-Instruct")
    assert arch is not None
    sets = ["datasets.0.format=preference", "objective.kind=dpo"]
    dpo = config_of("llama-3.1-8b-dpo-8gpu", [])
    full = estimate(dpo["config"], arch, gpus=8, deepspeed=dpo["deepspeed"])
    terms = full.breakdown_gib
    assert terms["reference_model"] == pytest.approx(terms["weights"]) and terms["weights"] > 1
    plain = config_of("llama-3.1-8b-full-zero3", [])
    sft = estimate(plain["config"], arch, gpus=8, deepspeed=plain["deepspeed"])
    assert sft.breakdown_gib["reference_model"] == 0
    lora = estimate(config_of("llama-3.1-8b-lora", sets)["config"], arch, gpus=1)
    assert lora.breakdown_gib["reference_model"] == 0
    assert lora.workload.tokens == 2 * lora.workload.micro_batch * lora.workload.seq_len
    grpo = config_of("qwen2.5-1.5b-grpo", [REWARDS])["config"]
    qwen = catalog_arch("Qwen/Qwen2.5-1.5B-Instruct")
    assert qwen is not None
    colocated = estimate(grpo, qwen, gpus=1, gpu_mem_gib=80)
    assert colocated.workload.seq_len == 1024 + 512
    assert colocated.breakdown_gib["vllm"] == pytest.approx(0.3 * 80)
