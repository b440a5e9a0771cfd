"""A run folder written all or nothing, also when it replaces one (`new --force`).

The new folder is built beside the old one, in a hidden sibling on the same file system
(`.NAME.wizard-new-XXXXXXXX`), then swapped in with one rename (Linux's `renameat2` with
RENAME_EXCHANGE). Whatever stops the wizard (a full disk, a signal, a crash) finds the old folder
whole or the new one whole:

- `--force` replaces the files the new run writes (axolotl.yml, wizard-answers.yml, its DeepSpeed
  files), nothing else: every other entry of the old folder (launches/, outputs/, the user's own
  files, a file an earlier `new` wrote that this one does not) moves into the new folder just
  before the swap, so it stays.
- SIGTERM, SIGHUP and Ctrl-C while the new folder is built stop the write cleanly (the sibling
  is removed; exit 128 + the signal); during the swap itself they wait until it is done.
- A SIGKILL or a power cut can leave the sibling behind. The next `new` of that folder finds it:
  a sibling that still holds the marker file was never swapped in, so what had been moved into
  it goes back to the run folder; one without it is what the swap replaced. Both are removed.
- Writers of one folder take turns: the swap happens under a lock on the parent folder, and it
  is refused while a launch trains in the folder (its working directory would be swapped away).
- Nothing is written through a symbolic link the wizard did not make (`files.refuse_links`).

A shell whose working directory is the run folder keeps the old one, now removed:
`cd "$PWD"` enters the new one.
"""

from __future__ import annotations

import errno
import fcntl
import json
import os
import re
import shutil
import signal
import stat
import tempfile
from collections.abc import Iterator, Mapping
from contextlib import contextmanager, suppress
from pathlib import Path
from types import FrameType

from wizard.errors import WizardError
from wizard.files import (
    current_umask,
    holder_text,
    lock_holder,
    make_folders,
    os_error,
    parent_lock,
    refuse_in_the_way,
    refuse_links,
    refuse_overwrite,
    remove_folders,
)

MARKER = ".axolotl-wizard-new"  # in a folder built and not yet swapped in: the files it wrote
NEW, OLD = "wizard-new-", "wizard-old-"
RUN_LOCKS = "launches/.launch-node*.lock"  # held by a launch for as long as it trains
STOPPING = (signal.SIGINT, signal.SIGTERM, signal.SIGHUP)
_RENAME_EXCHANGE, _AT_FDCWD = 2, -100


class StopWrite(BaseException):
    """A stopping signal arrived while the run folder was being written."""

    def __init__(self, signum: int) -> None:
        super().__init__(signum)
        self.signum = signum

    def error(self, root: Path, written: bool) -> WizardError:
        name = signal.Signals(self.signum).name
        outcome = f"{root}/ was written whole" if written else "nothing was written"
        err = WizardError(f"stopped by {name}; {outcome}", None)
        err.exit_code = 128 + self.signum
        return err


def write_run_folder(root: Path, files: Mapping[str, str], force: bool) -> list[str]:
    """Write `files` (path relative to the folder -> text) as the run folder `root`, all or
    nothing. Returns notes on what an earlier, killed write had left and what became of it."""
    refuse_in_the_way(root)
    created = make_folders(root.parent)
    real = Path(os.path.realpath(root))
    if os.path.islink(root) and not real.is_dir():
        remove_folders(created)
        raise WizardError(f"{root} is a symbolic link to {os.readlink(root)!r}, which is not a "
                          "folder; nothing was written", "choose another run folder")  # fmt: skip
    write = _Write(root, real, files, force)
    try:
        with _signals_stop():
            return write.run()
    except StopWrite as stop:
        raise stop.error(root, write.swapped) from None
    finally:
        if not write.swapped:
            remove_folders(created)


