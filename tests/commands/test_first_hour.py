"""What a new user meets in the first hour (issue 10): each item with a test that failed before.

The interview's blocker is in test_pty.py, the one memory story in test_memory_story.py; the rest
is here, through the real command wherever a user would see it.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
import yaml
from conftest import REPO, run_wizard
from tiny_fixtures import launch, new_run, tail

from wizard.gpus.catalog import known_gpus
from wizard.models import catalog_arch, catalog_names, featured_names

QLORA = ["--preset", "llama-3.1-8b-qlora"]
TINY_CONFIG = {
    "model_type": "llama",
    "hidden_size": 64,
    "num_hidden_layers": 2,
    "num_attention_heads": 4,
    "num_key_value_heads": 2,
    "intermediate_size": 128,
    "vocab_size": 256,
    "max_position_embeddings": 512,
}


@pytest.fixture
def project(tmp_path: Path) -> Path:
    """A project folder: a local tiny model (config and tokenizer files) and two datasets."""
    model = tmp_path / "tiny-llama"
    model.mkdir()
    (model / "config.json").write_text(json.dumps(TINY_CONFIG))
    (model / "model.safetensors").write_bytes(b"\0" * 4096)
    (model / "tokenizer_config.json").write_text(json.dumps({"model_max_length": 512}))
    data = tmp_path / "data"
    data.mkdir()
    alpaca = [{"instruction": f"say {i}", "input": "", "output": str(i)} for i in range(20)]
    (data / "alpaca.jsonl").write_text("".join(json.dumps(r) + "\n" for r in alpaca))
    sharegpt = [
        {
            "conversations": [
                {"from": "human", "value": f"hi {i}"},
                {"from": "gpt", "value": "hello"},
            ]
        }
        for i in range(20)
    ]
    (data / "sharegpt.jsonl").write_text("".join(json.dumps(r) + "\n" for r in sharegpt))
    return tmp_path


def wizard(cwd: Path, *args: str) -> subprocess.CompletedProcess[str]:
    return run_wizard(*args, cwd=cwd)


# -- 3: estimate RUN_DIR ------------------------------------------------------------------------


def test_estimate_a_run_folder_uses_its_own_gpus_and_says_when_it_assumes(project: Path) -> None:
    made = wizard(
        project,
        "new",
        "runs/big",
        *QLORA,
        "--set",
        "datasets.0.path=org/data",
        "--set",
        "hardware.gpus_per_node=8",
        "--set",
        "distributed.backend=deepspeed",
        "--set",
        "hardware.gpu_memory_gib=80",
        "--yes",
    )
    assert made.returncode == 0, made.stderr
    for target in ("runs/big", "runs/big/axolotl.yml"):
        data = json.loads(wizard(project, "estimate", target, "--json").stdout)
        assert data["gpus"] == 8 and data["gpu_mem_gib"] == 80
        assert data["gpus_from"] == "the run's wizard-answers.yml"
    (project / "bare").mkdir()
    config = (project / "runs/big/axolotl.yml").read_text()
    (project / "bare" / "axolotl.yml").write_text(config.replace("deepspeed: deepspeed/", "# "))
    text = wizard(project, "estimate", "bare/axolotl.yml").stdout
    assert "GPUs: 1 (assumed: pass --gpus N" in text
    # Reading the run's GPUs does not build the spec: estimate stays as light as before.
    code = "import sys; from wizard import cli; cli.main(['estimate', 'runs/big', '--json']); "
    code += "print('pydantic' in sys.modules)"
    done = subprocess.run([sys.executable, "-c", code], cwd=project, capture_output=True,
                          text=True, check=True, timeout=120)  # fmt: skip
    assert done.stdout.strip().splitlines()[-1] == "False"


# -- 5: paths -------------------------------------------------------------------------------------


def test_no_false_missing_file_warning_for_a_new_sub_folder(project: Path) -> None:
    done = wizard(
        project,
        "new",
        "runs/deep/er",
        *QLORA,
        "--set",
        "datasets.0.path=data/alpaca.jsonl",
        "--set",
        "datasets.0.format=alpaca",
        "--yes",
    )
    assert done.returncode == 0, done.stderr
    assert "does not exist" not in done.stderr
    missing = wizard(
        project, "new", "runs/other", *QLORA, "--set", "datasets.0.path=data/nope.jsonl", "--yes"
    )
    assert missing.returncode == 0 and "data/nope.jsonl does not exist" in missing.stderr


def test_answers_file_paths_are_relative_to_the_answers_file(project: Path) -> None:
    made = new_run(
        project, "runs/a", "model.base_model=./tiny-llama", "datasets.0.path=data/alpaca.jsonl"
    )
    answers = yaml.safe_load((made / "wizard-answers.yml").read_text())["answers"]
    assert answers["model"]["base_model"] == "../../tiny-llama"
    assert answers["datasets"][0]["path"] == "../../data/alpaca.jsonl"
    # Used from another folder, at another depth: the paths still name the same files.
    (project / "elsewhere").mkdir()
    again = wizard(
        project / "elsewhere", "new", "b", "--answers", "../runs/a/wizard-answers.yml", "--yes"
    )
    assert again.returncode == 0, again.stderr
    config = yaml.safe_load((project / "elsewhere" / "b" / "axolotl.yml").read_text())
    assert config["base_model"] == "../../tiny-llama"
    assert config["datasets"][0]["path"] == "../../data/alpaca.jsonl"
    assert (project / "elsewhere" / "b" / config["datasets"][0]["path"]).resolve() == (
        project / "data" / "alpaca.jsonl"
    )


# -- 6: method-coupled answers -----------------------------------------------------------------


def test_switching_the_method_of_a_preset_warns_and_follows_the_new_default(
    project: Path,
) -> None:
    done = wizard(
        project,
        "new",
        "full",
        *QLORA,
        "--set",
        "method.kind=full",
        "--set",
        "datasets.0.path=org/data",
        "--yes",
    )
    assert done.returncode == 0, done.stderr
    config = yaml.safe_load((project / "full" / "axolotl.yml").read_text())
    assert config["learning_rate"] == 2e-5 and "adapter" not in config
    assert "training.learning_rate 0.0002" in done.stderr and "1e-06 to 5e-05" in done.stderr
    assert "training.optimizer 'paged_adamw_8bit'" in done.stderr
    kept = wizard(
        project,
        "new",
        "kept",
        *QLORA,
        "--set",
        "method.kind=full",
        "--set",
        "training.learning_rate=2e-5",
        "--set",
        "datasets.0.path=org/data",
        "--yes",
    )
    assert "training.learning_rate" not in kept.stderr  # given with the switch: nothing to say
    same_family = wizard(
        project,
        "new",
        "lora",
        "--preset",
        "llama-3.1-8b-qlora",
        "--set",
        "method.kind=lora",
        "--set",
        "datasets.0.path=org/data",
        "--yes",
    )
    assert "learning_rate" not in same_family.stderr  # LoRA and QLoRA share their rates


# -- 7: packing with eager attention -------------------------------------------------------------


def test_packing_with_eager_attention_is_written_as_axolotl_allows(project: Path) -> None:
    done = wizard(
        project,
        "new",
        "eager",
        *QLORA,
        "--set",
        "datasets.0.path=org/data",
        "--set",
        "training.attention=eager",
        "--set",
        "training.sample_packing=true",
        "--yes",
    )
    assert done.returncode == 0, done.stderr
    config = yaml.safe_load((project / "eager" / "axolotl.yml").read_text())
    assert config["attn_implementation"] == "eager" and config["sample_packing"] is True
    assert wizard(project, "check", "eager/axolotl.yml").returncode == 0


# -- 8: launch with another layout ---------------------------------------------------------------


def test_launch_with_other_gpus_says_what_the_batch_becomes(project: Path) -> None:
    new_run(project, "runs/a", "model.base_model=./tiny-llama", "datasets.0.path=data/alpaca.jsonl")
    same = launch(project, "runs/a", "--dry-run", timeout=120)
    assert "batch: 2 micro batch × 1 accumulation × 1 process = 2 sequences" in same.stderr
    other = launch(project, "runs/a", "--dry-run", "--gpus", "2", timeout=120)
    assert other.returncode == 0, tail(other)
    assert (
        "the run was planned for 2 micro batch × 1 accumulation × 1 process = 2 sequences; "
        "this launch has 2 micro batch × 1 accumulation × 2 processes = 4 sequences"
    ) in other.stderr


# -- 9: chat data ---------------------------------------------------------------------------------


def test_a_dataset_given_with_set_is_read_and_a_wrong_mapping_refused(project: Path) -> None:
    done = wizard(
        project, "new", "chat", *QLORA, "--set", "datasets.0.path=data/sharegpt.jsonl", "--yes"
    )
    assert done.returncode == 1 and not (project / "chat").exists()
    assert "none of the first 20 records fit chat_template" in done.stderr
    assert "--set datasets.0.field_messages=conversations" in done.stderr
    assert "--set datasets.0.role_key=from --set datasets.0.content_key=value" in done.stderr
    fixed = wizard(
        project,
        "new",
        "chat",
        *QLORA,
        "--set",
        "datasets.0.path=data/sharegpt.jsonl",
        "--set",
        "datasets.0.field_messages=conversations",
        "--set",
        "datasets.0.role_key=from",
        "--set",
        "datasets.0.content_key=value",
        "--yes",
    )
    assert fixed.returncode == 0, fixed.stderr


def test_a_tokenizer_without_chat_template_is_caught_before_launch(project: Path) -> None:
    sets = [
        "model.base_model=./tiny-llama",
        "datasets.0.path=data/sharegpt.jsonl",
        "datasets.0.format=chat_template",
        "datasets.0.field_messages=conversations",
        "datasets.0.role_key=from",
        "datasets.0.content_key=value",
    ]
    args = [arg for item in sets for arg in ("--set", item)]
    refused = wizard(project, "new", "runs/chat", "--preset", "tiny-cpu", *args, "--yes")
    assert refused.returncode == 1 and "has no chat template" in refused.stderr
    assert "chat_template: chatml" in refused.stderr and not (project / "runs/chat").exists()
    named = new_run(project, "runs/named", *sets, "axolotl.chat_template=chatml")
    assert wizard(project, "check", str(named / "axolotl.yml")).returncode == 0

    tokenizer = project / "tiny-llama" / "tokenizer_config.json"
    tokenizer.write_text(json.dumps({"chat_template": "{{ messages }}"}))
    new_run(project, "runs/chat", *sets)
    assert wizard(project, "check", "runs/chat/axolotl.yml").returncode == 0
    tokenizer.write_text(json.dumps({"model_max_length": 512}))  # the template is gone again
    checked = wizard(project, "check", "runs/chat/axolotl.yml")
    assert checked.returncode == 1 and "[no-chat-template]" in checked.stdout
    stopped = launch(project, "runs/chat", "--dry-run", timeout=120)
    assert stopped.returncode == 1 and "has no chat template" in stopped.stderr


# -- 10: resume of a finished run ----------------------------------------------------------------


def test_resume_of_a_finished_run_is_refused(project: Path) -> None:
    run_dir = new_run(
        project, "runs/a", "model.base_model=./tiny-llama", "datasets.0.path=data/alpaca.jsonl"
    )
    for step in (4, 8):
        checkpoint = run_dir / "outputs" / f"checkpoint-{step}"
        checkpoint.mkdir(parents=True)
        (checkpoint / "trainer_state.json").write_text(
            json.dumps({"global_step": step, "max_steps": 8, "epoch": 1.0})
        )
    done = launch(project, "runs/a", "--dry-run", "--resume", timeout=120)
    assert done.returncode == 1
    assert "already finished (checkpoint-8 is step 8 of 8); there is nothing to resume" in (
        done.stderr
    )
    (run_dir / "outputs" / "checkpoint-8" / "trainer_state.json").unlink()
    (run_dir / "outputs" / "checkpoint-8").rmdir()
    assert launch(project, "runs/a", "--dry-run", "--resume", timeout=120).returncode == 0


# -- 11: Slurm -------------------------------------------------------------------------------------


def test_slurm_script_has_its_log_folder_cpus_and_needs_no_model_access(project: Path) -> None:
    run_dir = new_run(
        project, "runs/s", "model.base_model=./tiny-llama", "datasets.0.path=data/alpaca.jsonl"
    )
    done = launch(
        project,
        "runs/s",
        "--slurm",
        "--cpus-per-task",
        "12",
        "--slurm-partition",
        "gpu",
        "--slurm-time",
        "04:00:00",
        "--slurm-account",
        "proj",
        timeout=120,
    )
    assert done.returncode == 0, tail(done)
    text = (run_dir / "launch.sbatch").read_text()
    assert (run_dir / "launches").is_dir()
    for line in (
        "#SBATCH --cpus-per-task=12",
        "#SBATCH --partition=gpu",
        "#SBATCH --time=04:00:00",
        "#SBATCH --account=proj",
    ):
        assert line in text
    # A login node: offline, the model is not cached there. The script is still written.
    gpu_run = wizard(project, "new", "runs/g", *QLORA, "--set", "datasets.0.path=org/data", "--yes")
    assert gpu_run.returncode == 0
    offline = run_wizard(
        "launch",
        "runs/g",
        "--slurm",
        cwd=project,
        env={"HF_HUB_OFFLINE": "1", "HF_HOME": str(project / "hf")},
    )
    assert offline.returncode == 0, tail(offline)
    assert "warning: base_model meta-llama/Llama-3.1-8B-Instruct is not in the Hugging Face" in (
        offline.stderr
    )
    assert "#SBATCH --cpus-per-task=8" in (project / "runs/g/launch.sbatch").read_text()


# -- 12: file modes --------------------------------------------------------------------------------


@pytest.mark.parametrize(("umask", "mode"), [(0o022, 0o644), (0o002, 0o664)])
def test_written_files_follow_the_umask(project: Path, umask: int, mode: int) -> None:
    def with_umask() -> None:
        os.umask(umask)

    done = subprocess.run(
        [
            sys.executable,
            "-m",
            "wizard",
            "new",
            "run",
            *QLORA,
            "--set",
            "datasets.0.path=org/d",
            "--yes",
        ],
        cwd=project,
        capture_output=True,
        text=True,
        preexec_fn=with_umask,
        check=False,
        timeout=120,
    )
    assert done.returncode == 0, done.stderr
    for name in ("axolotl.yml", "wizard-answers.yml"):
        assert (project / "run" / name).stat().st_mode & 0o777 == mode
    saved = subprocess.run(
        [
            sys.executable,
            "-m",
            "wizard",
            "presets",
            "save",
            "shared",
            "--from",
            "run",
            "--to",
            "team",
        ],
        cwd=project,
        capture_output=True,
        text=True,
        preexec_fn=with_umask,
        check=False,
        timeout=120,
    )
    assert saved.returncode == 0, saved.stderr
    assert (project / "team" / "shared.yml").stat().st_mode & 0o777 == mode


# -- 13, 14: output for scripts and fixes that say what to write --------------------------------


def test_json_errors_are_json(project: Path) -> None:
    for verb in ("check", "estimate"):
        done = wizard(project, verb, "nope.yml", "--json")
        assert done.returncode == 1
        error = json.loads(done.stdout)
        assert error["error"] == "config nope.yml does not exist" and error["hint"]


def test_a_type_error_says_what_to_write(project: Path) -> None:
    (project / "bad.yml").write_text(
        "base_model: org/m\nlearning_rate: 0.0001\ndatasets:\n  - {path: a/b, type: alpaca}\n"
        "output_dir: 5\n"
    )
    out = wizard(project, "check", "bad.yml").stdout
    assert 'fix: write a string for `output_dir`, e.g. `output_dir: "./model-out"`' in out


def test_a_raw_key_that_contradicts_an_answer_names_the_answer(project: Path) -> None:
    done = wizard(
        project,
        "new",
        "r",
        *QLORA,
        "--set",
        "datasets.0.path=org/d",
        "--set",
        "axolotl.micro_batch_size=4",
        "--yes",
    )
    assert done.returncode == 1
    assert "hint: set the answer training.micro_batch_size instead" in done.stderr


# -- 16: catalog and GPU list ----------------------------------------------------------------------


def test_instruct_and_base_ids_are_listed_and_reported_as_themselves() -> None:
    names = catalog_names()
    for wanted in (
        "meta-llama/Llama-3.1-8B",
        "meta-llama/Llama-3.1-8B-Instruct",
        "Qwen/Qwen2.5-7B-Instruct",
        "google/gemma-2-9b-it",
        "google/gemma-2-9b",
        "mistralai/Mistral-7B-Instruct-v0.3",
    ):
        assert wanted in names
    arch = catalog_arch("meta-llama/Llama-3.1-8B-Instruct")
    assert arch is not None and arch.source == "catalog (meta-llama/Llama-3.1-8B-Instruct)"
    assert set(featured_names()) <= set(names)
    labels = {gpu.name for gpu in known_gpus()}
    assert {"H200", "B200", "L4", "L40S", "RTX A6000"} <= labels


def test_the_model_question_fits_the_terminal(monkeypatch: pytest.MonkeyPatch) -> None:
    import shutil

    from wizard.interview.model_question import SELECT_CHROME_ROWS, _featured

    for rows in (14, 24, 50):
        monkeypatch.setattr(
            shutil, "get_terminal_size", lambda fallback=(0, 0), r=rows: os.terminal_size((100, r))
        )
        shown = _featured("")
        assert len(shown) + SELECT_CHROME_ROWS <= max(rows, 4 + SELECT_CHROME_ROWS)
        assert len(shown) <= len(featured_names())


# -- 17: the demo folder ---------------------------------------------------------------------------


def test_the_demo_folder_is_ignored_by_git() -> None:
    ignored = (REPO / ".gitignore").read_text().splitlines()
    assert "axolotl-wizard-demo/" in ignored
