"""One launch at a time trains a run folder (and an output folder), and a launch killed outright
takes its whole process tree along. Real launches of the tiny model on the CPU: the real
accelerate, the real Axolotl, real signals."""

from __future__ import annotations

import contextlib
import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from conftest import run_wizard
from helpers import one_line_error
from test_signals import alive
from tiny_fixtures import launch, new_run, tiny_root, workspace

from wizard.launch import keeper

pytestmark = pytest.mark.integration
__all__ = ["tiny_root"]

STARTUP_TIMEOUT = 40  # seconds until the training process runs (model load on a busy CPU)


def start_launch(cwd: Path, run: str) -> subprocess.Popen[str]:
    argv = [sys.executable, "-m", "wizard", "launch", "--no-data-checks", run]
    return subprocess.Popen(argv, cwd=cwd, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                            text=True)  # fmt: skip


def descendants(pid: int) -> dict[int, str]:
    """Every process below `pid` (in any session), with its command line."""
    found = {}
    for child in keeper.descendants(pid):
        with contextlib.suppress(OSError):
            found[child] = Path(f"/proc/{child}/cmdline").read_text().replace("\0", " ")
    return found


def is_training(command_line: str) -> bool:
    """Axolotl's training process itself (not accelerate, nor the keeper that starts it)."""
    launcher = "accelerate" in command_line or "keeper.py" in command_line
    return "-m axolotl.cli.train" in command_line and not launcher


def wait_for_training(process: subprocess.Popen[str]) -> dict[int, str]:
    """The launch's process tree once Axolotl's training process runs."""
    deadline = time.monotonic() + STARTUP_TIMEOUT
    while time.monotonic() < deadline:
        assert process.poll() is None, process.communicate()
        tree = descendants(process.pid)
        if any(is_training(line) for line in tree.values()):
            return tree
        time.sleep(0.2)
    raise AssertionError("the training process never started")


def test_a_second_launch_is_refused_while_the_first_trains(tiny_root: Path, tmp_path: Path) -> None:
    cwd = workspace(tiny_root, tmp_path)
    run = new_run(cwd, "run")
    shared = str(run / "outputs")  # another run folder that trains into the same outputs
    new_run(cwd, "other", f"training.output_dir={shared}")
    first = start_launch(cwd, "run")
    wait_for_training(first)
    manifest = next(run.glob("launches/*/manifest.json"))

    line = one_line_error(launch(cwd, "run"), "another launch is training", str(run))
    assert f"pid {first.pid}" in line and str(manifest) in line
    line = one_line_error(launch(cwd, "other"), "another launch is training into", shared)
    assert f"pid {first.pid}" in line
    # Nor is the folder swapped away under it: its working directory would go with it.
    rewrite = run_wizard("new", "run", "--preset", "tiny-cpu", "--force", "--yes", cwd=cwd)
    line = one_line_error(rewrite, "a launch is training in run", f"pid {first.pid}")
    assert first.poll() is None  # refused while the first one trains

    first.send_signal(signal.SIGTERM)  # the first run's own end is test_train_tiny's business
    _out, err = first.communicate(timeout=60)
    assert first.returncode == 143, err[-3000:]
    assert [p.parent.name for p in run.glob("launches/*/manifest.json")] == [manifest.parent.name]
    assert json.loads(manifest.read_text())["outcome"] == "terminated"
    assert not list((cwd / "other").glob("launches/*"))
    # A launch that ended leaves no lock file behind.
    assert not list(run.glob("launches/.*.lock")) and not list(run.glob(".*.lock"))


def test_a_killed_launch_takes_its_tree_and_its_lock_goes_stale(
    tiny_root: Path, tmp_path: Path
) -> None:
    cwd = workspace(tiny_root, tmp_path)
    run = new_run(cwd, "run")
    first = start_launch(cwd, "run")
    tree = wait_for_training(first)
    assert any("accelerate" in line for line in tree.values()), tree
    os.kill(first.pid, signal.SIGKILL)
    first.communicate(timeout=30)
    deadline = time.monotonic() + 20
    while any(alive(pid) for pid in tree) and time.monotonic() < deadline:
        time.sleep(0.1)
    assert [line for pid, line in tree.items() if alive(pid)] == []
    assert list(run.glob("launches/.*.lock")), "the killed launch left its lock file"
    # Stale: the next launch takes it over (a stand-in accelerate keeps this test short).
    fake = cwd / "fake-bin"
    fake.mkdir()
    scripts = {"python": f'exec {sys.executable} "$@"', "accelerate": "echo trained"}
    for name, body in scripts.items():
        (fake / name).write_text(f"#!/bin/bash\n{body}\n")
        (fake / name).chmod(0o755)
    done = launch(cwd, "run", "--python", str(fake / "python"))
    assert done.returncode == 0, done.stderr[-3000:]
    assert "trained" in done.stdout
