"""FSDP2 launches: accelerate's own config file carries an explicit FSDP block, and accelerate's
own code (its config loader, `accelerate launch` argument checks, the launcher's environment and
`FullyShardedDataParallelPlugin`) reads it back as the run's FSDP2 settings (issue 17)."""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

import pytest
import yaml
from conftest import run_wizard

from wizard.axolotl.fsdp import fsdp_version
from wizard.launch.command import Layout, accelerate_config, build_launch_command
from wizard.launch.fsdp_accelerate import fsdp_block, with_fsdp
from wizard.yamlio import dump_yaml

FSDP2 = {
    "bf16": True,
    "fsdp_version": 2,
    "fsdp_config": {
        "offload_params": False,
        "auto_wrap_policy": "TRANSFORMER_BASED_WRAP",
        "state_dict_type": "FULL_STATE_DICT",
        "reshard_after_forward": True,
        "transformer_layer_cls_to_wrap": "LlamaDecoderLayer",
    },
}
EIGHT = Layout(processes_per_node=8)


def _launch_env(tmp_path: Path, config: dict[str, Any], layout: Layout) -> dict[str, str]:
    """What `accelerate launch` would put in the children's environment for our file + argv."""
    from accelerate.commands.launch import _validate_launch_command, launch_command_parser
    from accelerate.utils.launch import prepare_multi_gpu_env

    accelerate = with_fsdp(accelerate_config(layout, "bf16"), config)
    path = tmp_path / "accelerate.yml"
    path.write_text(dump_yaml(accelerate))
    command = build_launch_command("axolotl.yml", layout, "bf16", config_file=str(path),
                                   fsdp=accelerate["distributed_type"] == "FSDP")  # fmt: skip
    assert command.argv[1] == "launch"
    args = launch_command_parser().parse_args(command.argv[2:])
    args, _, _ = _validate_launch_command(args)
    assert args.use_fsdp and not args.multi_gpu
    env: dict[str, str] = prepare_multi_gpu_env(args)
    return env


def _plugin(env: dict[str, str], monkeypatch: pytest.MonkeyPatch) -> Any:
    from accelerate.utils import FullyShardedDataParallelPlugin

    for key in [k for k in os.environ if k.startswith(("FSDP_", "ACCELERATE_"))]:
        monkeypatch.delenv(key)
    for key, value in env.items():
        if key.startswith(("FSDP_", "ACCELERATE_USE_FSDP")):
            monkeypatch.setenv(key, value)
    return FullyShardedDataParallelPlugin()


