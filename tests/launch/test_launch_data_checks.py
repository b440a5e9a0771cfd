"""`launch`'s preflight runs preview's checks on the first records of each local dataset
(issue 30, item 5): their errors stop the launch before anything starts, their warnings are
printed, and one line says when they cannot run. Real Axolotl tokenization in a child process,
on the tiny model's tokenizer."""

from __future__ import annotations

import json
import time
from pathlib import Path

import pytest
import yaml
from tiny_fixtures import CONVERSATIONS, launch, new_run, tail, tiny_root, workspace

from wizard.launch.checks import Problem
from wizard.launch.session import prepare
from wizard.launch.target import LaunchOptions
from wizard.preview import tokenized
from wizard.tiny import alpaca_records, write_dataset

__all__ = ["tiny_root"]


def run_with(
    cwd: Path, datasets: list[dict[str, object]], name: str = "run", **keys: object
) -> Path:
    """A tiny-cpu run folder whose config reads `datasets` (and sets `keys`)."""
    run = new_run(cwd, name)
    config = yaml.safe_load((run / "axolotl.yml").read_text())
    config.update(datasets=datasets, **keys)
    (run / "axolotl.yml").write_text(yaml.safe_dump(config, sort_keys=False))
    return run


@pytest.fixture
def chat_run(tiny_root: Path, tmp_path: Path) -> Path:
    """Alpaca, and chat records whose answers' `<|im_end|>` ChatML masks on the tiny Llama."""
    cwd = workspace(tiny_root, tmp_path)
    write_dataset(cwd / "chat.jsonl", CONVERSATIONS)
    return run_with(cwd, [
        {"path": "../tiny-data/alpaca.jsonl", "type": "alpaca"},
        {"path": "../chat.jsonl", "type": "chat_template", "field_messages": "messages"},
    ], chat_template="chatml")  # fmt: skip


def preflight(run: Path, **options: object) -> list[Problem]:
    """The problems the preflight of a launch of `run` on this machine's CPU finds."""
    prepared = prepare(LaunchOptions(run, cpu=True, **options), create_manifest=False)  # type: ignore[arg-type]
    return prepared.preflight.problems


@pytest.mark.integration
def test_a_masked_end_of_turn_stops_the_launch_before_it_starts(chat_run: Path) -> None:
    started = time.monotonic()
    done = launch(chat_run.parent, "run", data_checks=True)
    assert done.returncode == 1, tail(done)
    assert ("error: datasets[1]: 2 of 2 records mask the end-of-turn token of a trained turn: "
            "the model will not learn to stop") in done.stderr  # fmt: skip
    assert "  hint: set train_on_eos: turn" in done.stderr
    assert "nothing was started" in done.stderr
    assert not (chat_run / "launches").exists()
    print(f"launch with the data checks: {time.monotonic() - started:.1f} s")


@pytest.mark.integration
def test_warnings_are_printed_and_the_launch_goes_on(tiny_root: Path, tmp_path: Path) -> None:
    cwd = workspace(tiny_root, tmp_path)
    records = alpaca_records(3)
    records[1]["output"] = " ".join(["word"] * 400)  # past tiny-cpu's sequence_len
    write_dataset(cwd / "long.jsonl", records)
    run = run_with(cwd, [{"path": "../long.jsonl", "type": "alpaca"}])
    problems = preflight(run)
    assert [p.severity for p in problems] == ["warning"], problems
    assert problems[0].message.startswith("datasets[0]: 1 of 3 records is longer than sequence_len")
    assert problems[0].hint


def test_no_data_checks_and_a_dry_run_start_no_child(
    chat_run: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The chat run's error stays unseen: the escape hatch, and a dry run (often for another
    machine), skip the checks; neither starts the child that imports Axolotl (counted, not
    timed)."""
    children: list[object] = []
    monkeypatch.setattr(tokenized, "run_axolotl_child", lambda *a, **k: children.append(a))
    for options in ({"data_checks": False}, {"dry_run": True}):
        assert [p for p in preflight(chat_run, **options) if p.severity == "error"] == []
        assert children == [], options


def test_one_line_says_where_the_checks_cannot_run(tiny_root: Path, tmp_path: Path) -> None:
    cwd = workspace(tiny_root, tmp_path)
    hub = run_with(cwd, [{"path": "org/data", "type": "alpaca"}])
    assert [(p.severity, p.message) for p in preflight(hub)] == [
        ("warning", "data checks skipped: no dataset of the config can be previewed: "
                    "datasets[0]: org/data is a Hub dataset; preview reads local files only"),
    ]  # fmt: skip
    bare = tmp_path / "bare-model"  # a model folder without its tokenizer
    bare.mkdir()
    (bare / "config.json").write_text(json.dumps({"model_type": "llama"}))
    local = [{"path": "../tiny-data/alpaca.jsonl", "type": "alpaca"}]
    no_tokenizer = run_with(cwd, local, "bare", base_model="../bare-model")
    skipped = [p.message for p in preflight(no_tokenizer) if "data checks" in p.message]
    assert skipped == ["data checks skipped: the folder ../bare-model holds no tokenizer "
                       "(tokenizer.json, tokenizer_config.json, tokenizer.model)"]  # fmt: skip


@pytest.mark.integration
def test_records_axolotl_cannot_tokenize_stop_the_launch(tiny_root: Path, tmp_path: Path) -> None:
    cwd = workspace(tiny_root, tmp_path)
    write_dataset(cwd / "texts.jsonl", [{"text": "hello"}])  # no alpaca field at all
    run = run_with(cwd, [{"path": "../texts.jsonl", "type": "alpaca"}])
    assert [(p.severity, p.message) for p in preflight(run)] == [
        ("error", "Axolotl cannot tokenize the records: KeyError: 'instruction'"),
    ]
