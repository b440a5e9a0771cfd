"""One launch from start to end: target -> layout -> preflight -> command -> manifest -> child.

`launch` and `demo` both go through `prepare` and `start`, so the demo exercises exactly the code a
user's real run does.
"""

from __future__ import annotations

import os
import sys
from dataclasses import dataclass, replace
from pathlib import Path

from wizard.errors import WizardError
from wizard.launch.checks import Preflight
from wizard.launch.child import Ended, TextSink, exec_child, failure_cause, run_child
from wizard.launch.cluster import parse_hostfile
from wizard.launch.command import (
    LaunchCommand,
    Layout,
    MixedPrecision,
    accelerate_config,
    build_launch_command,
)
from wizard.launch.fsdp_accelerate import with_fsdp
from wizard.launch.lock import LaunchLocks, hold_launch
from wizard.launch.manifest import (
    MANIFEST_FILENAME,
    ManifestData,
    ManifestDir,
    plan_manifest_dir,
    record_outcome,
    write_manifest,
)
from wizard.launch.measure import LaunchEstimate, logging_steps, record_measurements
from wizard.launch.outputs import output_dir
from wizard.launch.preflight import run_preflight
from wizard.launch.ray_job import check_ray_client, ray_address, ray_cli, ray_command
from wizard.launch.skypilot import check_sky_client
from wizard.launch.target import (
    Launcher,
    LaunchOptions,
    Target,
    apply_flags,
    planned_launcher,
    planned_layout,
    resolve_target,
)
from wizard.launch.torchrun import axolotl_cli, build_torchrun_command, torchrun_argv, torchrun_env
from wizard.launch.vllm_server import SERVER_LOG, server_plan, serving
from wizard.runs import Measured
from wizard.runs.watch import Watch

# Axolotl's CLI reads `--key=value` after the config as overrides of the config's keys.
RESUME_ARGS = ("--auto_resume_from_checkpoints=True",)
# Axolotl 0.19 pins each process's model to device {"": LOCAL_RANK} whenever world_size > 1, and
# on a CPU that index is read as an accelerator: loading fails with "Cannot access accelerator
# device". A max_memory with only "cpu" makes it place the model by memory instead, all on the
# CPU. Passed as an override, not written into the config: it is about this launch's layout.
CPU_MULTI_PROCESS_ARGS = ('--max_memory={"cpu": "1024GiB"}',)


@dataclass
class Prepared:
    target: Target
    planned: Layout  # what the run was made for (the answers file); `layout` adds the flags
    layout: Layout
    precision: MixedPrecision
    preflight: Preflight
    manifest: ManifestDir
    command: LaunchCommand
    accelerate: dict[str, object] | None  # accelerate's config file; None for torchrun
    server: LaunchCommand | None = None  # GRPO's vLLM server, started with the trainers
    launcher: Launcher = "accelerate"
    locks: LaunchLocks | None = None  # held from `prepare` to the end of `start`


def prepare(options: LaunchOptions, create_manifest: bool) -> Prepared:
    """Everything up to (not including) writing the manifest and starting the child. A launch
    that will start here holds its run and output folders from now on (`start` lets go)."""
    target = resolve_target(options.target)
    options = planned_launcher(options, target)
    planned, precision = planned_layout(target)
    layout = apply_flags(planned, _with_hostfile(options))
    locks = None
    if create_manifest and not options.elsewhere:  # before preflight: the first thing to say
        locks = hold_launch(target.run_dir, output_dir(target), layout.node_rank)
    pre = Preflight(target, layout, options.python, options.resume, elsewhere=options.elsewhere,
                    dry_run=options.dry_run, data_checks=options.data_checks)  # fmt: skip
    for note in locks.notes if locks else ():
        pre.warn(note)
    try:
        run_preflight(pre)
        if options.launcher == "ray":
            check_ray_client(pre)
        if options.skypilot:
            check_sky_client(pre, target.config)
        create = create_manifest and not pre.errors  # a launch that will not start leaves nothing
        manifest = plan_manifest_dir(target.run_dir, layout.node_rank, create=create)
    except BaseException:
        let_go(locks)
        raise
    if pre.errors:
        let_go(locks)
        locks = None
    elif locks is not None:
        locks.name_manifest(manifest.path / MANIFEST_FILENAME)
    prepared = _prepare_layout(options, target, layout, (planned, precision, pre, manifest))
    prepared.locks = locks
    return prepared


