"""Local dataset files exist and parse, before a run spends minutes loading the model.

Only the container format is checked here (JSON lines, JSON, CSV header, Parquet magic bytes):
whether the records have the fields the prompt format wants is Axolotl's business, and it says so
itself when it tokenizes.
"""

from __future__ import annotations

import csv
import json
from pathlib import Path
from typing import TYPE_CHECKING

from wizard.axolotl.paths import is_local_path

if TYPE_CHECKING:
    from wizard.launch.checks import Preflight

MAX_LINES = 200_000  # enough to catch a bad export; a 50 GB file is not read end to end
MAX_JSON_BYTES = 256 * 1024 * 1024  # a bigger JSON array is only checked for its first bytes


def check_datasets(pre: Preflight) -> None:
    entries = pre.target.config.get("datasets") or []
    if not isinstance(entries, list):
        return  # check_config reports the type
    for index, entry in enumerate(entries):
        value = entry.get("path") if isinstance(entry, dict) else None
        if not isinstance(value, str):
            continue
        path = pre.target.run_dir / Path(value).expanduser()
        if not (path.exists() or is_local_path(value)):
            continue  # a Hub dataset id
        where = f"datasets[{index}].path {value}"
        if not path.exists():
            pre.error(f"{where}: {path} does not exist",
                      "paths in the config are relative to its folder; fix the path")  # fmt: skip
            continue
        if not (path.is_file() or path.is_dir()):
            pre.error(f"{where}: {path} is not a regular file (a pipe, socket or device)",
                      "point the path at a data file or a dataset folder")  # fmt: skip
            continue
        problem = parse_problem(path) if path.is_file() else None
        if problem:
            pre.error(f"{where}: {problem}", "fix or regenerate the file")


def parse_problem(path: Path) -> str | None:
    """Why `path` does not parse as its suffix says, or None when it does."""
    try:
        if path.stat().st_size == 0:
            return "the file is empty"
        suffix = path.suffix.lower()
        if suffix == ".jsonl":
            return _jsonl_problem(path)
        if suffix == ".json":
            return _json_problem(path)
        if suffix == ".csv":
            return _csv_problem(path)
        if suffix == ".parquet":
            return _parquet_problem(path)
    except (OSError, UnicodeDecodeError) as err:
        return f"cannot be read: {err}"
    return None


def _jsonl_problem(path: Path) -> str | None:
    records = 0
    with path.open(encoding="utf-8") as handle:
        for number, line in enumerate(handle, start=1):
            if number > MAX_LINES:
                break
            if not line.strip():
                continue
            try:
                record = json.loads(line)
            except json.JSONDecodeError as err:
                return f"line {number} is not JSON ({err.msg}, column {err.colno})"
            except RecursionError:
                return f"line {number} is nested too deeply to be a record"
            if not isinstance(record, dict):
                return f"line {number} is a JSON {type(record).__name__}, not an object"
            records += 1
    return None if records else "no records (only blank lines)"


def _json_problem(path: Path) -> str | None:
    if path.stat().st_size > MAX_JSON_BYTES:
        with path.open("rb") as handle:
            head = handle.read(64).lstrip()
        return None if head[:1] in (b"[", b"{") else "not a JSON array or JSON lines"
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except json.JSONDecodeError as err:
        # Many "*.json" datasets are really JSON lines; accept those too.
        if err.lineno > 1 and _jsonl_problem(path) is None:
            return None
        return f"not valid JSON (line {err.lineno}, column {err.colno}: {err.msg})"
    except RecursionError:
        return "nested too deeply to be a dataset"
    if not isinstance(data, (list, dict)):
        return f"the top level is a JSON {type(data).__name__}, not a list of records"
    return None


def _csv_problem(path: Path) -> str | None:
    with path.open(encoding="utf-8", newline="") as handle:
        header = next(csv.reader(handle), None)
    if not header or not any(cell.strip() for cell in header):
        return "no header row"
    return None


def _parquet_problem(path: Path) -> str | None:
    with path.open("rb") as handle:
        head = handle.read(4)
        handle.seek(-4, 2)
        tail = handle.read(4)
    if head != b"PAR1" or tail != b"PAR1":
        return "not a Parquet file (no PAR1 magic bytes)"
    return None
