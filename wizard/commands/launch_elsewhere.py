"""`launch --slurm`, `--kubernetes` and `--skypilot`: the file each engine runs elsewhere, written
(or printed by a dry run) with what to run next."""

from __future__ import annotations

import argparse
import contextlib
import sys
from typing import TYPE_CHECKING

from wizard.errors import WizardError
from wizard.terminal import shell_path, visible

if TYPE_CHECKING:
    from wizard.launch.session import Prepared


def write_slurm(prepared: Prepared, args: argparse.Namespace) -> int:
    from wizard.files import current_umask, make_folders, write_all
    from wizard.launch.cluster import SBATCH_FILENAME, SlurmOptions, sbatch_script
    from wizard.launch.manifest import LAUNCHES_DIR
    from wizard.launch.torchrun import axolotl_cli

    run_dir = prepared.target.run_dir
    options = SlurmOptions(run_dir.name, args.cpus_per_task, args.slurm_partition,
                           args.slurm_time, args.slurm_account)  # fmt: skip
    preprocess = [*axolotl_cli(args.python), "preprocess", prepared.target.config_arg]
    text = sbatch_script(prepared.command, preprocess, prepared.layout, run_dir, options)
    path = run_dir / SBATCH_FILENAME
    if args.dry_run:
        print(f"# axolotl-wizard launch --slurm --dry-run: would write {path}")
        print(text, end="")
        return 0
    write_all({path: text}, force=args.force)
    path.chmod(0o777 & ~current_umask())  # executable, as a script made by hand would be
    # Slurm opens the job's log before the script runs: its folder must exist at submit time.
    make_folders(run_dir / LAUNCHES_DIR)
    print(f"Wrote {visible(str(path))}: {prepared.layout.nodes} node(s) × "
          f"{prepared.layout.processes_per_node} process(es)")  # fmt: skip
    print(f"Submit it with: sbatch {shell_path(path)}")
    return 0


def write_kubernetes(prepared: Prepared, args: argparse.Namespace) -> int:
    from wizard.launch.kubernetes import KubeOptions, write_manifest_file

    options = KubeOptions(args.k8s_api, args.image, args.pvc, args.secret)
    path, run, text = write_manifest_file(prepared.target, prepared.layout, options, args.force,
                                          dry_run=args.dry_run)  # fmt: skip
    warn_gated_without_secret(prepared, args.secret)
    if args.dry_run:
        print(f"# axolotl-wizard launch --kubernetes --dry-run: would write {visible(str(path))}")
        print(text, end="")
        return 0
    print(f"Wrote {visible(str(path))}: {run.layout.nodes} node(s) × "
          f"{run.layout.processes_per_node} GPU(s), "
          f"{args.k8s_api}")  # fmt: skip
    for source, target in run.copies:
        print(f"  copy {visible(str(source))} to {visible(str(target))} on the claim "
              f"{visible(args.pvc)}")  # fmt: skip
    print(f"Apply it with: kubectl apply -f {shell_path(path)}")
    return 0


def write_skypilot(prepared: Prepared, args: argparse.Namespace) -> None:
    """Print the task (a dry run), or write it and make `sky` the command `start` runs."""
    from wizard.files import write_all
    from wizard.launch.skypilot import SkyOptions, review_lines, sky_cli, sky_command, task_file
    from wizard.launch.target import planned_gpu

    target = prepared.target
    options = SkyOptions(planned_gpu(target), args.image, args.spot, args.bucket)
    try:
        path, text, name = task_file(target, prepared.layout, prepared.command, options)
        if not args.dry_run:
            write_all({path: text}, force=args.force, folder=target.run_dir)
    except WizardError:
        with contextlib.suppress(OSError):  # the launch record made for it, still empty
            prepared.manifest.path.rmdir()
        raise
    sky = sky_command(sky_cli(args.python), path, name, target.config, args.spot)
    if args.dry_run:
        print(f"# axolotl-wizard launch --skypilot --dry-run: would write {visible(str(path))}, "
              f"then run: {visible(sky.shell_line())}")  # fmt: skip
        print(text, end="")
        return
    print(f"Wrote {visible(str(path))}")
    for line in review_lines(options, name, target.config)[1:]:
        print(f"  {visible(line)}")
    prepared.command = sky


def warn_gated_without_secret(prepared: Prepared, secret: str | None) -> None:
    from wizard.launch.gated import gated_model

    model = gated_model(prepared.target.config)
    if secret is None and model is not None:
        print(f"warning: {visible(model)} is gated on the Hugging Face Hub, and without --secret "
              "the pods have no HF_TOKEN to download it with", file=sys.stderr)  # fmt: skip
        print("  hint: kubectl create secret generic hf-token "
              '--from-literal=HF_TOKEN="$HF_TOKEN", then add --secret hf-token',
              file=sys.stderr)  # fmt: skip
