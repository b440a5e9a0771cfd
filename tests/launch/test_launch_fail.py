"""A run that fails returns the child's exit code, with a one-line cause (issue 6, proof 4)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from tiny_fixtures import launch, manifest, new_run, tail, tiny_root

pytestmark = pytest.mark.integration
__all__ = ["tiny_root"]


def _run_with_bad_records(tiny_root: Path, tmp_path: Path) -> Path:
    """Valid JSON lines (so preflight lets it through) whose records are not alpaca records:
    Axolotl finds out while tokenizing, after the model and the processes have started. `new`
    reads the records and would refuse them, so the file is replaced after the run is made (a
    dataset regenerated since)."""
    (tmp_path / "tiny-llama").symlink_to(tiny_root / "tiny-llama")
    data = tmp_path / "tiny-data" / "alpaca.jsonl"
    data.parent.mkdir()
    data.write_text((tiny_root / "tiny-data" / "alpaca.jsonl").read_text())
    run_dir = new_run(tmp_path, "runs/bad", "training.max_steps=2")
    data.write_text(
        "".join(json.dumps({"question": f"q{i}", "reply": "r"}) + "\n" for i in range(50))
    )
    return run_dir


def test_corrupt_dataset_returns_child_code_and_one_line_cause(
    tiny_root: Path, tmp_path: Path
) -> None:
    run_dir = _run_with_bad_records(tiny_root, tmp_path)

    done = launch(tmp_path, "runs/bad")

    assert done.returncode not in (0, None), tail(done)
    ours = [line for line in done.stderr.splitlines() if line.startswith("error: ")]
    assert len(ours) == 1, tail(done)
    assert f"(exit code {done.returncode})" in ours[0]
    assert "Error" in ours[0] and "no exception" not in ours[0], ours[0]
    assert "hint: the whole output is in" in done.stderr
    assert manifest(run_dir)["argv"]  # the manifest was written before the child started


def test_exec_replaces_the_process_and_keeps_the_child_code(
    tiny_root: Path, tmp_path: Path
) -> None:
    """With --exec nothing of ours runs after the child: accelerate's own usage error (exit 2,
    from an argument it does not know) is the command's exit code, with no summary from us."""
    for name in ("tiny-llama", "tiny-data"):
        (tmp_path / name).symlink_to(tiny_root / name)
    new_run(tmp_path, "runs/x")

    done = launch(tmp_path, "runs/x", "--exec", "--", "--no-such-accelerate-flag", timeout=120)

    assert done.returncode == 2, tail(done)
    assert "no-such-accelerate-flag" in done.stderr
    assert "training failed" not in done.stderr
