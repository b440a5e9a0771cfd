"""A run folder is written all or nothing, also when `new --force` replaces one: a full disk, a
SIGTERM or a SIGKILL at any moment leaves the old run whole or the new one whole; the files the
wizard does not own (launches/, outputs/, the user's own) stay; nothing is written through a
symbolic link the wizard did not make."""

from __future__ import annotations

import os
import random
import shutil
import signal
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from helpers import HOSTILE_TIMEOUT, new_tiny, one_line_error, project, wizard

__all__ = ["project"]

# The replacement differs in every file: a DeepSpeed file appears, the config names it.
ZERO2 = ("--set", "hardware.accelerator=cuda", "--set", "hardware.gpus_per_node=2",
         "--set", "distributed.backend=deepspeed", "--set", "distributed.zero_stage=2")  # fmt: skip
Tree = dict[str, bytes | None]  # relative path -> bytes (None: a folder)


def tree(root: Path) -> Tree:
    """Every entry under `root`, hidden ones included, with the bytes of each file."""
    if not root.exists():
        return {}
    found: Tree = {}
    for path in sorted(root.rglob("*")):
        rel = str(path.relative_to(root))
        found[rel] = None if path.is_dir() and not path.is_symlink() else path.read_bytes()
    return found


def old_run(cwd: Path, run: Path) -> Tree:
    """A tiny-cpu run that has been launched, with a file of the user's beside it."""
    assert new_tiny(cwd, str(run)).returncode == 0
    (run / "launches" / "20250101T000000Z-node0").mkdir(parents=True)
    (run / "launches" / "20250101T000000Z-node0" / "manifest.json").write_text('{"a": 1}\n')
    (run / "outputs").mkdir()
    (run / "outputs" / "adapter_model.safetensors").write_bytes(b"weights" * 100)
    (run / "notes.txt").write_text("my notes\n")
    return tree(run)


def restore(run: Path, snapshot: Tree) -> None:
    shutil.rmtree(run, ignore_errors=True)
    run.mkdir()
    for rel, data in snapshot.items():
        if data is None:
            (run / rel).mkdir(parents=True, exist_ok=True)
        else:
            (run / rel).write_bytes(data)


def visible_leftovers(folder: Path) -> list[str]:
    return sorted(str(p.relative_to(folder)) for p in folder.rglob("*") if p.name.endswith(".tmp"))


RUN_FILES = ("axolotl.yml", "wizard-answers.yml", "deepspeed")  # what `new --force` replaces


def split(found: Tree) -> tuple[Tree, Tree]:
    """(the run's own files, what the folder keeps), the wizard's hidden marker left out."""
    own = {k: v for k, v in found.items() if k.split("/")[0] in RUN_FILES}
    marker = ".axolotl-wizard"
    kept = {k: v for k, v in found.items()
            if k.split("/")[0] not in RUN_FILES and not k.startswith(marker)}  # fmt: skip
    return own, kept


def assert_whole(run: Path, before: Tree, after: Tree, killed: bool, where: str) -> None:
    """The folder is `before` or `after`, whole. After a SIGKILL in the moment the kept
    entries move into the new folder, some may be in the hidden sibling instead (the next
    write puts them back): then the run's own files are still whole. Where the swap is three
    renames, the old folder may be aside, whole, for `recover` to rename back."""
    siblings = sorted(run.parent.glob(f".{run.name}.wizard-*"))
    put_aside = [p for p in siblings if "wizard-old-" in p.name and not run.exists()]
    now = tree(put_aside[0]) if put_aside else tree(run)
    aside = [tree(p) for p in siblings if p not in put_aside[:1]]
    if not killed:
        assert now in (before, after) and aside == [], where
        return
    own, kept = split(now)
    assert own in (split(before)[0], split(after)[0]), where
    for found in aside:
        kept |= split(found)[1]
    assert kept == split(before)[1], where


@pytest.fixture
def small_disk(tmp_path: Path) -> Iterator[Path]:
    """A real 4 MiB tmpfs: the kernel says ENOSPC when it is full, as a real disk does."""
    mount = tmp_path / "disk"
    mount.mkdir()
    done = subprocess.run(["mount", "-t", "tmpfs", "-o", "size=4m,mode=0755", "tmpfs", str(mount)],
                          capture_output=True, text=True, check=False)  # fmt: skip
    if done.returncode != 0:
        pytest.skip(f"cannot mount a tmpfs here (needs root): {done.stderr.strip()}")
    try:
        yield mount
    finally:
        subprocess.run(["umount", "-l", str(mount)], check=False)