class _Write:
    """One write of a run folder: checked, built beside, swapped in (or undone)."""

    def __init__(self, root: Path, real: Path, files: Mapping[str, str], force: bool) -> None:
        self.root, self.real, self.files, self.force = root, real, files, force
        self.building: Path | None = None  # the hidden sibling, as soon as it exists
        self.hold: int | None = None  # its locked descriptor: a live writer is building it
        self.swapped = False

    def run(self) -> list[str]:
        try:
            _check_targets(self.root, self.files, self.force)
            self._build()
            assert self.building is not None
            with parent_lock(self.real.parent), _signals_deferred():
                notes = recover(self.root, self.real)
                _check_targets(self.root, self.files, self.force)
                _refuse_running_launch(self.root, self.real)
                here = _working_directory()
                _swap(self.root, self.real, self.building, list(self.files))
                self.swapped = True
            return notes + _reenter(here, self.real)
        finally:
            with _signals_deferred():  # a second Ctrl-C must not cut the undo short
                if self.building is not None and not self.swapped:
                    _undo(self.building, self.real)
                if self.hold is not None:
                    os.close(self.hold)

    def _build(self) -> None:
        """The new folder, complete, in a hidden sibling. It is made and locked under the
        parent's lock, so `recover` never takes it for the leftover of a killed writer."""
        real = self.real
        with parent_lock(real.parent), _signals_deferred():
            try:
                self.building = Path(tempfile.mkdtemp(prefix=f".{real.name}.{NEW}",
                                                      dir=real.parent))  # fmt: skip
                self.hold = os.open(self.building, os.O_RDONLY | os.O_DIRECTORY | os.O_CLOEXEC)
            except OSError as err:
                raise os_error(err, self.root, "make the folder") from None
            fcntl.flock(self.hold, fcntl.LOCK_EX)
        try:
            # As mkdir would make it, not mkdtemp's 0700.
            os.chmod(self.building, 0o777 & ~current_umask())
            marker = json.dumps({"files": sorted(self.files)})
            _write_new(self.building / MARKER, marker, self.root)
            for name, text in self.files.items():
                (self.building / name).parent.mkdir(parents=True, exist_ok=True)
                _write_new(self.building / name, text, self.root / name)
        except OSError as err:
            raise os_error(err, self.root, "make the folder") from None


def _working_directory() -> str | None:
    with suppress(OSError):
        return os.getcwd()
    return None


def _reenter(here: str | None, real: Path) -> list[str]:
    """When this process works inside the folder just replaced, it moves into the new one; a
    shell there stays in the old one, so the user is told."""
    if here is None or os.path.commonpath([here, real]) != str(real):
        return []
    with suppress(OSError):
        os.chdir(here)
    return ['this shell is inside the folder just replaced: `cd "$PWD"` to see the new files']


def _check_targets(root: Path, files: Mapping[str, str], force: bool) -> None:
    refuse_in_the_way(root)
    targets = [root / name for name in files]
    refuse_links(root, targets)
    refuse_overwrite(targets, force)


def _write_new(path: Path, text: str, shown: Path) -> None:
    """A new file, never through a link; a failure names the file the user will look for."""
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW | os.O_CLOEXEC,
                     0o666)  # fmt: skip
        with os.fdopen(fd, "w", encoding="utf-8", newline="\n") as handle:
            handle.write(text)
    except OSError as err:
        raise os_error(err, shown, "write") from None


def run_lock(run_dir: Path, rank: int) -> Path:
    """The lock file a launch of `run_dir` with node rank `rank` holds while it trains."""
    return run_dir / RUN_LOCKS.replace("*", str(rank))


def _refuse_running_launch(root: Path, real: Path) -> None:
    for lock in sorted(real.glob(RUN_LOCKS)):
        holder = lock_holder(lock)
        if holder is not None:
            raise WizardError(
                f"a launch is training in {root} ({holder_text(holder)}); nothing was written",
                "wait for it to end (or stop it), then write the run folder again",
            )


def _swap(root: Path, real: Path, building: Path, written: list[str]) -> None:
    """Put the built folder in place: a plain rename when there is none yet, else an exchange
    after moving what the old folder keeps into the new one (`_undo` moves it back when this
    fails)."""
    replacing = os.path.lexists(real)
    try:
        if replacing:
            os.chmod(building, stat.S_IMODE(os.lstat(real).st_mode))
            for name in _kept(real, written):
                os.rename(real / name, building / name)
        if replacing:
            _exchange(building, real)
        else:  # writers take turns under the parent's lock: nobody else makes it meanwhile
            os.rename(building, real)
    except OSError as err:
        raise os_error(err, root, "replace" if replacing else "make the folder") from None
    with suppress(OSError):  # done: what follows only tidies up
        (real / MARKER).unlink()
    if replacing:
        shutil.rmtree(building, ignore_errors=True)  # now the old folder: the replaced files


