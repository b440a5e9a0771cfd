"""A preset's locked answers hold against every way around them: growing or shrinking a locked
list, adding a key under a locked section, and editing the value in an answers file that is then
replayed without the preset."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml
from helpers import one_line_error, project, wizard

__all__ = ["project"]

LOCKER = """\
name: locker
extends: builtin:tiny-cpu
answers:
  datasets:
    - {path: ./tiny-data/alpaca.jsonl, format: alpaca}
    - {path: ./tiny-data/alpaca.jsonl, format: alpaca, split: train}
  training: {seed: 1234}
locked: [datasets, method, training.seed]
"""


@pytest.fixture
def team(project: Path) -> dict[str, str]:
    folder = project / "team"
    folder.mkdir()
    (folder / "locker.yml").write_text(LOCKER)
    return {"AXOLOTL_WIZARD_PRESETS": str(folder)}


@pytest.mark.parametrize(
    ("sets", "needle"),
    [
        # a third dataset added to a locked list of two
        (["datasets.2.path=./tiny-data/alpaca.jsonl", "datasets.2.format=alpaca"], "datasets.2"),
        # the list replaced by a shorter one
        (["datasets=[{path: ./tiny-data/alpaca.jsonl, format: alpaca}]"], "datasets.1"),
        # a key the locked section did not give
        (["method.rslora=true"], "method.rslora"),
        (["training.seed=7"], "training.seed"),
    ],
)
def test_a_locked_section_can_neither_change_nor_grow(
    project: Path, team: dict[str, str], sets: list[str], needle: str
) -> None:
    args = [arg for item in sets for arg in ("--set", item)]
    refused = wizard(project, "new", "r", "--preset", "locker", *args, "--yes", env=team)
    line = one_line_error(refused, "locked by preset team:locker", needle)
    assert "--unlock" in refused.stderr, line
    assert not (project / "r").exists()
    unlocked = wizard(
        project, "new", "r", "--preset", "locker", *args, "--unlock", "--yes", env=team
    )
    assert unlocked.returncode == 0, unlocked.stderr


def _edited_answers(project: Path, team: dict[str, str], edit: str) -> Path:
    made = wizard(project, "new", "first", "--preset", "locker", "--yes", env=team)
    assert made.returncode == 0, made.stderr
    path = project / "first" / "wizard-answers.yml"
    data = yaml.safe_load(path.read_text())
    if edit == "seed":
        data["answers"]["training"]["seed"] = 7
    else:
        data["answers"]["datasets"].append(dict(data["answers"]["datasets"][0]))
    path.write_text(yaml.safe_dump(data, sort_keys=False))
    return path


@pytest.mark.parametrize("edit", ["seed", "dataset"])
def test_an_edited_answers_file_keeps_the_presets_locks(
    project: Path, team: dict[str, str], edit: str
) -> None:
    answers = str(_edited_answers(project, team, edit))
    refused = wizard(project, "new", "again", "--answers", answers, "--yes", env=team)
    one_line_error(refused, "locked by preset team:locker")
    assert "--unlock" in refused.stderr and not (project / "again").exists()
    done = wizard(project, "new", "again", "--answers", answers, "--unlock", "--yes", env=team)
    assert done.returncode == 0, done.stderr


def test_a_faithful_answers_file_replays_without_a_word(
    project: Path, team: dict[str, str]
) -> None:
    assert wizard(project, "new", "first", "--preset", "locker", "--yes", env=team).returncode == 0
    answers = str(project / "first" / "wizard-answers.yml")
    again = wizard(project, "new", "again", "--answers", answers, "--yes", env=team)
    assert again.returncode == 0 and "warning" not in again.stderr, again.stderr
    first, second = (project / name / "axolotl.yml" for name in ("first", "again"))
    assert first.read_text() == second.read_text()


def test_a_gone_or_changed_preset_is_said_in_one_line(project: Path, team: dict[str, str]) -> None:
    answers = str(_edited_answers(project, team, "seed"))
    preset = project / "team" / "locker.yml"
    preset.write_text(LOCKER.replace("seed: 1234", "seed: 7"))
    changed = wizard(project, "new", "a", "--answers", answers, "--yes", env=team)
    assert changed.returncode == 0, changed.stderr
    warnings = [line for line in changed.stderr.splitlines() if line.startswith("warning:")]
    assert len(warnings) == 1 and "locker" in warnings[0] and "changed" in warnings[0], warnings
    preset.unlink()
    gone = wizard(project, "new", "b", "--answers", answers, "--yes", env=team)
    assert gone.returncode == 0, gone.stderr
    warnings = [line for line in gone.stderr.splitlines() if line.startswith("warning:")]
    assert len(warnings) == 1 and "locker" in warnings[0] and "not found" in warnings[0], warnings
