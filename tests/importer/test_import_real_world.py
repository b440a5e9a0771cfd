"""Issue 29: `new --from` imports the configs people really have, and never refuses one Axolotl
accepts: DeepSpeed files that are not here (Axolotl's own, by name, or the user's), custom prompt
formats given as a mapping under `type:`, keys set to null, legacy dataset fields, a dataset named
only by its `data_files`. The held-out corpus test (`test_import_corpus.py`) checks the same on
real configs with Axolotl's own validation; these say what the user sees, one feature at a time.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import yaml
from conftest import TESTS, run_wizard
from importer.test_import_cli import THEIR_CONFIG, config_of, their_project

AXOLOTL_ZERO3_BF16 = TESTS / "data/axolotl-examples/deepspeed_configs/zero3_bf16.json"
CUSTOM_FORMAT = {
    "field_system": "system",
    "field_instruction": "question",
    "field_output": "answer",
    "format": "[INST] {instruction} [/INST]",
    "no_input_format": "[INST] {instruction} [/INST]",
}
# Two datasets as older configs write them, and keys set to null as Axolotl's templates leave them.
OLD_STYLE = """\
datasets:
  - path: data/train.jsonl
    type: {custom}
  - path: org/chats
    type: chat_template
    field_messages: conversations
    message_field_role: from
    message_field_content: value
    ds_type:
