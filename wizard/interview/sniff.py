"""Read the first records of a local dataset and propose the Axolotl dataset type and mapping.

Only the head of a file is read (at most MAX_RECORDS records or MAX_BYTES bytes): a training set
can be many gigabytes and the interview must answer at once. Every byte comes through a counting
reader, so `SniffReport.bytes_read` says (and the tests prove) how little was read.

pyarrow reads Parquet. It is not a dependency of the wizard (Axolotl brings it), so it is imported
only for a Parquet file, with a clear error when it is missing.
"""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, BinaryIO

from wizard.errors import WizardError
from wizard.interview.shape import Proposal, misfit_reason, propose

MAX_RECORDS = 500
MAX_BYTES = 4 * 1024 * 1024
CHUNK_BYTES = 64 * 1024
PREVIEW_ROWS = 3
SUFFIX_FORMATS = {".jsonl": "jsonl", ".json": "json", ".parquet": "parquet", ".csv": "csv"}


class Malformed:
    """A record that could not be read at all (bad JSON, a CSV row with the wrong field count)."""

    def __init__(self, reason: str) -> None:
        self.reason = reason


Item = tuple[int, "dict[str, Any] | Malformed"]


class CountingReader(io.RawIOBase):
    """A raw binary stream that counts the bytes handed out, to prove a file was not read whole."""

    def __init__(self, handle: BinaryIO) -> None:
        self._handle = handle
        self.count = 0

    def readable(self) -> bool:
        return True

    def seekable(self) -> bool:
        return self._handle.seekable()

    def seek(self, offset: int, whence: int = io.SEEK_SET) -> int:
        return self._handle.seek(offset, whence)

    def tell(self) -> int:
        return self._handle.tell()

    def readinto(self, buffer: Any) -> int:
        data = self._handle.read(len(buffer))
        buffer[: len(data)] = data
        self.count += len(data)
        return len(data)


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
    with path.open("rb") as handle:
        counter = CountingReader(handle)
        items = _READERS[file_format](counter, max_bytes)
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
    report.complete = True
    return rows


def _judge(
    report: SniffReport, rows: list[tuple[int, dict[str, Any]]], expected: Proposal | None
) -> None:
    report.records = len(rows)
    report.preview = [_shorten(record) for _, record in rows[:PREVIEW_ROWS]]
    report.proposal = propose([record for _, record in rows])
    against = expected or report.proposal
    for line, record in rows:
        report.longest_chars = max(report.longest_chars, _text_chars(record))
        if against is not None:
            reason = misfit_reason(record, against)
            if reason:
                report.misfits.add(line, reason)


def _shorten(record: dict[str, Any], width: int = 60) -> dict[str, Any]:
    shown = {}
    for key, value in record.items():
        try:
            text = value if isinstance(value, str) else json.dumps(value, ensure_ascii=False)
        except (RecursionError, ValueError):
            text = "…"
        shown[key] = text if len(text) <= width else text[: width - 1] + "…"
    return shown


def _text_chars(value: Any) -> int:
    """Characters of text anywhere in a record (walked without recursion: records nest)."""
    total, stack = 0, [value]
    while stack:
        node = stack.pop()
        if isinstance(node, str):
            total += len(node)
        elif isinstance(node, dict):
            stack.extend(node.values())
        elif isinstance(node, list):
            stack.extend(node)
    return total


def _text(counter: CountingReader) -> io.TextIOWrapper:
    buffered = io.BufferedReader(counter, buffer_size=CHUNK_BYTES)
    return io.TextIOWrapper(buffered, encoding="utf-8", errors="replace", newline="")


def _read_jsonl(counter: CountingReader, max_bytes: int) -> Iterator[Item]:
    for number, line in enumerate(_text(counter), start=1):
        if line.strip():
            yield number, _json_record(line)


def _json_record(text: str) -> dict[str, Any] | Malformed:
    try:
        value = json.loads(text)
    except json.JSONDecodeError as err:
        return Malformed(f"not JSON ({err.msg})")
    except RecursionError:
        return Malformed("nested too deeply to be a record")
    if not isinstance(value, dict):
        return Malformed(f"a JSON {type(value).__name__}, not an object")
    return value


def _read_json(counter: CountingReader, max_bytes: int) -> Iterator[Item]:
    """A JSON array, decoded one element at a time; a file of JSON lines is read as such."""
    stream = _text(counter)
    buffer = stream.read(CHUNK_BYTES)
    start = len(buffer) - len(buffer.lstrip())
    if not buffer.strip():
        return
    if buffer[start] == "{":
        rest = io.StringIO(buffer + stream.read(max_bytes))
        for number, line in enumerate(rest, start=1):
            if line.strip():
                yield number, _json_record(line)
        return
    if buffer[start] != "[":
        yield 1, Malformed("a JSON dataset is an array of objects or one object per line")
        return
    yield from _array_items(stream, buffer, start + 1, max_bytes)


def _array_items(stream: io.TextIOWrapper, buffer: str, pos: int, max_bytes: int) -> Iterator[Item]:
    decoder = json.JSONDecoder()
    line = 1 + buffer.count("\n", 0, pos)
    while True:
        skipped = len(buffer) - pos - len(buffer[pos:].lstrip(" \t\r\n,"))
        line += buffer.count("\n", pos, pos + skipped)
        pos += skipped
        if pos < len(buffer) and buffer[pos] == "]":
            return
        try:
            value, end = decoder.raw_decode(buffer, pos)
        except json.JSONDecodeError as err:
            more = stream.read(CHUNK_BYTES)
            if more and len(buffer) - pos < max_bytes:
                buffer, pos = buffer[pos:] + more, 0
                continue
            if pos < len(buffer):
                yield line, Malformed(f"not JSON ({err.msg}); the rest of the array is unreadable")
            return
        item = value if isinstance(value, dict) else Malformed("an array element, not an object")
        yield line, item
        line += buffer.count("\n", pos, end)
        pos = end


def _read_csv(counter: CountingReader, max_bytes: int) -> Iterator[Item]:
    reader = csv.DictReader(_text(counter))
    start = 2  # line 1 is the header
    for row in reader:
        width = len(reader.fieldnames or [])
        extra = len(row.pop(None, None) or [])  # type: ignore[call-overload,unused-ignore]
        missing = sum(value is None for value in row.values())
        if extra or missing:
            yield start, Malformed(f"{width + extra - missing} fields, the header has {width}")
        else:
            yield start, dict(row)
        start = reader.line_num + 1


def _read_parquet(counter: CountingReader, max_bytes: int) -> Iterator[Item]:
    try:
        import pyarrow.parquet as pq  # type: ignore[import-untyped,unused-ignore]
    except ImportError:
        raise WizardError(
            "reading a Parquet file needs pyarrow, which is not installed",
            "pip install pyarrow (Axolotl installs it), or convert the file to JSONL",
        ) from None
    try:
        # No pre-buffering and a small read buffer: pages are fetched as the rows are taken.
        parquet = pq.ParquetFile(counter, pre_buffer=False, buffer_size=CHUNK_BYTES)
    except Exception as err:
        raise WizardError(f"cannot read the Parquet file: {err}", "is it a Parquet file?") from None
    number = 0
    # Batches are read lazily, so stopping after the first records leaves later row groups unread.
    for batch in parquet.iter_batches(batch_size=256):
        for row in batch.to_pylist():
            number += 1
            yield number, row


_READERS = {"jsonl": _read_jsonl, "json": _read_json, "csv": _read_csv, "parquet": _read_parquet}
