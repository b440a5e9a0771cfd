"""Ray (issue 18, proof 4): `distributed.launcher: ray` renders Axolotl's Ray keys, and
`launch --ray` submits the run to a real Ray head started here, as far as it can go without a
GPU: Axolotl's Ray path asks Ray for one GPU per worker (`use_gpu=True`), and the test stops the
job once the request for them is in the job's log."""

from __future__ import annotations

import contextlib
import os
import re
import signal
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
import yaml
from conftest import run_wizard
from tiny_fixtures import free_port, launch, new_run, tail, tiny_root, workspace

from wizard.errors import WizardError
from wizard.launch.command import Layout
from wizard.launch.ray_job import ray_address, ray_command

__all__ = ["tiny_root"]

RAY = Path(sys.executable).parent / "ray"
HEAD_START_S = 90
GPU_REQUEST_S = 240
# Ray runs train on GPUs only (Axolotl's `use_gpu=True`): the tiny run, planned for GPUs, in fp32
# so that Axolotl's validation on this GPU-less machine lets the job reach its GPU request.
RAY_ON_GPUS = (
    "distributed.launcher=ray",
    "hardware.accelerator=cuda",
    "training.precision=fp32",
    "training.attention=sdpa",
)
ASKED_FOR_GPUS = re.compile(r"Requesting resources: \{'GPU': 1\}|resource request \{'GPU'")


def test_the_submit_command() -> None:
    command = ray_command(
        "axolotl.yml", Layout(4, 2), Path("/runs/r"), "http://h:8265", ("ray",), "./outputs"
    )
    assert command.argv[:7] == [
        "ray",
        "job",
        "submit",
        "--address",
        "http://h:8265",
        "--working-dir",
        "/runs/r",
    ]
    assert command.argv[command.argv.index("--") + 1 :] == [
        "axolotl",
        "train",
        "axolotl.yml",
        "--use-ray",
        "--ray-num-workers=8",
    ]
    assert '"outputs"' in command.argv[command.argv.index("--runtime-env-json") + 1]
    for bad in ("http://h:8265 --x", "h\n", "$(id)", "-x"):
        with pytest.raises(WizardError, match="not an address"):
            ray_address(bad)


def test_the_answer_renders_axolotls_ray_keys(tiny_root: Path, tmp_path: Path) -> None:
    cwd = workspace(tiny_root, tmp_path)
    run_dir = new_run(cwd, "runs/r", *RAY_ON_GPUS, "hardware.gpus_per_node=4", "hardware.nodes=2")
    config = yaml.safe_load((run_dir / "axolotl.yml").read_text())
    assert config["use_ray"] is True and config["ray_num_workers"] == 8
    assert config["resources_per_worker"] == {"GPU": 1}
    plain = yaml.safe_load((new_run(cwd, "runs/p") / "axolotl.yml").read_text())
    assert "use_ray" not in plain


def test_ray_on_the_cpu_is_refused_in_one_line(tiny_root: Path, tmp_path: Path) -> None:
    cwd = workspace(tiny_root, tmp_path)
    done = run_wizard("new", "runs/c", "--preset", "tiny-cpu", "--yes",
                      "--set", "distributed.launcher=ray", cwd=cwd)  # fmt: skip
    assert done.returncode == 1 and not (cwd / "runs" / "c").exists()
    assert done.stderr.splitlines()[0].startswith("error: ") and "use_gpu=True" in done.stderr
    assert "distributed.launcher=accelerate" in done.stderr and "Traceback" not in done.stderr


def test_no_ray_is_one_line(tiny_root: Path, tmp_path: Path) -> None:
    """A launch needs the Ray client here; a dry run (for another machine) only warns."""
    cwd = workspace(tiny_root, tmp_path)
    run_dir = new_run(cwd, "runs/n")
    python = tmp_path / "env" / "bin" / "python"
    python.parent.mkdir(parents=True)
    python.symlink_to(sys.executable)
    done = launch(cwd, "runs/n", "--ray", "--python", str(python), timeout=60)
    assert done.returncode == 1 and "error: ray is not installed" in done.stderr
    assert "pip install 'ray[default]'" in done.stderr and not (run_dir / "launches").exists()
    dry = launch(cwd, "runs/n", "--ray", "--python", str(python), "--dry-run", timeout=60)
    assert "warning: ray is not installed" in dry.stderr and "ray job submit" in dry.stdout