def let_go(locks: LaunchLocks | None) -> None:
    if locks is not None:
        locks.release()


# What the command is made from: the planned layout, the precision, the preflight, the manifest.
Made = tuple[Layout, MixedPrecision, Preflight, ManifestDir]


def _prepare_layout(options: LaunchOptions, target: Target, layout: Layout, made: Made) -> Prepared:
    """The command for this layout, and GRPO's vLLM server on GPUs of its own when it has one."""
    planned, precision, pre, manifest = made
    here = options.launcher != "ray" and not options.elsewhere
    serve = axolotl_cli(options.python)
    plan = server_plan(target.config, layout, serve, target.config_arg) if here else None
    if plan is None:
        return _prepare_command(options, target, layout, made)
    server, trainers = plan
    # The run was planned with vLLM's GPUs set aside too (its batch counts the trainers only).
    serving = layout.processes_per_node - len(trainers)
    trainers_planned = planned._replace(processes_per_node=planned.processes_per_node - serving)
    prepared = _prepare_command(
        options, target, layout._replace(processes_per_node=len(trainers)),
        (trainers_planned, precision, pre, manifest),
    )  # fmt: skip
    visible = {"CUDA_VISIBLE_DEVICES": ",".join(trainers)}
    prepared.command = prepared.command._replace(env={**prepared.command.env, **visible})
    prepared.server = server
    return prepared


def _prepare_command(options: LaunchOptions, target: Target, layout: Layout,
                     made: Made) -> Prepared:  # fmt: skip
    planned, precision, pre, manifest = made
    if options.launcher == "ray":
        command = _ray_command(options, target, layout)
        return Prepared(target, planned, layout, precision, pre, manifest, command, None,
                        launcher="ray")  # fmt: skip
    if options.launcher == "torchrun":
        env = torchrun_env(target.config, layout, precision, _cpu_threads(layout))
        command = build_torchrun_command(
            target.config_arg, layout, env, torchrun_argv(options.python),
            extra_args=options.extra_args, train_args=_train_args(options, layout),
        )  # fmt: skip
        return Prepared(target, planned, layout, precision, pre, manifest, command, None,
                        launcher="torchrun")  # fmt: skip
    accelerate = with_fsdp(accelerate_config(layout, precision), target.config)
    command = build_launch_command(
        target.config_arg, layout, precision,
        extra_args=options.extra_args,
        accelerate=accelerate_argv(options.python),
        config_file=manifest.accelerate_config,
        train_args=_train_args(options, layout),
        cpu_threads=_cpu_threads(layout),
        fsdp=accelerate["distributed_type"] == "FSDP",
    )  # fmt: skip
    return Prepared(target, planned, layout, precision, pre, manifest, command, accelerate)


def _ray_command(options: LaunchOptions, target: Target, layout: Layout) -> LaunchCommand:
    return ray_command(
        target.config_arg, layout, target.run_dir, ray_address(options.ray_address),
        ray_cli(options.python), target.config.output_dir,
        options.extra_args,
    )  # fmt: skip


def _with_hostfile(options: LaunchOptions) -> LaunchOptions:
    """A DeepSpeed-style host list gives the node count, the main node and this node's rank;
    explicit flags still win."""
    if options.hostfile is None:
        return options
    hosts = parse_hostfile(options.hostfile)
    rank = options.node_rank
    if rank == 0 and len(hosts.names) > 1:
        found = hosts.rank_of_this_host()
        if found is None:
            raise WizardError(
                f"this host is not in {options.hostfile} ({', '.join(hosts.names)})",
                "pass --node-rank for this node",
            )
        rank = found
    return replace(
        options,
        nodes=options.nodes or len(hosts.names),
        gpus=options.gpus or hosts.slots[0],
        main_ip=options.main_ip or hosts.names[0],
        node_rank=rank,
    )