def fill(disk: Path, pages_left: int) -> None:
    """Leave exactly `pages_left` free pages on the tmpfs."""
    filler = disk / "filler"
    filler.unlink(missing_ok=True)
    info = os.statvfs(disk)
    with filler.open("wb") as handle:
        handle.write(b"\0" * (info.f_bavail - pages_left) * info.f_bsize)
    assert os.statvfs(disk).f_bavail == pages_left


def test_a_full_disk_during_force_leaves_the_old_run_whole(project: Path, small_disk: Path) -> None:
    run = small_disk / "run"
    old = old_run(project, run)
    assert wizard(project, "new", str(run), "--preset", "tiny-cpu", *ZERO2, "--force",
                  "--yes").returncode == 0  # fmt: skip
    new = tree(run)
    assert {"deepspeed/zero2.json", "notes.txt", "outputs/adapter_model.safetensors"} <= set(new)
    outcomes = set()
    for pages in range(12):
        restore(run, old)
        fill(small_disk, pages)
        done = wizard(project, "new", str(run), "--preset", "tiny-cpu", *ZERO2, "--force", "--yes")
        (small_disk / "filler").unlink()
        now = tree(run)
        if done.returncode == 0:
            assert now == new
            outcomes.add("new")
        else:
            one_line_error(done, "the disk is full", "nothing was written")
            assert now == old, f"with {pages} pages free: {sorted(set(now) ^ set(old))}"
            outcomes.add("old")
        assert sorted(p.name for p in small_disk.iterdir()) == ["run"]
    assert outcomes == {"old", "new"}


def test_signals_at_random_points_of_new_leave_a_whole_run(project: Path) -> None:
    """SIGTERM or SIGKILL at a random moment of `new` (into a fresh folder and over an old
    run): the folder is absent, the old run or the new one, each whole. SIGTERM cleans up after
    itself; a SIGKILL may leave a hidden `.run.wizard-*` folder beside it, which the next `new`
    cleans up."""
    run = project / "run"
    old = old_run(project, run)
    args = ("new", "run", "--preset", "tiny-cpu", *ZERO2, "--force", "--yes")
    assert wizard(project, *args).returncode == 0
    new = tree(run)
    shutil.rmtree(run)
    assert wizard(project, *args).returncode == 0
    fresh = tree(run)
    seen, rng = set(), random.Random(27)  # each attempt is bounded by HOSTILE_TIMEOUT
    for attempt in range(40):
        replacing = attempt % 2 == 0
        if replacing:
            restore(run, old)
        else:  # a fresh folder: also without what an earlier SIGKILL left aside (the old run's)
            for path in (run, *project.glob(".run.wizard-*")):
                shutil.rmtree(path, ignore_errors=True)
        sig = signal.SIGTERM if attempt % 4 < 2 else signal.SIGKILL
        process = subprocess.Popen([sys.executable, "-m", "wizard", *args], cwd=project,
                                   stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)  # fmt: skip
        time.sleep(rng.uniform(0.2, 0.9))
        process.send_signal(sig)
        _out, err = process.communicate(timeout=HOSTILE_TIMEOUT)
        assert b"Traceback" not in err, err.decode()[-2000:]
        before, after = (old, new) if replacing else ({}, fresh)
        assert_whole(run, before, after, sig == signal.SIGKILL, f"{sig.name} at {attempt}")
        seen.add((replacing, split(tree(run))[0] == split(after)[0]))
        assert visible_leftovers(project) == []
    assert len(seen) >= 3, seen  # the signals landed before and after the swap
    restore(run, old)
    assert wizard(project, *args).returncode == 0
    assert tree(run) == new and sorted(p.name for p in project.glob(".run*")) == []


OLD_FILES = {"axolotl.yml": "old: 1\n", "wizard-answers.yml": "old\n"}
NEW_FILES = {"axolotl.yml": "new: 2\n", "deepspeed/zero2.json": "{}\n", "wizard-answers.yml": "n\n"}
COUNTED = ("open", "mkdir", "rename", "unlink", "rmdir", "chmod", "listdir", "scandir")


