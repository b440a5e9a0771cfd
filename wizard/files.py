"""Writing files safely: nothing half-written, nothing overwritten without --force."""

from __future__ import annotations

import os
import tempfile
from collections.abc import Mapping
from pathlib import Path

from wizard.errors import WizardError


def atomic_write_text(path: Path, text: str) -> None:
    """Write to a temporary file in the same folder, then rename over the target.

    The rename is atomic on POSIX, so a reader (or a crash) sees the old file or the new one,
    never a half-written one.
    """
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp_name = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    try:
        # mkstemp makes the file 0600; a file written the ordinary way would be 0666 less the
        # umask, and a preset saved into a team folder must be readable by the team.
        os.fchmod(fd, 0o666 & ~current_umask())
        with os.fdopen(fd, "w", encoding="utf-8", newline="\n") as handle:
            handle.write(text)
        os.replace(tmp_name, path)
    except BaseException:
        Path(tmp_name).unlink(missing_ok=True)
        raise


def current_umask() -> int:
    """The process umask (reading it means setting it; it is put back at once)."""
    mask = os.umask(0o022)
    os.umask(mask)
    return mask


def refuse_overwrite(paths: list[Path], force: bool) -> None:
    """Raise before anything is written when any target exists and --force was not given."""
    if force:
        return
    existing = [p for p in paths if p.exists()]
    if existing:
        names = ", ".join(str(p) for p in existing)
        raise WizardError(
            f"{names} already exist{'s' if len(existing) == 1 else ''}; nothing was written",
            "pass --force to overwrite, or choose another folder",
        )


def write_all(files: Mapping[Path, str], force: bool) -> None:
    """Write a set of files all-or-nothing as far as the file system allows.

    Every target is checked first; then each is written atomically. If a later write fails,
    the files this call created are removed again, so no run folder is left half-made.
    """
    refuse_overwrite(list(files), force)
    created: list[Path] = []
    try:
        for path, text in files.items():
            existed = path.exists()
            atomic_write_text(path, text)
            if not existed:
                created.append(path)
    except BaseException:
        for path in created:
            path.unlink(missing_ok=True)
        raise
