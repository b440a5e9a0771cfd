"""The GPU by name and the recipe table: what nvidia-smi prints and short forms find their row,
an unknown name is one line with did-you-mean, and every default the wizard writes follows the
GPU's architecture and the objective x method row (issue 26, items 1-8)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import yaml
from answers_path import flat, refusal

from wizard import cli
from wizard.gpus.catalog import UnknownGpu, known_gpus, lookup
from wizard.gpus.detect import detect_host_ram_gib, parse_nvidia_smi
from wizard.recipes.table import arch_recipe, training_recipe
from wizard.runspec import RunSpec


@pytest.mark.parametrize(
    ("printed", "name", "arch"),
    [
        ("NVIDIA GeForce RTX 4090", "RTX 4090", "sm_89"),
        ("Tesla T4", "T4", "sm_75"),
        ("NVIDIA A100-SXM4-80GB", "A100-80GB", "sm_80"),
        ("NVIDIA A100-PCIE-40GB", "A100-40GB", "sm_80"),
        ("NVIDIA H100 80GB HBM3", "H100", "sm_90"),
        ("NVIDIA L4", "L4", "sm_89"),
        ("A100-80GB", "A100-80GB", "sm_80"),
        ("H100", "H100", "sm_90"),
        ("rtx4090", "RTX 4090", "sm_89"),
        ("T4", "T4", "sm_75"),
    ],
)
def test_nvidia_smi_names_and_short_forms_find_their_gpu(
    printed: str, name: str, arch: str
) -> None:
    facts = lookup(printed)
    assert (facts.name, facts.arch) == (name, arch)


def test_capabilities_follow_the_architecture_as_axolotl_reports_them() -> None:
    t4, a100, h100 = lookup("T4"), lookup("A100-80GB"), lookup("H100")
    assert (t4.bf16, t4.tf32, t4.fp8) == (False, False, False)
    assert (a100.bf16, a100.tf32, a100.fp8) == (True, True, False)
    assert (h100.bf16, h100.tf32, h100.fp8) == (True, True, True)  # Axolotl: fp8 from sm_90


def test_every_gpu_row_cites_its_source_and_a_machine_for_its_host_ram() -> None:
    for facts in known_gpus():
        assert facts.source.startswith("https://"), facts.name
        assert facts.host_ram_per_gpu_gib > 0 and facts.host_ram_machine, facts.name


def test_an_unknown_or_ambiguous_name_is_one_line_that_says_what_to_write() -> None:
    with pytest.raises(UnknownGpu, match="did you mean H100"):
        lookup("H1000")
    with pytest.raises(UnknownGpu, match="A100-40GB or A100-80GB"):
        lookup("NVIDIA A100")


def test_nvidia_smi_output_and_meminfo_are_read(tmp_path: Path) -> None:
    found = parse_nvidia_smi("NVIDIA GeForce RTX 4090, 24564, 8.9\n" * 2)
    assert found is not None and found.count == 2 and found.facts is not None
    assert (found.facts.name, found.memory_gib, found.bf16) == ("RTX 4090", 23.9, True)
    odd = parse_nvidia_smi("Some Future GPU, 98304, 13.0\n")
    assert odd is not None and odd.facts is None and (odd.memory_gib, odd.bf16) == (96.0, True)
    meminfo = tmp_path / "meminfo"
    meminfo.write_text("MemTotal:       65536000 kB\nMemFree: 1 kB\n")
    assert detect_host_ram_gib(meminfo) == 62.5
    assert detect_host_ram_gib(tmp_path / "missing") is None


def spec(**parts: Any) -> RunSpec:
    base: dict[str, Any] = {"model": {"base_model": "org/m"},
                            "datasets": [{"path": "d.jsonl", "format": "alpaca"}]}  # fmt: skip
    return RunSpec.model_validate({**base, **parts})


@pytest.mark.parametrize(
    ("gpu", "method", "precision", "attention", "packing"),
    [
        ("T4", "lora", "fp16", "sdpa", True),
        ("T4", "full", "fp32", "sdpa", True),  # fp16 full weights fail the AMP scaler
        ("A10G", "lora", "bf16", "flash", True),
        ("L4", "qlora", "bf16", "flash", True),
        ("H100", "full", "bf16", "flash", True),
        ("B200", "lora", "bf16", "sdpa", True),  # flash-attn 2 does not list Blackwell
    ],
)
def test_the_gpu_chooses_precision_attention_and_packing(
    gpu: str, method: str, precision: str, attention: str, packing: bool
) -> None:
    run = spec(hardware={"gpu": gpu}, method={"kind": method})
    assert (run.resolved_precision, run.resolved_attention, run.resolved_packing) == (
        precision, attention, packing)  # fmt: skip


def test_sdpa_given_on_an_ampere_gpu_turns_packing_off_unless_packing_is_given() -> None:
    run = spec(hardware={"gpu": "A100-80GB"}, training={"attention": "sdpa"})
    assert run.resolved_packing is False
    hopper = spec(hardware={"gpu": "H100"}, training={"attention": "sdpa"})
    assert hopper.resolved_packing is True  # Axolotl's 0.0-loss warning spares Hopper


@pytest.mark.parametrize(
    ("parts", "needle"),
    [
        ({"hardware": {"gpu": "A100-80GB"},
          "training": {"attention": "sdpa", "sample_packing": True}}, "0.0 loss"),
        ({"hardware": {"gpu": "T4"}, "training": {"precision": "bf16"}}, "no bf16"),
        ({"hardware": {"gpu": "T4"}, "training": {"attention": "flash"}}, "sm_80"),
        ({"hardware": {"gpu": "T4", "bf16_supported": True}}, "has no bf16"),
        ({"hardware": {"gpu": "RTX 4090", "gpu_memory_gib": 80}}, "less than"),
        ({"hardware": {"gpu": "H100", "accelerator": "cpu"}}, "on the CPU"),
        ({"hardware": {"gpu": "T4"}, "method": {"kind": "full"},
          "training": {"precision": "fp16"}}, "full fine-tune in fp16"),
        ({"objective": {"kind": "kto"}, "data": {"chat_template": "chatml"},
          "datasets": [{"path": "d.jsonl", "format": "unpaired_preference"}],
          "training": {"micro_batch_size": 1}}, "at least 2 sequences"),
    ],
)  # fmt: skip
def test_a_mix_that_cannot_train_on_the_named_gpu_is_refused(
    parts: dict[str, Any], needle: str
) -> None:
    """Refused by the answers path: the spec (what the GPU has), or `check`'s rules on the
    config with the GPU's capabilities (what Axolotl refuses or warns about)."""
    base = {"model": {"base_model": "org/m"},
            "datasets": [{"path": "d.jsonl", "format": "alpaca"}]}  # fmt: skip
    err = refusal(flat({**base, **parts}))
    assert needle in f"{err.message} {err.hint}"


