"""The head of a dataset file, record by record, bounded in bytes before anything is read.

A dataset can be many gigabytes, and hostile: one 10 GB line (sparse, so it costs no disk), a
JSON array nested a million deep, a CSV field of megabytes, a Parquet file whose 31 KB expand to
gigabytes. Each reader takes records from the head of the file and never holds more than
`max_record` bytes of one record, nor starts a record after `budget` bytes:

- a line is read in chunks; one longer than `max_record` is reported, not kept;
- a JSON array is decoded one element at a time from a buffer of at most `max_record` bytes;
- CSV rows come from those bounded lines, with fields as long as a record may be;
- Parquet: the footer's length and the first row group's uncompressed size (the file's own
  metadata) are checked before a data page is read; only that row group is read, one row at a
  time, so a dictionary value repeated a million times is never expanded at once.

Records come as (line or row number, mapping or `Malformed`). `interview.sniff` (what a file
looks like) and `launch.datacheck` (does it parse) both read through here. pyarrow is not a
dependency of the wizard (Axolotl brings it): it is imported for a Parquet file only.
"""

from __future__ import annotations

import csv
import io
import json
import os
import stat
from collections.abc import Iterator
from pathlib import Path
from typing import Any, BinaryIO

from wizard.errors import WizardError
from wizard.records import Record

CHUNK_BYTES = 64 * 1024
MAX_PARQUET_FOOTER = 16 * 1024 * 1024
FORMATS = {".jsonl": "jsonl", ".json": "json", ".parquet": "parquet", ".csv": "csv"}


class Malformed:
    """A record that could not be read (bad JSON, too long, a CSV row of the wrong width)."""

    def __init__(self, reason: str) -> None:
        self.reason = reason


Item = tuple[int, "dict[str, Any] | Malformed"]


class Limits(Record):
    max_record: int  # bytes of one record (a line, an array element, a Parquet row group/64)
    budget: int  # no record starts after this many bytes were read

    @property
    def max_row_group(self) -> int:
        """Uncompressed bytes of the one Parquet row group read (pages are decoded whole)."""
        return 64 * self.max_record


class CountingReader(io.RawIOBase):
    """A raw binary stream that counts the bytes handed out, and says whether the reading
    stopped before the end of the file (`cut`)."""

    def __init__(self, handle: BinaryIO) -> None:
        self._handle = handle
        self.count = 0
        self.cut = False

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


def mib(size: int) -> str:
    return f"{size / 2**20:,.0f} MiB"


def open_regular(path: Path) -> BinaryIO:
    """`path` opened for reading, when it is a regular file: a pipe would wait for a writer
    forever, and /dev/zero never ends."""
    fd = os.open(path, os.O_RDONLY | os.O_NONBLOCK | os.O_CLOEXEC)
    if not stat.S_ISREG(os.fstat(fd).st_mode):
        os.close(fd)
        raise WizardError(f"{path} is not a regular file (a pipe, socket or device)",
                          "give the path of a data file on disk")  # fmt: skip
    return os.fdopen(fd, "rb")


def records(file_format: str, counter: CountingReader, limits: Limits) -> Iterator[Item]:
    """The records at the head of a file of `file_format` (a value of FORMATS)."""
    readers = {"jsonl": jsonl_records, "json": json_records, "csv": csv_records,
               "parquet": parquet_records}  # fmt: skip
    return readers[file_format](counter, limits)


def lines(counter: CountingReader, limits: Limits) -> Iterator[tuple[int, bytes | None]]:
    """(line number, its bytes without the line end) for each line; None for a line longer
    than `max_record`, which is read on to its end but never kept."""
    kept, number, too_long = bytearray(), 1, False
    while True:
        chunk = counter.read(CHUNK_BYTES)
        if not chunk:
            if too_long or kept:
                yield number, None if too_long else bytes(kept)
            return
        start = 0
        while (end := chunk.find(b"\n", start)) >= 0:
            kept += chunk[start:end] if not too_long else b""
            too_long = too_long or len(kept) > limits.max_record
            yield number, None if too_long else bytes(kept)
            kept.clear()
            number, start, too_long = number + 1, end + 1, False
            if counter.count > limits.budget:
                counter.cut = True
                return
        if not too_long:
            kept += chunk[start:]
            if len(kept) > limits.max_record:
                kept.clear()
                too_long = True
        if too_long and counter.count > limits.budget:
            counter.cut = True
            yield number, None
            return


