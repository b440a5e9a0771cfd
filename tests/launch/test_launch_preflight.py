"""Each preflight failure, before anything starts (issue 6, proof 5), and the dry run.

No training here: the model folder only needs what preflight reads (config.json, weight sizes).
"""

from __future__ import annotations

import json
import os
import sys
from pathlib import Path

import pytest
from tiny_fixtures import bin_dir, launch, new_run, path_without, tail

from wizard.tiny import alpaca_records, write_dataset


@pytest.fixture
def cwd(tmp_path: Path) -> Path:
    model = tmp_path / "tiny-llama"
    model.mkdir()
    (model / "config.json").write_text(json.dumps({"model_type": "llama"}))
    (model / "model.safetensors").write_bytes(b"\0" * 4096)
    write_dataset(tmp_path / "tiny-data" / "alpaca.jsonl", alpaca_records(20))
    return tmp_path


def _fails(cwd: Path, *args: str, env: dict[str, str] | None = None) -> str:
    done = launch(cwd, *args, env=env, timeout=120)
    assert done.returncode == 1, tail(done)
    assert "nothing was started" in done.stderr
    assert not list(cwd.glob("*/launches")) and not list(cwd.glob("runs/*/launches"))
    return done.stderr


def test_dry_run_prints_a_runnable_snippet_and_writes_nothing(cwd: Path) -> None:
    run_dir = new_run(cwd, "runs/a")
    done = launch(cwd, "runs/a", "--dry-run", env={"HF_TOKEN": "hf_secret_value"}, timeout=120)
    assert done.returncode == 0, tail(done)
    out = done.stdout
    assert f"cd {run_dir.resolve()}" in out
    assert "export ACCELERATE_USE_CPU=true" in out
    assert "cat > launches/" in out and "distributed_type: 'NO'" in out
    assert "--config_file launches/" in out and "-m axolotl.cli.train axolotl.yml" in out
    assert "hf_secret_value" not in out + done.stderr
    assert not (run_dir / "launches").exists()


def test_resume_passes_axolotl_resume_option(cwd: Path) -> None:
    run_dir = new_run(cwd, "runs/a")
    (run_dir / "outputs" / "checkpoint-4").mkdir(parents=True)
    done = launch(cwd, "runs/a", "--dry-run", "--resume", timeout=120)
    assert done.returncode == 0, tail(done)
    assert "axolotl.yml --auto_resume_from_checkpoints=True" in done.stdout


def test_config_that_fails_check(cwd: Path) -> None:
    run_dir = new_run(cwd, "runs/a")
    with (run_dir / "axolotl.yml").open("a") as handle:
        handle.write("micro_batch_size: lots\n")
    err = _fails(cwd, "runs/a")
    assert "micro_batch_size" in err and "axolotl-wizard check" in err


def test_absolute_deepspeed_path_missing_here(cwd: Path) -> None:
    """`check` only warns (the file may be on the training machine); launch runs here."""
    run_dir = new_run(cwd, "runs/a")
    with (run_dir / "axolotl.yml").open("a") as handle:
        handle.write("deepspeed: /workspace/axolotl/deepspeed_configs/zero3_bf16.json\n")
    assert "/workspace/axolotl/deepspeed_configs/zero3_bf16.json" in _fails(cwd, "runs/a")


def test_axolotl_not_importable_by_the_python(cwd: Path, tmp_path: Path) -> None:
    # The same interpreter without site-packages: a real Python that has no axolotl.
    python = bin_dir(tmp_path, {"bare-python": f'exec {sys.executable} -S "$@"'}) / "bare-python"
    new_run(cwd, "runs/a")
    err = _fails(cwd, "runs/a", "--python", str(python))
    assert f"axolotl is not importable by {python}" in err
    assert "accelerate is not importable" in err


def test_version_differs_from_the_one_the_config_was_made_for(cwd: Path) -> None:
    run_dir = new_run(cwd, "runs/a")
    answers = run_dir / "wizard-answers.yml"
    answers.write_text(
        answers.read_text().replace("axolotl_version: 0.19.0", "axolotl_version: 0.11.0")
    )
    done = launch(cwd, "runs/a", "--dry-run", timeout=120)
    assert done.returncode == 0, tail(done)
    assert "warning: this config was made for Axolotl 0.11.0" in done.stderr


def test_no_gpu_visible_for_a_gpu_plan(cwd: Path) -> None:
    new_run(cwd, "runs/gpu", "hardware.accelerator=cuda")
    err = _fails(cwd, "runs/gpu", env={"PATH": path_without("nvidia-smi")})
    assert "none is visible" in err and "--cpu" in err


def test_fewer_gpus_than_planned_and_too_little_memory(cwd: Path, tmp_path: Path) -> None:
    smi = bin_dir(tmp_path, {"nvidia-smi": "echo 1024"})  # one GPU with 1 GiB
    env = {"PATH": f"{smi}{os.pathsep}{os.environ['PATH']}"}
    new_run(cwd, "runs/two", "hardware.accelerator=cuda", "hardware.gpus_per_node=2")
    assert "the plan needs 2 GPUs on this node, and 1 are visible" in _fails(
        cwd, "runs/two", env=env
    )


