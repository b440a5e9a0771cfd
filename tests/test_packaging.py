"""The wheel ships the presets and templates, and the package reads them from inside it."""

from __future__ import annotations

import subprocess
import sys
import zipfile
from pathlib import Path

from conftest import REPO


def test_wheel_contains_presets_and_templates(tmp_path: Path) -> None:
    done = subprocess.run(
        [sys.executable, "-m", "build", "--wheel", "--no-isolation", "--outdir", str(tmp_path)],
        cwd=REPO,
        capture_output=True,
        text=True,
        check=False,
    )
    assert done.returncode == 0, done.stderr[-3000:]
    wheel = next(tmp_path.glob("axolotl_wizard-*.whl"))
    names = set(zipfile.ZipFile(wheel).namelist())
    for preset in (REPO / "presets").glob("*.yml"):
        assert f"wizard/_data/presets/{preset.name}" in names
    for template in (REPO / "templates" / "deepspeed").glob("*.json"):
        assert f"wizard/_data/templates/deepspeed/{template.name}" in names
    assert "wizard/cli.py" in names and "wizard/interview/questions.yaml" in names
    assert "wizard/models/catalog.yaml" in names
    assert "wizard/axolotl/schemas/deepspeed.json" in names

    # Installed from the wheel alone (no checkout beside it), the presets are still found.
    target = tmp_path / "site"
    with zipfile.ZipFile(wheel) as archive:
        archive.extractall(target)
    probe = subprocess.run(
        [sys.executable, "-c", "from wizard.resources import presets_dir; print(presets_dir())"],
        cwd=tmp_path,
        env={"PYTHONPATH": str(target)},
        capture_output=True,
        text=True,
        check=False,
    )
    assert probe.returncode == 0, probe.stderr
    assert probe.stdout.strip().startswith(str(target))
