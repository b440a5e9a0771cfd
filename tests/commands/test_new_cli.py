"""`axolotl-wizard new --yes` through the real command: files, printout, reproduction, bad input."""

from __future__ import annotations

import os
import sys
from pathlib import Path

import pytest
from conftest import TESTS, run_wizard

GOLDEN = TESTS / "golden"
QLORA = ["--preset", "llama-3.1-8b-qlora", "--set", "datasets.0.path=data/train.jsonl"]


def files_under(folder: Path) -> dict[str, bytes]:
    return {str(p.relative_to(folder)): p.read_bytes() for p in folder.rglob("*") if p.is_file()}


def assert_clean_failure(done: object, needle: str, folder: Path) -> None:
    stderr = done.stderr  # type: ignore[attr-defined]
    assert done.returncode == 1, stderr  # type: ignore[attr-defined]
    assert "Traceback" not in stderr
    assert stderr.startswith("error: ") and needle in stderr, stderr
    assert len([ln for ln in stderr.splitlines() if ln.startswith("error:")]) == 1
    assert not folder.exists() or not any(folder.iterdir())


def test_writes_the_run_folder_and_prints_the_plan(tmp_path: Path) -> None:
    done = run_wizard("new", "runs/a", *QLORA, "--yes", cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    assert sorted(files_under(tmp_path / "runs/a")) == ["axolotl.yml", "wizard-answers.yml"]
    assert "1 micro batch × 16 accumulation × 1 GPU = 16 sequences" in done.stdout
    assert "65,536 tokens per optimizer step" in done.stdout
    assert "axolotl-wizard launch runs/a" in done.stdout
    config = (tmp_path / "runs/a/axolotl.yml").read_text()
    assert "path: ../../data/train.jsonl" in config
    assert "accelerate launch --num_processes 1" in config


def test_zero3_preset_writes_a_zero3_named_deepspeed_file(tmp_path: Path) -> None:
    done = run_wizard(
        "new",
        "r",
        "--preset",
        "llama-3.1-8b-full-zero3",
        "--set",
        "datasets.0.path=d.jsonl",
        "--yes",
        cwd=tmp_path,
    )
    assert done.returncode == 0, done.stderr
    assert (tmp_path / "r/deepspeed/zero3_bf16.json").is_file()
    assert "deepspeed: deepspeed/zero3_bf16.json" in (tmp_path / "r/axolotl.yml").read_text()
    assert "8 GPUs = 32 sequences" in done.stdout


def test_answers_file_reproduces_the_folder_byte_for_byte(tmp_path: Path) -> None:
    sets = [
        *QLORA,
        "--set",
        "hardware.gpus_per_node=4",
        "--set",
        "distributed.backend=deepspeed",
        "--set",
        "axolotl.wandb_project=team=alpha",
    ]
    assert run_wizard("new", "runs/a", *sets, "--yes", cwd=tmp_path).returncode == 0
    again = run_wizard(
        "new", "runs/b", "--answers", "runs/a/wizard-answers.yml", "--yes", cwd=tmp_path
    )
    assert again.returncode == 0, again.stderr
    assert files_under(tmp_path / "runs/a") == files_under(tmp_path / "runs/b")
    assert "wandb_project: team=alpha" in (tmp_path / "runs/b/axolotl.yml").read_text()


def test_refuses_to_overwrite_without_force(tmp_path: Path) -> None:
    assert run_wizard("new", "r", *QLORA, "--yes", cwd=tmp_path).returncode == 0
    before = files_under(tmp_path / "r")
    done = run_wizard("new", "r", *QLORA, "--set", "training.seed=7", "--yes", cwd=tmp_path)
    assert done.returncode == 1 and "--force" in done.stderr
    assert files_under(tmp_path / "r") == before
    forced = run_wizard(
        "new", "r", *QLORA, "--set", "training.seed=7", "--yes", "--force", cwd=tmp_path
    )
    assert forced.returncode == 0
    assert "seed: 7" in (tmp_path / "r/axolotl.yml").read_text()


@pytest.mark.parametrize(
    ("args", "needle"),
    [
        (
            [*QLORA, "--set", "training.micro_batchsize=2"],
            "did you mean 'training.micro_batch_size'",
        ),
        ([*QLORA, "--set", "training.micro_batch_size=two"], "training.micro_batch_size"),
        ([*QLORA, "--set", "training.gradient_accumulation_steps=4"], "not both"),
        (
            [
                *QLORA,
                "--set",
                "hardware.gpus_per_node=8",
                "--set",
                "distributed.backend=deepspeed",
                "--set",
                "distributed.zero_stage=3",
                "--set",
                "training.precision=fp16",
            ],
            "ZeRO-3",
        ),
        (["--preset", "llama-3.1-8b-qlora"], "missing answers: datasets.0.path"),
        (["--set", "training.seed=1"], "missing answers: model, datasets"),
        (["--preset", "llama-3.1-8b-qlroa"], "no preset named 'llama-3.1-8b-qlroa'"),
        (["--preset", "../etc/passwd"], "not a preset name"),
        (["--preset", "broken"], "YAML syntax error"),
        (["--answers", "nowhere.yml"], "does not exist"),
        ([*QLORA, "--set", "axolotl.micro_batch_size=3"], "also set from the answers"),
        ([*QLORA, "--set", "axolotl.lora_alpah=3"], "raw Axolotl key"),
        ([*QLORA, "--set", "axolotl.val_set_size=0.1"], "also set from the answers"),
    ],
)
def test_bad_input_is_one_clear_line_and_writes_nothing(
    tmp_path: Path, args: list[str], needle: str
) -> None:
    presets = tmp_path / ".axolotl-wizard" / "presets"
    presets.mkdir(parents=True)
    (presets / "broken.yml").write_text("name: broken\nanswers: [unclosed\n")
    done = run_wizard("new", "out", *args, "--yes", cwd=tmp_path)
    assert_clean_failure(done, needle, tmp_path / "out")
    if "did you mean" in needle or "no preset" in needle:
        assert "hint: " in done.stderr or "did you mean" in done.stderr


def test_usage_errors_exit_2(tmp_path: Path) -> None:
    done = run_wizard("new", "out", "--set", "no-equals-sign", "--yes", cwd=tmp_path)
    assert done.returncode == 2 and "KEY=VALUE" in done.stderr
    assert run_wizard("new", "--bogus", cwd=tmp_path).returncode == 2


def test_without_yes_and_without_a_terminal_says_what_to_do(tmp_path: Path) -> None:
    done = run_wizard("new", "out", *QLORA, cwd=tmp_path, input="")
    assert_clean_failure(done, "terminal", tmp_path / "out")
    assert "--yes" in done.stderr


def test_debug_shows_the_traceback(tmp_path: Path) -> None:
    done = run_wizard("new", "out", "--preset", "nope", "--yes", "--debug", cwd=tmp_path)
    assert done.returncode == 1 and "Traceback" in done.stderr


BLOCKER = """
import importlib.machinery
import sys
HEAVY = {'torch', 'transformers', 'axolotl', 'deepspeed', 'accelerate', 'questionary',
         'prompt_toolkit'}
class BrokenLoader:
    def create_module(self, spec):
        raise ImportError('blocked: ' + spec.name)
    def exec_module(self, module):
        raise ImportError('blocked')
class Block:
    # Found but broken: probing with find_spec works, importing fails.
    def find_spec(self, name, path=None, target=None):
        if name.split('.')[0] in HEAVY:
            return importlib.machinery.ModuleSpec(name, BrokenLoader())
        return None
sys.meta_path.insert(0, Block())
from wizard.cli import main
code = main(sys.argv[1:])
heavy = [m for m in sys.modules if m.split('.')[0] in {'torch', 'transformers', 'axolotl',
         'deepspeed', 'accelerate', 'questionary'}]
assert not heavy, heavy
raise SystemExit(code)
"""


@pytest.mark.parametrize("preset", ["llama-3.1-8b-full-zero3", "tiny-cpu"])
def test_new_yes_works_when_heavy_imports_would_fail(tmp_path: Path, preset: str) -> None:
    import subprocess

    done = subprocess.run(
        [
            sys.executable,
            "-c",
            BLOCKER,
            "new",
            "r",
            "--preset",
            preset,
            "--set",
            "datasets.0.path=d.jsonl",
            "--yes",
        ],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        env={**os.environ},
        check=False,
    )
    assert done.returncode == 0, done.stderr
    assert (tmp_path / "r/axolotl.yml").is_file()


@pytest.mark.parametrize("preset", ["llama-3.1-8b-qlora", "llama-3.1-8b-full-zero3", "tiny-cpu"])
def test_golden_files(tmp_path: Path, preset: str) -> None:
    done = run_wizard(
        "new",
        "run",
        "--preset",
        preset,
        "--set",
        "datasets.0.path=data/train.jsonl",
        "--yes",
        cwd=tmp_path,
    )
    assert done.returncode == 0, done.stderr
    produced = files_under(tmp_path / "run")
    golden_dir = GOLDEN / preset
    if os.environ.get("UPDATE_GOLDEN"):
        for name, data in produced.items():
            (golden_dir / name).parent.mkdir(parents=True, exist_ok=True)
            (golden_dir / name).write_bytes(data)
    assert produced == files_under(golden_dir), "run UPDATE_GOLDEN=1 pytest to accept a change"


def test_prints_the_memory_estimate_against_the_gpu(tmp_path: Path) -> None:
    done = run_wizard("new", "r", *QLORA, "--yes", cwd=tmp_path)
    assert "GiB peak per GPU of 23.9 GiB, host RAM 3 GiB of 64 GiB: fits" in done.stdout


def test_auto_fit_fills_the_batch_layout_nobody_gave(tmp_path: Path) -> None:
    answers = [
        "--set",
        "model.base_model=meta-llama/Llama-3.1-8B",
        "--set",
        "method.kind=full",
        "--set",
        "datasets.0.path=d.jsonl",
        "--set",
        "datasets.0.format=alpaca",
        "--set",
        "hardware.gpu_memory_gib=24",
        "--set",
        "hardware.gpus_per_node=4",
        "--set",
        "training.effective_batch_size=32",
    ]
    done = run_wizard("new", "r", *answers, "--yes", cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    assert "Auto-fit: " in done.stdout and "= 32 sequences" in done.stdout
    config = (tmp_path / "r/axolotl.yml").read_text()
    assert "deepspeed: deepspeed/zero" in config  # a full 8B run needs ZeRO on 24 GB cards
    # An explicit micro batch is the user's: auto-fit leaves the layout alone.
    given = run_wizard(
        "new", "r2", *answers, "--set", "training.micro_batch_size=1", "--yes", cwd=tmp_path
    )
    assert given.returncode == 0 and "Auto-fit" not in given.stdout
    assert "does not fit" in given.stdout and "to fit:" in given.stdout


def test_locked_answers_need_unlock_end_to_end(tmp_path: Path) -> None:
    team = {"AXOLOTL_WIZARD_PRESETS": str(TESTS / "data" / "presets" / "team")}
    refused = run_wizard(
        "new",
        "r",
        "--preset",
        "team:llama-qlora",
        "--set",
        "training.seed=7",
        "--yes",
        cwd=tmp_path,
        env=team,
    )
    assert_clean_failure(refused, "locked", tmp_path / "r")
    assert "--unlock" in refused.stderr
    allowed = run_wizard(
        "new",
        "r",
        "--preset",
        "team:llama-qlora",
        "--set",
        "training.seed=7",
        "--unlock",
        "--yes",
        cwd=tmp_path,
        env=team,
    )
    assert allowed.returncode == 0, allowed.stderr
    assert "seed: 7" in (tmp_path / "r/axolotl.yml").read_text()


def test_help_imports_nothing_heavy() -> None:
    import subprocess

    probe = (
        "import sys; from wizard.cli import build_parser; build_parser().format_help(); "
        "print(sorted({m.split('.')[0] for m in sys.modules} & {'torch', 'transformers', "
        "'axolotl', 'deepspeed', 'accelerate', 'questionary', 'rich', 'pydantic'}))"
    )
    done = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, check=True)
    assert done.stdout.strip() == "[]"
    for verb in ("new", "check", "estimate", "launch", "presets", "demo", "preview"):
        shown = run_wizard(verb, "--help")
        assert shown.returncode == 0 and "usage: axolotl-wizard " + verb in shown.stdout
