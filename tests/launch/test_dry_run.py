"""`launch --dry-run` prepares a launch for another machine (issue 26, item 12): on this GPU-less
machine what it lacks is a warning and the dry run succeeds, while a real launch still refuses;
`--slurm --dry-run` prints the sbatch script; a run planned with distributed.launcher=ray is a Ray
job by default, and its dry run needs no Ray here (Ray is never imported).

No training here: the model folder only needs what preflight reads.
"""

from __future__ import annotations

import os
import sys
from pathlib import Path

import pytest
from conftest import REPO
from test_launch_preflight import cwd  # the folder preflight reads: model config, data
from tiny_fixtures import bin_dir, launch, new_run, path_without, tail

__all__ = ["cwd"]

NO_GPU = {"PATH": path_without("nvidia-smi")}
RAY_ON_GPUS = (
    "distributed.launcher=ray",
    "hardware.accelerator=cuda",
    "training.precision=fp32",
    "training.attention=sdpa",
    "hardware.gpus_per_node=2",
)


def test_a_dry_run_warns_of_the_missing_gpus_and_a_launch_refuses(cwd: Path) -> None:
    run_dir = new_run(cwd, "runs/gpu", "hardware.accelerator=cuda", "hardware.gpus_per_node=2")

    dry = launch(cwd, "runs/gpu", "--dry-run", env=NO_GPU, timeout=120)

    assert dry.returncode == 0, tail(dry)
    assert "warning: the plan needs 2 GPU(s) on this node, and none is visible" in dry.stderr
    assert "a launch on this machine would stop here" in dry.stderr
    assert "error:" not in dry.stderr and "--num_processes 2" in dry.stdout
    real = launch(cwd, "runs/gpu", env=NO_GPU, timeout=120)
    assert real.returncode == 1 and "error: the plan needs 2 GPU(s)" in real.stderr
    assert "nothing was started" in real.stderr and not (run_dir / "launches").exists()


def test_a_dry_run_warns_of_too_few_gpus(cwd: Path, tmp_path: Path) -> None:
    smi = bin_dir(tmp_path, {"nvidia-smi": "echo 1024"})  # one GPU with 1 GiB
    new_run(cwd, "runs/two", "hardware.accelerator=cuda", "hardware.gpus_per_node=2")
    dry = launch(cwd, "runs/two", "--dry-run", timeout=120,
                 env={"PATH": f"{smi}{os.pathsep}{os.environ['PATH']}"})  # fmt: skip
    assert dry.returncode == 0, tail(dry)
    assert "warning: the plan needs 2 GPUs on this node, and 1 are visible" in dry.stderr


def test_slurm_dry_run_prints_the_script_it_would_write(cwd: Path) -> None:
    run_dir = new_run(cwd, "runs/s", "hardware.accelerator=cuda", "hardware.gpus_per_node=4")
    args = ("runs/s", "--slurm", "--nodes", "2", "--slurm-time", "02:00:00")

    dry = launch(cwd, *args, "--dry-run", env=NO_GPU, timeout=120)

    assert dry.returncode == 0, tail(dry)
    header, script = dry.stdout.split("\n", 1)
    assert (
        header == f"# axolotl-wizard launch --slurm --dry-run: would write "
        f"{run_dir.resolve() / 'launch.sbatch'}"
    )
    assert script.startswith("#!/bin/bash\n") and "#SBATCH --nodes=2" in script
    assert "#SBATCH --gpus-per-node=4" in script and "#SBATCH --time=02:00:00" in script
    assert not (run_dir / "launch.sbatch").exists() and not (run_dir / "launches").exists()
    written = launch(cwd, *args, env=NO_GPU, timeout=120)
    assert written.returncode == 0, tail(written)
    assert (run_dir / "launch.sbatch").read_text() == script  # exactly what the dry run showed


@pytest.fixture
def no_ray(tmp_path: Path) -> tuple[Path, dict[str, str]]:
    """A Python with no `ray` beside it, and a `ray` package that leaves a mark and fails when
    anything imports it (in the wizard's process or any it starts with this environment)."""
    python = bin_dir(tmp_path, {"python": f'exec {sys.executable} "$@"'}) / "python"
    shim = tmp_path / "shim" / "ray"
    shim.mkdir(parents=True)
    mark = tmp_path / "ray-was-imported"
    shim.joinpath("__init__.py").write_text(
        f"open({str(mark)!r}, 'w').close()\nraise ImportError('ray is not installed here')\n"
    )
    env = {"PYTHONPATH": os.pathsep.join([str(shim.parent), str(REPO)]), **NO_GPU}
    return python, env


def test_a_ray_run_dry_runs_as_a_ray_job_without_ray_here(
    cwd: Path, tmp_path: Path, no_ray: tuple[Path, dict[str, str]]
) -> None:
    python, env = no_ray
    run_dir = new_run(cwd, "runs/r", *RAY_ON_GPUS)

    dry = launch(cwd, "runs/r", "--dry-run", "--python", str(python), env=env, timeout=120)

    assert dry.returncode == 0, tail(dry)
    assert not (tmp_path / "ray-was-imported").exists()
    assert "a Ray job of 2 worker(s)" in dry.stdout
    assert "planned with distributed.launcher=ray" in dry.stdout and "without --ray" in dry.stdout
    submit = dry.stdout.splitlines()[-1]
    assert submit.startswith("ray job submit --address http://127.0.0.1:8265 --working-dir "
                             f"{run_dir.resolve()} ")  # fmt: skip
    assert submit.endswith("-- axolotl train axolotl.yml --use-ray --ray-num-workers=2")
    assert f"warning: ray is not installed for {python}" in dry.stderr
    assert "pip install 'ray[default]'" in dry.stderr and "none is visible" not in dry.stderr


def test_a_ray_run_launches_through_ray_and_refuses_without_it(
    cwd: Path, no_ray: tuple[Path, dict[str, str]]
) -> None:
    python, env = no_ray
    run_dir = new_run(cwd, "runs/r", *RAY_ON_GPUS)
    done = launch(cwd, "runs/r", "--python", str(python), env=env, timeout=120)
    assert done.returncode == 1, tail(done)
    assert f"error: ray is not installed for {python}" in done.stderr
    assert "nothing was started" in done.stderr and not (run_dir / "launches").exists()
    # Another launcher would start Ray Train once per process (Axolotl's train starts it
    # itself when use_ray is on): refused in one line, Slurm's torchrun script included.
    for flags in (("--launcher", "accelerate"), ("--slurm",)):
        other = launch(cwd, "runs/r", *flags, "--dry-run", env=env, timeout=120)
        assert other.returncode == 1 and "turns on use_ray" in other.stderr, flags
        assert other.stderr.count("error:") == 1 and "Traceback" not in other.stderr