@pytest.fixture
def ray_head(tmp_path: Path) -> Iterator[str]:
    """A Ray head on 127.0.0.1 with its job server, every port free, in a session of its own;
    stopped by its process ids (never `ray stop`, which stops every Ray on the machine)."""
    if not RAY.is_file():
        pytest.skip("ray is not installed (pip install 'ray[default]')")
    dashboard = free_port()
    ports = {
        "--port": free_port(),
        "--dashboard-port": dashboard,
        "--ray-client-server-port": free_port(),
        "--node-manager-port": free_port(),
        "--object-manager-port": free_port(),
        "--metrics-export-port": free_port(),
        "--dashboard-agent-listen-port": free_port(),
        "--dashboard-agent-grpc-port": free_port(),
        "--runtime-env-agent-port": free_port(),
    }
    temp = tempfile.mkdtemp(prefix="rt", dir="/tmp")  # Ray's socket paths must stay short
    argv = [
        str(RAY),
        "start",
        "--head",
        "--block",
        "--node-ip-address=127.0.0.1",
        "--num-cpus=1",
        "--num-gpus=0",
        "--include-dashboard=true",
        "--dashboard-host=127.0.0.1",
        f"--temp-dir={temp}",
        "--disable-usage-stats",
        *[f"{flag}={port}" for flag, port in ports.items()],
    ]
    env = {
        **os.environ,
        "RAY_USAGE_STATS_ENABLED": "0",
        "PATH": f"{RAY.parent}{os.pathsep}{os.environ['PATH']}",
    }
    head = subprocess.Popen(
        argv, env=env, start_new_session=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
    )
    address = f"http://127.0.0.1:{dashboard}"
    try:
        _wait_for(address, head)
        yield address
    finally:
        _stop_session(head)


def _wait_for(address: str, head: subprocess.Popen[bytes]) -> None:
    import urllib.request

    deadline = time.monotonic() + HEAD_START_S
    while time.monotonic() < deadline:
        assert head.poll() is None, "ray start --head exited"
        try:
            with urllib.request.urlopen(f"{address}/api/version", timeout=2):
                return
        except OSError:
            time.sleep(1)
    pytest.fail(f"the Ray head's job server did not answer in {HEAD_START_S} s")


def _stop_session(head: subprocess.Popen[bytes]) -> None:
    """SIGTERM to the head (it stops its own processes), then SIGKILL to whatever of its session
    is left (Ray's workers run in process groups of their own)."""
    head.send_signal(signal.SIGTERM)
    try:
        head.wait(timeout=5)
    except subprocess.TimeoutExpired:
        head.kill()
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        if int(fields[3]) == head.pid:  # the session id
            with contextlib.suppress(OSError):
                os.kill(int(stat.parent.name), signal.SIGKILL)
    head.wait(timeout=10)


@pytest.mark.integration
def test_the_job_reaches_a_real_ray_head(tiny_root: Path, tmp_path: Path, ray_head: str) -> None:
    cwd = workspace(tiny_root, tmp_path)
    run_dir = new_run(cwd, "runs/ray", *RAY_ON_GPUS, "training.max_steps=1")
    # The job runs in Ray's copy of the run folder: paths outside it must be absolute (a shared
    # file system), as on a real cluster.
    config = (run_dir / "axolotl.yml").read_text().replace("../../", f"{cwd}/")
    (run_dir / "axolotl.yml").write_text(config.replace("./outputs", f"{tmp_path}/out"))

    # No --ray: a run planned with distributed.launcher=ray is submitted to Ray by default.
    done = launch(cwd, "runs/ray", "--ray-address", ray_head, "--", "--no-wait", timeout=120)

    assert done.returncode == 0, tail(done)
    job = re.search(r"raysubmit_\w+", done.stdout + done.stderr)
    assert job, tail(done)
    logs = ""
    deadline = time.monotonic() + GPU_REQUEST_S
    while time.monotonic() < deadline and not ASKED_FOR_GPUS.search(logs):
        time.sleep(3)
        logs = subprocess.run(
            [str(RAY), "job", "logs", "--address", ray_head, job.group()],
            capture_output=True,
            text=True,
            timeout=60,
            check=False,
        ).stdout
    subprocess.run(
        [str(RAY), "job", "stop", "--address", ray_head, job.group()],
        capture_output=True,
        timeout=60,
        check=False,
    )
    assert ASKED_FOR_GPUS.search(logs), logs[-4000:]
    assert '"use_ray": true' in logs
