"""Runs an expert would sign, with no preset: a matrix of everyday requests (model x data x
method x objective x GPU, 1 to 8 GPUs, T4 to B200), each written by `new --yes` as a new user
would ask for it, then judged:

- the real Axolotl 0.19.0 `validate_config`, given the capabilities of the GPU the run names,
  accepts the config and logs no warning (its own loggers captured), but the informational ones
  listed in INFORMATIONAL; the real DeepSpeed accepts the ZeRO file when there is one;
- the learning rate and the effective batch sit inside the ranges of the recipe row's published
  sources, and every row of the recipe table cites at least one source;
- the plan fits the GPUs and the host's RAM.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
import yaml
from real_validators import INFORMATIONAL, run_validators

from wizard import cli
from wizard.answers.peek import planned_hardware
from wizard.gpus.catalog import lookup
from wizard.presets.assemble import collect_answers
from wizard.recipes.table import training_recipe, training_recipes
from wizard.render.plan import plan_run

DATA = {
    "chat": {"messages": [{"role": "user", "content": "hi"},
                          {"role": "assistant", "content": "hello"}]},
    "alpaca": {"instruction": "add", "input": "1 2", "output": "3"},
    "pairs": {"prompt": "hi", "chosen": "hello", "rejected": "go away"},
    # ORPO reads chosen and rejected as whole conversations (Axolotl's argilla-style ORPO data).
    "chat_pairs": {"chosen": [{"role": "user", "content": "hi"},
                              {"role": "assistant", "content": "hello"}],
                   "rejected": [{"role": "user", "content": "hi"},
                                {"role": "assistant", "content": "go away"}]},
    "labelled": {"prompt": "hi", "completion": "hello", "label": True},
    "prompts": {"prompt": "what is 2 + 2?"},
}  # fmt: skip


@dataclass(frozen=True)
class Request:
    gpu: str
    gpus: int
    model: str
    data: str
    method: str
    objective: str = "sft"
    extra: tuple[str, ...] = ()

    @property
    def name(self) -> str:
        short = self.model.split("/")[-1].lower()
        return f"{self.gpu.replace(' ', '')}x{self.gpus}-{short}-{self.method}-{self.objective}"


MATRIX = [
    Request("T4", 1, "meta-llama/Llama-3.2-1B-Instruct", "chat", "lora"),
    Request("T4", 2, "Qwen/Qwen2.5-0.5B-Instruct", "alpaca", "full"),
    Request("V100-32GB", 1, "Qwen/Qwen2.5-1.5B-Instruct", "chat", "qlora"),
    Request("L4", 1, "meta-llama/Llama-3.1-8B-Instruct", "chat", "qlora"),
    Request("RTX 4090", 1, "meta-llama/Llama-3.2-3B-Instruct", "labelled", "qlora", "kto"),
    Request("RTX 4090", 2, "Qwen/Qwen2.5-1.5B-Instruct", "chat_pairs", "lora", "orpo"),
    Request("A10G", 4, "mistralai/Mistral-7B-Instruct-v0.3", "alpaca", "qlora"),
    Request("A100-40GB", 1, "Qwen/Qwen2.5-7B-Instruct", "chat", "lora"),
    Request("A100-80GB", 2, "meta-llama/Llama-3.1-8B-Instruct", "pairs", "full", "dpo"),
    Request("A100-80GB", 1, "meta-llama/Llama-3.1-8B-Instruct", "pairs", "lora", "simpo"),
    Request("L40S", 8, "meta-llama/Llama-3.1-8B", "chat", "full"),
    Request("H100", 8, "meta-llama/Llama-3.3-70B-Instruct", "chat", "qlora"),
    Request("H100", 4, "Qwen/Qwen2.5-1.5B-Instruct", "prompts", "full", "grpo",
            ("objective.reward_functions=[rewards.correct]",)),
    Request("H100", 1, "Qwen/Qwen2.5-1.5B-Instruct", "prompts", "lora", "grpo",
            ("objective.reward_functions=[rewards.correct]", "objective.vllm=colocate")),
    Request("H200", 8, "meta-llama/Llama-3.1-8B-Instruct", "labelled", "full", "kto"),
    Request("B200", 2, "meta-llama/Llama-3.1-8B-Instruct", "pairs", "lora", "ipo"),
]  # fmt: skip


def _write_data(cwd: Path) -> None:
    for name, record in DATA.items():
        lines = [json.dumps(record)] * 40
        if name == "labelled":  # KTO wants both labels
            lines += [json.dumps({**record, "label": False})] * 40
        (cwd / f"{name}.jsonl").write_text("\n".join(lines) + "\n", encoding="utf-8")
    (cwd / "rewards.py").write_text(
        "def correct(completions, **kwargs):\n    return [1.0 for _ in completions]\n",
        encoding="utf-8",
    )


def _sets(request: Request) -> list[str]:
    sets = [
        f"model.base_model={request.model}",
        f"datasets.0.path={request.data}.jsonl",
        f"method.kind={request.method}",
        f"hardware.gpu={request.gpu}",
        f"hardware.gpus_per_node={request.gpus}",
        *request.extra,
    ]
    if request.objective != "sft":
        sets.append(f"objective.kind={request.objective}")
    return sets


@pytest.fixture(scope="module")
def written(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    """Every request of the matrix, written by `new --yes` in one folder: run folder by name."""
    import os

    cwd = tmp_path_factory.mktemp("expert-runs")
    _write_data(cwd)
    old = Path.cwd()
    os.chdir(cwd)
    try:
        for request in MATRIX:
            argv = ["new", request.name, "--yes"]
            for item in _sets(request):
                argv += ["--set", item]
            assert cli.main(argv) == 0, request.name
    finally:
        os.chdir(old)
    return {request.name: cwd / request.name for request in MATRIX}


def test_the_matrix_spans_gpus_methods_and_objectives() -> None:
    archs = {lookup(r.gpu).arch for r in MATRIX}
    assert {"sm_75", "sm_80", "sm_89", "sm_90"} <= archs
    assert {r.method for r in MATRIX} == {"full", "lora", "qlora"}
    assert {r.objective for r in MATRIX} == {"sft", "dpo", "ipo", "orpo", "simpo", "kto", "grpo"}
    assert {r.gpus for r in MATRIX} >= {1, 2, 4, 8}


def _case(request: Request, run: Path) -> dict[str, Any]:
    config = yaml.safe_load((run / "axolotl.yml").read_text(encoding="utf-8"))
    deepspeed = None
    if config.get("deepspeed"):
        deepspeed = json.loads((run / config["deepspeed"]).read_text(encoding="utf-8"))
    facts = lookup(request.gpu)
    # GRPO's vLLM server keeps a GPU; the trainers Axolotl sees are the rest.
    trainers = request.gpus - (1 if request.objective == "grpo" and request.gpus > 1 else 0)
    return {"id": request.name, "config": config, "deepspeed": deepspeed, "gpus": trainers,
            "bf16": facts.bf16, "arch": facts.arch}  # fmt: skip


@pytest.mark.integration
def test_axolotl_accepts_every_run_without_a_warning(written: dict[str, Path]) -> None:
    verdicts = run_validators([_case(r, written[r.name]) for r in MATRIX])
    problems = []
    for request in MATRIX:
        verdict = verdicts[request.name]
        if verdict["axolotl"] != "ok":
            problems.append(f"{request.name}: refused: {verdict['axolotl']}")
        warned = [w for w in verdict.get("warnings", [])
                  if not w.startswith(INFORMATIONAL)]  # fmt: skip
        problems += [f"{request.name}: warns: {w}" for w in warned]
        if verdict["deepspeed"] not in (None, "ok"):
            problems.append(f"{request.name}: DeepSpeed refuses: {verdict['deepspeed']}")
    assert problems == []


def test_learning_rate_and_batch_sit_in_the_published_ranges(written: dict[str, Path]) -> None:
    for request in MATRIX:
        config = yaml.safe_load((written[request.name] / "axolotl.yml").read_text("utf-8"))
        recipe = training_recipe(request.objective, request.method)
        low, high = recipe.lr_range
        assert low <= config["learning_rate"] <= high, request.name
        trainers = request.gpus - (1 if request.objective == "grpo" and request.gpus > 1 else 0)
        batch = config["micro_batch_size"] * config["gradient_accumulation_steps"] * trainers
        least, most = recipe.batch_range
        assert least <= batch <= max(most, trainers), (request.name, batch)


def test_every_recipe_row_cites_sources_and_holds_its_default() -> None:
    for recipe in training_recipes():
        assert recipe.sources, recipe
        assert recipe.usual_rate(recipe.learning_rate), recipe
        low, high = recipe.batch_range
        assert low <= recipe.effective_batch <= high, recipe


def test_every_run_fits_the_gpus_and_the_host(written: dict[str, Path]) -> None:
    for request in MATRIX:
        run = written[request.name]
        answers, ref = collect_answers(None, run / "wizard-answers.yml", [])
        plan = plan_run(answers, ref, None, run.parent)
        assert plan.estimate is not None, request.name
        ram = planned_hardware(run / "wizard-answers.yml").host_ram
        assert ram is not None
        need = plan.estimate.host_ram_per_node_gib(1)
        assert plan.estimate.fits and need <= ram.gib, (request.name, plan.estimate.verdict)


def test_the_gpu_decides_precision_attention_and_packing(written: dict[str, Path]) -> None:
    def config(name: str) -> dict[str, Any]:
        return dict(yaml.safe_load((written[name] / "axolotl.yml").read_text("utf-8")))

    t4 = config(MATRIX[0].name)
    assert (t4["bf16"], t4["fp16"], t4["attn_implementation"], t4["sample_packing"]) == (
        False, True, "sdpa", True)  # fmt: skip
    l4 = config(MATRIX[3].name)
    assert (l4["bf16"], l4["attn_implementation"], l4["sample_packing"]) == (
        True, "flash_attention_2", True)  # fmt: skip
    b200 = config(MATRIX[-1].name)
    assert b200["attn_implementation"] == "sdpa"  # flash-attn 2 does not list Blackwell