def too_long(limits: Limits) -> Malformed:
    return Malformed(f"longer than {mib(limits.max_record)}, more than a record is read to")


def jsonl_records(counter: CountingReader, limits: Limits) -> Iterator[Item]:
    for number, line in lines(counter, limits):
        if line is None:
            yield number, too_long(limits)
        elif line.strip():
            yield number, json_record(line.decode("utf-8", errors="replace"))


def json_record(text: str) -> dict[str, Any] | Malformed:
    try:
        value = json.loads(text)
    except json.JSONDecodeError as err:
        return Malformed(f"not JSON ({err.msg})")
    except RecursionError:
        return Malformed("nested too deeply to be a record")
    if not isinstance(value, dict):
        return Malformed(f"a JSON {type(value).__name__}, not an object")
    return value


def json_records(counter: CountingReader, limits: Limits) -> Iterator[Item]:
    """A JSON array, decoded one element at a time; a file of JSON lines is read as such."""
    stream = _text(counter)
    buffer = stream.read(CHUNK_BYTES)
    start = len(buffer) - len(buffer.lstrip())
    if not buffer.strip():
        return
    if buffer[start] == "{":
        counter.seek(0)
        counter.count = 0
        yield from jsonl_records(counter, limits)
        return
    if buffer[start] != "[":
        yield 1, Malformed("a JSON dataset is an array of objects or one object per line")
        return
    yield from _array_items(stream, buffer, start + 1, counter, limits)


def _text(counter: CountingReader) -> io.TextIOWrapper:
    buffered = io.BufferedReader(counter, buffer_size=CHUNK_BYTES)
    return io.TextIOWrapper(buffered, encoding="utf-8", errors="replace", newline="")


def _array_items(stream: io.TextIOWrapper, buffer: str, pos: int, counter: CountingReader,
                 limits: Limits) -> Iterator[Item]:  # fmt: skip
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
            # Twice the text each time: a long element is parsed a few times, not once a chunk.
            more = stream.read(max(CHUNK_BYTES, len(buffer) - pos))
            if more and len(buffer) - pos <= limits.max_record:
                buffer, pos = buffer[pos:] + more, 0
                continue
            if len(buffer) - pos > limits.max_record:
                yield line, too_long(limits)
            elif pos < len(buffer):
                yield line, Malformed(f"not JSON ({err.msg}); the rest of the array is unreadable")
            return
        except RecursionError:
            yield line, Malformed("nested too deeply to be a record")
            return
        element = value if isinstance(value, dict) else Malformed("an array element, not an object")
        yield line, element
        line += buffer.count("\n", pos, end)
        pos = end
        if counter.count > limits.budget:
            counter.cut = True
            return


class _LineTooLong(Exception):
    def __init__(self, number: int) -> None:
        super().__init__(number)
        self.number = number


def _csv_lines(counter: CountingReader, limits: Limits) -> Iterator[str]:
    for number, line in lines(counter, limits):
        if line is None:
            raise _LineTooLong(number)
        yield line.decode("utf-8", errors="replace") + "\n"


def csv_header(counter: CountingReader, limits: Limits) -> list[str] | Malformed:
    """The first row of a CSV file (empty for an empty file)."""
    _allow_long_fields(limits)
    try:
        return next(csv.reader(_csv_lines(counter, limits)), [])
    except _LineTooLong:
        return too_long(limits)
    except csv.Error as err:
        return Malformed(f"not CSV ({err})")


