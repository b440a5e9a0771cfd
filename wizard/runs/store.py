"""Finding and reading launch records on disk: `find_runs(folder)`, `load_run(path)`, and the
one writer of the measured figures (`record_measured`).

Every read is bounded: a manifest over MAX_MANIFEST_BYTES is not read, a folder with more than
MAX_RUNS launches lists the newest MAX_RUNS, links are not followed. A manifest that cannot be
read is listed with a one-line reason (`RunSummary.error`); `load_run` raises a WizardError.
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

from wizard.errors import WizardError
from wizard.files import atomic_write_text
from wizard.runs.record import EstimateFigure, Measured, RunRecord, RunSummary, record_from
from wizard.yamlio import parse_json, read_text_file

LAUNCHES_DIR = "launches"
MANIFEST_FILENAME = "manifest.json"
OUTPUT_LOG = "output.log"
MAX_MANIFEST_BYTES = 1024 * 1024  # ours are a few kilobytes, a 2000-point curve ~60 KB
MAX_RUNS = 1000  # launches listed under one folder, newest first
MAX_ENTRIES = 10_000  # folder entries looked at while searching, in all


def find_runs(folder: Path) -> list[RunSummary]:
    """The launches under `folder`, newest first: a launch folder itself, a run folder's
    `launches/*`, or the run folders one level below `folder` (the demo's layout)."""
    if not folder.is_dir():
        raise WizardError(f"{folder} is not a folder", "give a run folder or a folder of runs")
    launches = sorted(_launch_folders(folder), key=lambda p: p.name, reverse=True)
    return [_summary(path) for path in launches[:MAX_RUNS]]


def is_one_run(path: Path) -> bool:
    """A launch folder, or a run folder (one that has been launched has launches/)."""
    return (path / MANIFEST_FILENAME).is_file() or (path / LAUNCHES_DIR).is_dir()


def load_run(path: Path) -> RunRecord:
    """One launch, in full: a launch folder, or a run folder (its newest launch)."""
    launch = path if (path / MANIFEST_FILENAME).exists() else _newest_launch(path)
    return record_from(launch, _run_dir_of(launch), read_manifest(launch))


def read_manifest(launch: Path) -> dict[str, Any]:
    """A launch folder's manifest.json as a mapping; WizardError (one line) otherwise."""
    path = launch / MANIFEST_FILENAME
    if path.is_symlink():
        raise WizardError(f"{path} is a link, not a launch record", "give a launch folder")
    data = parse_json(read_text_file(path, "launch manifest", MAX_MANIFEST_BYTES), str(path))
    if not isinstance(data, dict):
        raise WizardError(f"{path} is not a launch manifest (not a JSON object)",
                          "is this the right folder?")  # fmt: skip
    return data


def record_measured(launch: Path, measured: Measured, estimate: EstimateFigure | None) -> None:
    """Add what the launch measured (and the estimate it is compared with) to its manifest."""
    record = read_manifest(launch)
    record["measured"] = measured.to_json()
    if estimate is not None:
        record["estimate"] = estimate.to_json()
    atomic_write_text(launch / MANIFEST_FILENAME, json.dumps(record, indent=2) + "\n")


def _summary(launch: Path) -> RunSummary:
    try:
        return record_from(launch, _run_dir_of(launch), read_manifest(launch)).summary
    except WizardError as err:
        return RunSummary(launch, _run_dir_of(launch), error=err.message)


def _newest_launch(run_dir: Path) -> Path:
    found = sorted(_entries(run_dir / LAUNCHES_DIR, [MAX_ENTRIES]), key=lambda p: p.name)
    if not found:
        raise WizardError(
            f"{run_dir} holds no launch record ({LAUNCHES_DIR}/*/{MANIFEST_FILENAME})",
            "give a run folder that was launched, or a folder under its launches/",
        )
    return found[-1]


def _launch_folders(folder: Path) -> list[Path]:
    budget = [MAX_ENTRIES]
    if (folder / MANIFEST_FILENAME).exists():
        return [folder]
    found = _entries(folder / LAUNCHES_DIR, budget)
    for child in _subfolders(folder, budget):
        found += _entries(child / LAUNCHES_DIR, budget)
    return found


def _entries(launches: Path, budget: list[int]) -> list[Path]:
    """The launch folders in a `launches/` folder (those with a manifest; no links)."""
    return [p for p in _subfolders(launches, budget) if (p / MANIFEST_FILENAME).exists()]


def _subfolders(folder: Path, budget: list[int]) -> list[Path]:
    """The real folders directly in `folder`, counting each entry seen against `budget`."""
    if folder.is_symlink() or not folder.is_dir():
        return []
    found = []
    try:
        with os.scandir(folder) as entries:
            for entry in entries:
                budget[0] -= 1
                if budget[0] < 0:
                    break
                if entry.is_dir(follow_symlinks=False):
                    found.append(Path(entry.path))
    except OSError:
        return []
    return found


def _run_dir_of(launch: Path) -> Path:
    return launch.parent.parent if launch.parent.name == LAUNCHES_DIR else launch