def _kept(real: Path, written: list[str]) -> Iterator[str]:
    """The entries of the old folder that the new one keeps: all but the files written anew,
    looking inside the folders that new files go into."""
    folders = {str(Path(name).parent) for name in written} - {"."}
    pending = [""]
    while pending:
        below = pending.pop()
        for entry in sorted(os.listdir(real / below)):
            name = f"{below}/{entry}" if below else entry
            if name in written or name == MARKER:
                continue
            if name in folders and not os.path.islink(real / name):
                pending.append(name)
            else:
                yield name


def _exchange(source: Path, target: Path) -> None:
    """Swap two folders in one step: renameat2's RENAME_EXCHANGE where the C library has it;
    otherwise (or where the file system refuses the flag) three renames, which `recover`
    finishes or undoes after a crash."""
    import ctypes  # here: only a replacing write pays for it, not every `new`

    function = getattr(ctypes.CDLL(None, use_errno=True), "renameat2", None)
    if function is not None:
        done = function(_AT_FDCWD, os.fsencode(source), _AT_FDCWD, os.fsencode(target),
                        _RENAME_EXCHANGE)  # fmt: skip
        if done == 0:
            return
        code = ctypes.get_errno()
        if code not in (errno.EINVAL, errno.ENOSYS, errno.ENOTSUP):
            raise OSError(code, os.strerror(code), str(target))
    aside = target.with_name(f".{target.name}.{OLD}{source.name.rsplit('-', 1)[-1]}")
    os.rename(target, aside)
    try:
        os.rename(source, target)
    except OSError:
        os.rename(aside, target)
        raise
    os.rename(aside, source)  # where the caller expects the old folder


def recover(root: Path, real: Path) -> list[str]:
    """Undo or finish what a killed write of `real` left (under the parent's lock)."""
    notes = []
    with suppress(FileNotFoundError):
        (real / MARKER).unlink()  # swapped in, killed before it removed its marker
    mine = re.compile(rf"\.{re.escape(real.name)}\.wizard-(new|old)-\w+")
    siblings = [p for p in real.parent.iterdir() if mine.fullmatch(p.name)]
    for sibling in sorted(siblings, key=lambda p: NEW in p.name):  # an old one may be the run
        if not sibling.is_dir() or sibling.is_symlink() or _busy(sibling):
            continue
        if OLD in sibling.name and not os.path.lexists(real):
            os.rename(sibling, real)
            notes.append(f"put {root} back as it was before a write that was killed")
            continue
        left = _undo(sibling, real)
        notes.append(f"removed {sibling.name}, left by a write of {root} that was killed"
                     + (f"; {left} could not go back" if left else ""))  # fmt: skip
    return notes


def _busy(sibling: Path) -> bool:
    """Whether a live writer holds the sibling (it is building it right now)."""
    fd = os.open(sibling, os.O_RDONLY | os.O_DIRECTORY | os.O_CLOEXEC)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        return False
    except BlockingIOError:
        return True
    finally:
        os.close(fd)


def _undo(building: Path, real: Path) -> str | None:
    """Move back into `real` what a folder built for it took from it, then remove that folder.
    Returns what could not go back (then the folder stays, for the user to look at)."""
    try:
        written = json.loads((building / MARKER).read_text(encoding="utf-8"))["files"]
    except (OSError, ValueError, KeyError, TypeError):
        written = None  # no marker: nothing was moved into it (or it is an old, replaced folder)
    if written is not None:
        for name in _kept(building, written):
            if os.path.lexists(real / name) or not (real / name).parent.is_dir():
                return name
            os.rename(building / name, real / name)
    shutil.rmtree(building, ignore_errors=True)
    return None


@contextmanager
def _signals_stop() -> Iterator[None]:
    """SIGINT, SIGTERM and SIGHUP raise StopWrite, so the write cleans up before it exits."""

    def stop(signum: int, _frame: FrameType | None) -> None:
        raise StopWrite(signum)

    previous = {sig: signal.signal(sig, stop) for sig in STOPPING}
    try:
        yield
    finally:
        for sig, handler in previous.items():
            signal.signal(sig, handler)


@contextmanager
def _signals_deferred() -> Iterator[None]:
    """The stopping signals wait while the folder is swapped; they arrive when it is done."""
    blocked = signal.pthread_sigmask(signal.SIG_BLOCK, STOPPING)
    try:
        yield
    finally:
        signal.pthread_sigmask(signal.SIG_SETMASK, blocked)
