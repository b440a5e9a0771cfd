"""`launch --ray`: the run as a Ray job (pure: the `ray job submit` command, nothing runs).

`ray job submit --address … --working-dir RUN -- axolotl train axolotl.yml --use-ray` uploads the
run folder to the Ray cluster and runs Axolotl's own CLI there, which starts Ray Train with one
worker per GPU of the run. Ray quotes the words after `--` itself (shlex) before its shell runs
them. Axolotl's Ray path asks Ray for GPUs (`use_gpu=True`), so the cluster needs GPUs.
"""

from __future__ import annotations

import json
import os
import re
from pathlib import Path, PurePosixPath

from wizard.errors import WizardError
from wizard.launch.checks import Preflight
from wizard.launch.command import LaunchCommand, Layout

DEFAULT_ADDRESS = "http://127.0.0.1:8265"  # the job server of a head started on this machine
# Left out of the upload: the outputs and the launch records can be gigabytes.
NOT_UPLOADED = ("launches", ".git")
_ADDRESS = re.compile(r"^(?:[a-z][a-z0-9+.-]*://)?[A-Za-z0-9._~\[\]:@%/-]+$")


def ray_address(given: str | None) -> str:
    """--ray-address, else RAY_ADDRESS (as `ray job submit` reads it), else the local head."""
    address = given or os.environ.get("RAY_ADDRESS") or DEFAULT_ADDRESS
    if not _ADDRESS.fullmatch(address) or address.startswith("-"):
        raise WizardError(f"--ray-address {address!r} is not an address",
                          "e.g. --ray-address http://10.0.0.1:8265 (the job server)")  # fmt: skip
    return address


def ray_cli(python: str) -> tuple[str, ...]:
    """The `ray` of the environment `python` belongs to; plain `ray` when it has none (preflight
    says so: an error for a launch, a warning for a dry run, which is for another machine)."""
    script = _ray_script(python)
    return (str(script),) if script.is_file() else ("ray",)


def check_ray_client(pre: Preflight) -> None:
    """The job is submitted from here with `ray job submit`; Ray itself is never imported here."""
    script = _ray_script(pre.python)
    if not script.is_file():
        pre.machine_lacks(
            f"ray is not installed for {pre.python} (no {script})",
            "install it there: pip install 'ray[default]' (the job server comes with [default])",
        )


def _ray_script(python: str) -> Path:
    return Path(python).parent / "ray"


def ray_command(
    config: str,
    layout: Layout,
    run_dir: Path,
    address: str,
    ray: tuple[str, ...],
    output_dir: str | None = None,
    extra_args: tuple[str, ...] = (),
) -> LaunchCommand:
    """`ray job submit … -- axolotl train CONFIG --use-ray --ray-num-workers=N`."""
    excludes = list(NOT_UPLOADED)
    if output_dir and not PurePosixPath(output_dir).is_absolute():
        excludes.append(str(PurePosixPath(output_dir)))
    runtime_env = json.dumps({"excludes": excludes})
    argv = [
        *ray, "job", "submit",
        "--address", address,
        "--working-dir", str(run_dir),
        "--runtime-env-json", runtime_env,
        *extra_args,
        "--",
        "axolotl", "train", config, "--use-ray",
        f"--ray-num-workers={layout.num_processes}",
    ]  # fmt: skip
    return LaunchCommand(argv, {})
