"""The `accelerate launch` command line for a run (pure: argv and environment, nothing runs).

Every setting is passed explicitly so that a stale `accelerate config` default file in the user's
cache is never what decides the process layout.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Literal

MixedPrecision = Literal["no", "bf16", "fp16"]
DEFAULT_PORT = 29500


@dataclass(frozen=True)
class Layout:
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


@dataclass(frozen=True)
class LaunchCommand:
    argv: list[str]
    env: dict[str, str] = field(default_factory=dict)

    def shell_line(self) -> str:
        import shlex

        env = " ".join(f"{k}={shlex.quote(v)}" for k, v in sorted(self.env.items()))
        command = shlex.join(self.argv)
        return f"{env} {command}" if env else command


def build_launch_command(
    config: str,
    layout: Layout,
    mixed_precision: MixedPrecision,
    extra_args: tuple[str, ...] = (),
    accelerate: tuple[str, ...] = ("accelerate",),
) -> LaunchCommand:
    argv = [
        *accelerate,
        "launch",
        "--num_processes", str(layout.num_processes),
        "--num_machines", str(layout.nodes),
        "--machine_rank", str(layout.node_rank),
        "--main_process_ip", layout.main_ip,
        "--main_process_port", str(layout.main_port),
        "--mixed_precision", mixed_precision,
        "--dynamo_backend", "no",
    ]  # fmt: skip
    env: dict[str, str] = {}
    if layout.num_processes > 1:
        argv.append("--multi_gpu")
    if layout.cpu:
        # `--cpu --num_processes 2` starts one process; `--multi_gpu` with this variable starts
        # real gloo workers on the CPU.
        env["ACCELERATE_USE_CPU"] = "true"
        if layout.num_processes == 1:
            argv.append("--cpu")
    argv += [*extra_args, "-m", "axolotl.cli.train", config]
    return LaunchCommand(argv, env)
