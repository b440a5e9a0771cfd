"""`launch --skypilot`: the run as a SkyPilot task (pure: the task YAML and the `sky` command).

The run folder travels to every node as a file mount under `~/axolotl/`, and the files it names
outside it (local datasets, a local model, a DeepSpeed JSON) to the places its relative paths
name from there (or to the same absolute path), so the config runs unchanged. Each node starts
the same torchrun line, with its rank and the main node from SkyPilot's `SKYPILOT_NODE_RANK`,
`SKYPILOT_NODE_IPS` and `SKYPILOT_NUM_NODES`, as Axolotl's SkyPilot guide does. Secrets are
named, never valued: `sky` reads them from the environment of the `sky launch --secret NAME`
that starts the task.

With a bucket, the outputs go there (mounted at /checkpoints) and Axolotl resumes from the last
checkpoint in it: what a spot managed job (`sky jobs launch`) needs to survive a preemption.
"""

from __future__ import annotations

import os
import posixpath
import re
import shlex
from dataclasses import dataclass
from pathlib import Path, PurePosixPath
from typing import Any

from wizard import __version__
from wizard.axolotl import keys as K
from wizard.axolotl.paths import MAYBE_LOCAL_KEYS, is_local_path
from wizard.axolotl.view import AxolotlConfig
from wizard.errors import WizardError
from wizard.launch.checks import Preflight
from wizard.launch.cluster import slurm_line
from wizard.launch.command import LaunchCommand, Layout
from wizard.launch.kubernetes import comment_line, dump_blocks, k8s_name
from wizard.launch.target import Target

SKYPILOT_VERSION = "0.14.1"  # the schema the task file is checked against (tests/data/skypilot)
AXOLOTL_PIN = "axolotl==0.19.0"
TORCH_PIN = "torch==2.13.0"
TASK_FILENAME = "skypilot.yaml"
REMOTE_ROOT = "~/axolotl"  # the run folder and the files it names, on each node
CHECKPOINTS = "/checkpoints"  # the bucket's mount on each node
# Spot VMs are reclaimed with a minute or two of notice: a checkpoint at least this often.
SPOT_SAVE_STEPS = 100
# SkyPilot's GPU names (sky/utils/gpu_names.py and its cloud catalogs) for the wizard's.
ACCELERATORS = {
    "T4": "T4", "V100-16GB": "V100", "V100-32GB": "V100-32GB", "A10G": "A10G", "A10": "A10",
    "L4": "L4", "RTX 3090": "RTX3090", "RTX 4090": "RTX4090", "RTX 5090": "RTX5090",
    "RTX A6000": "A6000", "RTX 6000 Ada": "RTX6000-Ada", "L40S": "L40S", "L40": "L40",
    "A100-40GB": "A100", "A100-80GB": "A100-80GB", "H100": "H100", "H100 NVL": "H100-NVL",
    "H200": "H200", "GH200": "GH200", "B200": "B200",
}  # fmt: skip
# The torchrun values of one node, read from SkyPilot's variables on each node at run time.
NODE_VALUES = {
    "--nnodes": '"$SKYPILOT_NUM_NODES"',
    "--node_rank": '"$SKYPILOT_NODE_RANK"',
    "--rdzv_endpoint": '"$MAIN_IP:$MAIN_PORT"',
    "--rdzv_id": '"$SKYPILOT_TASK_ID"',
}
_BUCKET = re.compile(r"^(s3|gs|r2|cos|oci)://[a-z0-9][a-z0-9._-]{1,62}(/[A-Za-z0-9._/-]*)?$")
# Paths SkyPilot, rsync and the YAML all take as data: no variables (SkyPilot fills `${VAR}`
# into file_mounts), no control characters.
_UNSAFE_IN_MOUNT = re.compile(r"[$\x00-\x1f\x7f]")


