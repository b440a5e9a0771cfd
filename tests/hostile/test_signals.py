"""Signals during a launch: SIGTERM stops the whole tree, Ctrl-C is an interruption (never a
success), and the manifest records how the run ended.

The launched tree is a stand-in with the shape that matters: an `accelerate` that starts the
training process in the foreground and, like accelerate's own launcher, does not pass SIGTERM on
to it; a training process that saves a checkpoint on Ctrl-C and exits 0, as Axolotl does. Both
are real processes receiving real signals; a real Axolotl run takes longer than these bounds.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

from helpers import HOSTILE_TIMEOUT, new_tiny, project

__all__ = ["project"]

TRAIN = """\
import os, pathlib, signal, sys, time
out = pathlib.Path("outputs")
def save_and_stop(*_):
    checkpoint = out / "checkpoint-3"
    checkpoint.mkdir(parents=True)
    (checkpoint / "trainer_state.json").write_text('{"global_step": 3, "max_steps": 8}')
    print("saved checkpoint-3 on interrupt", flush=True)
    sys.exit(0)
signal.signal(signal.SIGINT, save_and_stop)
pathlib.Path(sys.argv[1]).write_text(str(os.getpid()))
print("step 1/8", flush=True)
while True:
    time.sleep(0.1)
"""


def fake_environment(root: Path) -> Path:
    """A `python` (the real one, so preflight finds axolotl) with a stand-in `accelerate`."""
    bin_dir = root / "fake-bin"
    bin_dir.mkdir()
    (bin_dir / "train.py").write_text(TRAIN)
    scripts = {
        "python": f'#!/bin/bash\nexec {sys.executable} "$@"\n',
        # Foreground child, no trap: SIGTERM kills this shell and leaves the child running.
        "accelerate": f'#!/bin/bash\n{sys.executable} {bin_dir / "train.py"} "$TRAIN_PID_FILE"\n'
        "exit $?\n",
    }
    for name, body in scripts.items():
        (bin_dir / name).write_text(body)
        (bin_dir / name).chmod(0o755)
    return bin_dir / "python"


def start_launch(project: Path) -> tuple[subprocess.Popen[str], int]:
    assert new_tiny(project).returncode == 0
    python = fake_environment(project)
    pid_file = project / "train.pid"
    process = subprocess.Popen(
        [sys.executable, "-m", "wizard", "launch", "run", "--python", str(python)],
        cwd=project,
        env={**os.environ, "TRAIN_PID_FILE": str(pid_file)},
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    deadline = time.monotonic() + HOSTILE_TIMEOUT
    while not (pid_file.is_file() and pid_file.read_text()):
        assert process.poll() is None, process.communicate()
        assert time.monotonic() < deadline, "the stand-in training never started"
        time.sleep(0.05)
    return process, int(pid_file.read_text())


def alive(pid: int) -> bool:
    try:
        state = Path(f"/proc/{pid}/stat").read_text().split(")")[-1].split()[0]
    except FileNotFoundError:
        return False
    return state != "Z"  # a zombie has ended; only its parent has not collected it yet


def outcome(run_dir: Path) -> dict[str, object]:
    manifest = sorted(run_dir.glob("launches/*/manifest.json"))[-1]
    record: dict[str, object] = json.loads(manifest.read_text())
    return record


def test_sigterm_stops_the_whole_tree_and_exits_143(project: Path) -> None:
    process, training = start_launch(project)
    process.send_signal(signal.SIGTERM)
    _out, err = process.communicate(timeout=HOSTILE_TIMEOUT)
    assert process.returncode == 143, err
    deadline = time.monotonic() + 5
    while alive(training) and time.monotonic() < deadline:
        time.sleep(0.05)
    assert not alive(training), "the training process outlived the launch"
    record = outcome(project / "run")
    assert record["outcome"] == "terminated" and record["exit_code"] == 143
    assert record["ended_utc"]


def test_sighup_is_129(project: Path) -> None:
    process, training = start_launch(project)
    process.send_signal(signal.SIGHUP)
    process.communicate(timeout=HOSTILE_TIMEOUT)
    assert process.returncode == 129
    time.sleep(0.5)
    assert not alive(training)


def test_ctrl_c_is_an_interruption_with_the_way_back(project: Path) -> None:
    process, _training = start_launch(project)
    process.send_signal(signal.SIGINT)  # what the terminal sends the wizard on Ctrl-C
    out, err = process.communicate(timeout=HOSTILE_TIMEOUT)
    assert "saved checkpoint-3 on interrupt" in out  # the child stopped cleanly, exit 0 ...
    assert process.returncode == 130, err  # ... and still the run did not finish
    checkpoint = project / "run" / "outputs" / "checkpoint-3"
    assert f"last checkpoint: {checkpoint.resolve()}" in err
    assert "--resume" in err
    record = outcome(project / "run")
    assert record["outcome"] == "interrupted" and record["exit_code"] == 130


def test_a_finished_run_records_its_outcome(project: Path) -> None:
    assert new_tiny(project).returncode == 0
    bin_dir = project / "ok-bin"
    bin_dir.mkdir()
    for name, body in {
        "python": f'exec {sys.executable} "$@"',
        "accelerate": "echo trained",
    }.items():
        (bin_dir / name).write_text(f"#!/bin/bash\n{body}\n")
        (bin_dir / name).chmod(0o755)
    done = subprocess.run(
        [sys.executable, "-m", "wizard", "launch", "run", "--python", str(bin_dir / "python")],
        cwd=project,
        capture_output=True,
        text=True,
        timeout=HOSTILE_TIMEOUT,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    record = outcome(project / "run")
    assert record["outcome"] == "finished" and record["exit_code"] == 0
    # The launch held the run folder and the output folder; an ended launch lets go of both.
    assert list((project / "run").rglob("*.lock")) == []
