"""The installed `axolotl-wizard new` in a real pseudo-terminal, answered with keystrokes."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import textwrap
from pathlib import Path
from typing import Any

import pytest
import yaml

pexpect = pytest.importorskip("pexpect")

ENTER, DOWN, CTRL_C, CLEAR = "\r", "\x1b[B", "\x03", "\x15"
TINY_CONFIG = {"model_type": "llama", "hidden_size": 64, "num_hidden_layers": 2,
               "num_attention_heads": 4, "num_key_value_heads": 2, "intermediate_size": 128,
               "vocab_size": 256, "max_position_embeddings": 512}  # fmt: skip
AXOLOTL_CHECK = textwrap.dedent(
    """
    import contextlib, io, json, sys
    from axolotl.utils.config import validate_config
    from axolotl.utils.dict import DictDefault
    cfg = json.load(sys.stdin)
    caps = {"bf16": True, "fp8": False, "tf32": True, "n_gpu": 1, "n_node": 1,
            "compute_capability": "sm_90"}
    with contextlib.redirect_stdout(io.StringIO()):
        validate_config(DictDefault(cfg), caps, {"torch_version": "2.13.0"})
    print("valid")
    """
)


def wizard_binary() -> str:
    found = shutil.which("axolotl-wizard") or str(Path(sys.executable).parent / "axolotl-wizard")
    assert Path(found).exists(), "the project must be installed (pip install -e .)"
    return found


def workspace(tmp_path: Path) -> Path:
    """A folder holding what the tiny-cpu preset points at: a model config and a dataset."""
    (tmp_path / "tiny-llama").mkdir()
    (tmp_path / "tiny-llama" / "config.json").write_text(json.dumps(TINY_CONFIG))
    (tmp_path / "tiny-data").mkdir()
    rows = [{"instruction": f"Say {i}.", "input": "", "output": str(i)} for i in range(20)]
    (tmp_path / "tiny-data" / "alpaca.jsonl").write_text(
        "".join(json.dumps(r) + "\n" for r in rows)
    )
    return tmp_path


def spawn(cwd: Path, *args: str) -> Any:
    # No cursor-position requests: nobody in a test answers them, so each prompt would wait.
    env = {**os.environ, "TERM": "xterm-256color", "PROMPT_TOOLKIT_NO_CPR": "1"}
    child = pexpect.spawn(wizard_binary(), ["new", *args], cwd=str(cwd), env=env,
                          encoding="utf-8", timeout=30, dimensions=(50, 120))  # fmt: skip
    return child


# (text the question shows, keys to press). Every question of the tiny-cpu interview.
KEYSTROKES = [
    ("Base model", ENTER),
    ("Dataset file", ENTER),
    ("Record format", ENTER),
    ("Add another dataset", "n"),
    ("held out for evaluation", CLEAR + "0.1" + ENTER),
    ("Evaluate every N steps", ENTER),
    ("Train on", ENTER),
    ("Fine-tuning method", ENTER),
    ("LoRA rank", CLEAR + "big" + ENTER),
    ("valid integer", CLEAR + "16" + ENTER),
    ("LoRA alpha", CLEAR + "32" + ENTER),
    ("Layers the adapters attach to", ENTER),
    ("Sequence length", ENTER),
    ("Pack short samples", ENTER),
    ("Micro batch", ENTER),
    ("Target effective batch", CLEAR + "4" + ENTER),
    ("Epochs", ENTER),
    ("Stop after", ENTER),
    ("Learning rate", ENTER),
    ("Output folder", ENTER),
    ("Change advanced settings", ENTER),
    ("Report to W&B", ENTER),
    ("Write these files", ENTER),
]


def test_interview_by_keystrokes_writes_a_config_axolotl_accepts(tmp_path: Path) -> None:
    cwd = workspace(tmp_path)
    child = spawn(cwd, "run", "--preset", "tiny-cpu")
    for prompt, keys in KEYSTROKES:
        child.expect(prompt)
        child.send(keys)
    child.expect(pexpect.EOF)
    child.close()
    assert child.exitstatus == 0, child.before
    config = yaml.safe_load((cwd / "run" / "axolotl.yml").read_text())
    assert (config["lora_r"], config["lora_alpha"], config["val_set_size"]) == (16, 32, 0.1)
    assert config["gradient_accumulation_steps"] == 2  # 4 = 2 micro × 2 accumulation × 1
    verdict = subprocess.run(
        [sys.executable, "-c", AXOLOTL_CHECK],
        input=json.dumps(config),
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    assert verdict.returncode == 0, verdict.stderr[-2000:]
    assert verdict.stdout.strip().endswith("valid")


def test_ctrl_c_mid_interview_leaves_the_folder_untouched(tmp_path: Path) -> None:
    cwd = workspace(tmp_path)
    (cwd / "run").mkdir()
    (cwd / "run" / "notes.txt").write_text("keep me")
    before = sorted(p.name for p in (cwd / "run").iterdir())
    child = spawn(cwd, "run", "--preset", "tiny-cpu")
    for prompt, keys in KEYSTROKES[:7]:
        child.expect(prompt)
        child.send(keys)
    child.expect("Fine-tuning method")
    child.send(CTRL_C)
    child.expect("interrupted; nothing was written")
    child.expect(pexpect.EOF)
    child.close()
    assert child.exitstatus == 130
    assert sorted(p.name for p in (cwd / "run").iterdir()) == before
    assert (cwd / "run" / "notes.txt").read_text() == "keep me"


# Starting from nothing: Enter everywhere except the dataset path (the most common first run).
FROM_NOTHING = [
    ("Start from", ENTER),
    ("Base model", ENTER),
    ("Dataset file", "tiny-data/alpaca.jsonl" + ENTER),
    ("Record format", ENTER),
    ("Add another dataset", ENTER),
    ("held out for evaluation", ENTER),
    ("Train on", ENTER),
    ("GPU model", ENTER),
    ("GPUs per node", ENTER),
    ("Nodes", ENTER),
    ("CPU RAM of one node", ENTER),
    ("Fine-tuning method", ENTER),
    ("LoRA rank", ENTER),
    ("LoRA alpha", ENTER),
    ("Layers the adapters attach to", ENTER),
    ("Sharding across GPUs", ENTER),
    ("Sequence length", ENTER),
    ("Pack short samples", ENTER),
    ("Micro batch", ENTER),
    ("Target effective batch", ENTER),
    ("Epochs", ENTER),
    ("Stop after", ENTER),
    ("Learning rate", ENTER),
    ("Output folder", ENTER),
    ("Change advanced settings", ENTER),
    ("Report to W&B", ENTER),
    ("Write these files", ENTER),
]


def test_interview_from_nothing_with_enter_everywhere(tmp_path: Path) -> None:
    cwd = workspace(tmp_path)
    child = spawn(cwd, "run1")
    for prompt, keys in FROM_NOTHING:
        child.expect(prompt)
        child.send(keys)
    child.expect(pexpect.EOF)
    child.close()
    assert child.exitstatus == 0, child.before
    config = yaml.safe_load((cwd / "run1" / "axolotl.yml").read_text())
    assert config["base_model"] == "meta-llama/Llama-3.1-8B-Instruct"
    assert config["datasets"][0] == {"path": "../tiny-data/alpaca.jsonl", "type": "alpaca"}
    assert config["sequence_len"] == 512  # suggested from the (short) records
    verdict = subprocess.run(
        [sys.executable, "-c", AXOLOTL_CHECK],
        input=json.dumps(config),
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    assert verdict.returncode == 0, verdict.stderr[-2000:]
    assert verdict.stdout.strip().endswith("valid")
