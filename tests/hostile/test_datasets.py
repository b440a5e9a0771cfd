"""Hostile dataset files, read by `new` (the sniff of its records) and by launch's preflight (does
it parse): a 10 GB first line, a 20 MB one, JSON nested a million deep, CSV fields of hundreds of
kilobytes, a Parquet file that expands a thousandfold, a 3 GB trainer_state.json, pipes and
devices. Each is one clear line, read within a bounded number of bytes.

The readers' memory is held to a limit (RLIMIT_AS) in a child process, so a reader that tries to
hold the whole file fails there, not the machine running the tests."""

from __future__ import annotations

import json
import os
import resource
import subprocess
import sys
from pathlib import Path

import pytest
from helpers import HOSTILE_TIMEOUT, new_tiny, one_line_error, project, wizard

__all__ = ["project"]

MEMORY_LIMIT = 2 * 1024**3  # address space of the child that reads


def limited_memory() -> None:
    resource.setrlimit(resource.RLIMIT_AS, (MEMORY_LIMIT, MEMORY_LIMIT))


def bounded(cwd: Path, *args: str) -> subprocess.CompletedProcess[str]:
    """The real command, in at most MEMORY_LIMIT of address space."""
    return subprocess.run([sys.executable, "-m", "wizard", *args], cwd=cwd, capture_output=True,
                          text=True, timeout=HOSTILE_TIMEOUT, preexec_fn=limited_memory,
                          check=False)  # fmt: skip


def preflight_verdict(cwd: Path, path: str) -> str | None:
    """launch's dataset check of `path`, in a child process held to MEMORY_LIMIT."""
    code = ("import sys; from pathlib import Path; from wizard.launch.datacheck import "
            "parse_problem; print(parse_problem(Path(sys.argv[1])))")  # fmt: skip
    done = subprocess.run([sys.executable, "-c", code, path], cwd=cwd, capture_output=True,
                          text=True, timeout=HOSTILE_TIMEOUT, preexec_fn=limited_memory,
                          check=False)  # fmt: skip
    assert done.returncode == 0, done.stderr[-2000:]
    verdict = done.stdout.strip()
    return None if verdict == "None" else verdict


def new_with(cwd: Path, path: str, *extra: str) -> subprocess.CompletedProcess[str]:
    return bounded(cwd, "new", "r", "--preset", "tiny-cpu", "--set", f"datasets.0.path={path}",
                   *extra, "--force", "--yes")  # fmt: skip


def warnings(done: subprocess.CompletedProcess[str]) -> list[str]:
    assert done.returncode == 0, done.stderr[-2000:]
    assert "Traceback" not in done.stderr and "unexpected" not in done.stderr, done.stderr
    return [line for line in done.stderr.splitlines() if line.startswith("warning: ")]


def test_a_10_gb_first_line_is_never_read_whole(project: Path) -> None:
    big = project / "big.jsonl"
    with big.open("wb") as handle:
        handle.truncate(10 * 1024**3)  # sparse: ten gigabytes of NUL bytes that take no disk
    (found,) = [w for w in warnings(new_with(project, "big.jsonl")) if "big.jsonl" in w]
    assert "line 1: longer than 4 MiB" in found, found
    verdict = preflight_verdict(project, "big.jsonl")
    assert verdict is not None and "line 1 is longer than 64 MiB" in verdict, verdict


def test_a_long_first_line_is_read_only_to_the_sniff_limit(project: Path) -> None:
    from wizard.interview.sniff import MAX_BYTES, sniff

    long_line = project / "long.jsonl"
    long_line.write_text(json.dumps({"text": "x" * 20_000_000}) + "\n" + '{"text": "y"}\n')
    report = sniff(long_line)
    assert report.bytes_read <= MAX_BYTES + 256 * 1024, report.bytes_read
    assert report.malformed.first_line == 1 and "longer than" in report.malformed.reason
    assert preflight_verdict(project, "long.jsonl") is None  # 20 MB: a record, if a long one


def test_json_nested_a_million_deep_is_one_line(project: Path) -> None:
    (project / "deep.json").write_text("[" * 1_000_000 + "]" * 1_000_000)
    (project / "deep.jsonl").write_text("[" * 1_000_000 + "]" * 1_000_000 + "\n")
    for name in ("deep.json", "deep.jsonl"):
        (found,) = [w for w in warnings(new_with(project, name)) if name in w]
        assert "nested too deeply" in found, found
        verdict = preflight_verdict(project, name)
        assert verdict is not None and "nested too deeply" in verdict, verdict


