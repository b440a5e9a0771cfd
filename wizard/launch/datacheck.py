"""Local dataset files exist and parse, before a run spends minutes loading the model.

Only the container format is checked here (JSON lines, JSON, CSV header, Parquet magic bytes),
in the head of the file that `LIMITS` allows (`wizard.datafiles` bounds every read):
whether the records have the fields the prompt format wants is Axolotl's business, and it says so
itself when it tokenizes.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import TYPE_CHECKING

from wizard.axolotl.paths import is_local_path
from wizard.datafiles import (
    FORMATS,
    CountingReader,
    Limits,
    Malformed,
    csv_header,
    json_record,
    lines,
    open_regular,
    records,
)
from wizard.errors import WizardError
from wizard.yamlio import read_text_file

if TYPE_CHECKING:
    from wizard.launch.checks import Preflight

MAX_LINES = 200_000  # enough to catch a bad export; a 50 GB file is not read end to end
# A record longer than 64 MB is no training example (a 128k-token sequence is about 0.5 MB of
# text); past 128 MB of a file, no new record is read.
LIMITS = Limits(max_record=64 * 1024 * 1024, budget=128 * 1024 * 1024)


def check_datasets(pre: Preflight) -> None:
    for index, entry in enumerate(pre.target.config.datasets):
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
    """Why `path` does not parse as its suffix says, or None when it does (as far as the head
    read within LIMITS shows)."""
    try:
        if path.stat().st_size == 0:
            return "the file is empty"
        suffix = path.suffix.lower()
        if suffix == ".parquet":
            return _parquet_problem(path)
        if suffix not in (".jsonl", ".json", ".csv"):
            return None
        with open_regular(path) as handle:
            counter = CountingReader(handle)
            if suffix == ".csv":
                return _csv_problem(counter)
            if suffix == ".json" and _one_document(counter):
                return _document_problem(path)
            return _records_problem(FORMATS[suffix], counter)
    except OSError as err:
        return f"cannot be read: {err}"
    except WizardError as err:
        return err.message


def _records_problem(file_format: str, counter: CountingReader) -> str | None:
    found = 0
    for number, record in records(file_format, counter, LIMITS):
        if isinstance(record, Malformed):
            return f"line {number} is {record.reason}"
        found += 1
        if found >= MAX_LINES:
            break
    return None if found else "no records (only blank lines)"


def _one_document(counter: CountingReader) -> bool:
    """Whether a .json file is one JSON document that starts with `{` (a mapping of splits,
    say), rather than an array or JSON lines: its first line is not a whole object."""
    first = next(lines(counter, LIMITS), (1, None))[1]
    counter.seek(0)
    counter.count, counter.cut = 0, False
    text = (first or b"").decode("utf-8", errors="replace").strip()
    return text.startswith("{") and not isinstance(json_record(text), dict)


def _document_problem(path: Path) -> str | None:
    """One JSON document, parsed whole when it is small enough (bounded), else left to Axolotl."""
    if path.stat().st_size > LIMITS.max_record:
        return None
    try:
        json.loads(read_text_file(path, "dataset", LIMITS.max_record))
    except WizardError as err:
        return err.message
    except json.JSONDecodeError as err:
        return f"not valid JSON (line {err.lineno}, column {err.colno}: {err.msg})"
    except RecursionError:
        return "nested too deeply to be a dataset"
    return None


def _csv_problem(counter: CountingReader) -> str | None:
    header = csv_header(counter, LIMITS)
    if isinstance(header, Malformed):
        return f"line 1 is {header.reason}"
    if not any(cell.strip() for cell in header):
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
