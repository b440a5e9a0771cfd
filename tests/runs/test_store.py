"""The read API of launch records: typed, bounded, and a hostile manifest is one line, never a
traceback (pure code on files written here; the real launch is in test_runs_launch.py)."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest

from wizard.errors import WizardError
from wizard.runs import EstimateFigure, LossPoint, Measured, find_runs, load_run, record_measured
from wizard.runs.record import MAX_CURVE_POINTS, thin
from wizard.runs.store import MAX_MANIFEST_BYTES

MEASURED = Measured(
    steps=48, total_steps=48, final_loss=2.6, best_loss=2.5, learning_rate=1e-4,
    tokens_per_second=1234.5, wall_seconds=61.0, peak_allocated_gib=12.25,
    peak_active_gib=12.5, peak_reserved_gib=14.0, gpu_name="H100 80GB HBM3", gpu_count=2,
    loss_curve=(LossPoint(1, 6.9), LossPoint(2, 5.0), LossPoint(48, 2.6)),
)  # fmt: skip


def launch_folder(run_dir: Path, name: str, record: object) -> Path:
    folder = run_dir / "launches" / name
    folder.mkdir(parents=True)
    text = record if isinstance(record, str) else json.dumps(record)
    (folder / "manifest.json").write_text(text, encoding="utf-8")
    return folder


def base_manifest(**extra: object) -> dict[str, object]:
    return {"manifest_version": 1, "time_utc": "2026-12-07T21:00:00+00:00",
            "config": "axolotl.yml", **extra}  # fmt: skip


def test_measured_figures_round_trip_through_the_manifest(tmp_path: Path) -> None:
    folder = launch_folder(tmp_path / "run", "20261207T210000Z-node0", base_manifest())
    record_measured(folder, MEASURED, EstimateFigure(11.0, 13.5))
    record = load_run(folder)
    assert record.measured == MEASURED
    assert record.estimate == EstimateFigure(11.0, 13.5)
    assert record.summary.run_dir == tmp_path / "run"
    assert record.summary.peak_allocated_gib == 12.25
    assert record.summary.estimated_allocated_gib == 11.0
    assert record.config == "axolotl.yml"


def test_a_run_folder_reads_as_its_newest_launch(tmp_path: Path) -> None:
    run = tmp_path / "run"
    launch_folder(run, "20261207T210000Z-node0", base_manifest(outcome="failed", exit_code=1))
    launch_folder(run, "20261207T220000Z-node0", base_manifest(outcome="finished", exit_code=0))
    record = load_run(run)
    assert record.summary.outcome == "finished" and record.summary.exit_code == 0
    assert record.measured == Measured()  # a manifest from before issue 31: nothing measured


def test_find_runs_lists_every_launch_newest_first_and_the_unreadable_with_a_reason(
    tmp_path: Path,
) -> None:
    launch_folder(tmp_path / "a", "20261207T210000Z-node0", base_manifest(outcome="finished"))
    launch_folder(tmp_path / "b", "20261207T220000Z-node0", "{not json")
    launch_folder(tmp_path / "b", "20261207T230000Z-node0", "[1, 2]")
    big = launch_folder(tmp_path / "c", "20261207T200000Z-node0", "{}")
    (big / "manifest.json").write_text(" " * (MAX_MANIFEST_BYTES + 10), encoding="utf-8")
    (tmp_path / "d" / "launches" / "not-a-launch").mkdir(parents=True)  # no manifest: not listed
    runs = find_runs(tmp_path)
    assert [r.path.name for r in runs] == [
        "20261207T230000Z-node0", "20261207T220000Z-node0", "20261207T210000Z-node0",
        "20261207T200000Z-node0",
    ]  # fmt: skip
    errors = [r.error for r in runs]
    assert "not a launch manifest" in (errors[0] or "")
    assert "not valid JSON" in (errors[1] or "")
    assert errors[2] is None and runs[2].outcome == "finished"
    assert "limit" in (errors[3] or "")
    assert all("\n" not in (e or "") for e in errors)


@pytest.mark.parametrize(
    "measured",
    [
        {"steps": "48", "final_loss": "NaN", "peak_allocated_gib": -3, "gpu_name": 7},
        {"steps": True, "final_loss": 1e300, "peak_allocated_gib": [1], "gpu_name": "x" * 5000},
        {"loss_curve": [[1, "a"], "junk", [2], [-1, 3.0], [True, 2.0], [3, 2.5]] * 5000},
        "not a mapping",
    ],
)
def test_malformed_figures_read_as_not_measured(tmp_path: Path, measured: object) -> None:
    folder = launch_folder(tmp_path, "x", base_manifest(measured=measured, outcome="exploded",
                                                        exit_code=10**9, estimate=[1]))  # fmt: skip
    record = load_run(folder)
    assert record.measured.steps is None and record.measured.final_loss is None
    assert record.measured.peak_allocated_gib is None and record.measured.gpu_name is None
    assert record.summary.outcome is None and record.summary.exit_code is None
    assert record.estimate is None
    assert all(p == LossPoint(3, 2.5) for p in record.measured.loss_curve)
    assert len(record.measured.loss_curve) <= MAX_CURVE_POINTS


def test_nan_in_the_json_is_not_a_figure(tmp_path: Path) -> None:
    folder = launch_folder(
        tmp_path, "x", '{"measured": {"final_loss": NaN, "best_loss": -Infinity}}'
    )
    assert load_run(folder).measured.final_loss is None
    assert load_run(folder).measured.best_loss is None


def test_load_run_on_what_is_not_a_run_is_one_line(tmp_path: Path) -> None:
    with pytest.raises(WizardError, match="holds no launch record"):
        load_run(tmp_path)
    fifo_run = tmp_path / "fifo"
    (fifo_run / "launches" / "x").mkdir(parents=True)
    os.mkfifo(fifo_run / "launches" / "x" / "manifest.json")
    with pytest.raises(WizardError, match="not a regular file"):
        load_run(fifo_run)
    with pytest.raises(WizardError, match="is not a folder"):
        find_runs(tmp_path / "missing")


def test_links_are_not_followed(tmp_path: Path) -> None:
    real = launch_folder(tmp_path / "elsewhere", "20261207T210000Z-node0", base_manifest())
    (tmp_path / "run" / "launches").mkdir(parents=True)
    (tmp_path / "run" / "launches" / "linked").symlink_to(real, target_is_directory=True)
    assert find_runs(tmp_path / "run") == []
    linked_manifest = launch_folder(tmp_path / "run2", "y", "{}")
    (linked_manifest / "manifest.json").unlink()
    (linked_manifest / "manifest.json").symlink_to(real / "manifest.json")
    with pytest.raises(WizardError, match="is a link"):
        load_run(linked_manifest)


def test_a_long_curve_is_thinned_keeping_its_ends() -> None:
    points = tuple(LossPoint(i, float(i)) for i in range(1, 10_001))
    thinned = thin(points)
    assert len(thinned) == MAX_CURVE_POINTS
    assert thinned[0] == points[0] and thinned[-1] == points[-1]
    assert len(Measured(loss_curve=points).to_json()["loss_curve"]) == MAX_CURVE_POINTS