@dataclass(frozen=True)
class SkyOptions:
    gpu: str | None  # the wizard's name (hardware.gpu); None for a CPU run
    image: str | None = None  # a Docker image with Axolotl; None: `setup` installs it
    spot: bool = False
    bucket: str | None = None


def checked(options: SkyOptions, cpu: bool) -> SkyOptions:
    if options.spot and not options.bucket:
        raise WizardError(
            "--spot needs --bucket: a preempted spot VM takes its disk, and the checkpoints "
            "with it",
            "e.g. --spot --bucket s3://my-bucket/axolotl (gs://, r2://, cos://, oci:// too)",
        )
    if options.bucket and not _BUCKET.fullmatch(options.bucket):
        raise WizardError(f"--bucket {options.bucket!r} is not a bucket URI",
                          "e.g. s3://my-bucket/runs (gs://, r2://, cos://, oci://)")  # fmt: skip
    if not cpu and options.gpu not in ACCELERATORS:
        raise WizardError(
            "the run names no GPU SkyPilot can ask a cloud for"
            + (f" ({options.gpu})" if options.gpu else ""),
            "make the run with --set hardware.gpu=H100 (or another GPU of `new`'s list)",
        )
    return options


def task_name(folder_name: str) -> str:
    """A cluster and job name SkyPilot takes: it must start with a letter."""
    name = k8s_name(folder_name)
    return name if name[0].isalpha() else f"axolotl-{name}"


def task_file(target: Target, layout: Layout, command: LaunchCommand,
              options: SkyOptions) -> tuple[Path, str, str]:  # fmt: skip
    """`RUN/skypilot.yaml`'s path and text, and the task's name; `command` is the torchrun line
    `launch` would run here."""
    options = checked(options, layout.cpu)
    name = task_name(target.run_dir.name)
    on_node = node_command(command, train_overrides(target.config, name, options))
    body = task(on_node, layout, target.config, target.run_dir, options)
    start = "sky jobs launch" if options.spot else "sky launch -c " + name
    head = [
        f"SkyPilot task written by axolotl-wizard {__version__}: {layout.nodes} node(s) x "
        f"{layout.processes_per_node} {'CPU process(es)' if layout.cpu else 'GPU(s)'}.",
        f"Start it: {start} {TASK_FILENAME} {_secret_flags(target.config)}; watch it: "
        + ("sky jobs queue" if options.spot else "sky status"),
        *review_lines(options, name, target.config),
    ]
    text = "".join(f"# {comment_line(line)}\n" for line in head) + dump_blocks(body)
    return target.run_dir / TASK_FILENAME, text, name


def node_command(command: LaunchCommand, overrides: tuple[str, ...]) -> LaunchCommand:
    """The torchrun line of this machine as a node runs it: the node's own `torchrun`, and the
    bucket's overrides after the config."""
    argv = command.argv[command.argv.index("--nnodes") :]
    added = [word for word in overrides if word not in argv]
    return LaunchCommand(["torchrun", *argv, *added], dict(command.env))


def task(command: LaunchCommand, layout: Layout, config: AxolotlConfig, run_dir: Path,
         options: SkyOptions) -> dict[str, Any]:  # fmt: skip
    """The task as SkyPilot's YAML has it."""
    resources: dict[str, Any] = {}
    if layout.cpu:
        resources["cpus"] = f"{layout.processes_per_node * 2}+"
    else:
        resources["accelerators"] = {ACCELERATORS[str(options.gpu)]: layout.processes_per_node}
    if options.spot:
        resources["use_spot"] = True
    if options.image:
        resources["image_id"] = f"docker:{options.image}"
    body: dict[str, Any] = {
        "name": task_name(run_dir.name),
        "num_nodes": layout.nodes,
        "resources": resources,
    }
    remote_run, mounts = placed(config, run_dir)
    if options.bucket:
        mounts[CHECKPOINTS] = {"source": options.bucket, "mode": "MOUNT_CACHED"}
    body["file_mounts"] = mounts
    body["secrets"] = {name: None for name in secret_names(config)}
    if not options.image:
        body["setup"] = setup_script(config)
    body["run"] = run_script(command, layout, remote_run)
    return body


