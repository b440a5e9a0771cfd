"""GRPO with vLLM in server mode: generation on GPUs of its own, the trainers on the rest.

With `rl: grpo`, `trl.use_vllm: true` and `trl.vllm_mode: server`, Axolotl's trainers ask a vLLM
server for completions; `axolotl vllm-serve CONFIG` is that server. It takes
`vllm.tensor_parallel_size x vllm.data_parallel_size` GPUs (each defaults to 1); the trainers get
the GPUs left. Both are started by one `launch`, with `CUDA_VISIBLE_DEVICES` split between them,
and stopped together. The trainer is started right after the server: TRL's vLLM client waits for
the server's health check itself (up to `trl.vllm_server_timeout`). Colocate mode is one launch.
"""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import Any

from wizard.axolotl.view import AxolotlConfig, view_of
from wizard.errors import WizardError
from wizard.launch.child import child_env, kept, new_file
from wizard.launch.command import LaunchCommand, Layout

STOP_GRACE_S = 10.0
SERVER_LOG = "vllm-server.log"


def generation_gpus(config: Mapping[str, Any] | AxolotlConfig) -> int | None:
    """How many GPUs the vLLM server takes; None when the config does not use server mode."""
    view = view_of(config)
    if view.vllm_mode != "server":
        return None
    sizes = view.vllm_parallel_sizes
    if not all(isinstance(n, int) and not isinstance(n, bool) and n >= 1 for n in sizes):
        raise WizardError(f"vllm.tensor_parallel_size / data_parallel_size {sizes} are not counts",
                          "set them to whole numbers of GPUs, or leave them out (1)")  # fmt: skip
    return int(sizes[0]) * int(sizes[1])


def node_devices(layout: Layout, mask: str | None) -> list[str]:
    """This node's GPUs as CUDA names them: the ones CUDA_VISIBLE_DEVICES allows, else 0..N-1."""
    if mask:
        return [part.strip() for part in mask.split(",") if part.strip()][
            : layout.processes_per_node
        ]
    return [str(index) for index in range(layout.processes_per_node)]


def split_devices(devices: list[str], generation: int) -> tuple[list[str], list[str]]:
    """(the server's GPUs, the trainers' GPUs): the server takes the first ones."""
    if len(devices) <= generation:
        raise WizardError(
            f"GRPO's vLLM server takes {generation} GPU(s) and this node has {len(devices)}: "
            "none is left to train on",
            "lower vllm.tensor_parallel_size / data_parallel_size, add GPUs (--gpus), or use "
            "trl.vllm_mode: colocate",
        )
    return devices[:generation], devices[generation:]


def server_plan(
    config: Mapping[str, Any] | AxolotlConfig,
    layout: Layout,
    serve: tuple[str, ...],
    config_arg: str,
) -> tuple[LaunchCommand, list[str]] | None:
    """The server's command and the trainers' GPUs, or None when there is no server to start."""
    generation = generation_gpus(config)
    if generation is None or layout.cpu:
        return None
    if layout.nodes > 1:
        raise WizardError(
            "GRPO's vLLM server mode is started by `launch` on one node only",
            "start `axolotl vllm-serve` on a node of its own and set trl.vllm_server_host, "
            "then launch the trainers",
        )
    server, trainers = split_devices(node_devices(layout, os.environ.get("CUDA_VISIBLE_DEVICES")),
                                     generation)  # fmt: skip
    command = LaunchCommand([*serve, "vllm-serve", config_arg],
                            {"CUDA_VISIBLE_DEVICES": ",".join(server)})  # fmt: skip
    return command, trainers


@contextlib.contextmanager
def serving(server: LaunchCommand | None, cwd: Path, log: Path) -> Iterator[None]:
    """The vLLM server runs, in a process group of its own with its output in `log`, for as
    long as the block does (the trainers); then it is stopped with them, whatever ended them."""
    if server is None:
        yield
        return
    with new_file(log) as sink:
        process = subprocess.Popen(
            kept(server.argv), cwd=cwd, env=child_env(server), start_new_session=True,
            stdout=sink, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
        )  # fmt: skip
        try:
            yield
        finally:
            _stop(process)


def _stop(process: subprocess.Popen[bytes]) -> None:
    for signum, wait in ((signal.SIGTERM, STOP_GRACE_S), (signal.SIGKILL, 5.0)):
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.killpg(process.pid, signum)
        try:
            process.wait(timeout=wait)
            return
        except subprocess.TimeoutExpired:
            continue
