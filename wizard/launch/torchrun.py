"""The `torchrun` command line for a run (pure: argv and environment, nothing runs).

torchrun is what Axolotl's docs recommend on InfiniBand clusters and what Kubeflow runs in each
pod. Every node runs the same line; they meet through the c10d rendezvous on the main node, under
a rendezvous id that is the same on every node (Axolotl's own `--launcher torchrun` makes up a
random one when none is given, which splits the nodes into separate jobs).

accelerate would set a few variables before starting the processes. Axolotl sets the FSDP and
DeepSpeed ones itself from the YAML (`axolotl.utils.trainer.prepare_optim_env`) and the mixed
precision too; what is left is set here: the precision and dynamo choice (the same as the
accelerate line's flags), the CPU switch, and the DeepSpeed switch and file for the processes'
first `PartialState`, which runs before Axolotl reads the YAML.
"""

from __future__ import annotations

import hashlib
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from wizard.axolotl.view import AxolotlConfig, view_of
from wizard.errors import WizardError
from wizard.launch.command import TRAIN_MODULE, LaunchCommand, Layout, MixedPrecision

# A host name or address torchrun and a shell both take as one word.
_HOST = frozenset("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789.-_:[]")


def rdzv_id(layout: Layout) -> str:
    """The same on every node of one launch (they all know the main node, its port and the node
    count), and different for another launch on the same main node and port."""
    key = f"{layout.main_ip}:{layout.main_port}:{layout.nodes}:{layout.processes_per_node}"
    return "axolotl-" + hashlib.sha256(key.encode()).hexdigest()[:12]


def endpoint(layout: Layout) -> str:
    host = layout.main_ip
    if not host or not set(host) <= _HOST or host.startswith("-"):
        raise WizardError(f"--main-ip {host!r} is not a host name or address",
                          "pass the main node's address, e.g. --main-ip 10.0.0.1")  # fmt: skip
    if ":" in host and not host.startswith("["):
        host = f"[{host}]"  # an IPv6 address: torchrun splits HOST:PORT at the last colon
    return f"{host}:{layout.main_port}"


def torchrun_env(
    config: Mapping[str, Any] | AxolotlConfig,
    layout: Layout,
    precision: MixedPrecision,
    cpu_threads: int | None = None,
) -> dict[str, str]:
    """What accelerate's launcher would have set and Axolotl does not set before it matters."""
    view = view_of(config)
    env = {"ACCELERATE_MIXED_PRECISION": precision, "ACCELERATE_DYNAMO_BACKEND": "NO"}
    if layout.cpu:
        env["ACCELERATE_USE_CPU"] = "true"
        if cpu_threads is not None:
            env["OMP_NUM_THREADS"] = str(cpu_threads)  # torchrun would set 1, with a warning
    if view.deepspeed:
        env["ACCELERATE_USE_DEEPSPEED"] = "true"
        env["ACCELERATE_DEEPSPEED_CONFIG_FILE"] = view.deepspeed
    elif view.fsdp_version is not None:
        env["ACCELERATE_USE_FSDP"] = "true"
        env["FSDP_VERSION"] = str(view.fsdp_version)
    return env


def torchrun_layout_args(layout: Layout, rendezvous_id: str) -> list[str]:
    """The process layout and the rendezvous, as torchrun's flags."""
    return [
        "--nnodes", str(layout.nodes),
        "--nproc_per_node", str(layout.processes_per_node),
        "--node_rank", str(layout.node_rank),
        "--rdzv_backend", "c10d",
        "--rdzv_endpoint", endpoint(layout),
        "--rdzv_id", rendezvous_id,
    ]  # fmt: skip


def build_torchrun_command(
    config: str,
    layout: Layout,
    env: dict[str, str],
    torchrun: tuple[str, ...] = ("torchrun",),
    extra_args: tuple[str, ...] = (),
    train_args: tuple[str, ...] = (),
) -> LaunchCommand:
    """`torchrun --nnodes … --rdzv_backend c10d … -m axolotl.cli.train CONFIG [train_args]`.

    `-m axolotl.cli.train` and not `axolotl train --launcher torchrun`: the wizard sets every
    flag itself, and Axolotl's wrapper would only add a process in between (and its random
    rendezvous id when one is missing).
    """
    argv = [*torchrun, *torchrun_layout_args(layout, rdzv_id(layout)), *extra_args,
            "-m", TRAIN_MODULE, config, *train_args]  # fmt: skip
    return LaunchCommand(argv, dict(env))


def torchrun_argv(python: str) -> tuple[str, ...]:
    """The `torchrun` of the environment `python` belongs to (as for accelerate)."""
    script = Path(python).parent / "torchrun"
    if script.is_file():
        return (str(script),)
    return (python, "-m", "torch.distributed.run")


def axolotl_cli(python: str) -> tuple[str, ...]:
    """Axolotl's own command (`axolotl preprocess`, `axolotl vllm-serve`) of that environment."""
    script = Path(python).parent / "axolotl"
    if script.is_file():
        return (str(script),)
    return (python, "-m", "axolotl.cli.main")
