"""Shared by the launch/demo/training tests: the tiny model built once per session, run folders
made with the real `new`, and launches through the real command."""

from __future__ import annotations

import json
import os
import shutil
import socket
import subprocess
import sys
from pathlib import Path

import pytest
from conftest import run_wizard

TRAIN_TIMEOUT = 300
# Two chat records (ChatML on the tiny Llama masks each `<|im_end|>` of the answers: preview's
# end-of-turn error), shared by the preview and launch tests.
CONVERSATIONS = [
    {"messages": [{"role": "system", "content": "Be brief."},
                  {"role": "user", "content": "Add 2 + 3"},
                  {"role": "assistant", "content": "5"}]},
    {"messages": [{"role": "user", "content": "Reverse: apple river"},
                  {"role": "assistant", "content": "river apple"},
                  {"role": "user", "content": "Add 1 + 1"},
                  {"role": "assistant", "content": "12"}]},
]  # fmt: skip


@pytest.fixture(scope="session")
def tiny_root(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A folder holding tiny-llama/ and tiny-data/alpaca.jsonl (as the tiny-cpu preset expects),
    built by the real wizard.tiny in a child process. Once per session: every module that
    imports this fixture gets the same folder, and wizard.tiny reuses a complete build."""
    root = tmp_path_factory.getbasetemp() / "tiny-shared"
    done = subprocess.run(
        [sys.executable, "-m", "wizard.tiny", str(root)],
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    assert done.returncode == 0, done.stderr[-3000:]
    return root


def workspace(tiny_root: Path, tmp_path: Path) -> Path:
    """A fresh folder with links to the tiny assets, so each test has its own run folders."""
    for name in ("tiny-llama", "tiny-data"):
        (tmp_path / name).symlink_to(tiny_root / name)
    return tmp_path


def new_run(cwd: Path, name: str, *sets: str) -> Path:
    args = ["new", name, "--preset", "tiny-cpu", "--yes"]
    for item in sets:
        args += ["--set", item]
    done = run_wizard(*args, cwd=cwd)
    assert done.returncode == 0, done.stderr
    return cwd / name


def launch(
    cwd: Path,
    *args: str,
    env: dict[str, str] | None = None,
    timeout: float = TRAIN_TIMEOUT,
    data_checks: bool = False,
) -> subprocess.CompletedProcess[str]:
    """`launch` as a user runs it. The preview's data checks (a child that imports Axolotl,
    about 10 s) only where a test asks for them: tests/launch/test_launch_data_checks.py proves
    them, and the tiny data passes them."""
    checks = () if data_checks else ("--no-data-checks",)
    return run_wizard("launch", *checks, *args, cwd=cwd, env=env, timeout=timeout)


def manifest(run_dir: Path) -> dict[str, object]:
    found = sorted(run_dir.glob("launches/*/manifest.json"))
    assert found, f"no manifest under {run_dir / 'launches'}"
    data: dict[str, object] = json.loads(found[-1].read_text())
    return data


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def tail(done: subprocess.CompletedProcess[str]) -> str:
    return done.stdout[-4000:] + "\n--- stderr ---\n" + done.stderr[-4000:]


def bin_dir(tmp_path: Path, scripts: dict[str, str]) -> Path:
    """A folder of small executables to put first on PATH (stand-ins for cluster tools)."""
    folder = tmp_path / "bin"
    folder.mkdir(exist_ok=True)
    for name, body in scripts.items():
        path = folder / name
        path.write_text("#!/bin/bash\n" + body + "\n")
        path.chmod(0o755)
    return folder


def path_without(tool: str) -> str:
    """PATH with every folder that holds `tool` left out."""
    keep = [
        p
        for p in os.environ.get("PATH", "").split(os.pathsep)
        if p and not (Path(p) / tool).exists()
    ]
    venv_bin = str(Path(sys.executable).parent)
    return os.pathsep.join([venv_bin, *keep]) if shutil.which("bash") else venv_bin