def secret_names(config: AxolotlConfig) -> list[str]:
    """The variables `sky launch --secret NAME` passes from here; the file holds their names."""
    return ["HF_TOKEN", *(["WANDB_API_KEY"] if config.text(K.WANDB_PROJECT) else [])]


def setup_script(config: AxolotlConfig) -> str:
    """Once per node: the pinned Axolotl, with the extras this config uses."""
    extras = [name for name, on in (("flash-attn", config.needs_flash_attn),
                                    ("deepspeed", config.has(K.DEEPSPEED))) if on]  # fmt: skip
    axolotl = AXOLOTL_PIN.replace("==", f"[{','.join(extras)}]==") if extras else AXOLOTL_PIN
    return f"set -euo pipefail\npip install '{TORCH_PIN}'\npip install '{axolotl}'\n"


def run_script(command: LaunchCommand, layout: Layout, remote_run: str) -> str:
    """Every node: its rank and the main node from SkyPilot, then the same torchrun line, in
    the run folder (the config's paths are relative to it)."""
    lines = [
        "set -euo pipefail",
        f'cd "$HOME"/{shlex.quote(remote_run.removeprefix("~/"))}',
        "# The first of SkyPilot's node addresses is the main node; every node reaches it there.",
        'MAIN_IP="$(echo "$SKYPILOT_NODE_IPS" | head -n 1)"',
        f'MAIN_PORT="${{MAIN_PORT:-{layout.main_port}}}"',
        "export MAIN_IP MAIN_PORT",
        "export TORCH_DIST_INIT_BARRIER=0  # the rendezvous already waits for every node",
        *[f"export {key}={shlex.quote(value)}" for key, value in sorted(command.env.items())],
        slurm_line(command, NODE_VALUES),
    ]
    return "\n".join(lines) + "\n"


def placed(config: AxolotlConfig, run_dir: Path) -> tuple[str, dict[str, Any]]:
    """The run folder's place on a node, and the file mounts: the run folder there, and each
    local path outside it where the config's relative path names it from there (the run folder
    sits as deep under REMOTE_ROOT as the config's `../` need), or at the same absolute path."""
    values = [posixpath.normpath(value) for value in _local_paths(config)]
    depth = max((_ups(value) for value in values), default=0)
    parts = run_dir.parts[1:]
    if depth >= len(parts):
        raise WizardError(f"a path of the config leads {depth} folder(s) up from {run_dir}, "
                          "out of the folders a SkyPilot node can mirror",
                          "use an absolute path for it, or move it next to the run")  # fmt: skip
    remote_run = posixpath.join(REMOTE_ROOT, *parts[len(parts) - max(depth, 1) :])
    mounts: dict[str, Any] = {_safe(remote_run): str(run_dir)}
    for value in values:
        if value.startswith("/"):
            mounts[value] = value
        elif _ups(value):
            mounts[posixpath.normpath(f"{remote_run}/{value}")] = os.path.normpath(run_dir / value)
    return remote_run, mounts


def _local_paths(config: AxolotlConfig) -> list[str]:
    values = [config.text(key) for key in (*MAYBE_LOCAL_KEYS, K.DEEPSPEED)]
    values += [entry.get("path") for entry in config.datasets if isinstance(entry, dict)]
    return [_safe(v) for v in values if isinstance(v, str) and v and is_local_path(v)]


def _ups(path: str) -> int:
    """How many folders a normalized relative path climbs (`../../x`: 2)."""
    parts = PurePosixPath(path).parts
    return next((n for n, part in enumerate(parts) if part != ".."), len(parts))


