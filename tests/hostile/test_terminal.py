"""Text from strangers on its way to a terminal: a run folder's name, a config's keys and dataset
paths, a team preset's description and family, the words of an error. Whatever they hold, what
is printed holds no control a terminal acts on (escape sequences, bidi overrides, invisible
format characters), and every command printed to paste gives back the same words, never an
option."""

from __future__ import annotations

import json
import os
import subprocess
import unicodedata
from pathlib import Path

import pytest
from helpers import new_tiny, one_line_error, project, wizard

__all__ = ["project"]

# Clear the screen, set the window title, ring the bell, a Trojan-Source override, a zero-width
# space, a line separator and a C1 control (CSI).
NASTY = "x\x1b[2J\x1b]0;pwned\x07\u202egnp.exe\u200b\u2028\x9b31m"
BIDI = {chr(c) for c in (*range(0x202A, 0x202F), *range(0x2066, 0x206A))}


def acted_on(text: str) -> list[str]:
    """The characters of `text` a terminal would act on or not show (line breaks excepted)."""
    return sorted(
        {
            ch
            for ch in text
            if ch in BIDI or (ch != "\n" and unicodedata.category(ch) in ("Cc", "Cf", "Zl", "Zp"))
        }
    )


def assert_shown_safely(done: subprocess.CompletedProcess[str]) -> None:
    assert acted_on(done.stdout) == [], done.stdout[-2000:]
    assert acted_on(done.stderr) == [], done.stderr[-2000:]


def pasted_words(line: str, cwd: Path) -> list[str]:
    """The words bash reads from a printed command, run with `printf` in its place."""
    command = line.strip().removeprefix("axolotl-wizard")
    done = subprocess.run(
        ["bash", "-c", f"printf '%s\\0' {command}"],
        cwd=cwd,
        env={**os.environ, "LC_ALL": "C.UTF-8"},  # what a terminal's shell has: $'\u…' in UTF-8
        capture_output=True,
        text=True,
        check=True,
    )
    return done.stdout.split("\0")[:-1]


@pytest.mark.parametrize("name", [f"runs/{NASTY}", "-rf", "--force", "-", "-x y"])
def test_the_run_folder_is_shown_safely_and_the_next_lines_paste_back(
    project: Path, name: str
) -> None:
    done = wizard(project, "new", "--preset", "tiny-cpu", "--yes", "--", name)
    assert done.returncode == 0, done.stderr
    assert_shown_safely(done)
    assert (project / name / "axolotl.yml").is_file()
    lines = done.stdout.split("Next:\n", 1)[1].splitlines()
    assert len(lines) == 3, lines
    for line, verb in zip(lines, ("check", "estimate", "launch"), strict=True):
        words = pasted_words(line, project)
        assert words[0] == verb and len(words) == 2, (line, words)
        assert not words[1].startswith("-"), (line, words)  # never read as an option
        target = project / words[1]
        assert (
            target.resolve()
            == (project / name / ("axolotl.yml" if verb == "check" else "")).resolve()
        )


def test_a_config_s_keys_and_dataset_paths_are_shown_safely(project: Path) -> None:
    config = project / "nasty.yml"
    config.write_text(
        json.dumps(
            {
                "base_model": "./tiny-llama",
                f"learning_rat{NASTY}": 0.1,
                "datasets": [{"path": f"./data/{NASTY}.jsonl", "type": "alpaca"}],
            }
        )
    )
    done = wizard(project, "check", "nasty.yml")
    assert done.returncode == 1, done.stderr
    assert "learning_rat" in done.stdout and "/data/x" in done.stdout
    assert_shown_safely(done)


def test_a_team_preset_s_text_is_shown_safely(project: Path) -> None:
    team = project / "team"
    team.mkdir()
    text = json.dumps(NASTY)
    (team / "nasty.yml").write_text(
        f"name: nasty\ndescription: {text}\nfamily: {text}\nextends: builtin:tiny-cpu\n"
        f"answers:\n  training: {{output_dir: {text}}}\n"
    )
    (team / "broken.yml").write_text(f"name: broken\nextends: [{text}]\n")
    env = {"AXOLOTL_WIZARD_PRESETS": str(team)}
    for args in (["list"], ["show", "nasty"], ["explain", "nasty", "training.output_dir"],
                 ["diff", "tiny-cpu", "nasty"], ["check", str(team)]):  # fmt: skip
        done = wizard(project, "presets", *args, env=env)
        assert "nasty" in done.stdout, (args, done.stderr)
        assert_shown_safely(done)
    # JSON keeps the text exactly (escaped by JSON itself, which no terminal acts on).
    listed = wizard(project, "presets", "list", "--json", env=env)
    assert_shown_safely(listed)
    rows = {row["name"]: row for row in json.loads(listed.stdout)}
    assert rows["nasty"]["description"] == NASTY and rows["nasty"]["family"] == NASTY


@pytest.mark.parametrize(
    "args",
    [
        ["new", "r", "--preset", f"team:{NASTY}", "--yes"],
        ["check", f"{NASTY}.yml"],
        ["estimate", NASTY],
        ["new", "r", "--preset", "tiny-cpu", "--set", f"training.{NASTY}=1", "--yes"],
        ["check", "a.yml", "--gpus", NASTY],  # argparse's own error
        ["presets", "show", f"x{NASTY}"],
        ["launch", NASTY, "--dry-run"],
    ],
)
def test_errors_quote_what_they_were_given_safely(project: Path, args: list[str]) -> None:
    done = wizard(project, *args)
    assert done.returncode in (1, 2), done.stderr
    assert_shown_safely(done)
    if done.returncode == 1:
        one_line_error(done)


def test_a_dataset_path_in_new_s_warnings_is_shown_safely(project: Path) -> None:
    done = new_tiny(project, "r", "--set", f"datasets.0.path=./data/{NASTY}.jsonl")
    assert_shown_safely(done)
