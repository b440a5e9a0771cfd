"""Shared test helpers: run the real command in a subprocess, offline."""

from __future__ import annotations

import importlib.util
import os
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path
from types import ModuleType

import pytest

REPO = Path(__file__).resolve().parent.parent
TESTS = REPO / "tests"  # test data lives in tests/data and tests/golden

# Nothing may reach the Hugging Face Hub or phone home from the tests.
os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("HF_DATASETS_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
os.environ.setdefault("AXOLOTL_DO_NOT_TRACK", "1")
os.environ.setdefault("WANDB_MODE", "disabled")
os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")

CliRunner = Callable[..., subprocess.CompletedProcess[str]]


def bench_module(name: str) -> ModuleType:
    """A script of bench/ loaded as a module (bench/ is not a package), once per session."""
    if name in sys.modules:
        return sys.modules[name]
    spec = importlib.util.spec_from_file_location(name, REPO / "bench" / f"{name}.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module
    spec.loader.exec_module(module)
    return module


def run_wizard(
    *args: str,
    cwd: Path | None = None,
    env: dict[str, str] | None = None,
    input: str | None = None,
    timeout: float = 120,
) -> subprocess.CompletedProcess[str]:
    """Run `python -m wizard ARGS` as a user would, capturing output."""
    full_env = {**os.environ, **(env or {})}
    return subprocess.run(
        [sys.executable, "-m", "wizard", *args],
        cwd=cwd,
        env=full_env,
        input=input,
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
    )


@pytest.fixture
def wizard_cli() -> CliRunner:
    return run_wizard


@pytest.fixture(autouse=True, scope="session")
def calibration_in_tmp(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A launch that measures GPU memory appends to $XDG_DATA_HOME/axolotl-wizard/: in tests,
    never the user's (the children the tests start inherit it)."""
    folder = tmp_path_factory.mktemp("xdg-data")
    os.environ["XDG_DATA_HOME"] = str(folder)
    return folder
