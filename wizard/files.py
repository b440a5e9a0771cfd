"""Writing files safely: nothing half-written, nothing overwritten without --force, one writer.

A file is written to a temporary name in its folder and renamed over the target; a set of files
(a Slurm script, a manifest, a preset) is written all or nothing as far as the file system
allows, under a lock on its folder, never through a linked folder; and every failure of the file
system is one line that names the path and what to do. A whole run folder is swapped in by
`wizard.folders`. The lock files here (flock, with the holder's record) are what `launch` holds.
"""

from __future__ import annotations

import contextlib
import errno
import fcntl
import json
import os
import stat
import tempfile
import time
from collections.abc import Iterable, Iterator, Mapping
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from wizard.errors import WizardError

# What an OSError means, in the words of someone who has to fix it.
REASONS = {
    errno.ENOSPC: ("the disk is full", "free some space and run it again"),
    errno.EDQUOT: ("the disk quota is used up", "free some space and run it again"),
    errno.EFBIG: ("the file is larger than this process may write", "raise the file size limit"),
    errno.EROFS: ("the file system is read-only", "choose a folder on a writable disk"),
    errno.EACCES: ("permission denied", "choose a folder you can write to, or fix its permissions"),
    errno.EPERM: ("not permitted", "choose a folder you can write to, or fix its permissions"),
    errno.ENOTDIR: ("part of the path is a file, not a folder", "choose another folder"),
    errno.EISDIR: ("it is a folder", "choose another name, or remove that folder"),
    errno.EEXIST: ("a file is in the way", "choose another folder, or move that file"),
    errno.ENAMETOOLONG: ("the name is too long", "choose a shorter path"),
}


def os_error(err: OSError, path: Path, doing: str) -> WizardError:
    """`cannot write runs/a/axolotl.yml: the disk is full; nothing was written`."""
    reason, hint = REASONS.get(err.errno or 0, (err.strerror or str(err), "check the path"))
    return WizardError(f"cannot {doing} {path}: {reason}; nothing was written", hint)


def current_umask() -> int:
    """The process umask (reading it means setting it; it is put back at once)."""
    mask = os.umask(0o022)
    os.umask(mask)
    return mask


def atomic_write_text(path: Path, text: str) -> None:
    """Write to a temporary file in the same folder, then rename over the target.

    The rename is atomic on POSIX, so a reader (or a crash) sees the old file or the new one,
    never a half-written one. A missing folder is made (write_all also removes it on failure).
    """
    make_folders(path.parent)
    try:
        fd, tmp_name = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    except OSError as err:
        raise os_error(err, path, "write") from None
    try:
        # mkstemp makes the file 0600; a file written the ordinary way would be 0666 less the
        # umask, and a preset saved into a team folder must be readable by the team.
        os.fchmod(fd, 0o666 & ~current_umask())
        with os.fdopen(fd, "w", encoding="utf-8", newline="\n") as handle:
            handle.write(text)
        os.replace(tmp_name, path)
    except OSError as err:
        Path(tmp_name).unlink(missing_ok=True)
        raise os_error(err, path, "write") from None
    except BaseException:
        Path(tmp_name).unlink(missing_ok=True)
        raise


def refuse_in_the_way(folder: Path) -> None:
    """Raise when `folder`, or a folder above it, is a file."""
    blocking = next((p for p in (folder, *folder.parents) if p.exists() and not p.is_dir()), None)
    if blocking is not None:
        where = "a file of that name is in the way" if blocking == folder else (
            f"part of the path is a file, not a folder ({blocking})")  # fmt: skip
        raise WizardError(
            f"cannot make the folder {folder}: {where}; nothing was written",
            "choose another folder, or move that file",
        )


