"""The GPU table holds the estimator: once bench/results/gpu_truth.json from a CUDA device exists,
every measured row must stay within 10% of today's estimate. Until then (or on a machine without
it) the harness itself runs its CPU path here, so this file never skips.
"""

from __future__ import annotations

import json
import math
from pathlib import Path

import pytest
from conftest import bench_module

TOLERANCE = 0.10


HARNESS = bench_module("gpu_truth")


def _gpu_table() -> dict[str, object] | None:
    path = Path(HARNESS.RESULTS)
    if not path.is_file():
        return None
    data: dict[str, object] = json.loads(path.read_text(encoding="utf-8"))
    return data if str(data.get("device", "")).startswith("cuda") else None


def test_matrix_covers_what_the_issue_asks() -> None:
    rows = HARNESS.MATRIX
    assert len(rows) >= 12 and len({r.name for r in rows}) == len(rows)
    assert {r.method for r in rows} == {"lora", "full"}
    assert {r.ckpt for r in rows} == {True, False}
    assert min(r.seq for r in rows) == 1024 and max(r.seq for r in rows) == 8192
    assert {r.micro_batch for r in rows} >= {1, 2, 4}
    assert {r.optimizer for r in rows} == {"adamw_torch_fused", "adamw_bnb_8bit"}
    sizes = {HARNESS.SHAPES[r.shape] for r in rows}
    assert "meta-llama/Llama-3.2-1B" in sizes and "meta-llama/Llama-3.1-8B" in sizes


def test_gpu_table_or_the_cpu_path(tmp_path: Path) -> None:
    table = _gpu_table()
    if table is None:
        _check_cpu_path(tmp_path)
    else:
        _check_gpu_table(table)


def _check_gpu_table(table: dict[str, object]) -> None:
    rows = [r for r in table["rows"] if r.get("measured_gib")]  # type: ignore[attr-defined]
    assert len(rows) >= 12, "the GPU table should hold at least 12 measured rows"
    for record in rows:
        row = HARNESS.Row(**record["config"])
        now, _peak, _upcast = HARNESS.estimated(row, False)
        measured = float(record["measured_gib"])
        assert abs(now / measured - 1) <= TOLERANCE, (row.name, now, measured)


def _check_cpu_path(tmp_path: Path) -> None:
    out = tmp_path / "truth.json"
    names = ["l1b-lora-s8192-b1-ckpt", "l3b-full-s1024-b2-ckpt-8bit", "l1b-full-s2048-b2"]
    assert HARNESS.main(["--cpu", "--only", *names, "--out", str(out)]) == 0
    data = json.loads(out.read_text(encoding="utf-8"))
    assert data["device"] == "cpu" and len(data["rows"]) == 3
    for record in data["rows"]:
        assert record["measured_gib"] is None, "a CPU run is not a GPU measurement"
        if record["status"].startswith("skipped"):
            assert "bitsandbytes" in record["status"]
            continue
        assert "not a GPU measurement" in record["status"]
        assert math.isfinite(record["loss"])
        row = HARNESS.Row(**record["config"])
        assert record["estimated_gib"] == pytest.approx(HARNESS.estimated(row, True)[0], abs=1e-3)


def test_unknown_row_is_a_one_line_error(capsys: pytest.CaptureFixture[str]) -> None:
    assert HARNESS.main(["--cpu", "--only", "no-such-row"]) == 2
    err = capsys.readouterr().err
    assert err.startswith("error: no row named") and "hint: rows are" in err


def test_measured_rows_become_calibration_records(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The harness's table feeds the calibration file in the format `launch` writes (pure: a
    table as a CUDA run writes it, its figures made up)."""
    from wizard.runs import calibration

    monkeypatch.setenv("XDG_DATA_HOME", str(tmp_path / "xdg"))
    row = HARNESS.Row("l8b", "lora", 2048, 2, True)
    table = {"device": "cuda: NVIDIA H100 80GB HBM3", "rows": [
        {"name": row.name, "config": vars(row), "measured_gib": 21.5,
         "measured_reserved_gib": 23.0},
        {"name": "skipped", "config": vars(row), "measured_gib": None},
    ]}  # fmt: skip
    out = tmp_path / "truth.json"
    out.write_text(json.dumps(table), encoding="utf-8")
    assert HARNESS.main(["--to-calibration", "--out", str(out)]) == 0
    records = [json.loads(line) for line in calibration.calibration_path().read_text().splitlines()]
    assert len(records) == 1
    record = records[0]
    assert record["source"] == "gpu_truth" and record["gpu"] == "H100 80GB HBM3"
    assert (record["model"], record["method"], record["seq_len"], record["micro_batch"]) == (
        "meta-llama/Llama-3.1-8B", "lora", 2048, 2,
    )  # fmt: skip
    assert record["measured_gib"] == 21.5 and record["grad_ckpt"] is True
    launch_keys = calibration.entry({}, (1.0, 2.0), (None, None), None, "launch").keys()
    assert record.keys() == launch_keys
    assert [m.measured_gib for m in calibration.read_measurements()] == [21.5]
