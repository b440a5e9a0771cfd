"""Atomic writes: no half-written file, nothing left behind when a later write fails."""

from __future__ import annotations

import fcntl
import os
from pathlib import Path

import pytest

from wizard import files
from wizard.errors import WizardError


def test_atomic_write_leaves_no_temp_files(tmp_path: Path) -> None:
    target = tmp_path / "deep" / "a.yml"
    files.atomic_write_text(target, "x: 1\n")
    assert target.read_text() == "x: 1\n"
    assert [p.name for p in target.parent.iterdir()] == ["a.yml"]


def test_write_all_removes_what_it_created_when_a_later_write_fails(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    real = files.atomic_write_text
    calls: list[Path] = []

    def flaky(path: Path, text: str) -> None:
        calls.append(path)
        if len(calls) == 2:
            raise OSError("disk full")
        real(path, text)

    monkeypatch.setattr(files, "atomic_write_text", flaky)
    with pytest.raises(OSError):
        files.write_all({tmp_path / "a": "1", tmp_path / "b": "2"}, force=False)
    assert not (tmp_path / "a").exists() and not (tmp_path / "b").exists()


def test_refuses_existing_files_before_writing_any(tmp_path: Path) -> None:
    (tmp_path / "b").write_text("keep")
    with pytest.raises(WizardError, match="already exist"):
        files.write_all({tmp_path / "a": "1", tmp_path / "b": "2"}, force=False)
    assert not (tmp_path / "a").exists() and (tmp_path / "b").read_text() == "keep"


def test_a_parent_lock_held_too_long_is_one_line(tmp_path: Path) -> None:
    fd = os.open(tmp_path, os.O_RDONLY)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX)
        taken = pytest.raises(WizardError, match="another axolotl-wizard has held")
        with taken, files.parent_lock(tmp_path, timeout_s=0.2):
            pass
    finally:
        os.close(fd)