@pytest.mark.integration
def test_accelerate_reads_the_fsdp2_block_as_the_run_says(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    env = _launch_env(tmp_path, FSDP2, EIGHT)
    assert env["ACCELERATE_USE_FSDP"] == "true" and env["FSDP_VERSION"] == "2"
    plugin = _plugin(env, monkeypatch)
    assert plugin.fsdp_version == 2
    assert plugin.transformer_cls_names_to_wrap == ["LlamaDecoderLayer"]
    assert str(plugin.state_dict_type).endswith("FULL_STATE_DICT")
    assert plugin.reshard_after_forward is True
    assert plugin.cpu_ram_efficient_loading is False
    assert type(plugin.cpu_offload).__name__ == "OffloadPolicy"  # FSDP2: no offload


@pytest.mark.integration
def test_offload_and_ram_efficient_loading_reach_the_plugin(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    settings = {**FSDP2["fsdp_config"], "offload_params": True, "cpu_ram_efficient_loading": True}
    env = _launch_env(tmp_path, {**FSDP2, "fsdp_config": settings}, EIGHT)
    assert env["FSDP_SYNC_MODULE_STATES"] == "true"  # else the launcher refuses (next test)
    plugin = _plugin(env, monkeypatch)
    assert type(plugin.cpu_offload).__name__ == "CPUOffloadPolicy"
    assert plugin.cpu_ram_efficient_loading is True


@pytest.mark.integration
def test_the_block_is_needed_accelerate_defaults_would_load_on_rank_0(tmp_path: Path) -> None:
    """Without the block, `--use_fsdp` turns on RAM-efficient loading (which Axolotl refuses with
    4-bit weights), and accelerate refuses that loading without sync_module_states: both checks
    are accelerate's own, so the block's values are the ones that decide."""
    from accelerate.commands.launch import _validate_launch_command, launch_command_parser
    from accelerate.utils.launch import prepare_multi_gpu_env

    bare = accelerate_config(EIGHT, "bf16")
    path = tmp_path / "bare.yml"
    path.write_text(dump_yaml({**bare, "distributed_type": "FSDP"}))
    argv = build_launch_command("a.yml", EIGHT, "bf16", config_file=str(path), fsdp=True).argv
    args, _, _ = _validate_launch_command(launch_command_parser().parse_args(argv[2:]))
    assert prepare_multi_gpu_env(args)["FSDP_CPU_RAM_EFFICIENT_LOADING"] == "true"
    args.fsdp_sync_module_states = False
    with pytest.raises(ValueError, match="sync_module_states"):
        prepare_multi_gpu_env(args)


def test_multi_node_and_single_process_layouts() -> None:
    two_nodes = with_fsdp(accelerate_config(Layout(8, nodes=2, node_rank=1), "bf16"), FSDP2)
    assert two_nodes["distributed_type"] == "FSDP" and two_nodes["num_machines"] == 2
    assert two_nodes["num_processes"] == 16 and two_nodes["machine_rank"] == 1
    one = with_fsdp(accelerate_config(Layout(1), "bf16"), FSDP2)
    assert one["distributed_type"] == "NO" and "fsdp_config" not in one
    plain = with_fsdp(accelerate_config(EIGHT, "bf16"), {"bf16": True})
    assert plain["distributed_type"] == "MULTI_GPU" and "fsdp_config" not in plain


def test_fsdp1_and_prefixed_keys_are_read_as_axolotl_reads_them() -> None:
    wrap = {"fsdp_transformer_layer_cls_to_wrap": "MistralDecoderLayer"}
    old = {"fsdp": ["full_shard", "auto_wrap", "offload"], "fsdp_config": wrap}
    block = fsdp_block(old)
    assert block is not None and fsdp_version(old) == 1
    assert block["fsdp_reshard_after_forward"] == "FULL_SHARD" and block["fsdp_offload_params"]
    assert block["fsdp_transformer_layer_cls_to_wrap"] == "MistralDecoderLayer"
    assert fsdp_version({"fsdp_config": {"version": 2}}) == 2
    assert fsdp_block({"bf16": True}) is None


def _fsdp_run(tmp_path: Path) -> Path:
    turns = [{"role": "user", "content": "a"}, {"role": "assistant", "content": "b"}]
    (tmp_path / "d.jsonl").write_text(json.dumps({"messages": turns}) + "\n")
    done = run_wizard("new", "run", "--preset", "llama-3.1-8b-full-zero3", "--yes",
                      "--set", "distributed.backend=fsdp", "--set", "datasets.0.path=d.jsonl",
                      cwd=tmp_path)  # fmt: skip
    assert done.returncode == 0, done.stderr
    return tmp_path / "run"


def _heredoc(text: str) -> dict[str, Any]:
    body = text.split("<<'EOF'\n", 1)[1].split("\nEOF", 1)[0]
    loaded: dict[str, Any] = yaml.safe_load(body)
    return loaded


@pytest.mark.integration
def test_dry_run_and_slurm_carry_fsdp(tmp_path: Path) -> None:
    run = _fsdp_run(tmp_path)
    config = yaml.safe_load((run / "axolotl.yml").read_text())
    assert config["fsdp_config"]["transformer_layer_cls_to_wrap"] == "LlamaDecoderLayer"
    dry = run_wizard("launch", "run", "--dry-run", cwd=tmp_path)
    shown = _heredoc(dry.stdout)
    assert shown["distributed_type"] == "FSDP" and shown["fsdp_config"] == fsdp_block(config)
    assert "--use_fsdp" in dry.stdout and "--multi_gpu" not in dry.stdout
    slurm = run_wizard("launch", "run", "--slurm", "--nodes", "2", "--no-data-checks", cwd=tmp_path)
    assert slurm.returncode == 0, slurm.stderr
    # The Slurm script starts torchrun on every node (Axolotl's own way): the FSDP switch that
    # accelerate's launcher would set is exported, and Axolotl reads the rest from the YAML.
    script = (run / "launch.sbatch").read_text()
    assert "export ACCELERATE_USE_FSDP=true" in script and "export FSDP_VERSION=2" in script
    assert '--nnodes "$SLURM_NNODES"' in script and "--nproc_per_node 8" in script


@pytest.mark.integration
def test_a_cpu_launch_of_an_fsdp_config_is_refused_before_it_starts(tmp_path: Path) -> None:
    """Axolotl and accelerate run FSDP on GPUs only: `launch --cpu` of an FSDP config (a GPU
    run's, or one written by hand) says so in preflight instead of starting processes that
    fail. (`new` refuses FSDP with `hardware.accelerator=cpu` already.)"""
    _fsdp_run(tmp_path)
    done = run_wizard("launch", "run", "--cpu", "--dry-run", cwd=tmp_path)
    assert done.returncode == 1
    assert "`fsdp_config` on CPU processes: Axolotl and accelerate run FSDP on GPUs only" in (
        done.stderr
    )
    assert "Traceback" not in done.stderr