def _train_args(options: LaunchOptions, layout: Layout) -> tuple[str, ...]:
    resume = RESUME_ARGS if options.resume else ()
    cpu = CPU_MULTI_PROCESS_ARGS if layout.cpu and layout.multi_process else ()
    return resume + cpu


def _cpu_threads(layout: Layout) -> int | None:
    """On the CPU, the cores split evenly between this node's processes (accelerate would pick
    a number itself, and say so)."""
    if not layout.cpu:
        return None
    return max(1, (os.cpu_count() or 1) // layout.processes_per_node)


def accelerate_argv(python: str) -> tuple[str, ...]:
    """The `accelerate` of the environment `python` belongs to (not whichever is first on PATH),
    so the interpreter preflight probed is the one that runs."""
    script = Path(python).parent / "accelerate"
    if script.is_file():
        return (str(script),)
    return (python, "-m", "accelerate.commands.accelerate_cli")


@dataclass(frozen=True)
class Outcome:
    """How a launch ended, as `launch` reports it and the manifest records it."""

    exit_code: int
    cause: str | None  # the exception that killed the child, when it failed
    ended: Ended
    measured: Measured | None = None  # the figures read from its output (None: not recorded)

    @classmethod
    def of(cls, ended: Ended) -> Outcome:
        """How a child that ended went: a failure (not a stop from outside) names its cause."""
        failed = ended.code != 0 and ended.stopped_by is None
        return cls(ended.exit_code, failure_cause(ended.tail) if failed else None, ended)

    @property
    def word(self) -> str:
        if self.ended.stopped_by is not None:
            return "interrupted" if self.ended.interrupted else "terminated"
        return "finished" if self.exit_code == 0 else "failed"


def start(
    prepared: Prepared,
    echo: TextSink | None,
    replace_process: bool = False,
    watch: Watch | None = None,
    calibrate: bool = True,
    planned: LaunchEstimate | None = None,
) -> Outcome:
    """Write the manifest, then run the child; how it ended, also recorded in the manifest.

    `echo` receives the child's output as it comes (None: it goes only to the manifest's log).
    `watch` reads the training's figures from it (a live display's, or a silent one): they go
    into the manifest at the end, and into the calibration file unless `calibrate` is False.
    `planned`: the estimate of this launch when the caller has made it already.
    """
    warnings = [p.message for p in prepared.preflight.problems if p.severity == "warning"]
    data = ManifestData(prepared.command, prepared.layout, prepared.accelerate,
                        prepared.preflight.versions, warnings, prepared.server)  # fmt: skip
    watch = watch or Watch(logging_steps=logging_steps(prepared.target.config))
    try:
        write_manifest(prepared.manifest, prepared.target, data)
        if replace_process:
            if prepared.locks is not None:
                prepared.locks.keep_across_exec()  # the program that replaces us holds them
            exec_child(prepared.command, prepared.target.run_dir)
        run_dir, manifest = prepared.target.run_dir, prepared.manifest
        with serving(prepared.server, run_dir, manifest.path / SERVER_LOG):
            ended = run_child(prepared.command, run_dir, manifest.log, _tee(watch, echo))
        outcome = Outcome.of(ended)
        record_outcome(prepared.manifest, outcome.word, outcome.exit_code)
        here = not prepared.preflight.elsewhere  # not a Ray or cloud job's GPUs
        measured = record_measurements(prepared.target, prepared.layout, manifest.path, watch,
                                       calibrate, here, planned)  # fmt: skip
    finally:
        let_go(prepared.locks)
    return replace(outcome, measured=measured)


def _tee(watch: Watch, echo: TextSink | None) -> TextSink:
    def sink(text: str) -> None:
        watch.feed(text)
        if echo is not None:
            echo(text)

    return sink


def write_through(text: str) -> None:
    sys.stdout.write(text)
    sys.stdout.flush()