def test_the_learning_rate_follows_the_method_and_the_objective() -> None:
    dpo = {"objective": {"kind": "dpo"},
           "datasets": [{"path": "d.jsonl", "format": "preference"}]}  # fmt: skip
    assert spec(method={"kind": "qlora"}, **dpo).learning_rate == 5e-6
    assert spec(method={"kind": "full"}, **dpo).learning_rate == 5e-7
    assert spec(method={"kind": "qlora"}).learning_rate == 2e-4
    assert training_recipe("dpo", "qlora").sources  # and it says where it comes from


def test_the_effective_batch_is_the_recipes_on_any_number_of_gpus() -> None:
    """16 sequences for SFT with adapters: the least whole number of steps of micro batch x
    GPUs that holds them (one sequence a GPU when there are more GPUs than that)."""
    for gpus, expected in ((1, 16), (2, 16), (3, 18), (8, 16), (24, 24)):
        run = spec(hardware={"gpu": "H100", "gpus_per_node": gpus})
        batch = run.training.micro_batch_size * run.gradient_accumulation * gpus
        assert batch == expected, gpus


def test_grpo_batch_is_solved_for_the_trainers() -> None:
    grpo = {"objective": {"kind": "grpo", "reward_functions": ["rewards.f"]},
            "datasets": [{"path": "d.jsonl", "format": "prompts"}]}  # fmt: skip
    run = spec(hardware={"gpu": "H100", "gpus_per_node": 4}, **grpo)
    per_trainer = run.training.micro_batch_size * run.gradient_accumulation
    groups, trainers = 8, run.training_processes
    assert trainers == 3 and per_trainer % groups == 0 and per_trainer >= groups * trainers


def test_an_unnamed_gpu_takes_the_ampere_row() -> None:
    assert arch_recipe(None, True).name.startswith("Ampere")
    assert arch_recipe(None, False).name.startswith("Volta")


def new_yes(tmp_path: Path, *sets: str) -> tuple[int, str, str, Path]:
    import contextlib
    import io
    import os

    out, err = io.StringIO(), io.StringIO()
    argv = ["new", "run", "--yes", "--force"]
    for item in sets:
        argv += ["--set", item]
    old = Path.cwd()
    os.chdir(tmp_path)
    try:
        with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
            code = cli.main(argv)
    finally:
        os.chdir(old)
    return code, out.getvalue(), err.getvalue(), tmp_path / "run"


