"""Issue 31 end to end on the CPU: one real launch of the tiny model (its live lines, the
measured figures in its manifest), a second real launch that fails at once, `runs` over both
and over hostile manifests, and the calibration path from a launch's figures to `estimate`.

No GPU here, so Axolotl logs 0 GiB and the peak is "not measured"; the GPU figures' path (a
measured peak into the manifest and the calibration file, read back by `estimate`) runs on the
real run folder with a watch fed Axolotl's CUDA log lines (test_watch.py has their format)."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest
from conftest import run_wizard
from test_watch import gpu_log_line
from tiny_fixtures import launch, new_run, tail, tiny_root, workspace

from wizard.launch.command import Layout
from wizard.launch.measure import record_measurements
from wizard.launch.target import resolve_target
from wizard.runs import find_runs, load_run
from wizard.runs.calibration import OPT_OUT_ENV, calibration_path
from wizard.runs.live import PLAIN_PREFIX
from wizard.runs.watch import Watch

pytestmark = pytest.mark.integration
__all__ = ["tiny_root"]
STEPS = 8  # the tiny-cpu preset's


@pytest.fixture(scope="module")
def launched(tiny_root: Path, tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, str]:
    """The one real training of this module: (the folder of runs, launch's stdout)."""
    cwd = workspace(tiny_root, tmp_path_factory.mktemp("runs-e2e"))
    new_run(cwd, "runs/lora")
    done = launch(cwd, "runs/lora")  # stdout is a pipe: the plain lines
    assert done.returncode == 0, tail(done)
    return cwd / "runs", done.stdout


def test_the_live_lines_and_the_child_output_unchanged(launched: tuple[Path, str]) -> None:
    runs, stdout = launched
    plain = [line for line in stdout.splitlines() if line.startswith(PLAIN_PREFIX)]
    assert len(plain) == STEPS, stdout[-3000:]
    fields = [dict(pair.split("=", 1) for pair in line.split()[1:]) for line in plain]
    assert [f["step"] for f in fields] == [f"{n}/{STEPS}" for n in range(1, STEPS + 1)]
    assert all(float(f["loss"]) > 0 and f["peak_gib"] == "-" for f in fields)
    assert all(float(f["estimate_gib"]) > 0 for f in fields)  # the estimate, for comparison
    log = next((runs / "lora" / "launches").glob("*/output.log")).read_text(encoding="utf-8")
    assert PLAIN_PREFIX not in log
    child = stdout
    for line in plain:
        child = child.replace(line + "\n", "", 1)
    assert log.replace("\r\n", "\n") in child.replace("\r\n", "\n")
    measured = (rf"measured: {STEPS}/{STEPS} steps, final loss [\d.]+ \(best [\d.]+\), \d+ "
                r"tokens/s per GPU, \d+:\d\d, GPU memory not measured")  # fmt: skip
    assert re.search(measured, stdout)
    assert f"Next: axolotl-wizard runs {runs / 'lora'}" in stdout


def test_the_manifest_holds_what_was_measured(launched: tuple[Path, str]) -> None:
    runs, _ = launched
    record = load_run(runs / "lora")
    measured = record.measured
    assert record.summary.outcome == "finished" and record.summary.exit_code == 0
    assert (measured.steps, measured.total_steps) == (STEPS, STEPS)
    assert [p.step for p in measured.loss_curve] == list(range(1, STEPS + 1))
    assert measured.final_loss == measured.loss_curve[-1].loss
    assert measured.best_loss == min(p.loss for p in measured.loss_curve)
    assert measured.tokens_per_second and measured.wall_seconds and measured.learning_rate
    assert (measured.gpu_name, measured.gpu_count, measured.peak_allocated_gib) == (None, 0, None)
    assert record.estimate is not None and record.estimate.inputs["model"] == "tiny-llama"
    assert not calibration_path().exists()  # nothing measured on a CPU, nothing calibrated


def test_runs_lists_real_and_hostile_launches(launched: tuple[Path, str]) -> None:
    runs, _ = launched
    cwd = runs.parent
    new_run(cwd, "runs/bad")
    failed = launch(cwd, "runs/bad", "--", "--no-such-accelerate-flag")  # a real, quick failure
    assert failed.returncode != 0
    hostile = runs / "hostile" / "launches"
    forged = json.dumps({"measured": {"steps": "many"}, "outcome": "\x1b[2Jpwned"})
    texts = {"20200101T000000Z-node0": "{oops", "20200101T000001Z-node0": "[]",
             "20200101T000002Z-node0": forged}  # fmt: skip
    for name, text in texts.items():
        (hostile / name).mkdir(parents=True)
        (hostile / name / "manifest.json").write_text(text)
    assert len(find_runs(runs)) == 5

    done = run_wizard("runs", str(runs))
    assert done.returncode == 0, done.stderr
    lines = done.stdout.splitlines()
    assert re.search(rf"lora/launches/\S+ +finished +{STEPS}/{STEPS} +[\d.]+ +\d+:\d\d  "
                     r"not measured \(estimate [\d.]+\)", done.stdout)  # fmt: skip
    assert re.search(r"bad/launches/\S+ +failed +-/- +- ", done.stdout)
    assert sum("unreadable:" in line for line in lines) == 2
    assert "\x1b" not in done.stdout and "running?" in done.stdout

    shown = run_wizard("runs", str(runs / "lora"))
    assert shown.returncode == 0, shown.stderr
    assert "training loss" in shown.stdout and "\x1b" not in shown.stdout  # not a terminal
    assert f"steps:         {STEPS} of {STEPS}" in shown.stdout
    as_json = json.loads(run_wizard("runs", str(runs / "lora"), "--json").stdout)
    assert len(as_json["measured"]["loss_curve"]) == STEPS
    exported = json.loads(run_wizard("runs", str(runs / "lora"), "--export").stdout)
    assert exported["model"] == "tiny-llama" and exported["measured_gib"] is None
    assert str(Path.home()) not in json.dumps(exported) and str(runs) not in json.dumps(exported)
    broken = run_wizard("runs", str(hostile / "20200101T000000Z-node0"))
    assert broken.returncode == 1 and broken.stderr.startswith("error: ")
    assert "Traceback" not in broken.stderr


def test_a_measured_peak_goes_to_the_manifest_and_calibration_then_estimate(
    launched: tuple[Path, str], monkeypatch: pytest.MonkeyPatch
) -> None:
    runs, _ = launched
    run_dir = runs / "lora"
    launch_dir = max((run_dir / "launches").iterdir())
    gpu_layout = Layout(processes_per_node=1)  # as on one GPU: Axolotl's CUDA lines below
    watch = Watch()
    for step, allocated in ((10, "0.5"), (20, "0.75"), (30, "0.6")):
        watch.feed(gpu_log_line(step, allocated, allocated, "1.5"))
    target = resolve_target(run_dir)

    monkeypatch.setenv(OPT_OUT_ENV, "1")
    record_measurements(target, gpu_layout, launch_dir, watch, calibrate=True)
    assert not calibration_path().exists()  # opted out by the environment
    monkeypatch.delenv(OPT_OUT_ENV)
    record_measurements(target, gpu_layout, launch_dir, watch, calibrate=False)
    assert not calibration_path().exists()  # launch --no-calibration
    record_measurements(target, gpu_layout, launch_dir, watch, calibrate=True)

    assert load_run(launch_dir).measured.peak_allocated_gib == 0.75
    lines = calibration_path().read_text().splitlines()
    assert len(lines) == 1 and json.loads(lines[0])["measured_gib"] == 0.75
    shown = run_wizard("estimate", str(run_dir))
    assert shown.returncode == 0, shown.stderr
    assert "calibration: 1 measured run(s) like this one (tiny-llama lora" in shown.stdout
    folded = json.loads(run_wizard("estimate", str(run_dir), "--calibrated", "--json").stdout)
    assert folded["calibrated"] is True
    assert folded["allocated_gib"] == pytest.approx(0.75, rel=1e-3)
