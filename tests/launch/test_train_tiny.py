"""The tiny-cpu run trains for real (issue 2's proof, and issue 6's `launch` proof 1).

`new --preset tiny-cpu --yes` writes the run folder; `launch` runs `accelerate launch -m
axolotl.cli.train` on it with the real accelerate and Axolotl on the CPU; the weights are found.
The full fine-tune variant (`--set method.kind=full`) is in test_launch_multi.py, where it also
proves the two-process run: one training run instead of two keeps CI short.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from tiny_fixtures import launch, manifest, new_run, tail, tiny_root, workspace

pytestmark = pytest.mark.integration
__all__ = ["tiny_root"]

# What a stale `accelerate config` leaves behind; any of these, if used, breaks a one-process CPU
# run (DeepSpeed, 8 processes, GPU 7, fp16).
STALE_DEFAULT = """\
compute_environment: LOCAL_MACHINE
distributed_type: DEEPSPEED
deepspeed_config:
  zero_stage: 3
  offload_optimizer_device: none
gpu_ids: '7'
mixed_precision: fp16
num_machines: 1
num_processes: 8
use_cpu: false
main_training_function: main
"""


def test_lora_run_trains_and_ignores_stale_accelerate_default(
    tiny_root: Path, tmp_path: Path
) -> None:
    cwd = workspace(tiny_root, tmp_path)
    hf_home = tmp_path / "hf-home"
    (hf_home / "accelerate").mkdir(parents=True)
    (hf_home / "accelerate" / "default_config.yaml").write_text(STALE_DEFAULT)
    run_dir = new_run(cwd, "runs/lora")

    # The one training test that runs preview's data checks too: the tiny data passes them.
    done = launch(cwd, "runs/lora", env={"HF_HOME": str(hf_home)}, data_checks=True)

    assert done.returncode == 0, tail(done)
    outputs = run_dir / "outputs"
    assert (outputs / "adapter_model.safetensors").stat().st_size > 0
    assert json.loads((outputs / "adapter_config.json").read_text())["r"] == 8
    record = manifest(run_dir)
    argv = record["argv"]
    assert isinstance(argv, list) and "--config_file" in argv
    folder = run_dir / str(argv[argv.index("--config_file") + 1])
    assert folder.name == "accelerate.yml" and (folder.parent / "axolotl.yml").is_file()
    assert (folder.parent / "output.log").read_text().count("'loss'") >= 1
    versions = record["versions"]
    assert isinstance(versions, dict) and versions["axolotl"] == "0.19.0"
