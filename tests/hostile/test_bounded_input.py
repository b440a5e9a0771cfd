"""Files and values built to crash or exhaust the reader: deep nesting, alias bombs, special files,
non-finite numbers. Each is refused in one line, quickly, by every verb that reads it."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest
from helpers import new_tiny, one_line_error, project, wizard

__all__ = ["project"]

DEEP_LEVELS = 30_000  # segfaulted libyaml's C loader (exit 139) before the limit
MIDDLE_LEVELS = 5_000  # gave `unexpected RecursionError`
# 827 bytes that expand to a billion values when walked (each level repeats the one before).
LAUGHS = "a: &a [x, x, x, x, x, x, x, x, x, x]\n" + "".join(
    f"{k}: &{k} [{', '.join([f'*{p}'] * 10)}]\n"
    for p, k in zip("abcdefgh", "bcdefghi", strict=True)
)


def deep_yaml(levels: int) -> str:
    return "name: deep\nanswers:\n  model:\n    base_model: " + "[" * levels + "]" * levels + "\n"


def deep_block(levels: int) -> str:
    """Block style: two bytes a level (`- - - …`), the densest nesting YAML allows."""
    return "base_model: m\ndatasets:\n" + "- " * levels + "x\n"


def test_deep_nesting_is_refused_by_every_reader(project: Path) -> None:
    team = project / "team"
    team.mkdir()
    for levels in (DEEP_LEVELS, MIDDLE_LEVELS):
        (team / "deep.yml").write_text(deep_yaml(levels))
        (project / "deep.yml").write_text(deep_block(levels))
        env = {"AXOLOTL_WIZARD_PRESETS": str(team)}
        listed = wizard(project, "presets", "list", env=env)
        assert listed.returncode == 0 and "BROKEN" in listed.stdout
        assert "nested more than 64 levels" in listed.stdout and "tiny-cpu" in listed.stdout
        one_line_error(wizard(project, "presets", "show", "team:deep", env=env), "nested more")
        one_line_error(wizard(project, "new", "r", "--preset", "deep", "--yes", env=env))
        assert wizard(project, "presets", "check", str(team)).returncode == 1
        for verb in ("check", "estimate"):
            one_line_error(wizard(project, verb, "deep.yml"), "nested more than 64 levels")
        one_line_error(wizard(project, "launch", "deep.yml", "--dry-run"), "nested more")
        one_line_error(wizard(project, "new", "r", "--from", "deep.yml", "--yes"), "nested more")
        assert not (project / "r").exists()


def test_deep_answers_file_and_set_value_are_refused(project: Path) -> None:
    assert new_tiny(project).returncode == 0
    answers = (project / "run" / "wizard-answers.yml").read_text()
    deep = answers.replace("axolotl: {}", "axolotl:\n  x: " + "[" * DEEP_LEVELS + "]" * DEEP_LEVELS)
    (project / "deep-answers.yml").write_text(deep)
    one_line_error(
        wizard(project, "new", "again", "--answers", "deep-answers.yml", "--yes"),
        "nested more than 64 levels",
    )
    value = "[" * DEEP_LEVELS + "]" * DEEP_LEVELS
    one_line_error(new_tiny(project, "other", "--set", f"axolotl.x={value}"), "nested more")
    assert not (project / "again").exists() and not (project / "other").exists()


def test_alias_bombs_are_refused_before_they_expand(project: Path) -> None:
    assert len(LAUGHS.encode()) < 1024
    assert new_tiny(project).returncode == 0
    answers = (project / "run" / "wizard-answers.yml").read_text()
    (project / "bomb-answers.yml").write_text(
        answers.replace("axolotl: {}", "axolotl:\n  " + LAUGHS.replace("\n", "\n  "))
    )
    (project / "bomb.yml").write_text("base_model: m\n" + LAUGHS)
    expands = "expands to more than 100,000 values"
    one_line_error(wizard(project, "new", "b", "--answers", "bomb-answers.yml", "--yes"), expands)
    one_line_error(
        wizard(project, "presets", "save", "b", "--from", "bomb-answers.yml", "--to", "team"),
        expands,
    )
    one_line_error(wizard(project, "check", "bomb.yml"), expands)
    one_line_error(wizard(project, "estimate", "bomb.yml"), expands)
    one_line_error(wizard(project, "new", "b", "--from", "bomb.yml", "--yes"), expands)
    one_line_error(
        wizard(project, "presets", "save", "b", "--from", "bomb.yml", "--to", "team"), expands
    )
    inline = "{" + LAUGHS.strip().replace("\n", ", ") + "}"
    one_line_error(new_tiny(project, "s", "--set", f"axolotl.x={inline}"), expands)
    assert not (project / "team").exists() and not (project / "b").exists()


def test_special_files_are_not_read(project: Path) -> None:
    one_line_error(wizard(project, "check", "/dev/zero"), "not a regular file")
    fifo = project / "pipe.yml"
    os.mkfifo(fifo)
    for verb in ("check", "estimate"):
        one_line_error(wizard(project, verb, str(fifo)), "not a regular file")
    one_line_error(wizard(project, "launch", str(fifo), "--dry-run"), "not a regular file")
    for source in ("/dev/zero", str(fifo)):
        one_line_error(wizard(project, "new", "r", "--from", source, "--yes"), "not a regular")
    team = project / "team"
    team.mkdir()
    os.mkfifo(team / "hangs.yml")
    listed = wizard(project, "presets", "list", env={"AXOLOTL_WIZARD_PRESETS": str(team)})
    assert listed.returncode == 0, listed.stderr
    assert "team:hangs" in listed.stdout and "BROKEN" in listed.stdout


def test_a_folder_where_a_file_is_asked_for_is_named(project: Path) -> None:
    folder = project / "configs"
    folder.mkdir()
    one_line_error(wizard(project, "check", "configs"), "config configs is a folder, not a file")
    one_line_error(wizard(project, "new", "r", "--from", "configs", "--yes"), "is a folder")
    one_line_error(wizard(project, "new", "r", "--answers", "configs", "--yes"), "is a folder")
    assert not (project / "r").exists()


def test_nan_and_infinity_in_a_deepspeed_json_name_the_key_and_line(project: Path) -> None:
    (project / "ds").mkdir()
    (project / "ds" / "zero2.json").write_text(
        '{\n  "zero_optimization": {\n    "stage": 2,\n    "reduce_bucket_size": Infinity\n  },\n'
        '  "gradient_clipping": NaN\n}\n'
    )
    (project / "cfg.yml").write_text(
        "base_model: meta-llama/Llama-3.1-8B\nlearning_rate: 0.00001\ndeepspeed: ds/zero2.json\n"
        "datasets:\n  - {path: org/d, type: alpaca}\n"
    )
    checked = wizard(project, "check", "cfg.yml", "--json")
    assert checked.returncode == 1
    found = [
        f for f in json.loads(checked.stdout)["findings"] if f["code"] == "deepspeed-not-finite"
    ]
    assert {(f["key"], f["line"]) for f in found} == {
        ("zero_optimization.reduce_bucket_size", 4),
        ("gradient_clipping", 6),
    }
    one_line_error(wizard(project, "estimate", "cfg.yml"), "is Infinity", "reduce_bucket_size")


def test_a_broken_team_preset_never_breaks_the_interview(
    project: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from wizard.interview.start import preset_choices

    team = project / "team"
    team.mkdir()
    (team / "deep.yml").write_text(deep_yaml(DEEP_LEVELS))
    (team / "bomb.yml").write_text("name: bomb\n" + LAUGHS)
    (team / "good.yml").write_text("name: good\nextends: [builtin:tiny-cpu]\n")
    monkeypatch.setenv("AXOLOTL_WIZARD_PRESETS", str(team))
    values = [choice.value for choice in preset_choices()]
    assert "good" in values and "tiny-cpu" in values
    assert "deep" not in values and "bomb" not in values
