"""`preview` end to end on the tiny model's tokenizer: what it shows as trained is exactly what
Axolotl's own `axolotl preprocess` trains on (the tokens whose label is not -100 in the dataset it
saves), for an alpaca dataset and a chat dataset; and the chat template's masked end-of-turn
marker is reported."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
import yaml
from conftest import run_wizard
from tiny_fixtures import (  # noqa: F401 (a fixture)
    CONVERSATIONS,
    new_run,
    tiny_root,
    workspace,
)

from wizard.axolotl.offline import OFFLINE_ENV
from wizard.tiny import alpaca_records, write_dataset

pytestmark = pytest.mark.integration

ALPACA, CHAT = 3, 2  # records of each dataset: the whole file, so preprocess sees the same


@pytest.fixture(scope="module")
def run_dir(tiny_root: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:  # noqa: F811
    """A tiny-cpu run with two small datasets: alpaca and a chatml conversation."""
    cwd = workspace(tiny_root, tmp_path_factory.mktemp("preview"))
    run = new_run(cwd, "run")
    write_dataset(cwd / "alpaca3.jsonl", alpaca_records(ALPACA))
    write_dataset(cwd / "chat.jsonl", CONVERSATIONS)
    config = yaml.safe_load((run / "axolotl.yml").read_text())
    config["datasets"] = [
        {"path": "../alpaca3.jsonl", "type": "alpaca"},
        {"path": "../chat.jsonl", "type": "chat_template", "field_messages": "messages"},
    ]
    config["chat_template"] = "chatml"
    config["shuffle_merged_datasets"] = False  # preprocess keeps the records in order
    (run / "axolotl.yml").write_text(yaml.safe_dump(config, sort_keys=False))
    return run


@pytest.fixture(scope="module")
def shown(run_dir: Path) -> subprocess.CompletedProcess[str]:
    """`preview` as a user runs it, piped (brackets), with an HTML page."""
    return run_wizard("preview", str(run_dir), "--html", str(run_dir / "preview.html"),
                      timeout=600)  # fmt: skip


def axolotl_rows(run_dir: Path) -> list[dict[str, Any]]:
    """The rows `axolotl preprocess` saves for the run, with each token's text."""
    done = subprocess.run(
        [sys.executable, "-m", "axolotl.cli.preprocess", "axolotl.yml"],
        cwd=run_dir, env={**os.environ, **OFFLINE_ENV}, capture_output=True, text=True,
        timeout=600, check=False,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr[-3000:]
    from datasets import load_from_disk
    from transformers import AutoTokenizer

    saved = [p.parent for p in (run_dir / "prepared-data").glob("*/dataset_info.json")]
    assert len(saved) == 1
    tokenizer = AutoTokenizer.from_pretrained(str(run_dir.parent / "tiny-llama"))
    rows = []
    for row in load_from_disk(str(saved[0])):
        text = [tokenizer.decode([i], clean_up_tokenization_spaces=False) for i in row["input_ids"]]
        rows.append({"labels": row["labels"], "text": text})
    return rows


def trained_text_shown(block: str) -> str:
    """What the bracketed rendering shows as trained: masked parts and role marks taken out."""
    block = re.sub(r"\[\[.*?\]\]", "", block, flags=re.DOTALL)
    block = re.sub(r"<<\w+>>", "", block)
    return re.sub(r"\{\{(.*?)\}\}", r"\1", block)


def record_blocks(stdout: str) -> list[str]:
    """The rendering of each record: what stands between its `record N:` title and the next
    title or the dataset's statistics (the report puts one blank line before each)."""
    titles = r"^(?:record \d+: |tokens per record: |datasets\[\d+\] ).*\n"
    parts = re.split(f"({titles})", stdout, flags=re.MULTILINE)
    return [body.removesuffix("\n\n") for title, body in zip(parts[1::2], parts[2::2], strict=True)
            if title.startswith("record ")]  # fmt: skip


def test_what_preview_shows_trained_is_what_axolotl_trains(
    run_dir: Path, shown: subprocess.CompletedProcess[str]
) -> None:
    assert shown.returncode == 1, shown.stderr  # the chat dataset's error below
    blocks = record_blocks(shown.stdout)
    rows = axolotl_rows(run_dir)
    assert len(blocks) == len(rows) == ALPACA + CHAT
    for block, row in zip(blocks, rows, strict=True):
        trained = "".join(t for t, label in zip(row["text"], row["labels"], strict=True)
                          if label != -100)  # fmt: skip
        assert trained, "every record trains something"
        assert trained_text_shown(block) == trained
        masked = "".join(t for t, label in zip(row["text"], row["labels"], strict=True)
                         if label == -100)  # fmt: skip
        assert "".join(re.findall(r"\[\[(.*?)\]\]", block, flags=re.DOTALL)).replace(
            "{{", "").replace("}}", "") == masked  # fmt: skip


def test_turns_checks_and_page(run_dir: Path, shown: subprocess.CompletedProcess[str]) -> None:
    out = shown.stdout
    assert "<<system>>[[<|im_start|>system\nBe brief.<|im_end|>\n]]<<user>>" in out
    assert "<<assistant>>[[<|im_start|>assistant\n]]river apple[[<|im_end|>" in out
    assert ("error: datasets[1]: 2 of 2 records mask the end-of-turn token of a trained turn: "
            "the model will not learn to stop") in out  # fmt: skip
    assert "ok: datasets[0]: no problem found" in out
    assert "tokens per record: min " in out
    page = (run_dir / "preview.html").read_text()
    assert '<span class="trained">river apple</span>' in page
    assert "&lt;|im_end|&gt;" in page and "<|im_end|>" not in page
    assert json.dumps(shown.stderr)  # nothing but Axolotl's own noise, if any, went to stderr


def test_estimate_gives_the_steps_of_an_epoch_beside_the_memory(run_dir: Path) -> None:
    done = run_wizard("estimate", str(run_dir), "--steps", "--json", timeout=600)
    assert done.returncode == 0, done.stderr
    steps = json.loads(done.stdout)["steps_per_epoch"]
    # tiny-cpu: micro batch 2 × accumulation 1 × 1 process; every record fits sequence_len 128
    assert steps == [
        {"dataset": 0, "steps": 2, "records": ALPACA, "exact": True, "batch": 2},
        {"dataset": 1, "steps": 1, "records": CHAT, "exact": True, "batch": 2},
    ]
