"""`new --from` and `presets save --from`: a config a user already has, as a real user runs it."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
import yaml
from conftest import run_wizard
from hostile.helpers import one_line_error

DEEPSPEED = {
    "zero_optimization": {"stage": 2, "overlap_comm": True},
    "bf16": {"enabled": "auto"},
    "train_micro_batch_size_per_gpu": "auto",
    "gradient_accumulation_steps": "auto",
}
THEIR_CONFIG = """\
base_model: ./model
trust_remote_code: false
datasets:
  - path: data/train.jsonl
    type: chat_template
    field_messages: conversations
    message_property_mappings: {role: from, content: value}
    roles_to_train: [gpt]
  - path: org/extra-data
    type: alpaca_chat.load_qa
chat_template: chatml
sequence_len: 1024
sample_packing: true
adapter: lora
lora_r: 8
lora_alpha: 16
lora_target_linear: true
micro_batch_size: 2
gradient_accumulation_steps: 4
num_epochs: 2
learning_rate: 2e-4
lerning_rate: 3e-4
flash_attention: true
bf16: auto
deepspeed: ds/zero2.json
output_dir: ./outputs/their-run
dataset_prepared_path: ./prepared
special_tokens:
  pad_token: "<pad>"
comet_api_key: abc123secret
"""


def their_project(root: Path, config: str = THEIR_CONFIG) -> Path:
    """A config as a user has it: its model, data and DeepSpeed file next to it."""
    their = root / "their"
    (their / "model").mkdir(parents=True)
    (their / "model" / "config.json").write_text(json.dumps({"model_type": "llama"}))
    (their / "data").mkdir()
    (their / "data" / "train.jsonl").write_text(
        json.dumps({"conversations": [{"from": "human", "value": "hi"}]}) + "\n"
    )
    (their / "ds").mkdir()
    (their / "ds" / "zero2.json").write_text(json.dumps(DEEPSPEED))
    (their / "axolotl.yml").write_text(config)
    return their / "axolotl.yml"


def config_of(run: Path) -> dict[str, Any]:
    loaded: dict[str, Any] = yaml.safe_load((run / "axolotl.yml").read_text())
    return loaded


def test_new_from_writes_their_run_with_nothing_added(tmp_path: Path) -> None:
    their = their_project(tmp_path)
    done = run_wizard("new", "runs/mine", "--from", "their/axolotl.yml", "--yes", cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    run = tmp_path / "runs" / "mine"
    assert sorted(p.name for p in run.rglob("*") if p.is_file()) == [
        "axolotl.yml", "wizard-answers.yml", "zero2.json"]  # fmt: skip
    config = config_of(run)
    original = yaml.safe_load(their.read_text())
    # Local paths are relative to the run folder and point where the original's did.
    assert config["base_model"] == "../../their/model"
    assert config["datasets"][0]["path"] == "../../their/data/train.jsonl"
    assert config["output_dir"] == "../../their/outputs/their-run"
    assert config["dataset_prepared_path"] == "../../their/prepared"
    assert config["deepspeed"] == "deepspeed/zero2.json"
    assert json.loads((run / "deepspeed" / "zero2.json").read_text()) == DEEPSPEED
    # The typo is not carried, the deprecated flag is in its current form, the key is dropped.
    assert "lerning_rate" not in config and "flash_attention" not in config
    assert config["attn_implementation"] == "flash_attention_2"
    assert "comet_api_key" not in config
    assert "abc123secret" not in "".join(p.read_text() for p in run.rglob("*") if p.is_file())
    assert "lerning_rate" in done.stderr and "COMET_API_KEY" in done.stderr
    assert "flash_attention -> attn_implementation" in done.stdout
    # Nothing of the wizard's own: the keys are the original's (renamed/dropped ones aside).
    expected = set(original) - {"lerning_rate", "flash_attention", "comet_api_key"}
    assert set(config) == expected | {"attn_implementation"}
    assert config["datasets"][0]["roles_to_train"] == ["gpt"]
    assert config["datasets"][1] == {"path": "org/extra-data", "type": "alpaca_chat.load_qa"}


def test_import_needs_no_training_stack(tmp_path: Path) -> None:
    """Offline and without Axolotl: `new --from` works when torch, transformers, Axolotl,
    DeepSpeed and accelerate cannot even be imported."""
    import subprocess
    import sys

    from commands.test_new_cli import BLOCKER

    their_project(tmp_path)
    done = subprocess.run([sys.executable, "-c", BLOCKER, "new", "r", "--from",
                           "their/axolotl.yml", "--yes"], cwd=tmp_path, capture_output=True,
                          text=True, check=False, timeout=120)  # fmt: skip
    assert done.returncode == 0, done.stderr
    assert (tmp_path / "r" / "deepspeed" / "zero2.json").is_file()


def test_imported_answers_are_first_class_and_make_the_run_again(tmp_path: Path) -> None:
    their_project(tmp_path)
    assert run_wizard("new", "runs/mine", "--from", "their/axolotl.yml", "--yes",
                      cwd=tmp_path).returncode == 0  # fmt: skip
    saved = yaml.safe_load((tmp_path / "runs/mine/wizard-answers.yml").read_text())
    answers = saved["answers"]
    assert answers["defaults"] == "axolotl"
    assert answers["method"] == {"kind": "lora", "r": 8, "alpha": 16,
                                 "target_modules": "all-linear"}  # fmt: skip
    assert answers["training"]["learning_rate"] == 2e-4
    assert answers["training"]["attention"] == "flash"
    assert answers["datasets"][0] == {
        "path": "../../their/data/train.jsonl", "format": "chat_template",
        "field_messages": "conversations", "role_key": "from", "content_key": "value",
        "roles_to_train": ["gpt"],
    }  # fmt: skip
    assert answers["data"] == {"chat_template": "chatml", "prepared_path": "../../their/prepared",
                               "special_tokens": {"pad_token": "<pad>"}}  # fmt: skip
    assert answers["training"]["precision"] == "auto"  # bf16: auto, Axolotl's own auto
    assert "hardware" not in answers  # not in an Axolotl config: never invented
    # The answers file makes the same run elsewhere, DeepSpeed file included.
    again = run_wizard("new", "runs/again", "--answers", "runs/mine/wizard-answers.yml", "--yes",
                       cwd=tmp_path)  # fmt: skip
    assert again.returncode == 0, again.stderr
    assert config_of(tmp_path / "runs/again") == config_of(tmp_path / "runs/mine")
    ds = tmp_path / "runs/again/deepspeed/zero2.json"
    assert json.loads(ds.read_text()) == DEEPSPEED


def test_set_changes_one_answer_of_an_import(tmp_path: Path) -> None:
    their_project(tmp_path)
    done = run_wizard("new", "runs/mine", "--from", "their/axolotl.yml", "--yes",
                      "--set", "training.micro_batch_size=4", "--set", "hardware.gpus_per_node=2",
                      cwd=tmp_path)  # fmt: skip
    assert done.returncode == 0, done.stderr
    assert run_wizard("new", "runs/plain", "--from", "their/axolotl.yml", "--yes",
                      cwd=tmp_path).returncode == 0  # fmt: skip
    changed, plain = config_of(tmp_path / "runs/mine"), config_of(tmp_path / "runs/plain")
    assert changed.pop("micro_batch_size") == 4 and plain.pop("micro_batch_size") == 2
    assert changed == plain
    assert "--num_processes 2" in (tmp_path / "runs/mine/axolotl.yml").read_text()


def test_an_answer_set_over_an_import_replaces_the_raw_key_it_kept(tmp_path: Path) -> None:
    # Checkpointing kwargs beyond use_reentrant have no answer: the mapping is kept raw, and the
    # answer that writes gradient_checkpointing_kwargs replaces it.
    kwargs = "gradient_checkpointing_kwargs: {use_reentrant: false, preserve_rng_state: true}\n"
    their_project(tmp_path, THEIR_CONFIG + kwargs)
    kept = run_wizard("new", "runs/kept", "--from", "their/axolotl.yml", "--yes", cwd=tmp_path)
    assert kept.returncode == 0, kept.stderr
    saved = yaml.safe_load((tmp_path / "runs/kept/wizard-answers.yml").read_text())
    assert saved["axolotl"]["gradient_checkpointing_kwargs"]["preserve_rng_state"] is True
    done = run_wizard("new", "runs/mine", "--from", "their/axolotl.yml", "--yes",
                      "--set", "training.use_reentrant=true", cwd=tmp_path)  # fmt: skip
    assert done.returncode == 0, done.stderr
    config = config_of(tmp_path / "runs/mine")
    assert config["gradient_checkpointing_kwargs"] == {"use_reentrant": True}
    saved = yaml.safe_load((tmp_path / "runs/mine/wizard-answers.yml").read_text())
    assert "gradient_checkpointing_kwargs" not in saved.get("axolotl", {})


def test_an_import_told_it_runs_on_the_cpu_gets_the_cpu_switches(tmp_path: Path) -> None:
    their_project(tmp_path, THEIR_CONFIG.replace("deepspeed: ds/zero2.json\n", ""))
    refused = run_wizard("new", "runs/cpu", "--from", "their/axolotl.yml", "--yes",
                         "--set", "hardware.accelerator=cpu", cwd=tmp_path)  # fmt: skip
    one_line_error(refused, "attention flash needs a CUDA GPU")
    done = run_wizard("new", "runs/cpu", "--from", "their/axolotl.yml", "--yes", "--set",
                      "hardware.accelerator=cpu", "--set", "training.attention=sdpa",
                      cwd=tmp_path)  # fmt: skip
    assert done.returncode == 0, done.stderr
    config = config_of(tmp_path / "runs/cpu")
    assert config["lora_mlp_kernel"] is False and config["attn_implementation"] == "sdpa"
    assert "--cpu" in (tmp_path / "runs/cpu/axolotl.yml").read_text()


def test_estimate_check_and_launch_plan_of_an_imported_run(tmp_path: Path) -> None:
    their_project(tmp_path)
    assert run_wizard("new", "runs/mine", "--from", "their/axolotl.yml", "--yes",
                      cwd=tmp_path).returncode == 0  # fmt: skip
    header = (tmp_path / "runs/mine/axolotl.yml").read_text()
    # The launch line takes the precision from the config (bf16: auto), not from a default.
    assert "--mixed_precision bf16" in header and "imported from an Axolotl config" in header
    checked = run_wizard("check", "runs/mine/axolotl.yml", cwd=tmp_path)
    assert checked.returncode == 0 and "0 errors" in checked.stdout, checked.stdout
    estimated = run_wizard("estimate", "runs/mine", cwd=tmp_path)
    # A model folder with only a model_type: the estimate says it cannot, and nothing fails.
    assert estimated.returncode in (0, 1) and "Traceback" not in estimated.stderr


def test_presets_save_from_a_config_then_new_from_the_preset(tmp_path: Path) -> None:
    their_project(tmp_path)
    saved = run_wizard("presets", "save", "team-recipe", "--from", "their/axolotl.yml",
                       "--to", "team", cwd=tmp_path)  # fmt: skip
    assert saved.returncode == 0, saved.stderr
    preset = yaml.safe_load((tmp_path / "team/team-recipe.yml").read_text())
    assert preset["files"] == {"deepspeed/zero2.json": DEEPSPEED}
    env = {"AXOLOTL_WIZARD_PRESETS": str(tmp_path / "team")}
    # Their model folder and data file are paths on their machine: `new` asks for them.
    assert "base_model" not in preset["answers"]["model"]
    assert "path" not in preset["answers"]["datasets"][0]
    paths = ("--set", "model.base_model=./their/model", "--set",
             "datasets.0.path=their/data/train.jsonl")  # fmt: skip
    made = run_wizard("new", "runs/p", "--preset", "team-recipe", *paths, "--yes", cwd=tmp_path,
                      env=env)  # fmt: skip
    assert made.returncode == 0, made.stderr
    imported = run_wizard("new", "runs/i", "--from", "their/axolotl.yml", "--yes", cwd=tmp_path)
    assert imported.returncode == 0
    from_preset, from_config = config_of(tmp_path / "runs/p"), config_of(tmp_path / "runs/i")
    # A preset keeps folder keys as written (a recipe, not a run): only those differ.
    for key in ("output_dir", "dataset_prepared_path"):
        from_preset.pop(key), from_config.pop(key)
    assert from_preset == from_config
    assert (tmp_path / "runs/p/deepspeed/zero2.json").is_file()


BAD_CONFIGS = {
    "missing": (None, "does not exist"),
    "bad-yaml": ("base_model: [unclosed\n", "YAML syntax error"),
    "refused": (THEIR_CONFIG.replace("micro_batch_size: 2", "micro_batch_size: two"),
                "Axolotl would refuse this config"),
}  # fmt: skip


@pytest.mark.parametrize("case", sorted(BAD_CONFIGS))
def test_bad_input_is_one_line_and_writes_nothing(case: str, tmp_path: Path) -> None:
    text, needle = BAD_CONFIGS[case]
    their = their_project(tmp_path)
    if text is None:
        their.unlink()
    else:
        their.write_text(text)
    done = run_wizard("new", "runs/mine", "--from", "their/axolotl.yml", "--yes", cwd=tmp_path)
    line = one_line_error(done, needle)
    assert not (tmp_path / "runs").exists(), line
    if case == "refused":
        assert "check their/axolotl.yml --fix" in done.stderr


def test_from_does_not_mix_with_a_preset(tmp_path: Path) -> None:
    their_project(tmp_path)
    done = run_wizard("new", "runs/mine", "--from", "their/axolotl.yml", "--preset", "tiny-cpu",
                      "--yes", cwd=tmp_path)  # fmt: skip
    one_line_error(done, "--preset")


def test_a_pretraining_run_is_imported_with_its_streamed_datasets_as_answers(
    tmp_path: Path,
) -> None:
    """A config that trains on `pretraining_dataset` alone: Axolotl accepts it, so the import
    does, with the streamed datasets as answers (a local one read from the run folder)."""
    pretraining = ("pretraining_dataset:\n  - path: org/corpus\n    type: pretrain\n"
                   "  - path: data/more.jsonl\n    type: completion\nmax_steps: 10\n")  # fmt: skip
    text = THEIR_CONFIG.split("datasets:")[0] + pretraining + THEIR_CONFIG.split(
        "chat_template: chatml\n")[1]  # fmt: skip
    their_project(tmp_path, text)
    done = run_wizard("new", "runs/mine", "--from", "their/axolotl.yml", "--yes", cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    config = config_of(tmp_path / "runs/mine")
    assert "datasets" not in config and config["max_steps"] == 10
    assert config["pretraining_dataset"] == [
        {"path": "org/corpus", "type": "pretrain"},
        {"path": "../../their/data/more.jsonl", "type": "completion"},
    ]
    answers = yaml.safe_load((tmp_path / "runs/mine/wizard-answers.yml").read_text())
    assert "pretraining_dataset" not in answers["axolotl"]
    assert answers["answers"]["pretraining_dataset"][1]["path"] == "../../their/data/more.jsonl"


def test_a_config_without_datasets_is_refused_with_the_reason(tmp_path: Path) -> None:
    text = THEIR_CONFIG.split("datasets:")[0] + THEIR_CONFIG.split("chat_template: chatml\n")[1]
    their_project(tmp_path, text)
    done = run_wizard("new", "runs/mine", "--from", "their/axolotl.yml", "--yes", cwd=tmp_path)
    one_line_error(done, "neither `datasets` nor `pretraining_dataset`", "datasets")


def test_the_interview_on_an_import_adds_nothing_when_every_answer_is_kept(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from interview.test_interview import EnterEverywhere, folder_bytes, run_through_cli

    from wizard import cli

    their_project(tmp_path)
    monkeypatch.chdir(tmp_path)
    assert cli.main(["new", "yes", "--from", "their/axolotl.yml", "--yes"]) == 0
    prompter = EnterEverywhere([])
    assert run_through_cli(monkeypatch, prompter, ["new", "asked", "--from",
                                                   "their/axolotl.yml"]) == 0  # fmt: skip
    assert "start" not in prompter.asked and "datasets.1.format" in prompter.asked
    assert prompter.defaults["datasets.1.format"] == "axolotl"
    assert folder_bytes(tmp_path / "asked") == folder_bytes(tmp_path / "yes")


def test_a_local_dataset_of_a_type_the_wizard_does_not_ask_about_is_not_second_guessed(
    tmp_path: Path,
) -> None:
    text = THEIR_CONFIG.replace("path: org/extra-data", "path: data/qa.jsonl")
    their = their_project(tmp_path, text)
    (their.parent / "data" / "qa.jsonl").write_text(json.dumps({"question": "q", "answer": "a"}))
    done = run_wizard("new", "runs/mine", "--from", "their/axolotl.yml", "--yes", cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    assert config_of(tmp_path / "runs/mine")["datasets"][1] == {
        "path": "../../their/data/qa.jsonl", "type": "alpaca_chat.load_qa"}  # fmt: skip