wandb_watch:
lora_model_dir:
lora_dropout:
"""


def imported(tmp_path: Path, config: str) -> tuple[Any, dict[str, Any], dict[str, Any]]:
    """`new runs/mine --from` a config like theirs: (the process, axolotl.yml, the answers
    file)."""
    their_project(tmp_path, config)
    done = run_wizard("new", "runs/mine", "--from", "their/axolotl.yml", "--yes", cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    answers = yaml.safe_load((tmp_path / "runs/mine/wizard-answers.yml").read_text())
    return done, config_of(tmp_path / "runs/mine"), answers


def test_axolotls_own_deepspeed_file_is_known_by_name(tmp_path: Path) -> None:
    """`deepspeed_configs/zero3_bf16.json` (from `axolotl fetch deepspeed_configs`, or Axolotl's
    images) is not here: it is Axolotl's file, named by an answer that writes Axolotl's JSON."""
    shipped = "/workspace/axolotl/deepspeed_configs/zero3_bf16.json"
    done, config, answers = imported(tmp_path, THEIR_CONFIG.replace("ds/zero2.json", shipped))
    carried = tmp_path / "runs/mine/deepspeed/zero3_bf16.json"
    assert json.loads(carried.read_text()) == json.loads(AXOLOTL_ZERO3_BF16.read_text())
    assert config["deepspeed"] == "deepspeed/zero3_bf16.json"  # the name keeps `zero3`
    assert "Axolotl's own zero3_bf16.json" in done.stdout
    # Not the wizard's own ZeRO-3 file (Axolotl's has sub_group_size 0, max_live_parameters 0...):
    # the answer names Axolotl's file, so nothing is carried and no raw key is left.
    assert answers["answers"]["distributed"] == {
        "backend": "deepspeed",
        "deepspeed_config": "deepspeed_configs/zero3_bf16.json",
    }
    assert "files" not in answers and "deepspeed" not in answers["axolotl"]


def test_a_deepspeed_file_the_wizard_wrote_becomes_its_answers_again(tmp_path: Path) -> None:
    """A run the wizard made, imported again: its DeepSpeed JSON is exactly what the distributed
    answers write, so they are the answers, and no file is carried."""
    made = run_wizard("new", "made", "--preset", "llama-3.1-8b-full-zero3", "--set",
                      "datasets.0.path=data.jsonl", "--yes", cwd=tmp_path)  # fmt: skip
    assert made.returncode == 0, made.stderr
    done = run_wizard("new", "again", "--from", "made/axolotl.yml", "--yes", cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    answers = yaml.safe_load((tmp_path / "again/wizard-answers.yml").read_text())
    assert answers["answers"]["distributed"] == {"backend": "deepspeed", "zero_stage": 3}
    assert "files" not in answers and "deepspeed" not in answers.get("axolotl", {})
    written = tmp_path / "again/deepspeed/zero3_bf16.json"
    assert written.read_text() == (tmp_path / "made/deepspeed/zero3_bf16.json").read_text()


def test_a_missing_deepspeed_file_of_their_own_is_carried_as_written(tmp_path: Path) -> None:
    """Axolotl's validation never opens it: the import keeps the path, and says once that the run
    needs the file where it starts."""
    done, config, answers = imported(tmp_path, THEIR_CONFIG.replace("ds/zero2", "ds/missing"))
    assert config["deepspeed"] == "ds/missing.json"
    assert not (tmp_path / "runs/mine/deepspeed").exists() and "files" not in answers
    warned = [line for line in done.stderr.splitlines() if "ds/missing.json" in line]
    assert len(warned) == 1 and warned[0].startswith("warning: `deepspeed: ds/missing.json`")
    assert "refuse" not in done.stderr


def test_a_deepspeed_json_that_would_fail_the_trainer_is_carried_with_a_warning(
    tmp_path: Path,
) -> None:
    """Axolotl's zero3_bf16.json says bf16 on, the config says nothing of bf16: the trainer
    refuses the mix when it starts, but Axolotl accepts the config, so the import does too."""
    text = THEIR_CONFIG.replace("bf16: auto\n", "").replace(
        "ds/zero2.json", "deepspeed_configs/zero3_bf16.json")  # fmt: skip
    done, config, _answers = imported(tmp_path, text)
    assert config["deepspeed"] == "deepspeed/zero3_bf16.json"
    assert "the trainer refuses the mismatch (carried as it is" in done.stderr


def test_old_style_datasets_and_nulls_become_answers_or_nothing(tmp_path: Path) -> None:
    text = THEIR_CONFIG.split("datasets:")[0] + OLD_STYLE.format(custom=json.dumps(CUSTOM_FORMAT))
    text += "chat_template: chatml" + THEIR_CONFIG.split("chat_template: chatml")[1]
    done, config, answers = imported(tmp_path, text)
    custom, chats = answers["answers"]["datasets"]
    # A custom prompt format is a dataset answer: format axolotl, its type mapping as written.
    assert custom == {"path": "../../their/data/train.jsonl", "format": "axolotl",
                      "type": CUSTOM_FORMAT}  # fmt: skip
    assert config["datasets"][0]["type"] == CUSTOM_FORMAT
    # The legacy fields are what Axolotl makes of them: the role and content keys.
    assert chats == {"path": "org/chats", "format": "chat_template",
                     "field_messages": "conversations", "role_key": "from",
                     "content_key": "value"}  # fmt: skip
    assert "datasets.1.message_field_role -> message_property_mappings.role" in done.stdout
    # A null sets nothing: not carried, said once. `lora_dropout:` unsets Axolotl's 0.0: kept.
    assert answers["axolotl"] == {"lora_dropout": None}
    assert "wandb_watch" not in config and "lora_model_dir" not in config
    notes = [line for line in done.stdout.splitlines() if "set to null" in line]
    assert len(notes) == 1 and "wandb_watch, lora_model_dir, datasets.1.ds_type" in notes[0]


def test_a_dataset_named_only_by_its_data_files_gets_that_file_as_its_path(
    tmp_path: Path,
) -> None:
    """Axolotl 0.19 validates it but cannot load it (its loader starts from the path): the
    import writes the file as the path, and says so in one line."""
    entry = "  - ds_type: json\n    data_files: [/data/train.jsonl]\n    type: alpaca\n"
    text = THEIR_CONFIG.split("datasets:")[0] + "datasets:\n" + entry
    text += "chat_template: chatml" + THEIR_CONFIG.split("chat_template: chatml")[1]
    done, config, _answers = imported(tmp_path, text)
    files = ["/data/train.jsonl"]
    assert config["datasets"] == [{"path": files[0], "type": "alpaca", "ds_type": "json",
                                   "data_files": files}]  # fmt: skip
    assert "datasets[0] has no `path:`" in done.stderr


def test_auto_precision_and_a_legacy_flag_that_is_off_need_no_raw_key() -> None:
    """`bf16: auto` with `fp16: false` (fp32, not fp16, where the GPU has no bf16) and with fp16
    unset are two answers, each written back as it was; `flash_attention: false` sets nothing in
    Axolotl and is dropped."""
    from wizard.importer.settle import settle

    base = {"base_model": "org/m", "datasets": [{"path": "org/d", "type": "alpaca"}]}
    for flags in ({"bf16": "auto", "fp16": False}, {"bf16": "auto"}):
        settled = settle({**base, **flags}, "c.yml")
        assert settled.raw == {} and settled.answers["training.precision"] == "auto", flags
        assert {k: v for k, v in settled.answers.items() if k.endswith("precision_flags")} == (
            {"training.precision_flags": "both" if "fp16" in flags else "on"})  # fmt: skip


def test_a_local_model_config_and_eval_data_are_read_from_the_run_folder(tmp_path: Path) -> None:
    """`base_model_config: ./model` and a local test dataset are answers, like the model and the
    datasets: each written in the run's config as the run folder reaches the config's file."""
    extra = "base_model_config: ./model\ntest_datasets: [{path: data/train.jsonl, type: alpaca}]\n"
    _, config, answers = imported(tmp_path, THEIR_CONFIG + extra)
    assert config["base_model_config"] == config["base_model"] == "../../their/model"
    assert config["test_datasets"] == [{"path": "../../their/data/train.jsonl", "type": "alpaca"}]
    assert answers["answers"]["model"]["base_model_config"] == "../../their/model"
    assert {"base_model_config", "test_datasets"}.isdisjoint(answers["axolotl"])
