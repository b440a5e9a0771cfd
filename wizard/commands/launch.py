"""`axolotl-wizard launch RUN_DIR|CONFIG`: preflight, then `accelerate launch` with every setting
explicit; the child's exit code is ours."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import TYPE_CHECKING, Any

from wizard.axolotl import keys as K
from wizard.axolotl.batch import batch_text
from wizard.commands.argtypes import (
    cpu_count,
    gpus_per_node,
    node_count,
    node_rank,
    port,
    verb_parser,
)
from wizard.commands.launch_elsewhere import write_kubernetes, write_skypilot, write_slurm
from wizard.errors import EXIT_USER_ERROR, UsageError, WizardError
from wizard.terminal import command_line, shell_path, shell_word, visible

if TYPE_CHECKING:
    from wizard.launch.checks import Problem
    from wizard.launch.session import Outcome, Prepared
    from wizard.launch.target import Launcher

HELP = "preflight checks, then accelerate launch … -m axolotl.cli.train"
EPILOG = """\
examples:
  axolotl-wizard launch runs/llama8b                      one node, the GPUs the run was planned for
  axolotl-wizard launch runs/llama8b --dry-run            print the command and environment only
  axolotl-wizard launch runs/llama8b --resume             continue from the last checkpoint
  axolotl-wizard launch runs/big --nodes 2 --node-rank 0 --main-ip 10.0.0.1   (then rank 1)
  axolotl-wizard launch runs/big --hostfile hosts.txt     ranks and main node from the host list
  axolotl-wizard launch runs/big --launcher torchrun --nodes 2 --main-ip 10.0.0.1   (c10d)
  axolotl-wizard launch runs/big --slurm                  write runs/big/launch.sbatch
  axolotl-wizard launch runs/big --slurm --dry-run        print that script; write nothing
  axolotl-wizard launch runs/big --kubernetes --image axolotlai/axolotl:main-latest --nodes 2
  axolotl-wizard launch runs/big --ray --ray-address http://10.0.0.1:8265
  axolotl-wizard launch runs/big --skypilot --dry-run     print runs/big/skypilot.yaml (SkyPilot)
  axolotl-wizard launch runs/big --skypilot --spot --bucket s3://b/runs   a managed spot job
                          (a run made with distributed.launcher=ray needs no --ray)
  axolotl-wizard launch runs/llama8b -- --num_cpu_threads_per_process 8   (to accelerate)

