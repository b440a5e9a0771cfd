"""The follow-up verbs (merge, chat, evaluate, export) on hostile input: a launch manifest that is
huge, not JSON or a pipe; a prompt full of shell and terminal characters; a Hub repository
that is a shell command."""

from __future__ import annotations

import os
import sys
from pathlib import Path

import pytest
from conftest import run_wizard
from tiny_fixtures import new_run, tiny_root, workspace

from wizard.after.commands import reading
from wizard.launch.child import run_child
from wizard.launch.command import LaunchCommand

__all__ = ["tiny_root"]

NEWEST = "20991231T235959Z-node0"  # sorts after any real launch folder


def _refused(cwd: Path, run: str) -> str:
    done = run_wizard("chat", run, "--prompt", "hi", cwd=cwd, timeout=60)
    assert done.returncode == 1, done.stderr
    assert "Traceback" not in done.stderr
    return done.stderr


@pytest.mark.parametrize("kind", ["huge", "not-json", "fifo"])
def test_a_hostile_manifest_is_one_line(tiny_root: Path, tmp_path: Path, kind: str) -> None:
    cwd = workspace(tiny_root, tmp_path)
    run_dir = new_run(cwd, "lora")
    folder = run_dir / "launches" / NEWEST
    folder.mkdir(parents=True)
    manifest = folder / "manifest.json"
    if kind == "huge":
        with manifest.open("wb") as sink:
            sink.truncate(10 * 2**30)  # 10 GiB that claims to be a manifest (sparse)
    elif kind == "not-json":
        manifest.write_text('{"outcome": "finished"' + "[" * 100_000)
    else:
        os.mkfifo(manifest)  # reading it would wait for a writer forever
    stderr = _refused(cwd, "lora")
    assert str(manifest) in stderr


def test_the_prompt_reaches_the_child_as_bytes_never_through_a_shell(tmp_path: Path) -> None:
    prompt = "$(touch pwned) `touch pwned2`; \x1b]0;title\x07 ' \" \\ \n### Input:\n\u202e"
    (tmp_path / "prompt.txt").write_text(prompt)
    echo = LaunchCommand([sys.executable, "-c", "import sys; print(ascii(sys.stdin.read()))"])
    ended = run_child(reading(echo, "prompt.txt"), tmp_path, tmp_path / "log", None)
    assert ended.code == 0
    assert ended.tail.strip() == ascii(prompt)
    assert not (tmp_path / "pwned").exists() and not (tmp_path / "pwned2").exists()


def test_a_repository_that_is_a_shell_command_is_refused(tiny_root: Path, tmp_path: Path) -> None:
    cwd = workspace(tiny_root, tmp_path)
    new_run(cwd, "lora")
    for repo in ("$(touch pwned)", "me/../../x", "me/x;id", "a/b/c", "-rf"):
        done = run_wizard("export", "lora", f"--push-to-hub={repo}", "--dry-run", cwd=cwd)
        assert done.returncode == 2, (repo, done.stderr)
        assert "a Hub repository is NAME or OWNER/NAME" in done.stderr
    assert not (cwd / "pwned").exists()
    assert not (cwd / "lora" / "launches").exists()
