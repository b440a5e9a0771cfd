"""A LoRA/QLoRA adapter merged into its base model by Axolotl's merge-lora, all or nothing.

Axolotl writes `<output_dir>/merged` (axolotl/cli/merge_lora.py) as it goes. The merge runs with
its `output_dir` pointed at a staging folder inside the run's outputs instead; only a merge that
finished is renamed to `OUTPUT/merged`, so a failed or stopped one leaves no half-written model.
"""

from __future__ import annotations

import os
import shutil
from dataclasses import dataclass
from pathlib import Path

from wizard.after.commands import merge_command
from wizard.after.step import Ran, Step, require_success, run_step
from wizard.after.trained import ADAPTER_WEIGHTS, Trained, as_child_sees
from wizard.files import os_error
from wizard.launch.checks import Preflight
from wizard.launch.child import TextSink

MERGED = "merged"  # Axolotl's name for the merged model, inside output_dir
STAGING_PREFIX = ".merging-"


@dataclass(frozen=True)
class Merged:
    folder: Path
    bytes_on_disk: int
    ran: Ran | None  # None: an earlier merge was reused


def merged_folder(trained: Trained) -> Path:
    return trained.output / MERGED


def check_not_merged(pre: Preflight, force: bool) -> None:
    folder = merged_folder(Trained.of(pre.target))
    if os.path.lexists(folder) and not force:
        pre.error(f"{folder} already holds a merged model",
                  "pass --force to merge again and replace it")  # fmt: skip


def merge(trained: Trained, pre: Preflight, echo: TextSink | None) -> Merged:
    """Merge into a staging folder, then put the result in place of any earlier merge."""
    staging = trained.output / f"{STAGING_PREFIX}{os.getpid()}"
    command = merge_command(pre.python, trained, as_child_sees(staging, trained.run_dir))
    step = Step("merge", command, writes=True)
    try:
        ran = run_step(trained, pre, step, echo)
        require_success(ran, "the merge")
        final = merged_folder(trained)
        replace_folder(staging / MERGED, final)
    finally:
        shutil.rmtree(staging, ignore_errors=True)
    return Merged(final, folder_bytes(final), ran)


def replace_folder(new: Path, final: Path) -> None:
    """`new` renamed to `final`; an old `final` is moved aside first and removed after, so a
    reader sees the old model or the new one."""
    old = final.with_name(f"{STAGING_PREFIX}old-{os.getpid()}")
    try:
        if os.path.lexists(final):
            os.rename(final, old)
        os.rename(new, final)
    except OSError as err:
        raise os_error(err, final, "put the merged model in") from None
    shutil.rmtree(old, ignore_errors=True)


def folder_bytes(folder: Path) -> int:
    return sum(p.stat().st_size for p in folder.rglob("*") if p.is_file() and not p.is_symlink())


def merge_is_current(trained: Trained) -> bool:
    """An earlier merge newer than the adapter (a run resumed since has a newer one)."""
    folder = merged_folder(trained)
    adapter = [path for name in ADAPTER_WEIGHTS if (path := trained.output / name).is_file()]
    if not folder.is_dir() or not adapter:
        return False
    return folder.stat().st_mtime >= adapter[0].stat().st_mtime


def merged_model(trained: Trained, pre: Preflight, echo: TextSink | None) -> Merged:
    """The merged model of an adapter run: the earlier merge when it is current, else a new one."""
    if merge_is_current(trained):
        folder = merged_folder(trained)
        return Merged(folder, folder_bytes(folder), None)
    return merge(trained, pre, echo)
