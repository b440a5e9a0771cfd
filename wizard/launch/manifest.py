"""The run manifest: what was launched, how, with which versions, where and when.

Written beside the outputs (`RUN_DIR/launches/<UTC time>-node<rank>/`) before the child starts, so
a run that dies still leaves a record: the config as launched, its DeepSpeed JSON, accelerate's
config file (which the command points at), the command, the package versions, host and time.
Only the variables `launch` itself sets are recorded, never the inherited environment: tokens
stay in the environment and out of files.
"""

from __future__ import annotations

import json
import platform
import shutil
import socket
import sys
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

from wizard import __version__
from wizard.files import atomic_write_text, make_folders, os_error, refuse_links
from wizard.launch.command import LaunchCommand, Layout
from wizard.launch.outputs import deepspeed_path
from wizard.launch.target import Target

# The names of a launch record's files are the runs package's, which reads them back.
from wizard.runs.store import LAUNCHES_DIR as LAUNCHES_DIR
from wizard.runs.store import MANIFEST_FILENAME as MANIFEST_FILENAME
from wizard.runs.store import OUTPUT_LOG as OUTPUT_LOG
from wizard.yamlio import dump_yaml

MANIFEST_VERSION = 1
ACCELERATE_CONFIG = "accelerate.yml"


@dataclass
class ManifestDir:
    path: Path  # absolute
    relative: str  # as the child (working directory = run folder) names it

    @property
    def accelerate_config(self) -> str:
        return f"{self.relative}/{ACCELERATE_CONFIG}"

    @property
    def log(self) -> Path:
        return self.path / OUTPUT_LOG


def plan_manifest_dir(run_dir: Path, node_rank: int, create: bool) -> ManifestDir:
    """A folder name no other launch uses: time to the second, node rank, then a counter (the
    nodes of one job may share a run folder on a shared file system). `create` claims it with
    an exclusive mkdir, so two simultaneous launches cannot pick the same one."""
    stamp = datetime.now(timezone.utc).strftime("%Y%m%dT%H%M%SZ")
    base = f"{stamp}-node{node_rank}"
    for attempt in range(1, 1000):
        name = base if attempt == 1 else f"{base}-{attempt}"
        path = run_dir / LAUNCHES_DIR / name
        if create:
            refuse_links(run_dir, [path])  # a linked launches/ would send the record elsewhere
            make_folders(path.parent)
            try:
                path.mkdir()
            except FileExistsError:
                continue
            except OSError as err:
                raise os_error(err, path, "make the launch record folder") from None
        elif path.exists():
            continue
        return ManifestDir(path, f"{LAUNCHES_DIR}/{name}")
    raise RuntimeError(f"no free manifest folder under {run_dir / LAUNCHES_DIR}")


@dataclass
class ManifestData:
    command: LaunchCommand
    layout: Layout
    accelerate: dict[str, Any] | None
    versions: dict[str, str | None]
    warnings: list[str]
    server: LaunchCommand | None = None  # GRPO's vLLM server (vllm-serve), when it has one
    verb: str = "train"  # or the follow-up that ran (merge, chat, evaluate, export: wizard.after)


def write_manifest(folder: ManifestDir, target: Target, data: ManifestData) -> None:
    if data.accelerate is not None:
        atomic_write_text(folder.path / ACCELERATE_CONFIG, dump_yaml(data.accelerate))
    deepspeed = deepspeed_path(target)
    for source in (target.config_path, deepspeed):
        if source is None:
            continue
        try:
            shutil.copy2(source, folder.path / source.name)
        except OSError as err:
            raise os_error(err, folder.path / source.name, "copy the config into") from None
    record: dict[str, Any] = dict(
        manifest_version=MANIFEST_VERSION,
        wizard_version=__version__,
        verb=data.verb,
        time_utc=datetime.now(timezone.utc).isoformat(timespec="seconds"),
        host=socket.gethostname(),
        platform=platform.platform(),
        python=sys.version.split()[0],
        run_dir=str(target.run_dir),
        config=target.config_arg,
        deepspeed=deepspeed.name if deepspeed else None,
        made_for_axolotl=target.made_for_axolotl,
        versions=data.versions,
        layout=data.layout._asdict(),
        argv=data.command.argv,
        env_set=data.command.env,
        shell=data.command.shell_line(),
        warnings=data.warnings,
    )
    if data.server is not None:
        record["server_argv"] = data.server.argv
        record["server_env_set"] = data.server.env
    atomic_write_text(folder.path / MANIFEST_FILENAME, json.dumps(record, indent=2) + "\n")


def record_outcome(folder: ManifestDir, outcome: str, exit_code: int) -> None:
    """Add how the run ended to manifest.json: finished, failed, interrupted or terminated,
    the exit code, and when (a manifest without an outcome is a run still going, or killed)."""
    path = folder.path / MANIFEST_FILENAME
    record = json.loads(path.read_text(encoding="utf-8"))
    record.update(
        {
            "outcome": outcome,
            "exit_code": exit_code,
            "ended_utc": datetime.now(timezone.utc).isoformat(timespec="seconds"),
        }
    )
    atomic_write_text(path, json.dumps(record, indent=2) + "\n")