@pytest.mark.parametrize("exchange", ["renameat2", "three renames"])
def test_a_signal_at_every_step_of_the_write(tmp_path: Path, exchange: str) -> None:
    """The random signals above rarely land in the milliseconds of the swap; here a forked
    writer kills itself at its 1st, 2nd, ... file-system call in turn, until it finishes
    first. After each: the old run or the new one, whole; SIGTERM leaves nothing behind, and
    after SIGKILL the next write cleans up. Also where renameat2 is missing (three renames)."""
    from wizard import folders

    run = tmp_path / "run"
    folders.write_run_folder(run, OLD_FILES, force=False)
    (run / "outputs").mkdir()
    (run / "outputs" / "w.bin").write_bytes(b"w")
    (run / "notes.txt").write_text("mine\n")
    old = tree(run)
    folders.write_run_folder(run, NEW_FILES, force=True)
    new = tree(run)
    for sig in (signal.SIGKILL, signal.SIGTERM):
        for step in range(1, 200):
            restore(run, old)
            pid = os.fork()
            if pid == 0:
                _write_and_die_at(step, sig, run, exchange)
            _pid, status = os.waitpid(pid, 0)
            assert_whole(run, old, new, sig == signal.SIGKILL, f"{sig.name} at call {step}")
            if os.WIFEXITED(status) and os.WEXITSTATUS(status) == 0:
                break  # it finished before its `step`th call: every step has been tried
            folders.write_run_folder(run, NEW_FILES, force=True)
            assert tree(run) == new and list(tmp_path.glob(".run.*")) == []
        assert step > 20, step


def _write_and_die_at(step: int, sig: int, run: Path, exchange: str) -> None:
    """In the forked child: count the writer's file-system calls and send `sig` at `step`."""
    import ctypes

    from wizard import folders
    from wizard.errors import WizardError

    if exchange == "three renames":  # a C library without renameat2
        ctypes.CDLL = lambda *_args, **_kwargs: object()  # type: ignore[assignment,misc]

    calls = 0

    def counted(function: Callable[..., object]) -> Callable[..., object]:
        def call(*args: object, **kwargs: object) -> object:
            nonlocal calls
            calls += 1
            if calls == step:
                os.kill(os.getpid(), sig)
            return function(*args, **kwargs)

        return call

    for name in COUNTED:
        setattr(os, name, counted(getattr(os, name)))
    folders._exchange = counted(folders._exchange)  # type: ignore[assignment]
    try:
        folders.write_run_folder(run, NEW_FILES, force=True)
    except WizardError as err:
        os._exit(err.exit_code)
    os._exit(0 if calls < step else 3)


def test_a_symlinked_subfolder_is_never_written_through(project: Path) -> None:
    elsewhere = project / "elsewhere"
    elsewhere.mkdir()
    (project / "run").mkdir()
    (project / "run" / "deepspeed").symlink_to(elsewhere)
    for force in ((), ("--force",)):
        one_line_error(
            wizard(project, "new", "run", "--preset", "tiny-cpu", *ZERO2, *force, "--yes"),
            "run/deepspeed is a symbolic link",
        )
    assert list(elsewhere.iterdir()) == []
    assert sorted(p.name for p in (project / "run").iterdir()) == ["deepspeed"]


def test_force_replaces_a_symlinked_file_never_its_target(project: Path) -> None:
    victim = project / "victim.json"
    victim.write_text("precious\n")
    run = project / "run"
    (run / "deepspeed").mkdir(parents=True)
    (run / "deepspeed" / "zero2.json").symlink_to(victim)
    one_line_error(wizard(project, "new", "run", "--preset", "tiny-cpu", *ZERO2, "--yes"),
                   "already exist")  # fmt: skip
    assert wizard(project, "new", "run", "--preset", "tiny-cpu", *ZERO2, "--force",
                  "--yes").returncode == 0  # fmt: skip
    assert victim.read_text() == "precious\n"
    written = run / "deepspeed" / "zero2.json"
    assert not written.is_symlink() and '"stage": 2' in written.read_text()


def test_launch_never_writes_through_a_symlinked_folder(project: Path) -> None:
    assert new_tiny(project).returncode == 0
    elsewhere = project / "elsewhere"
    elsewhere.mkdir()
    (project / "run" / "launches").symlink_to(elsewhere)
    one_line_error(wizard(project, "launch", "run"), "run/launches is a symbolic link")
    (project / "run" / "launches").unlink()
    (project / "run" / "kubernetes").symlink_to(elsewhere)
    one_line_error(wizard(project, "launch", "run", "--kubernetes", "--image", "img:1"),
                   "run/kubernetes is a symbolic link")  # fmt: skip
    assert list(elsewhere.iterdir()) == []
    victim = project / "victim.sh"
    victim.write_text("precious\n")
    (project / "run" / "launch.sbatch").symlink_to(victim)
    assert wizard(project, "launch", "run", "--slurm", "--force").returncode == 0
    assert victim.read_text() == "precious\n"
    assert not (project / "run" / "launch.sbatch").is_symlink()
