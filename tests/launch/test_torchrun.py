"""`launch --launcher torchrun` (issue 18, proof 1): the command line, then real CPU runs through
torchrun with gloo: two processes on one node, and two "nodes" on one machine (two launches,
ranks 0 and 1 on 127.0.0.1) that meet through the c10d rendezvous."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
from tiny_fixtures import (
    TRAIN_TIMEOUT,
    free_port,
    launch,
    manifest,
    new_run,
    tail,
    tiny_root,
    workspace,
)

from wizard.errors import WizardError
from wizard.launch.command import Layout
from wizard.launch.torchrun import build_torchrun_command, rdzv_id, torchrun_env

__all__ = ["tiny_root"]


def test_the_command_has_the_layout_and_a_stable_rendezvous() -> None:
    layout = Layout(processes_per_node=8, nodes=2, node_rank=1, main_ip="10.0.0.1", main_port=7)
    env = torchrun_env({"deepspeed": "deepspeed/zero3.json", "bf16": True}, layout, "bf16")
    command = build_torchrun_command("axolotl.yml", layout, env)
    line = command.shell_line()
    assert (
        "torchrun --nnodes 2 --nproc_per_node 8 --node_rank 1 --rdzv_backend c10d "
        "--rdzv_endpoint 10.0.0.1:7 --rdzv_id axolotl-"
    ) in line
    assert line.endswith("-m axolotl.cli.train axolotl.yml")
    assert env["ACCELERATE_USE_DEEPSPEED"] == "true"
    assert env["ACCELERATE_DEEPSPEED_CONFIG_FILE"] == "deepspeed/zero3.json"
    assert env["ACCELERATE_MIXED_PRECISION"] == "bf16" and "ACCELERATE_USE_CPU" not in env
    # The same id on every node (rank differs), another for another port.
    assert rdzv_id(layout) == rdzv_id(Layout(8, 2, 0, "10.0.0.1", 7))
    assert rdzv_id(layout) != rdzv_id(Layout(8, 2, 0, "10.0.0.1", 8))
    fsdp = torchrun_env({"fsdp_config": {"fsdp_version": 2}}, Layout(cpu=True), "no", 4)
    assert fsdp["ACCELERATE_USE_FSDP"] == "true" and fsdp["OMP_NUM_THREADS"] == "4"
    assert fsdp["ACCELERATE_USE_CPU"] == "true" and fsdp["FSDP_VERSION"] == "2"
    # No version written: Axolotl trains FSDP1 (its `fsdp_version` default), and so says the env.
    assert (
        torchrun_env({"fsdp_config": {"offload_params": True}}, Layout(), "no")["FSDP_VERSION"]
        == "1"
    )


@pytest.mark.parametrize("host", ["10.0.0.1;rm -rf /", "a b", "-x", "$(id)"])
def test_an_unsafe_main_address_is_refused(host: str) -> None:
    with pytest.raises(WizardError, match="not a host name"):
        build_torchrun_command("c.yml", Layout(nodes=2, main_ip=host), {})
    assert build_torchrun_command("c.yml", Layout(nodes=2, main_ip="fe80::1"), {}).argv[10] == (
        "[fe80::1]:29500"
    )


def test_dry_run_prints_torchrun_and_writes_nothing(tiny_root: Path, tmp_path: Path) -> None:
    cwd = workspace(tiny_root, tmp_path)
    run_dir = new_run(cwd, "runs/t")
    done = launch(
        cwd,
        "runs/t",
        "--launcher",
        "torchrun",
        "--nodes",
        "2",
        "--main-ip",
        "10.0.0.9",
        "--dry-run",
        timeout=60,
    )
    assert done.returncode == 0, tail(done)
    assert "--rdzv_endpoint 10.0.0.9:29500" in done.stdout and "-m axolotl.cli.train" in done.stdout
    assert "export ACCELERATE_USE_CPU=true" in done.stdout and "accelerate.yml" not in done.stdout
    assert not (run_dir / "launches").exists()


@pytest.mark.integration
def test_two_processes_through_torchrun(tiny_root: Path, tmp_path: Path) -> None:
    cwd = workspace(tiny_root, tmp_path)
    run_dir = new_run(cwd, "runs/tr", "training.max_steps=2")

    done = launch(
        cwd, "runs/tr", "--launcher", "torchrun", "--gpus", "2", "--main-port", str(free_port())
    )

    assert done.returncode == 0, tail(done)
    assert (run_dir / "outputs" / "adapter_model.safetensors").is_file()
    record = manifest(run_dir)
    argv = record["argv"]
    assert isinstance(argv, list) and Path(str(argv[0])).name == "torchrun"
    assert "--rdzv_backend" in argv and "--config_file" not in argv
    folder = next(run_dir.glob("launches/*/"))
    assert '"world_size": 2' in (folder / "output.log").read_text()
    assert not (folder / "accelerate.yml").exists()


@pytest.mark.integration
def test_two_nodes_meet_through_the_c10d_rendezvous(tiny_root: Path, tmp_path: Path) -> None:
    """Each "node" has its own copy of the run folder, as separate machines would; c10d gives
    out the ranks, so either of them may be the global main process."""
    cwd = workspace(tiny_root, tmp_path)
    runs = [new_run(cwd, f"node{rank}", "training.max_steps=2") for rank in (0, 1)]
    port = str(free_port())
    children = [
        subprocess.Popen(
            [
                sys.executable,
                "-m",
                "wizard",
                "launch",
                "--no-data-checks",  # tests/launch/test_launch_data_checks.py has them
                str(run_dir),
                "--launcher",
                "torchrun",
                "--nodes",
                "2",
                "--node-rank",
                str(rank),
                "--main-ip",
                "127.0.0.1",
                "--main-port",
                port,
            ],
            cwd=cwd,
            env=os.environ.copy(),
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
        )
        for rank, run_dir in enumerate(runs)
    ]
    try:
        outputs = [child.communicate(timeout=TRAIN_TIMEOUT)[0] for child in children]
    finally:
        for child in children:
            child.kill()
    for child, text in zip(children, outputs, strict=True):
        assert child.returncode == 0, text[-4000:]
    saved = [(r / "outputs" / "adapter_model.safetensors").is_file() for r in runs]
    assert any(saved)
    ids = set()
    for rank, run_dir in enumerate(runs):
        record = manifest(run_dir)
        layout, argv = record["layout"], record["argv"]
        assert isinstance(layout, dict) and isinstance(argv, list)
        assert (layout["nodes"], layout["node_rank"]) == (2, rank)
        ids.add(argv[argv.index("--rdzv_id") + 1])
        log = next(run_dir.glob("launches/*/output.log")).read_text()
        assert '"world_size": 2' in log
    assert len(ids) == 1
