"""One launch at a time: a launch holds its run folder and its output folder while it trains.

Each lock is an flock on a small file: `RUN/launches/.launch-node<rank>.lock` for the run folder,
`.<name>.launch-node<rank>.lock` beside the output folder (which may be outside the run folder,
and shared by two run folders; beside it, not in it, so a push of the outputs to the Hub never
carries it). The file holds the holder's pid, host and manifest, for the message of a second
launch. The kernel drops an flock with its process, so a launch that was killed leaves a lock
file nobody holds: stale, and taken over by the next launch. A launch that ends removes its
files. Per node rank, because the nodes of one job may share a run folder on a shared disk.
"""

from __future__ import annotations

import os
import socket
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

from wizard.errors import WizardError
from wizard.files import (
    HeldLock,
    LockTaken,
    holder_text,
    make_folders,
    os_error,
    parent_lock,
    refuse_links,
    remove_folders,
    take_lock,
)
from wizard.folders import recover, run_lock

TRAIN = "train"
FOLLOW_UPS = ("merge", "evaluate", "export")  # the verbs of wizard.after that write into a run


@dataclass
class LaunchLocks:
    held: list[HeldLock]
    notes: list[str] = field(default_factory=list)  # what a killed `new` left, and its fate
    created: list[Path] = field(default_factory=list)  # folders made for the lock files

    def name_manifest(self, manifest: Path) -> None:
        """Add the manifest to the records, once its folder is chosen."""
        for lock in self.held:
            lock.rewrite({**lock.record, "manifest": str(manifest)})

    def keep_across_exec(self) -> None:
        for lock in self.held:
            lock.inheritable()

    def release(self) -> None:
        """Let go, removing the lock files and the folders made for them while still empty
        (a launch that does not start leaves nothing)."""
        for lock in reversed(self.held):
            lock.release()
        self.held = []
        remove_folders(self.created)


def hold_launch(run_dir: Path, output: Path, rank: int, verb: str = TRAIN) -> LaunchLocks:
    """Lock the run folder, then the output folder; a one-line WizardError naming the launch
    that holds either. The run folder's lock is taken under its parent's lock, so a `new
    --force` never swaps the folder away under a launch that is starting. `verb`: what holds
    them, a training launch or a follow-up that writes into the run (`merge`, wizard.after)."""
    record: dict[str, Any] = dict(
        verb=verb,
        pid=os.getpid(),
        host=socket.gethostname(),
        started_utc=datetime.now(timezone.utc).isoformat(timespec="seconds"),
        run_dir=str(run_dir),
        output_dir=str(output),
    )
    lock_file = run_lock(run_dir, rank)
    refuse_links(run_dir, [lock_file])
    locks = LaunchLocks([], created=make_folders(lock_file.parent))
    real = Path(os.path.realpath(output))
    beside = real.parent / f".{real.name}.launch-node{rank}.lock"
    try:
        with parent_lock(run_dir.parent):
            locks.notes = recover(run_dir, run_dir)
            locks.held.append(_take(lock_file, record, str(run_dir)))
        locks.created += make_folders(beside.parent)
        locks.held.append(_take(beside, record, f"into {output}"))
    except BaseException:
        locks.release()
        raise
    return locks


def _take(path: Path, record: dict[str, Any], what: str) -> HeldLock:
    try:
        return take_lock(path, record)
    except LockTaken as taken:
        raise WizardError(
            f"another {_holding(taken.holder)} {what} right now ({holder_text(taken.holder)}); "
            "nothing was started",
            "wait for it to end, or stop it; a launch that was killed leaves a lock nobody "
            f"holds, which the next launch takes over ({path})",
        ) from None
    except OSError as err:
        raise os_error(err, path, "lock") from None


def _holding(holder: dict[str, Any]) -> str:
    """`launch is training`, or `merge is writing` for a follow-up (a lock file's record is
    anyone's to write: a verb the wizard does not have is not shown)."""
    verb = holder.get("verb", TRAIN)
    return f"{verb} is writing" if verb in FOLLOW_UPS else "launch is training"
