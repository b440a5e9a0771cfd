"""Attacks on what `runs` and `estimate` read back from disk (launch manifests, the calibration
file) and on what a launch reads from its child's output: bounded, one line, no traceback."""

from __future__ import annotations

import json
import os
from pathlib import Path

from helpers import one_line_error, wizard

from wizard.runs.watch import MAX_LINE_CHARS, Watch

GIB = 1024**3


def launch_dir(root: Path, name: str = "20261207T210000Z-node0") -> Path:
    folder = root / "run" / "launches" / name
    folder.mkdir(parents=True)
    return folder


def test_a_huge_manifest_is_refused_unread(tmp_path: Path) -> None:
    folder = launch_dir(tmp_path)
    with (folder / "manifest.json").open("wb") as handle:
        handle.truncate(3 * GIB)  # sparse: three gigabytes that take no disk
    done = wizard(tmp_path, "runs", "run", memory_cap=2 * GIB)
    one_line_error(done, "manifest", "limit")
    listed = wizard(tmp_path, "runs", ".", memory_cap=2 * GIB)
    assert listed.returncode == 0 and "unreadable:" in listed.stdout, listed.stderr


def test_a_manifest_nested_deep_or_a_pipe_is_one_line(tmp_path: Path) -> None:
    deep = launch_dir(tmp_path)
    (deep / "manifest.json").write_text("[" * 500_000 + "]" * 500_000)
    one_line_error(wizard(tmp_path, "runs", str(deep)), "manifest")
    piped = launch_dir(tmp_path, "20261207T220000Z-node0")
    os.mkfifo(piped / "manifest.json")  # never waited on
    one_line_error(wizard(tmp_path, "runs", str(piped)), "not a regular file")


def test_a_folder_of_many_launches_is_listed_within_bounds(tmp_path: Path) -> None:
    launches = tmp_path / "run" / "launches"
    launches.mkdir(parents=True)
    record = json.dumps({"outcome": "finished", "measured": {"steps": 1}})
    for number in range(3000):
        folder = launches / f"2026{number:010d}-node0"
        folder.mkdir()
        (folder / "manifest.json").write_text(record)
    done = wizard(tmp_path, "runs", ".", "--json")
    assert done.returncode == 0, done.stderr[-2000:]
    assert len(json.loads(done.stdout)) == 1000  # the newest thousand


def test_a_huge_calibration_file_costs_estimate_nothing(tmp_path: Path) -> None:
    data = tmp_path / "xdg" / "axolotl-wizard"
    data.mkdir(parents=True)
    with (data / "calibration.jsonl").open("wb") as handle:
        handle.truncate(3 * GIB)  # a tail of NUL bytes: no line to read
    config = tmp_path / "axolotl.yml"
    config.write_text("base_model: meta-llama/Llama-3.1-8B\nadapter: lora\nlora_r: 8\n"
                      "lora_target_linear: true\nsequence_len: 2048\n")  # fmt: skip
    done = wizard(tmp_path, "estimate", str(config), "--calibrated",
                  env={"XDG_DATA_HOME": str(tmp_path / "xdg")}, memory_cap=2 * GIB)  # fmt: skip
    assert done.returncode == 0, done.stderr[-2000:]
    assert "no measured run in the calibration file resembles this one" in done.stdout


def test_a_child_printing_an_endless_line_is_read_in_bounded_pieces() -> None:
    watch = Watch()
    chunk = "x" * 65536
    for _ in range(1600):  # 100 MiB without a line end, as a child's pipe delivers it
        watch.feed(chunk)
        assert len(watch._pending) <= MAX_LINE_CHARS
    watch.feed("\n{'loss': '1.5'}\n")
    assert [p.loss for p in watch.curve] == [1.5]