Axolotl runs with the run folder as its working directory (the config's paths are relative to
it). Each launch leaves a manifest in RUN_DIR/launches/<time>-node<rank>/. A dry run prepares a
launch for any machine: what this one lacks (GPUs, packages, the Ray client) is a warning.
"""


def register(subparsers: Any, common: argparse.ArgumentParser) -> None:
    parser = verb_parser(subparsers, common, "launch", HELP, EPILOG)
    what = "a run folder made by `new`, or an Axolotl config (default: here)"
    parser.add_argument("target", nargs="?", default=".", type=Path, help=what)
    parser.add_argument("--gpus", type=gpus_per_node, help="processes (GPUs) per node")
    parser.add_argument("--nodes", type=node_count, help="number of machines")
    parser.add_argument(
        "--node-rank", type=node_rank, default=0, help="this machine's rank (0: main)"
    )
    parser.add_argument("--main-ip", help="address of the rank-0 machine")
    parser.add_argument("--main-port", type=port, help="its port (default 29500)")
    parser.add_argument("--hostfile", type=Path, help="DeepSpeed-style host list: `host slots=N`")
    parser.add_argument("--cpu", action="store_true", help="run on the CPU (a smoke test)")
    parser.add_argument("--launcher", choices=("accelerate", "torchrun"),
                        help="what starts the processes (default: accelerate; Ray for a run "
                        "planned with distributed.launcher=ray)")  # fmt: skip
    parser.add_argument(
        "--resume", action="store_true", help="continue from the last checkpoint in output_dir"
    )
    parser.add_argument("--dry-run", action="store_true", help="print the command; start nothing")
    parser.add_argument(
        "--no-data-checks",
        dest="data_checks",
        action="store_false",
        help="skip preview's checks on the first records of each dataset (docs/preview.md)",
    )
    parser.add_argument(
        "--no-calibration",
        dest="calibration",
        action="store_false",
        help="do not add the measured peak GPU memory to the local calibration file (docs/runs.md)",
    )
    _engine_options(parser)
    parser.add_argument(
        "--exec",
        dest="replace_process",
        action="store_true",
        help="replace this process with accelerate (no log, no failure summary)",
    )
    parser.add_argument(
        "--python",
        default=sys.executable,
        help="the Python whose axolotl/accelerate run (default: this one)",
    )
    parser.__class__ = _AfterDashDash  # see below: argparse cannot split at `--` by itself
    parser.set_defaults(run=run, extra=[])


def _engine_options(parser: argparse.ArgumentParser) -> None:
    """Slurm, Kubernetes and Ray: each writes or submits the run instead of starting it here."""
    slurm = parser.add_argument_group("Slurm (with --slurm)")
    slurm.add_argument("--slurm", action="store_true", help="write an sbatch script instead")
    slurm.add_argument("--force", action="store_true", help="overwrite the script")
    slurm.add_argument("--cpus-per-task", type=cpu_count, metavar="N",
                       help="cores for each node's task (default: 8 per GPU)")  # fmt: skip
    slurm.add_argument("--slurm-partition", metavar="NAME", help="#SBATCH --partition")
    slurm.add_argument("--slurm-time", metavar="TIME", help="#SBATCH --time, e.g. 24:00:00")
    slurm.add_argument("--slurm-account", metavar="NAME", help="#SBATCH --account")
    kube = parser.add_argument_group("Kubernetes through Kubeflow (with --kubernetes)")
    kube.add_argument("--kubernetes", action="store_true",
                      help="write RUN/kubernetes/<name>-<api>.yaml instead")  # fmt: skip
    kube.add_argument("--k8s-api", default="trainjob", metavar="API",
                      help="trainjob (default; needs Kubeflow Trainer v2.2.0 or newer) or "
                      "pytorchjob (training-operator v1)")  # fmt: skip
    kube.add_argument("--image", help="the container image that has Axolotl")
    kube.add_argument("--pvc", default="axolotl-data", metavar="NAME",
                      help="claim for data and outputs (default: %(default)s)")  # fmt: skip
    kube.add_argument("--secret", metavar="NAME", help="Secret with HF_TOKEN / WANDB_API_KEY")
    _skypilot_options(parser)
    ray = parser.add_argument_group("Ray (with --ray, or a run planned with launcher ray)")
    ray.add_argument("--ray", action="store_true",
                     help="submit the run as a Ray job (ray job submit … --use-ray); the "
                     "default for a run planned with distributed.launcher=ray")  # fmt: skip
    ray.add_argument("--ray-address", metavar="ADDR",
                     help="Ray job server (default: $RAY_ADDRESS or the local one)")  # fmt: skip


def _skypilot_options(parser: argparse.ArgumentParser) -> None:
    sky = parser.add_argument_group(
        "SkyPilot: any cloud or Kubernetes (with --skypilot; --image and --force as above)"
    )
    sky.add_argument("--skypilot", action="store_true",
                     help="write RUN/skypilot.yaml and start it with sky launch")  # fmt: skip
    sky.add_argument("--spot", action="store_true",
                     help="spot VMs as a managed job (sky jobs launch) that resumes after a "
                     "preemption; needs --bucket")  # fmt: skip
    sky.add_argument("--bucket", metavar="URI",
                     help="bucket for checkpoints and outputs, e.g. s3://b/runs")  # fmt: skip


class _AfterDashDash(argparse.ArgumentParser):
    """Everything after the first `--` goes to accelerate unparsed (`args.extra`).

    argparse's own REMAINDER also swallows our options that come after the run folder, and an
    optional positional plus `nargs="*"` misplaces the words after `--`.
    """

    def parse_known_args(  # type: ignore[override]
        self, args: list[str] | None = None, namespace: argparse.Namespace | None = None
    ) -> tuple[argparse.Namespace, list[str]]:
        words = list(sys.argv[1:] if args is None else args)
        tail: list[str] = []
        if "--" in words:
            cut = words.index("--")
            words, tail = words[:cut], words[cut + 1 :]
        parsed, unknown = super().parse_known_args(words, namespace)
        parsed.extra = tail
        return parsed, unknown


def run(args: argparse.Namespace) -> int:
    from wizard.launch.session import prepare
    from wizard.launch.target import LaunchOptions

    extra = tuple(args.extra)
    options = LaunchOptions(
        args.target, args.gpus, args.nodes, args.node_rank, args.main_ip, args.main_port,
        args.cpu, args.resume, args.python, args.hostfile, extra,
        elsewhere=args.slurm or args.kubernetes or args.ray or args.skypilot,
        launcher=_launcher(args), ray_address=args.ray_address, dry_run=args.dry_run,
        skypilot=args.skypilot, data_checks=args.data_checks,
    )  # fmt: skip
    prepared = prepare(options, create_manifest=not (args.dry_run or args.slurm or args.kubernetes))
    report_problems(prepared.preflight.problems)
    report_batch(prepared)
    errors = prepared.preflight.errors
    if args.dry_run:  # what would be written or started; this machine's lacks were warnings
        if args.slurm:
            write_slurm(prepared, args)
        elif args.kubernetes:
            write_kubernetes(prepared, args)
        elif args.skypilot:
            write_skypilot(prepared, args)
        else:
            print_dry_run(prepared)
        return EXIT_USER_ERROR if errors else 0
    if errors:
        raise WizardError(
            f"preflight found {len(errors)} problem{'s' if len(errors) > 1 else ''}; "
            "nothing was started",
            "fix the above and launch again; --dry-run prints the command anyway",
        )
    if args.slurm:
        return write_slurm(prepared, args)
    if args.kubernetes:
        return write_kubernetes(prepared, args)
    if args.skypilot:
        write_skypilot(prepared, args)
    print(f"launching: {visible(prepared.command.shell_line())}", flush=True)
    print(f"manifest:  {visible(str(prepared.manifest.path))}", flush=True)
    outcome = _start_watched(prepared, args)
    if outcome.ended.stopped_by is not None:
        report_stopped(prepared, outcome)
    elif outcome.exit_code:
        report_failure(prepared, outcome.exit_code, outcome.cause)
    else:
        report_next(prepared)
    return outcome.exit_code


def _start_watched(prepared: Prepared, args: argparse.Namespace) -> Outcome:
    """The child, with the live line of its figures (docs/runs.md), then what it measured."""
    from wizard.launch.measure import launch_estimate, logging_steps
    from wizard.launch.session import start
    from wizard.runs.live import LiveDisplay, measured_line

    if args.replace_process:
        return start(prepared, None, replace_process=True)
    planned = launch_estimate(prepared.target, prepared.layout)
    figure = planned.figure if planned else None
    display = LiveDisplay(sys.stdout, sys.stdout.isatty(), figure,
                          logging_steps(prepared.target.config))  # fmt: skip
    outcome = start(prepared, None, watch=display.watch, calibrate=args.calibration,
                    planned=planned)  # fmt: skip
    display.close()
    if outcome.measured is not None:
        print(measured_line(outcome.measured, display.estimate), flush=True)
    return outcome


def report_next(prepared: Prepared) -> None:
    """What a finished run can be taken to (docs/after-training.md)."""
    from wizard.after.nextsteps import next_lines, next_steps
    from wizard.after.trained import Trained

    for line in next_lines(next_steps(Trained.of(prepared.target))):
        print(visible(line), flush=True)


def _launcher(args: argparse.Namespace) -> Launcher | None:
    """The launcher the flags ask for; None: as the run was planned."""
    engines = [flag for flag in ("slurm", "kubernetes", "ray", "skypilot") if getattr(args, flag)]
    if len(engines) > 1:
        raise UsageError(f"--{engines[0]} and --{engines[1]} cannot be combined",
                         "choose one engine per launch")  # fmt: skip
    if args.ray:
        return "ray"
    if args.slurm or args.skypilot:
        return "torchrun"  # as Axolotl's own Slurm and SkyPilot examples run it
    if args.kubernetes:
        return "accelerate"  # the manifest starts its own processes; no command from here
    launcher: Launcher | None = args.launcher
    return launcher


def report_problems(problems: list[Problem]) -> None:
    for problem in problems:
        print(f"{problem.severity}: {visible(problem.message)}", file=sys.stderr)
        if problem.hint:
            print(f"  hint: {visible(problem.hint)}", file=sys.stderr)


def report_batch(prepared: Prepared) -> None:
    """The effective batch of this launch; a warning when the flags changed the plan's."""
    config = prepared.target.config
    micro = config.value(K.MICRO_BATCH_SIZE, 1)
    accumulation = config.value(K.GRADIENT_ACCUMULATION_STEPS, 1)
    if not all(isinstance(n, int) and not isinstance(n, bool) for n in (micro, accumulation)):
        return  # preflight's lint has said what is wrong with them
    layout, planned = prepared.layout, prepared.planned
    splits = (config.context_parallel, config.tensor_parallel)
    now = batch_text(micro, accumulation, layout.num_processes, layout.cpu, *splits)
    if prepared.target.answers is None or layout.num_processes == planned.num_processes:
        print(f"batch: {now} per optimizer step", file=sys.stderr)
        return
    was = batch_text(micro, accumulation, planned.num_processes, planned.cpu, *splits)
    print(
        f"warning: the run was planned for {was}; this launch has {now} per optimizer step",
        file=sys.stderr,
    )
    print(
        "  hint: to keep the planned batch, make the run again with the new layout "
        "(new --answers with --set hardware.gpus_per_node / hardware.nodes)",
        file=sys.stderr,
    )


