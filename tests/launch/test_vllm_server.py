"""GRPO with vLLM in server mode (issue 16, launched by issue 18's `launch`): the GPU split between
`axolotl vllm-serve` and the trainers, the dry run, and a server that starts with the trainers and
is stopped with them (a stand-in server process; the split and the process handling are real)."""

from __future__ import annotations

import os
import sys
from pathlib import Path

import pytest
import yaml
from tiny_fixtures import launch, tail

from wizard.errors import WizardError
from wizard.launch.child import run_child
from wizard.launch.command import LaunchCommand, Layout
from wizard.launch.vllm_server import generation_gpus, server_plan, serving, split_devices

GRPO = {"rl": "grpo", "trl": {"use_vllm": True, "vllm_mode": "server"}}


def test_which_configs_start_a_server() -> None:
    assert generation_gpus(GRPO) == 1
    assert (
        generation_gpus({**GRPO, "vllm": {"tensor_parallel_size": 2, "data_parallel_size": 2}}) == 4
    )
    assert generation_gpus({**GRPO, "trl": {"use_vllm": True, "vllm_mode": "colocate"}}) is None
    assert generation_gpus({**GRPO, "rl": "dpo"}) is None
    assert generation_gpus({"rl": "grpo", "trl": {"use_vllm": False}}) is None
    # The switch as Axolotl's schema reads it: "true" starts TRL's client, so the server too.
    assert generation_gpus({**GRPO, "trl": {"use_vllm": "true", "vllm_mode": "server"}}) == 1
    assert generation_gpus({**GRPO, "trl": {"use_vllm": "false", "vllm_mode": "server"}}) is None
    with pytest.raises(WizardError, match="not counts"):
        generation_gpus({**GRPO, "vllm": {"tensor_parallel_size": "two"}})


def test_the_split(monkeypatch: pytest.MonkeyPatch) -> None:
    assert split_devices(["0", "1", "2", "3"], 1) == (["0"], ["1", "2", "3"])
    with pytest.raises(WizardError, match="none is left to train on"):
        split_devices(["0", "1"], 2)
    monkeypatch.setenv("CUDA_VISIBLE_DEVICES", "4,5,6,7")
    config = {**GRPO, "vllm": {"tensor_parallel_size": 2}}
    plan = server_plan(config, Layout(processes_per_node=4), ("axolotl",), "axolotl.yml")
    assert plan is not None
    server, trainers = plan
    assert server.argv == ["axolotl", "vllm-serve", "axolotl.yml"]
    assert server.env == {"CUDA_VISIBLE_DEVICES": "4,5"} and trainers == ["6", "7"]
    assert server_plan(config, Layout(4, cpu=True), ("axolotl",), "c.yml") is None
    with pytest.raises(WizardError, match="one node only"):
        server_plan(config, Layout(4, nodes=2), ("axolotl",), "c.yml")


def test_dry_run_shows_both_processes(tmp_path: Path) -> None:
    config = {
        "base_model": "org/model",
        **GRPO,
        "vllm": {"tensor_parallel_size": 1},
        "datasets": [{"path": "org/data", "type": "chat_template"}],
        "micro_batch_size": 1,
        "gradient_accumulation_steps": 1,
        "output_dir": "./out",
    }
    (tmp_path / "grpo.yml").write_text(yaml.safe_dump(config))
    done = launch(
        tmp_path,
        "grpo.yml",
        "--gpus",
        "4",
        "--dry-run",
        timeout=60,
        env={"CUDA_VISIBLE_DEVICES": ""},
    )
    # No GPU here: preflight warns (a dry run is for another machine); the dry run prints what
    # would run whatever preflight found.
    assert "warning: the plan needs 4 GPU(s)" in done.stderr, tail(done)
    assert "CUDA_VISIBLE_DEVICES=0 " in done.stdout and "vllm-serve grpo.yml &" in done.stdout, (
        tail(done)
    )
    assert "export CUDA_VISIBLE_DEVICES=1,2,3" in done.stdout
    assert "--num_processes 3" in done.stdout and "trap 'kill $!' EXIT" in done.stdout


SERVER = """\
import os, pathlib, signal, sys, time
pathlib.Path(sys.argv[1]).write_text(f"{os.getpid()} {os.environ['CUDA_VISIBLE_DEVICES']}")
time.sleep(120)
"""
TRAINER = """\
import os, pathlib, sys, time
for _ in range(200):
    seen = pathlib.Path(sys.argv[1])
    if seen.is_file() and seen.read_text():
        break
    time.sleep(0.05)
pid, devices = seen.read_text().split()
os.kill(int(pid), 0)  # the server is running while the trainer does
print("trainer saw server", pid, devices, "trainer has", os.environ["CUDA_VISIBLE_DEVICES"])
"""


def test_server_starts_with_the_trainers_and_stops_with_them(tmp_path: Path) -> None:
    (tmp_path / "server.py").write_text(SERVER)
    (tmp_path / "trainer.py").write_text(TRAINER)
    seen = tmp_path / "server.pid"
    plan = server_plan(GRPO, Layout(processes_per_node=2), (sys.executable, "server.py"), str(seen))
    assert plan is not None
    server, trainers = plan
    server = LaunchCommand([sys.executable, "server.py", str(seen)], server.env)
    trainer = LaunchCommand(
        [sys.executable, "trainer.py", str(seen)], {"CUDA_VISIBLE_DEVICES": ",".join(trainers)}
    )
    with serving(server, tmp_path, tmp_path / "server.log"):
        ended = run_child(trainer, tmp_path, tmp_path / "trainer.log", None)
    assert ended.code == 0, ended.tail
    pid = int(seen.read_text().split()[0])
    assert "trainer saw server" in ended.tail and "has 1" in ended.tail
    assert seen.read_text().endswith(" 0")
    with pytest.raises(ProcessLookupError):
        os.kill(pid, 0)  # stopped with the trainers (SIGTERM to its group), not left running