def test_memory_estimate_does_not_fit(cwd: Path, tmp_path: Path) -> None:
    smi = bin_dir(tmp_path, {"nvidia-smi": "echo 1024"})
    env = {"PATH": f"{smi}{os.pathsep}{os.environ['PATH']}", "HF_HOME": str(tmp_path / "hf")}
    done = run_new(cwd, "runs/big", "llama-3.1-8b-lora")
    assert done.returncode == 0, tail(done)
    err = _fails(cwd, "runs/big", env=env)
    assert "does not fit in 1 GiB" in err
    assert "not in the Hugging Face cache, and HF_HUB_OFFLINE is set" in err


def run_new(cwd: Path, name: str, preset: str):  # type: ignore[no-untyped-def]
    from conftest import run_wizard

    return run_wizard(
        "new",
        name,
        "--preset",
        preset,
        "--set",
        "datasets.0.path=tiny-data/alpaca.jsonl",
        "--set",
        "datasets.0.format=alpaca",
        "--yes",
        cwd=cwd,
    )


@pytest.mark.parametrize(
    ("setting", "expected"),
    [
        ("datasets.0.path=./tiny-data/missing.jsonl", "missing.jsonl does not exist"),
        ("model.base_model=./no-such-model", "is not a model folder"),
    ],
)
def test_missing_local_files(cwd: Path, setting: str, expected: str) -> None:
    new_run(cwd, "runs/a", setting)
    assert expected in _fails(cwd, "runs/a")


def test_dataset_that_does_not_parse(cwd: Path) -> None:
    data = cwd / "tiny-data" / "alpaca.jsonl"
    data.write_text(data.read_text() + '{"instruction": "x", "output": \n')
    new_run(cwd, "runs/a")
    assert "line 21 is not JSON" in _fails(cwd, "runs/a")


def test_output_dir_with_a_trained_run(cwd: Path) -> None:
    run_dir = new_run(cwd, "runs/a")
    (run_dir / "outputs").mkdir()
    (run_dir / "outputs" / "adapter_model.safetensors").write_bytes(b"x")
    err = _fails(cwd, "runs/a")
    assert "already holds a trained run" in err and "--resume" in err


def test_resume_without_a_checkpoint(cwd: Path) -> None:
    new_run(cwd, "runs/a")
    assert "holds no checkpoint-* folder" in _fails(cwd, "runs/a", "--resume")


def test_not_enough_disk_for_checkpoints(cwd: Path) -> None:
    # A sparse 8 TiB weight file: its size is real to stat(), it takes no disk. A full
    # fine-tune's checkpoints of it need far more than any test machine has.
    with (cwd / "tiny-llama" / "model.safetensors").open("wb") as handle:
        handle.truncate(8 * 1024**4)
    new_run(cwd, "runs/a", "method.kind=full")
    assert "checkpoints need about" in _fails(cwd, "runs/a")


def test_layout_flags_are_checked(cwd: Path) -> None:
    new_run(cwd, "runs/a")
    done = launch(cwd, "runs/a", "--nodes", "2", timeout=60)
    assert done.returncode == 2 and "need --main-ip" in done.stderr
    done = launch(
        cwd, "runs/a", "--nodes", "2", "--node-rank", "2", "--main-ip", "10.0.0.1", timeout=60
    )
    assert done.returncode == 2 and "outside 0..1" in done.stderr


def test_hostfile_gives_nodes_main_node_and_rank(cwd: Path) -> None:
    new_run(cwd, "runs/a")
    hosts = cwd / "hosts.txt"
    hosts.write_text("# two nodes\nnode-a slots=2\nlocalhost slots=2\n")
    done = launch(cwd, "runs/a", "--hostfile", str(hosts), "--dry-run", timeout=60)
    assert done.returncode == 0, tail(done)
    assert (
        "--num_processes 4 --num_machines 2 --machine_rank 1 --main_process_ip node-a"
        in done.stdout
    )
    hosts.write_text("node-a slots=2\nnode-b slots=4\n")
    done = launch(cwd, "runs/a", "--hostfile", str(hosts), "--dry-run", timeout=60)
    assert done.returncode == 1 and "different slots" in done.stderr


def test_the_chat_template_is_looked_for_where_axolotl_loads_the_tokenizer(tmp_path: Path) -> None:
    """Axolotl loads the tokenizer from `tokenizer_config`, else `base_model_config`, else
    `base_model`: a `base_model_config` whose tokenizer has no template is the one that fails."""
    from wizard.launch.checks import Preflight
    from wizard.launch.command import Layout
    from wizard.launch.preflight import check_chat_template
    from wizard.launch.target import resolve_target

    for name, tokenizer in (("weights", {"chat_template": "{{ messages }}"}), ("arch", {})):
        (tmp_path / name).mkdir()
        (tmp_path / name / "tokenizer_config.json").write_text(json.dumps(tokenizer))
    config = {"base_model": "./weights", "base_model_config": "./arch",
              "datasets": [{"path": "data.jsonl", "type": "chat_template"}]}  # fmt: skip
    (tmp_path / "axolotl.yml").write_text(json.dumps(config))
    pre = Preflight(resolve_target(tmp_path / "axolotl.yml"), Layout(cpu=True), sys.executable)
    check_chat_template(pre)
    assert [p.message for p in pre.problems] == [
        "datasets[0] is chat data, and the tokenizer of ./arch has no chat template for it "
        "(the config names none)"
    ]
    (tmp_path / "axolotl.yml").write_text(json.dumps({**config, "tokenizer_config": "./weights"}))
    pre = Preflight(resolve_target(tmp_path / "axolotl.yml"), Layout(cpu=True), sys.executable)
    check_chat_template(pre)
    assert pre.problems == []