def report_stopped(prepared: Prepared, outcome: Outcome) -> None:
    """After Ctrl-C or a SIGTERM: where the last checkpoint is, and how to go on from it."""
    from wizard.launch.outputs import latest_checkpoint, output_dir, trained_files

    folder = output_dir(prepared.target)
    found = trained_files(folder)
    checkpoints = [name for name in found if name.startswith("checkpoint-")]
    print(f"error: training was {outcome.word} (exit code {outcome.exit_code})", file=sys.stderr)
    if checkpoints:
        last = visible(str(folder / latest_checkpoint(checkpoints)))
        print(f"  last checkpoint: {last}", file=sys.stderr)
        resume = f"axolotl-wizard launch {shell_path(prepared.target.run_dir)} --resume"
        print(f"hint: continue from it with: {resume}", file=sys.stderr)
    elif found:
        # Axolotl saves the weights it has when interrupted, but a resume needs a checkpoint.
        print(f"  the weights at that point are in {visible(str(folder))} (no checkpoint-* to "
              "resume from)",
              file=sys.stderr)  # fmt: skip
        print("hint: to train again, move that folder away or set another output_dir; set "
              "save_steps to get checkpoints a run can resume from", file=sys.stderr)  # fmt: skip
    else:
        print("hint: nothing was saved; launch again to start over", file=sys.stderr)