def write(path: Path, records: list[dict[str, Any]]) -> None:
    import json

    path.write_text("".join(json.dumps(r) + "\n" for r in records), encoding="utf-8")


def test_an_unknown_gpu_is_one_line_with_did_you_mean(tmp_path: Path) -> None:
    write(tmp_path / "d.jsonl", [{"instruction": "a", "input": "", "output": "b"}])
    code, _out, err, _run = new_yes(
        tmp_path,
        "model.base_model=meta-llama/Llama-3.1-8B",
        "datasets.0.path=d.jsonl",
        "hardware.gpu=H1000",
    )
    assert code == 1 and "did you mean H100?" in err and "Traceback" not in err
    assert len([line for line in err.splitlines() if line.startswith("error:")]) == 1


def test_yes_reads_the_format_and_mapping_from_the_file(tmp_path: Path) -> None:
    chat = {"conversations": [{"from": "human", "value": "hi"}, {"from": "gpt", "value": "yo"}]}
    write(tmp_path / "d.jsonl", [chat] * 20)
    code, _out, err, run = new_yes(
        tmp_path,
        "model.base_model=meta-llama/Llama-3.1-8B",
        "datasets.0.path=d.jsonl",
        "hardware.gpu=L4",
    )
    assert code == 0, err
    entry = yaml.safe_load((run / "axolotl.yml").read_text())["datasets"][0]
    assert entry["type"] == "chat_template" and entry["field_messages"] == "conversations"
    assert entry["message_property_mappings"] == {"role": "from", "content": "value"}


def test_kto_takes_the_template_of_the_model_family(tmp_path: Path) -> None:
    write(tmp_path / "d.jsonl", [{"prompt": "p", "completion": "c", "label": True}] * 20)
    for model, template in (("meta-llama/Llama-3.1-8B-Instruct", "llama3"),
                            ("Qwen/Qwen2.5-7B-Instruct", "chatml")):  # fmt: skip
        code, _out, err, run = new_yes(
            tmp_path,
            f"model.base_model={model}",
            "datasets.0.path=d.jsonl",
            "objective.kind=kto",
            "method.kind=qlora",
            "hardware.gpu=A100-80GB",
        )
        assert code == 0, err
        config = yaml.safe_load((run / "axolotl.yml").read_text())
        assert config["chat_template"] == template
        assert config["micro_batch_size"] >= 2  # TRL's KTO refuses one sequence a GPU


def test_grpo_on_four_gpus_needs_no_arithmetic(tmp_path: Path) -> None:
    write(tmp_path / "d.jsonl", [{"prompt": "what is 2 + 2?"}] * 20)
    (tmp_path / "rewards.py").write_text("def f(completions, **kw):\n    return [1.0]\n")
    code, _out, err, run = new_yes(
        tmp_path,
        "model.base_model=Qwen/Qwen2.5-1.5B-Instruct",
        "datasets.0.path=d.jsonl",
        "objective.kind=grpo",
        "objective.reward_functions=[rewards.f]",
        "hardware.gpu=H100",
        "hardware.gpus_per_node=4",
    )
    assert code == 0, err
    config = yaml.safe_load((run / "axolotl.yml").read_text())
    assert (config["micro_batch_size"] * config["gradient_accumulation_steps"]) % 8 == 0


def test_few_steps_an_epoch_are_said_and_warned(tmp_path: Path) -> None:
    write(tmp_path / "d.jsonl", [{"instruction": "a", "input": "", "output": "b"}] * 40)
    code, out, err, _run = new_yes(
        tmp_path,
        "model.base_model=meta-llama/Llama-3.1-8B",
        "datasets.0.path=d.jsonl",
        "hardware.gpu=H100",
    )
    assert code == 0, err
    assert "Data: 40 records -> 3 optimizer steps an epoch at 16 sequences a step" in out
    assert "only 3 optimizer steps an epoch" in err
    write(tmp_path / "d.jsonl", [{"instruction": "a", "input": "", "output": "b"}] * 400)
    code, out, err, _run = new_yes(
        tmp_path,
        "model.base_model=meta-llama/Llama-3.1-8B",
        "datasets.0.path=d.jsonl",
        "hardware.gpu=H100",
    )
    assert "-> 25 optimizer steps" in out and "optimizer steps an epoch at" not in err
