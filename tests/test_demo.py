"""`axolotl-wizard demo` in a fresh folder: builds, writes, launches, summarises (proof 1)."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from conftest import run_wizard
from tiny_fixtures import TRAIN_TIMEOUT, tail

pytestmark = pytest.mark.integration


def test_demo_trains_from_nothing(tmp_path: Path) -> None:
    done = run_wizard("demo", "demo", cwd=tmp_path, timeout=TRAIN_TIMEOUT)

    assert done.returncode == 0, tail(done)
    out = done.stdout
    for stage in ("[1/3] building", "[2/3] writing the tiny-cpu run folder", "[3/3] launching",
                  "step 1/8  loss", "Done in"):
        assert stage in out, out
    weights = tmp_path / "demo" / "run-1" / "outputs" / "adapter_model.safetensors"
    assert weights.stat().st_size > 0
    assert f"weights:  {weights.parent}/ (adapter_model.safetensors)" in out
    assert re.search(r"loss: +\d+\.\d+ -> \d+\.\d+ over 8 steps", out), out
    assert (tmp_path / "demo" / "run-1" / "wizard-answers.yml").is_file()
    assert list((tmp_path / "demo" / "run-1" / "launches").glob("*/manifest.json"))