def _allow_long_fields(limits: Limits) -> None:
    """The csv module's default field limit (128 KB) is below a long document; ours is the
    record's (the module has one limit for the process: it is only ever raised)."""
    csv.field_size_limit(max(csv.field_size_limit(), limits.max_record))


def csv_records(counter: CountingReader, limits: Limits) -> Iterator[Item]:
    _allow_long_fields(limits)
    reader = csv.DictReader(_csv_lines(counter, limits))
    start = 2  # line 1 is the header
    while True:
        try:
            row = next(reader)
        except StopIteration:
            return
        except _LineTooLong as err:
            yield err.number, too_long(limits)
            return
        except csv.Error as err:
            yield start, Malformed(f"not CSV ({err})")
            return
        width = len(reader.fieldnames or [])
        extra = len(row.pop(None, None) or [])  # type: ignore[call-overload,unused-ignore]
        missing = sum(value is None for value in row.values())
        if extra or missing:
            yield start, Malformed(f"{width + extra - missing} fields, the header has {width}")
        else:
            yield start, dict(row)
        start = reader.line_num + 1


def parquet_records(counter: CountingReader, limits: Limits) -> Iterator[Item]:
    """The rows of the first row group, one at a time, after its size was checked."""
    pq = _pyarrow_parquet()
    _check_footer(counter)
    try:
        # No pre-buffering, a small read buffer: pages are fetched as the rows are taken.
        parquet = pq.ParquetFile(counter, pre_buffer=False, buffer_size=CHUNK_BYTES)
    except Exception as err:
        raise WizardError(f"cannot read the Parquet file: {err}", "is it a Parquet file?") from None
    metadata = parquet.metadata
    if metadata.num_row_groups == 0:
        return
    group = metadata.row_group(0)
    size = sum(group.column(i).total_uncompressed_size for i in range(group.num_columns))
    if size > limits.max_row_group:
        counter.cut = True
        yield 1, Malformed(f"its first row group holds {mib(size)} uncompressed, more than the "
                           f"{mib(limits.max_row_group)} read to look at it")  # fmt: skip
        return
    counter.cut = metadata.num_row_groups > 1
    number, taken = 0, 0
    for batch in parquet.iter_batches(batch_size=1, row_groups=[0]):
        for row in batch.to_pylist():
            number += 1
            yield number, row
            taken += text_chars(row)  # a dictionary value may repeat in every row
        if taken > limits.budget:
            counter.cut = True
            return


def text_chars(value: Any) -> int:
    """Characters of text anywhere in a record (walked without recursion: records nest)."""
    total, stack = 0, [value]
    while stack:
        node = stack.pop()
        if isinstance(node, (str, bytes)):
            total += len(node)
        elif isinstance(node, dict):
            stack.extend(node.values())
        elif isinstance(node, list):
            stack.extend(node)
    return total


def _pyarrow_parquet() -> Any:
    try:
        import pyarrow.parquet as pq  # type: ignore[import-untyped,unused-ignore]
    except ImportError:
        raise WizardError(
            "reading a Parquet file needs pyarrow, which is not installed",
            "pip install pyarrow (Axolotl installs it), or convert the file to JSONL",
        ) from None
    return pq


def _check_footer(counter: CountingReader) -> None:
    """The footer (the file's metadata) is read whole by pyarrow: its length is the 4 bytes
    before the closing magic, checked here first."""
    end = counter.seek(0, io.SEEK_END)
    counter.seek(max(0, end - 8))
    tail = counter.read(8) or b""
    counter.seek(0)
    if len(tail) == 8 and tail[4:] == b"PAR1":
        footer = int.from_bytes(tail[:4], "little")
        if footer > MAX_PARQUET_FOOTER:
            raise WizardError(
                f"the Parquet file's metadata claims {mib(footer)}, more than the "
                f"{mib(MAX_PARQUET_FOOTER)} any real file needs",
                "is it a Parquet file? write it again with pyarrow or pandas",
            )
