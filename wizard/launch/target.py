"""What `launch` starts: the run folder, its config, and the process layout.

A run folder made by `new` has `wizard-answers.yml`, so the layout (GPUs, nodes, CPU or CUDA) and
the precision come from the answers. A hand-written config has none; then the layout comes from
the flags and the precision from the config's own `bf16`/`fp16` keys. The command-line flags win
over the answers either way.
"""

from __future__ import annotations

import sys
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal

from wizard.axolotl.view import AxolotlConfig, view_of
from wizard.errors import UsageError, WizardError
from wizard.launch.command import DEFAULT_PORT, Layout, MixedPrecision, precision_of
from wizard.yamlio import load_yaml_mapping

if TYPE_CHECKING:
    from wizard.runspec import RunSpec

CONFIG_FILENAME = (
    "axolotl.yml"  # as wizard.render.runfolder writes it; not imported to keep this light
)
ANSWERS_FILENAME = "wizard-answers.yml"
Launcher = Literal["accelerate", "torchrun", "ray"]


@dataclass
class LaunchOptions:
    """What the user asked for on the command line (None: take it from the plan)."""

    target: Path
    gpus: int | None = None
    nodes: int | None = None
    node_rank: int = 0
    main_ip: str | None = None
    main_port: int | None = None
    cpu: bool = False
    resume: bool = False
    python: str = field(default_factory=lambda: sys.executable)
    hostfile: Path | None = None
    extra_args: tuple[str, ...] = ()
    # The run starts elsewhere (Slurm, Kubernetes, Ray): the GPUs and the main node are the
    # scheduler's to give, not known here.
    elsewhere: bool = False
    launcher: Launcher | None = None  # None: as the run was planned (see `planned_launcher`)
    ray_address: str | None = None
    dry_run: bool = False
    skypilot: bool = False  # submitted with `sky`, which must be here
    data_checks: bool = True  # the preview's checks on a few records of each dataset


@dataclass
class Target:
    run_dir: Path  # absolute; the child's working directory, so the config's paths resolve
    config_path: Path  # absolute
    config: AxolotlConfig  # the config as Axolotl reads it (`config.raw`: as written)
    answers: dict[str, Any] | None  # the answers file as written by `new`, when there is one

    @property
    def config_arg(self) -> str:
        """The config as the child sees it: relative to its working directory when inside."""
        try:
            return str(self.config_path.relative_to(self.run_dir))
        except ValueError:
            return str(self.config_path)

    @property
    def made_for_axolotl(self) -> str | None:
        return None if self.answers is None else self.answers.get("axolotl_version")


def resolve_target(path: Path) -> Target:
    """`RUN_DIR` (holding axolotl.yml) or a config file -> the target to launch."""
    path = path.expanduser().resolve()
    if path.is_dir():
        config_path = path / CONFIG_FILENAME
        if not config_path.is_file():
            raise WizardError(
                f"{path} has no {CONFIG_FILENAME}",
                "pass a run folder made by `axolotl-wizard new`, or the config file itself",
            )
    elif path.is_file():
        config_path = path
    elif path.exists():
        raise WizardError(f"{path} is not a regular file (a pipe, socket or device)",
                          "pass a run folder or an Axolotl config file")  # fmt: skip
    else:
        raise WizardError(f"{path} does not exist", "pass a run folder or an Axolotl config file")
    config = load_yaml_mapping(config_path, "Axolotl config")
    answers_path = config_path.parent / ANSWERS_FILENAME
    answers = load_yaml_mapping(answers_path, "answers file") if answers_path.is_file() else None
    return Target(config_path.parent, config_path, view_of(config), answers)


def planned_layout(target: Target) -> tuple[Layout, MixedPrecision]:
    """The layout the run was planned with (answers file), else one GPU; the precision is always
    the config's own."""
    from wizard.launch.command import layout_for

    spec = planned_spec(target)
    return (Layout() if spec is None else layout_for(spec)), precision_of(target.config)


def planned_spec(target: Target) -> RunSpec | None:
    """The answers the run was made from, resolved; None for a hand-written config."""
    if target.answers is None:
        return None
    from wizard.answers.file import load_answers_file
    from wizard.answers.layers import Answers

    loaded = load_answers_file(target.config_path.parent / ANSWERS_FILENAME)
    return Answers([loaded.layer]).resolve()


def planned_gpu(target: Target) -> str | None:
    """The GPU the run was planned for (`hardware.gpu`), when its answers name one."""
    spec = planned_spec(target)
    return None if spec is None else spec.hardware.gpu


def planned_launcher(options: LaunchOptions, target: Target) -> LaunchOptions:
    """The launcher asked for, else the plan's: a run planned with distributed.launcher=ray
    (`use_ray` in its config) is a Ray job, whose GPUs are the Ray cluster's. Axolotl's `train`
    starts Ray Train itself whenever `use_ray` is on, so accelerate would start one Ray job per
    process."""
    ray = target.config.uses_ray
    if options.launcher is not None:
        if ray and options.launcher != "ray":
            raise WizardError(
                f"{target.config_path} turns on use_ray: Axolotl's train starts Ray Train itself, "
                f"so a {options.launcher} launch (Slurm and Kubernetes included) would start one "
                "Ray job per process",
                "launch it through Ray (the default for this run), or make the run again with "
                "--set distributed.launcher=accelerate",
            )
        return options
    if ray:
        return replace(options, launcher="ray", elsewhere=True)
    return replace(options, launcher="accelerate")


def apply_flags(planned: Layout, args: LaunchOptions) -> Layout:
    """The flags over the plan (the plan: the answers file, or one GPU for a hand-written
    config; `--cpu` makes it a CPU run)."""
    layout = planned
    if args.gpus is not None:
        layout = layout._replace(processes_per_node=args.gpus)
    if args.nodes is not None:
        layout = layout._replace(nodes=args.nodes)
    if args.cpu:
        layout = layout._replace(cpu=True)
    layout = layout._replace(
        node_rank=args.node_rank,
        main_port=args.main_port if args.main_port is not None else DEFAULT_PORT,
        main_ip=args.main_ip or layout.main_ip,
    )
    if layout.nodes > 1 and not args.main_ip and not args.elsewhere:
        raise UsageError(
            f"{layout.nodes} nodes need --main-ip (the address of the node with rank 0)",
            "e.g. --nodes 2 --node-rank 0 --main-ip 10.0.0.1 on the first node, "
            "--node-rank 1 on the second",
        )
    if not 0 <= layout.node_rank < layout.nodes:
        raise UsageError(
            f"--node-rank {layout.node_rank} is outside 0..{layout.nodes - 1}",
            "ranks count from 0 on the main node to nodes-1",
        )
    return layout