def make_folders(folder: Path) -> list[Path]:
    """Create `folder` and its missing parents; the ones created, deepest last."""
    refuse_in_the_way(folder)
    missing = [p for p in (folder, *folder.parents) if not p.exists()][::-1]
    for part in missing:
        try:
            part.mkdir()
        except FileExistsError:
            if not part.is_dir():
                remove_folders(missing[: missing.index(part)])
                raise WizardError(
                    f"cannot make the folder {part}: a file of that name is in the way; "
                    "nothing was written",
                    "choose another folder, or move that file",
                ) from None
        except OSError as err:
            remove_folders(missing[: missing.index(part)])
            raise os_error(err, part, "make the folder") from None
    return missing


def remove_folders(created: list[Path]) -> None:
    """Remove folders this run created, deepest first, where they are still empty."""
    for folder in reversed(created):
        try:
            folder.rmdir()
        except OSError:
            return


@contextmanager
def folder_lock(folder: Path) -> Iterator[None]:
    """Hold an exclusive lock on `folder` (flock on the folder itself: no lock file is left),
    so two writers of one run folder cannot interleave their files."""
    fd = os.open(folder, os.O_RDONLY)
    try:
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            raise WizardError(
                f"another axolotl-wizard is writing {folder} right now; nothing was written",
                "wait for it to finish, then run again (or write to another folder)",
            ) from None
        yield
    finally:
        os.close(fd)


@contextmanager
def parent_lock(folder: Path, timeout_s: float = 10.0) -> Iterator[None]:
    """Hold an exclusive lock on `folder` (a run folder's parent) for a moment: the writers
    that swap a run folder in, and the launches that start in one, take turns under it."""
    try:
        fd = os.open(folder, os.O_RDONLY | os.O_DIRECTORY | os.O_CLOEXEC)
    except OSError as err:
        raise os_error(err, folder, "lock the folder") from None
    try:
        deadline = time.monotonic() + timeout_s
        while True:
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
                break
            except BlockingIOError:
                if time.monotonic() > deadline:
                    raise WizardError(
                        f"another axolotl-wizard has held {folder} for {timeout_s:.0f} s; "
                        "nothing was written",
                        "wait for it to finish (or stop it), then run again",
                    ) from None
                time.sleep(0.01)
        yield
    finally:
        os.close(fd)


class LockTaken(Exception):
    """A lock file is held by a live process; `holder` is the record it wrote (may be empty)."""

    def __init__(self, path: Path, holder: dict[str, Any]) -> None:
        super().__init__(str(path))
        self.path = path
        self.holder = holder


class HeldLock:
    """An flock on a lock file, held until `release` or until the process dies (the kernel
    drops it then, so a lock file left by a killed process is free: stale, and taken over).
    A plain class: a lock is itself, compared by identity, never shown."""

    def __init__(self, path: Path, fd: int, record: dict[str, Any]) -> None:
        self.path, self.fd, self.record = path, fd, record

    def rewrite(self, record: dict[str, Any]) -> None:
        self.record = record
        os.ftruncate(self.fd, 0)
        os.pwrite(self.fd, json.dumps(record).encode("utf-8"), 0)

    def release(self) -> None:
        with contextlib.suppress(OSError):
            self.path.unlink()  # while it is still held: nobody can be waiting on this file
        os.close(self.fd)

    def inheritable(self) -> None:
        """Keep the lock across exec (`launch --exec`: the program that replaces us holds it)."""
        os.set_inheritable(self.fd, True)


def take_lock(path: Path, record: dict[str, Any]) -> HeldLock:
    """Lock `path` (created when missing) and write `record` in it, for whoever finds it taken;
    LockTaken when a live process holds it."""
    for _attempt in range(10):
        fd = os.open(path, os.O_RDWR | os.O_CREAT | os.O_NOFOLLOW | os.O_CLOEXEC, 0o644)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            holder = _lock_record(fd)
            os.close(fd)
            raise LockTaken(path, holder) from None
        try:
            same = os.path.samestat(os.fstat(fd), os.lstat(path))
        except FileNotFoundError:
            same = False  # its holder removed it as we opened it: open the new one
        if same:
            held = HeldLock(path, fd, record)
            held.rewrite(record)
            return held
        os.close(fd)
    raise WizardError(f"cannot take the lock {path}", "run again")