def report_failure(prepared: Prepared, code: int, cause: str | None) -> None:
    print(f"error: training failed (exit code {code}): {cause or 'no exception in its output'}",
          file=sys.stderr)  # fmt: skip
    print(f"hint: the whole output is in {visible(str(prepared.manifest.log))}", file=sys.stderr)


def print_dry_run(prepared: Prepared) -> None:
    """A shell snippet that does what launch would do (minus preflight and the manifest)."""
    from wizard.yamlio import dump_yaml

    folder = prepared.manifest.relative
    layout = prepared.layout
    if prepared.launcher == "ray":
        print_ray_header(prepared)
    else:
        print(f"# axolotl-wizard launch --dry-run: {layout.num_processes} process(es) on "
              f"{layout.nodes} node(s); this node has rank {layout.node_rank}")  # fmt: skip
    print(f"cd {shell_path(prepared.target.run_dir)}")
    if prepared.accelerate is not None:
        print("# accelerate reads this file, never "
              "~/.cache/huggingface/accelerate/default_config.yaml")  # fmt: skip
        print(f"mkdir -p {shell_path(folder)}")
        print(f"cat > {shell_path(prepared.manifest.accelerate_config)} <<'EOF'")
        print(dump_yaml(prepared.accelerate).rstrip("\n"))
        print("EOF")
    if prepared.server is not None:
        print(
            "# GRPO's vLLM server on its own GPUs; the trainers wait for it, and it stops with them"
        )
        print(f"{prepared.server.shell_line()} &")
        print("trap 'kill $!' EXIT")
    for key, value in sorted(prepared.command.env.items()):
        print(f"export {key}={shell_word(value)}")
    print(command_line(prepared.command.argv))


def print_ray_header(prepared: Prepared) -> None:
    print(f"# axolotl-wizard launch --dry-run: a Ray job of {prepared.layout.num_processes} "
          "worker(s), one per GPU, on the Ray cluster's machines")  # fmt: skip
    if prepared.target.config.uses_ray:
        print("# planned with distributed.launcher=ray (use_ray: true in the config): launch "
              "submits it to Ray without --ray")  # fmt: skip