def test_long_csv_fields_are_read_as_records(project: Path) -> None:
    field = "w" * 300_000
    (project / "wide.csv").write_text(f"text\n{field}\n{field}\n")
    (project / "wide-header.csv").write_text(f"{field}\nx\n")
    done = new_with(project, "wide.csv", "--set", "datasets.0.format=completion")
    assert not [w for w in warnings(done) if "wide.csv" in w]
    assert preflight_verdict(project, "wide.csv") is None
    assert preflight_verdict(project, "wide-header.csv") is None
    (project / "huge-field.csv").write_text("text\n" + "v" * 6_000_000 + "\n")
    done = new_with(project, "huge-field.csv", "--set", "datasets.0.format=completion")
    (found,) = [w for w in warnings(done) if "huge-field.csv" in w]
    assert "line 2: longer than 4 MiB" in found, found


def test_a_parquet_file_that_expands_is_not_read(project: Path) -> None:
    pa = pytest.importorskip("pyarrow")
    import pyarrow.parquet as pq  # type: ignore[import-untyped,unused-ignore]

    from wizard.interview.sniff import sniff

    bomb = project / "bomb.parquet"
    pq.write_table(pa.table({"text": ["a" * 300_000_000]}), bomb, compression="zstd",
                   use_dictionary=False)  # fmt: skip
    assert bomb.stat().st_size < 100_000  # 300 MB of text in a few kilobytes
    report = sniff(bomb)
    assert report.records == 0 and "286 MiB uncompressed" in report.malformed.reason
    assert report.bytes_read < 100_000
    (found,) = [w for w in warnings(new_with(project, "bomb.parquet")) if "bomb.parquet" in w]
    assert "first row group holds 286 MiB" in found, found
    # A footer (the file's metadata) that claims gigabytes is refused before pyarrow reads it.
    (project / "footer.parquet").write_bytes(b"PAR1" + b"\0" * 64 + (2**31).to_bytes(4, "little")
                                             + b"PAR1")  # fmt: skip
    one_line_error(new_with(project, "footer.parquet"), "metadata claims 2,048 MiB")


def test_a_3_gb_trainer_state_is_not_read(project: Path) -> None:
    assert new_tiny(project).returncode == 0
    checkpoint = project / "run" / "outputs" / "checkpoint-4"
    checkpoint.mkdir(parents=True)
    with (checkpoint / "trainer_state.json").open("wb") as handle:
        handle.truncate(3 * 1024**3)
    code = (
        "import json\nfrom pathlib import Path\nfrom wizard.launch.checks import Preflight\n"
        "from wizard.launch.command import Layout\nfrom wizard.launch.outputs import "
        "check_output_dir\nfrom wizard.launch.target import resolve_target\n"
        "pre = Preflight(resolve_target(Path('run')), Layout(cpu=True), 'python', resume=True)\n"
        "check_output_dir(pre)\nprint(json.dumps([[p.severity, p.message] for p in pre.problems]))"
    )
    done = subprocess.run([sys.executable, "-c", code], cwd=project, capture_output=True,
                          text=True, timeout=HOSTILE_TIMEOUT, preexec_fn=limited_memory,
                          check=False)  # fmt: skip
    assert done.returncode == 0, done.stderr[-2000:]
    (problem,) = json.loads(done.stdout)
    assert problem[0] == "warning" and "trainer_state.json is 3221.2 MB" in problem[1], problem


def test_pipes_and_devices_where_a_file_is_read_are_named(project: Path) -> None:
    fifo = project / "pipe.jsonl"
    os.mkfifo(fifo)
    (project / "zero.jsonl").symlink_to("/dev/zero")
    for name in ("pipe.jsonl", "zero.jsonl"):
        (found,) = [w for w in warnings(new_with(project, name)) if name in w]
        assert "not a regular file" in found, found
    for source in (str(fifo), "/dev/zero"):
        one_line_error(wizard(project, "new", "r", "--answers", source, "--yes"), "not a regular")
    from wizard.interview.data_question import path_reason

    reason = path_reason(str(fifo), None)
    assert reason is not None and "not a regular file" in reason, reason
