"""Shared by the hostile tests: the real command, bounded in time, and its one-line verdict."""

from __future__ import annotations

import json
import os
import resource
import subprocess
import sys
from pathlib import Path

import pytest

HOSTILE_TIMEOUT = 20  # seconds: every attack is answered well within this


def wizard(
    cwd: Path,
    *args: str,
    env: dict[str, str] | None = None,
    timeout: float = HOSTILE_TIMEOUT,
    memory_cap: int | None = None,
) -> subprocess.CompletedProcess[str]:
    """The real command; `memory_cap` bytes of address space, when given, fail it past them."""

    def cap() -> None:
        if memory_cap is not None:
            resource.setrlimit(resource.RLIMIT_AS, (memory_cap, memory_cap))

    return subprocess.run(
        [sys.executable, "-m", "wizard", *args],
        cwd=cwd,
        env={**os.environ, **(env or {})},
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
        preexec_fn=cap,
    )


def one_line_error(done: subprocess.CompletedProcess[str], *needles: str) -> str:
    """Exit 1, one `error:` line (and at most a hint), no traceback; the error line returned."""
    err = done.stderr
    assert done.returncode == 1, f"exit {done.returncode}: {err[-2000:]}"
    assert "Traceback" not in err and "unexpected" not in err, err[-2000:]
    errors = [line for line in err.splitlines() if line.startswith("error: ")]
    assert len(errors) == 1, err[-2000:]
    for needle in needles:
        assert needle in errors[0], errors[0]
    return errors[0]


def tiny_project(root: Path) -> Path:
    """What the tiny-cpu preset points at: a model folder (config only) and an alpaca file."""
    model = root / "tiny-llama"
    model.mkdir(parents=True)
    (model / "config.json").write_text(json.dumps({"model_type": "llama"}))
    (model / "model.safetensors").write_bytes(b"\0" * 4096)
    data = root / "tiny-data"
    data.mkdir()
    rows = [{"instruction": f"say {i}", "input": "", "output": str(i)} for i in range(20)]
    (data / "alpaca.jsonl").write_text("".join(json.dumps(r) + "\n" for r in rows))
    return root


@pytest.fixture
def project(tmp_path: Path) -> Path:
    return tiny_project(tmp_path)


def new_tiny(cwd: Path, name: str = "run", *extra: str) -> subprocess.CompletedProcess[str]:
    return wizard(cwd, "new", name, "--preset", "tiny-cpu", *extra, "--yes")
