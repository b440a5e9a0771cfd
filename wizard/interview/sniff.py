"""Read the first records of a local dataset and propose the Axolotl dataset type and mapping.

Only the head of a file is read (at most MAX_RECORDS records or MAX_BYTES bytes, no record
longer than MAX_BYTES: `wizard.datafiles` bounds every reader): a training set can be many
gigabytes and the interview must answer at once. Every byte comes through a counting reader, so
`SniffReport.bytes_read` says (and the tests prove) how little was read.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from wizard.datafiles import (
    FORMATS,
    CountingReader,
    Item,
    Limits,
    Malformed,
    open_regular,
    records,
    text_chars,
)
from wizard.errors import WizardError
from wizard.interview.shape import Proposal, misfit_reason, propose

MAX_RECORDS = 500
MAX_BYTES = 4 * 1024 * 1024
PREVIEW_ROWS = 3
SUFFIX_FORMATS = FORMATS


@dataclass
class Problem:
    count: int = 0
    first_line: int | None = None
    reason: str = ""

    def add(self, line: int, reason: str) -> None:
        self.count += 1
        if self.first_line is None:
            self.first_line, self.reason = line, reason


@dataclass
class SniffReport:
    path: Path
    file_format: str
    unit: str
    records: int = 0
    complete: bool = False
    bytes_read: int = 0
    proposal: Proposal | None = None
    preview: list[dict[str, Any]] = field(default_factory=list)
    malformed: Problem = field(default_factory=Problem)
    misfits: Problem = field(default_factory=Problem)
    longest_chars: int = 0

    def lines(self) -> list[str]:
        """What the interview prints about the file, one finding a line."""
        scope = "all" if self.complete else "the first"
        out = [f"Read {scope} {self.records} records of {self.path} ({self.file_format})."]
        if self.records == 0 and not self.malformed.count:
            out.append("The file has no records; pick another file.")
        if self.proposal is not None:
            out.append(f"Looks like {self.proposal.describe()}.")
        for verbs, problem in (
            (("cannot", "cannot"), self.malformed),
            (("does not", "do not"), self.misfits),
        ):
            if problem.count:
                one = problem.count == 1
                what = "be read" if problem is self.malformed else "fit"
                out.append(
                    f"{problem.count} record{'' if one else 's'} {verbs[0 if one else 1]} {what} "
                    f"(first at {self.unit} {problem.first_line}: {problem.reason})."
                )
        return out


def sniff(
    path: Path,
    max_records: int = MAX_RECORDS,
    max_bytes: int = MAX_BYTES,
    expected: Proposal | None = None,
) -> SniffReport:
    """Read the head of `path` and propose a format; WizardError for an unknown suffix.
    `misfits` counts the records that do not fit `expected` (the answers' format and mapping),
    or the proposal when no format was given."""
    file_format = SUFFIX_FORMATS.get(path.suffix.lower())
    if file_format is None:
        raise WizardError(
            f"{path}: cannot read {path.suffix or 'a file without suffix'} files",
            "use a .jsonl, .json, .parquet or .csv file, or a Hub dataset id",
        )
    unit = "row" if file_format == "parquet" else "line"
    report = SniffReport(path, file_format, unit)
    with open_regular(path) as handle:
        counter = CountingReader(handle)
        items = records(file_format, counter, Limits(max_record=max_bytes, budget=max_bytes))
        rows = _collect(items, report, counter, max_records, max_bytes)
        report.bytes_read = counter.count
    _judge(report, rows, expected)
    return report


def _collect(
    items: Iterator[Item], report: SniffReport, counter: CountingReader, limit: int, max_bytes: int
) -> list[tuple[int, dict[str, Any]]]:
    """Take records until the limits; sets `report.complete` when the whole file was seen."""
    rows: list[tuple[int, dict[str, Any]]] = []
    for line, item in items:
        if isinstance(item, Malformed):
            report.malformed.add(line, item.reason)
            continue
        rows.append((line, item))
        if len(rows) >= limit or counter.count > max_bytes:
            return rows
    report.complete = not counter.cut
    return rows


def _judge(
    report: SniffReport, rows: list[tuple[int, dict[str, Any]]], expected: Proposal | None
) -> None:
    report.records = len(rows)
    report.preview = [_shorten(record) for _, record in rows[:PREVIEW_ROWS]]
    report.proposal = propose([record for _, record in rows])
    against = expected or report.proposal
    for line, record in rows:
        report.longest_chars = max(report.longest_chars, text_chars(record))
        if against is not None:
            reason = misfit_reason(record, against)
            if reason:
                report.misfits.add(line, reason)


def _shorten(record: dict[str, Any], width: int = 60) -> dict[str, Any]:
    shown = {}
    for key, value in record.items():
        try:
            text = value if isinstance(value, str) else json.dumps(value, ensure_ascii=False)
        except (RecursionError, TypeError, ValueError):  # nesting, bytes (Parquet binary)
            text = "…"
        shown[key] = text if len(text) <= width else text[: width - 1] + "…"
    return shown
