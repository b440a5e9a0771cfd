"""The wheel ships the presets and templates, and the package reads them from inside it."""

from __future__ import annotations

import subprocess
import sys
import zipfile
from pathlib import Path

from conftest import REPO

PROBE = """\
from wizard.resources import presets_dir
from wizard.yamlio import package_data
families = package_data("wizard.models", "families.yaml")["families"]
print(presets_dir(), families["llama"]["layer_class"])
"""


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
    # Every package of the source tree: hatch leaves out what .gitignore matches (a `runs/`
    # pattern once took wizard/runs/ out of the wheel).
    for module in (REPO / "wizard").rglob("*.py"):
        assert str(module.relative_to(REPO)) in names
    # The package data's JSON, converted at build time, read by `yamlio.package_data`.
    for converted in (REPO / "wizard").rglob("*.yaml"):
        if converted.with_suffix(".json").is_file():
            assert str(converted.with_suffix(".json").relative_to(REPO)) in names
    assert "wizard/axolotl/schemas/deepspeed.json" in names

    # Installed from the wheel alone (no checkout beside it), the presets are still found.
    target = tmp_path / "site"
    with zipfile.ZipFile(wheel) as archive:
        archive.extractall(target)
    probe = subprocess.run(
        [sys.executable, "-c", PROBE],
        cwd=tmp_path,
        env={"PYTHONPATH": str(target)},
        capture_output=True,
        text=True,
        check=False,
    )
    assert probe.returncode == 0, probe.stderr
    presets, families = probe.stdout.split()
    assert presets.startswith(str(target)) and families == "LlamaDecoderLayer"
