"""`launch --slurm` writes an sbatch script that preprocesses once, then trains through torchrun
(issue 6, proof 6; issue 18, proof 2).

There is no Slurm here: `srun` and `scontrol` are stood in by two-line scripts (srun runs its
command once, as on a one-node allocation; scontrol names this host), and Slurm's variables are
set as Slurm sets them for a one-node job. Everything else in the script runs for real.
"""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

import pytest
from tiny_fixtures import (
    TRAIN_TIMEOUT,
    bin_dir,
    free_port,
    launch,
    new_run,
    tail,
    tiny_root,
    workspace,
)

pytestmark = pytest.mark.integration
__all__ = ["tiny_root"]

# Each srun call leaves a line in srun.calls, so the test can count the steps the job ran.
SRUN = 'echo "$*" >> "$SRUN_CALLS"\nwhile [[ "$1" == --* ]]; do shift; done\nexec "$@"'
SCONTROL = "echo 127.0.0.1"


def test_sbatch_script_is_valid_bash_and_trains(tiny_root: Path, tmp_path: Path) -> None:
    cwd = workspace(tiny_root, tmp_path)
    run_dir = new_run(cwd, "runs/slurm", "training.max_steps=2")
    done = launch(cwd, "runs/slurm", "--slurm", timeout=60)
    assert done.returncode == 0, tail(done)
    script = run_dir / "launch.sbatch"
    text = script.read_text()
    assert "#SBATCH --nodes=1" in text and "#SBATCH --ntasks-per-node=1" in text
    assert '--node_rank "$SLURM_NODEID"' in text and "--rdzv_backend c10d" in text
    assert "export TORCH_DIST_INIT_BARRIER=0" in text and "# export NCCL_DEBUG=INFO" in text
    assert "preprocess axolotl.yml" in text
    assert subprocess.run(["bash", "-n", str(script)], check=False).returncode == 0
    assert not list((run_dir / "launches").iterdir())  # nothing runs until the job does
    assert "#SBATCH --cpus-per-task=8" in text  # 8 per process, one process here

    fake = bin_dir(tmp_path, {"srun": SRUN, "scontrol": SCONTROL})
    env = {
        **os.environ,
        "PATH": f"{fake}{os.pathsep}{os.environ['PATH']}",
        "SLURM_JOB_ID": "4242",
        "SLURM_NNODES": "1",
        "SLURM_NODEID": "0",
        "SLURM_JOB_NODELIST": "localhost",
        "MAIN_PORT": str(free_port()),
        "SRUN_CALLS": str(tmp_path / "srun.calls"),
    }
    job = subprocess.run(
        ["bash", str(script)],
        cwd=tmp_path,
        env=env,
        capture_output=True,
        text=True,
        timeout=TRAIN_TIMEOUT,
        check=False,
    )

    assert job.returncode == 0, tail(job)
    assert (run_dir / "outputs" / "adapter_model.safetensors").is_file()
    calls = (tmp_path / "srun.calls").read_text().splitlines()
    assert len(calls) == 2 and "preprocess" in calls[0] and "torchrun" in calls[1]
    # The dataset was tokenized by the preprocess step; training found it there.
    assert any((run_dir / "prepared-data").iterdir())
    assert "Loading prepared dataset from disk" in job.stdout + job.stderr


def test_sbatch_refuses_to_overwrite_without_force(tiny_root: Path, tmp_path: Path) -> None:
    cwd = workspace(tiny_root, tmp_path)
    new_run(cwd, "runs/s")
    assert launch(cwd, "runs/s", "--slurm", "--nodes", "4", timeout=60).returncode == 0
    again = launch(cwd, "runs/s", "--slurm", timeout=60)
    assert again.returncode == 1 and "--force" in again.stderr
    forced = launch(cwd, "runs/s", "--slurm", "--nodes", "2", "--force", timeout=60)
    assert forced.returncode == 0, tail(forced)
    assert "#SBATCH --nodes=2" in (cwd / "runs/s/launch.sbatch").read_text()