def lock_holder(path: Path) -> dict[str, Any] | None:
    """The record of the live process that holds `path`; None when nobody does."""
    try:
        fd = os.open(path, os.O_RDONLY | os.O_NOFOLLOW | os.O_CLOEXEC)
    except OSError:
        return None
    try:
        fcntl.flock(fd, fcntl.LOCK_SH | fcntl.LOCK_NB)
        return None
    except BlockingIOError:
        return _lock_record(fd)
    finally:
        os.close(fd)


def holder_text(holder: dict[str, Any]) -> str:
    """`pid 4242 on gpu-3, manifest /runs/a/launches/…/manifest.json`: a lock file's record, fit
    to print (whoever can write the file wrote it: a field that is not plain text is left out)."""

    def shown(value: object, missing: str = "?") -> str:
        if isinstance(value, int) and not isinstance(value, bool):
            return str(value)
        if isinstance(value, str) and value.isprintable() and len(value) <= 4096:
            return value
        return missing

    manifest = shown(holder.get("manifest"), "none yet")
    return f"pid {shown(holder.get('pid'))} on {shown(holder.get('host'))}, manifest {manifest}"


def _lock_record(fd: int) -> dict[str, Any]:
    try:
        record = json.loads(os.pread(fd, 64 * 1024, 0) or b"{}")
    except (OSError, ValueError):
        return {}
    return record if isinstance(record, dict) else {}


def refuse_overwrite(paths: list[Path], force: bool) -> None:
    """Raise before anything is written when any target exists and --force was not given (a
    symbolic link counts as the file it is, even when it points nowhere)."""
    in_the_way = [p for p in paths if p.is_dir() and not p.is_symlink()]
    if in_the_way:
        raise WizardError(
            f"{in_the_way[0]} is a folder, where a file is to be written; nothing was written",
            "move that folder, or choose another run folder",
        )
    if force:
        return
    existing = [p for p in paths if os.path.lexists(p)]
    if existing:
        names = ", ".join(str(p) for p in existing)
        raise WizardError(
            f"{names} already exist{'s' if len(existing) == 1 else ''}; nothing was written",
            "pass --force to overwrite, or choose another folder",
        )


def refuse_links(root: Path, paths: Iterable[Path]) -> None:
    """Raise when a folder between `root` and one of `paths` is a symbolic link or a file.

    The wizard never writes through a link it did not make: a linked `deepspeed/` would send
    the file (and with --force, an overwrite) to wherever the link points. A link in the place
    of a file itself is fine: writing replaces the link, never its target."""
    for path in paths:
        folder = root
        for part in path.relative_to(root).parts[:-1]:
            folder = folder / part
            try:
                mode = os.lstat(folder).st_mode
            except FileNotFoundError:
                break
            if stat.S_ISLNK(mode):
                raise WizardError(
                    f"{folder} is a symbolic link (to {os.readlink(folder)!r}); axolotl-wizard "
                    "does not write through links it did not make; nothing was written",
                    "replace the link with a folder, or choose another run folder",
                )
            if not stat.S_ISDIR(mode):
                refuse_in_the_way(folder)


def write_all(files: Mapping[Path, str], force: bool, folder: Path | None = None) -> None:
    """Write a set of files all-or-nothing as far as the file system allows.

    The folder (by default the first file's) is created and locked; every target is checked;
    then each is written atomically. If a write fails, the files and folders this call created
    are removed again, so no run folder is left half-made.
    """
    root = folder or next(iter(files)).parent
    created_folders = make_folders(root)
    created: list[Path] = []
    with folder_lock(root):  # a writer that finds it locked leaves the folder to the other one
        try:
            refuse_links(root, files)
            refuse_overwrite(list(files), force)
            for path, text in files.items():
                created_folders += make_folders(path.parent)
                existed = os.path.lexists(path)
                atomic_write_text(path, text)
                if not existed:
                    created.append(path)
        except BaseException:
            for path in created:
                path.unlink(missing_ok=True)
            remove_folders(created_folders)
            raise