def _safe(path: str) -> str:
    if _UNSAFE_IN_MOUNT.search(path):
        raise WizardError(f"the path {path!r} has a '$' or a control character, which a "
                          "SkyPilot file mount would not keep as it is",
                          "rename it, or use a path without them")  # fmt: skip
    return path


def train_overrides(config: AxolotlConfig, name: str, options: SkyOptions) -> tuple[str, ...]:
    """With a bucket: the outputs in it, a resume from its last checkpoint, and checkpoints
    often enough that a preemption loses little (Axolotl's `--key=value` overrides)."""
    if not options.bucket:
        return ()
    overrides = [f"--output_dir={CHECKPOINTS}/{name}", "--auto_resume_from_checkpoints=True"]
    steps = spot_save_steps(config) if options.spot else None
    if steps is not None:
        overrides.append(f"--save_steps={steps}")
    return tuple(overrides)


def spot_save_steps(config: AxolotlConfig) -> int | None:
    """The config's own save_steps when it already saves that often; else SPOT_SAVE_STEPS (a
    tenth of a shorter run)."""
    saved = config.value(K.SAVE_STEPS)
    if isinstance(saved, int) and not isinstance(saved, bool) and 0 < saved <= SPOT_SAVE_STEPS:
        return None
    max_steps = config.value(K.MAX_STEPS)
    if isinstance(max_steps, int) and not isinstance(max_steps, bool) and max_steps > 0:
        return max(1, min(SPOT_SAVE_STEPS, max_steps // 10))
    return SPOT_SAVE_STEPS


def sky_command(sky: tuple[str, ...], path: Path, name: str, config: AxolotlConfig,
                spot: bool) -> LaunchCommand:  # fmt: skip
    """`sky launch` (a cluster) or `sky jobs launch` (a managed job); `--yes` since the launch
    has no terminal to ask on, `--secret NAME`: the value from this process's environment."""
    verb = ["jobs", "launch", "--name", name] if spot else ["launch", "--cluster", name]
    return LaunchCommand([*sky, *verb, "--yes", *_secret_flags(config).split(), str(path)], {})


def _secret_flags(config: AxolotlConfig) -> str:
    return " ".join(f"--secret {name}" for name in secret_names(config))


def sky_cli(python: str) -> tuple[str, ...]:
    """The `sky` of `python`'s environment; plain `sky` when it has none (preflight says so)."""
    script = Path(python).parent / "sky"
    return (str(script),) if script.is_file() else ("sky",)


def check_sky_client(pre: Preflight, config: AxolotlConfig) -> None:
    """`sky` submits the task from here and reads the secrets it names from this environment."""
    script = Path(pre.python).parent / "sky"
    if not script.is_file():
        pre.machine_lacks(f"skypilot is not installed for {pre.python} (no {script})",
                          f"install it there: pip install 'skypilot=={SKYPILOT_VERSION}' "
                          "(with the clouds you use, e.g. skypilot[aws])")  # fmt: skip
    for name in secret_names(config):
        if name not in os.environ:
            pre.machine_lacks(f"{name} is not set here, and `sky launch --secret {name}` "
                              "passes it to the task from this environment",
                              f"export {name}=… ({name}= for none)")  # fmt: skip


def review_lines(options: SkyOptions, name: str, config: AxolotlConfig) -> list[str]:
    """What the task does with a bucket and spot VMs, for the file's head and `launch`'s output."""
    overrides = train_overrides(config, name, options)
    lines = [f"Checked against SkyPilot {SKYPILOT_VERSION}'s task schema."]
    if options.spot:
        lines.append(
            "Spot VMs, as a managed job: when a VM is preempted, SkyPilot starts "
            "the job again on another and Axolotl resumes from the last checkpoint."
        )
    if options.bucket:
        lines.append(f"Checkpoints and outputs go to {options.bucket}/{name} (mounted at "
                     f"{CHECKPOINTS}), with {' '.join(overrides)}.")  # fmt: skip
    return lines
