"""The pure parts of launch: the command, accelerate's config, the failure line, Slurm quoting."""

from __future__ import annotations

from pathlib import Path

import pytest

from wizard.errors import WizardError
from wizard.launch.child import failure_cause
from wizard.launch.cluster import parse_hostfile, slurm_line
from wizard.launch.command import Layout, accelerate_config, build_launch_command
from wizard.launch.torchrun import build_torchrun_command


def test_every_layout_setting_is_on_the_command_line_and_in_the_config_file() -> None:
    layout = Layout(processes_per_node=8, nodes=2, node_rank=1, main_ip="10.0.0.1", main_port=7)
    command = build_launch_command("axolotl.yml", layout, "bf16", config_file="l/accelerate.yml")
    line = command.shell_line()
    assert (
        "--config_file l/accelerate.yml --num_processes 16 --num_machines 2 --machine_rank 1 "
        "--main_process_ip 10.0.0.1 --main_process_port 7 --mixed_precision bf16"
    ) in line
    assert line.endswith("--multi_gpu -m axolotl.cli.train axolotl.yml")
    config = accelerate_config(layout, "bf16")
    assert config["distributed_type"] == "MULTI_GPU" and config["num_processes"] == 16
    assert config["use_cpu"] is False and config["gpu_ids"] == "all"


def test_cpu_layouts() -> None:
    one = build_launch_command("c.yml", Layout(cpu=True), "no", cpu_threads=2)
    assert one.env == {"ACCELERATE_USE_CPU": "true"} and "--cpu" in one.argv
    two = build_launch_command("c.yml", Layout(processes_per_node=2, cpu=True), "no")
    assert "--multi_gpu" in two.argv and "--cpu" not in two.argv


def test_failure_cause_skips_the_launchers_re_raise() -> None:
    output = (
        "Traceback (most recent call last):\n"
        "[rank0]: KeyError: 'instruction'\r\n"
        "torch.distributed.elastic.multiprocessing.errors.ChildFailedError: \n"
        "subprocess.CalledProcessError: Command '['python']' returned non-zero exit status 1.\n"
    )
    assert failure_cause(output) == "KeyError: 'instruction'"
    assert failure_cause("all fine\n") is None


def test_slurm_line_reads_the_node_values_from_slurm() -> None:
    layout = Layout(processes_per_node=4, nodes=2)
    command = build_torchrun_command("my config.yml", layout, {})
    line = slurm_line(command)
    assert '--node_rank "$SLURM_NODEID"' in line and '--nnodes "$SLURM_NNODES"' in line
    assert '--rdzv_endpoint "$MAIN_IP:$MAIN_PORT"' in line and '--rdzv_id "$SLURM_JOB_ID"' in line
    assert "--nproc_per_node 4" in line and '"my config.yml"' in line
    assert "'" not in line


def test_hostfile_errors(tmp_path: Path) -> None:
    path = tmp_path / "hosts"
    path.write_text("node1 slots=eight\n")
    with pytest.raises(WizardError, match="hosts:1"):
        parse_hostfile(path)
    path.write_text("# nothing\n")
    with pytest.raises(WizardError, match="lists no hosts"):
        parse_hostfile(path)
