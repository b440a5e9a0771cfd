"""`axolotl-wizard demo` in a fresh folder: builds, writes, launches, summarises (proof 1)."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import pytest
from tiny_fixtures import TRAIN_TIMEOUT, tail

from wizard.axolotl.offline import OFFLINE_ENV

pytestmark = pytest.mark.integration


def test_demo_trains_from_nothing(tmp_path: Path) -> None:
    # As on a fresh machine: no offline or telemetry settings; the demo must bring its own.
    env = {k: v for k, v in os.environ.items() if k not in OFFLINE_ENV}
    done = subprocess.run(
        [sys.executable, "-m", "wizard", "demo", "demo"],
        cwd=tmp_path, env=env, capture_output=True, text=True, timeout=TRAIN_TIMEOUT, check=False,
    )  # fmt: skip

    assert done.returncode == 0, tail(done)
    out = done.stdout
    for stage in (
        "[1/3] building",
        "[2/3] writing the tiny-cpu run folder",
        "[3/3] launching",
        "step 1/8  loss",
        "Done in",
    ):
        assert stage in out, out
    weights = tmp_path / "demo" / "run-1" / "outputs" / "adapter_model.safetensors"
    assert weights.stat().st_size > 0
    assert f"weights:  {weights.parent}/ (adapter_model.safetensors)" in out
    assert re.search(r"loss: +\d+\.\d+ -> \d+\.\d+ over 8 steps", out), out
    assert (tmp_path / "demo" / "run-1" / "wizard-answers.yml").is_file()
    assert list((tmp_path / "demo" / "run-1" / "launches").glob("*/manifest.json"))
    log = next((tmp_path / "demo" / "run-1" / "launches").glob("*/output.log")).read_text()
    assert "posthog" not in log  # Axolotl's telemetry stayed off
