"""A migrated ShareGPT dataset trains on exactly the tokens its hand-written chat_template
equivalent trains on: Axolotl's own strategy tokenizes both on the tiny tokenizer, and a real
short CPU training run on the migrated config prepares the same labelled rows."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from conftest import TESTS
from tiny_fixtures import tiny_root  # noqa: F401 (a fixture)

from wizard.cli import main

DATA = TESTS / "data" / "lint"
CHILD = Path(__file__).with_name("chat_masking.py")
# Keys a CPU run needs on top of the migrated config (none of them is about the data).
CPU_RUN = """
max_steps: 2
bf16: false
fp16: false
tf32: false
attn_implementation: sdpa
optimizer: adamw_torch
lora_mlp_kernel: false
lora_qkv_kernel: false
lora_o_kernel: false
lora_embedding_kernel: false
dataset_prepared_path: ./prepared
save_strategy: "no"
logging_steps: 1
"""


def labelled(request: dict[str, Any]) -> dict[str, list[Any]]:
    done = subprocess.run(
        [sys.executable, str(CHILD)],
        input=json.dumps(request),
        capture_output=True,
        text=True,
        timeout=600,
        check=False,
    )
    assert done.returncode == 0, done.stderr[-4000:]
    rows = [json.loads(x) for x in done.stdout.splitlines() if x.startswith("{")]
    return {r["source"]: sorted(map(str, r["rows"])) for r in rows}


@pytest.fixture(scope="module")
def run_dir(tiny_root: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:  # noqa: F811
    """The old ShareGPT config and the hand-written one, side by side, the old one migrated."""
    folder = tmp_path_factory.mktemp("masking")
    for item in [
        DATA / "old" / "sharegpt-chatml.yml",
        DATA / "old" / "sharegpt-chat.jsonl",
        *(DATA / "chat").iterdir(),
    ]:
        shutil.copy(item, folder / item.name)
    (folder / "tiny-model").symlink_to(tiny_root / "tiny-llama")
    main(["check", str(folder / "sharegpt-chatml.yml"), "--fix"])  # 1: the original is refused
    assert (folder / "sharegpt-chatml.fixed.yml").is_file()
    return folder


@pytest.mark.integration
def test_migrated_and_handwritten_label_the_same_tokens(run_dir: Path) -> None:
    migrated, handwritten = run_dir / "sharegpt-chatml.fixed.yml", run_dir / "handwritten.yml"
    rows = labelled(
        {"tokenizer": str(run_dir / "tiny-model"), "configs": [str(migrated), str(handwritten)]}
    )
    assert len(rows[str(migrated)]) == 4
    assert rows[str(migrated)] == rows[str(handwritten)]
    # The rows are masked at all: some labels are -100 (prompts) and some are not (answers).
    first = json.loads(rows[str(migrated)][0].replace("'", '"'))
    assert -100 in first[1] and any(label != -100 for label in first[1])


@pytest.mark.integration
def test_migrated_config_trains_with_those_labels(run_dir: Path) -> None:
    config = run_dir / "train.yml"
    config.write_text((run_dir / "sharegpt-chatml.fixed.yml").read_text() + CPU_RUN)
    env = {
        **os.environ,
        "HF_HUB_OFFLINE": "1",
        "AXOLOTL_DO_NOT_TRACK": "1",
        "ACCELERATE_USE_CPU": "true",
        "WANDB_MODE": "disabled",
    }
    done = subprocess.run(
        [sys.executable, "-m", "axolotl.cli.train", config.name],
        cwd=run_dir,
        env=env,
        capture_output=True,
        text=True,
        timeout=600,
        check=False,
    )
    assert done.returncode == 0, (done.stdout + done.stderr)[-4000:]
    assert (run_dir / "out" / "adapter_model.safetensors").is_file()
    rows = labelled(
        {
            "tokenizer": str(run_dir / "tiny-model"),
            "configs": [str(run_dir / "handwritten.yml")],
            "prepared": [str(run_dir / "prepared")],
        }
    )
    assert rows[str(run_dir / "prepared")] == rows[str(run_dir / "handwritten.yml")]
