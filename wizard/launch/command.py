"""The `accelerate launch` command line for a run (pure: argv, environment and accelerate's own
config file, nothing runs).

Every setting is passed explicitly. On top of that, `launch` hands accelerate a config file of
our own (`--config_file`): without one, accelerate reads the user's stale
`~/.cache/huggingface/accelerate/default_config.yaml` and takes every value the command line does
not set from it — `distributed_type: DEEPSPEED` there silently turns a one-GPU run into a
DeepSpeed run, `gpu_ids` there hides GPUs. With our file, that default is never opened.
"""

import shlex
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any, Literal

from wizard.axolotl import keys as K
from wizard.axolotl.view import AxolotlConfig, view_of
from wizard.records import Record

if TYPE_CHECKING:
    from wizard.runspec import RunSpec

MixedPrecision = Literal["no", "bf16", "fp16"]
DEFAULT_PORT = 29500
TRAIN_MODULE = "axolotl.cli.train"


class Layout(Record):
    """Where the processes run: how many per node, how many nodes, and this node's place."""

    processes_per_node: int = 1
    nodes: int = 1
    node_rank: int = 0
    main_ip: str = "127.0.0.1"
    main_port: int = DEFAULT_PORT
    cpu: bool = False

    @property
    def num_processes(self) -> int:
        return self.processes_per_node * self.nodes

    @property
    def multi_process(self) -> bool:
        return self.num_processes > 1


class LaunchCommand(Record):
    argv: list[str]
    env: Mapping[str, str] = {}  # read-only: the one default is shared

    def shell_line(self) -> str:
        env = " ".join(f"{k}={shlex.quote(v)}" for k, v in sorted(self.env.items()))
        command = shlex.join(self.argv)
        return f"{env} {command}" if env else command


def layout_for(spec: "RunSpec") -> Layout:
    """The process layout the answers plan: GPUs per node, nodes, CPU or CUDA."""
    return Layout(
        processes_per_node=spec.hardware.gpus_per_node,
        nodes=spec.hardware.nodes,
        cpu=spec.hardware.accelerator == "cpu",
    )


def precision_of(config: Mapping[str, Any] | AxolotlConfig) -> MixedPrecision:
    """accelerate's --mixed_precision from the config's own keys (`bf16: auto` counts as bf16),
    so the launch line can never disagree with what Axolotl reads."""
    view = view_of(config)
    if view.on(K.BF16):
        return "bf16"
    if view.on(K.FP16):
        return "fp16"
    return "no"


def build_launch_command(
    config: str,
    layout: Layout,
    mixed_precision: MixedPrecision,
    extra_args: tuple[str, ...] = (),
    accelerate: tuple[str, ...] = ("accelerate",),
    config_file: str | None = None,
    train_args: tuple[str, ...] = (),
    cpu_threads: int | None = None,
    fsdp: bool = False,
) -> LaunchCommand:
    """`accelerate launch … -m axolotl.cli.train CONFIG [train_args]`.

    `extra_args` go to accelerate (what the user put after `--`); `train_args` go to Axolotl,
    whose CLI reads `--key=value` as config overrides (that is how `--resume` is passed).
    `fsdp`: the config file has accelerate's FSDP block, which only `--use_fsdp` reads.
    """
    argv = [*accelerate, "launch"]
    if config_file is not None:
        argv += ["--config_file", config_file]
    argv += [
        "--num_processes", str(layout.num_processes),
        "--num_machines", str(layout.nodes),
        "--machine_rank", str(layout.node_rank),
        "--main_process_ip", layout.main_ip,
        "--main_process_port", str(layout.main_port),
        "--mixed_precision", mixed_precision,
        "--dynamo_backend", "no",
    ]  # fmt: skip
    env: dict[str, str] = {}
    if layout.multi_process:
        argv.append("--use_fsdp" if fsdp else "--multi_gpu")
    if layout.cpu:
        # `--cpu --num_processes 2` starts one process; `--multi_gpu` with this variable starts
        # real gloo workers on the CPU.
        env["ACCELERATE_USE_CPU"] = "true"
        if not layout.multi_process:
            argv.append("--cpu")
        if cpu_threads is not None:
            argv += ["--num_cpu_threads_per_process", str(cpu_threads)]
    argv += [*extra_args, "-m", TRAIN_MODULE, config, *train_args]
    return LaunchCommand(argv, env)


def accelerate_config(layout: Layout, mixed_precision: MixedPrecision) -> dict[str, Any]:
    """accelerate's own config file, agreeing with the command line flag for flag.

    The flags win wherever both say something; the file exists so that the fields the flags do
    not cover (distributed_type, gpu_ids, use_cpu, deepspeed/fsdp blocks) come from us and not
    from the user's default config.
    """
    return {
        "compute_environment": "LOCAL_MACHINE",
        "distributed_type": "MULTI_GPU" if layout.multi_process else "NO",
        "mixed_precision": mixed_precision,
        "use_cpu": layout.cpu,
        "debug": False,
        "num_processes": layout.num_processes,
        "num_machines": layout.nodes,
        "machine_rank": layout.node_rank,
        "main_process_ip": layout.main_ip,
        "main_process_port": layout.main_port,
        "gpu_ids": "all",
        "rdzv_backend": "static",
        "same_network": True,
        "main_training_function": "main",
        "enable_cpu_affinity": False,
        "downcast_bf16": "no",
        "tpu_use_cluster": False,
        "tpu_use_sudo": False,
    }
