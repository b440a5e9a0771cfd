"""The console script's life cycle: a quick verb leaves by `os._exit` once its output is flushed,
with the collector off; only the verb named is built; what a user sees does not change."""

from __future__ import annotations

import gc
import os
import subprocess
import sys
from pathlib import Path

import pytest
from conftest import run_wizard

from wizard import cli

QLORA = ("--preset", "llama-3.1-8b-qlora", "--set", "datasets.0.path=data/train.jsonl")


def test_only_the_verb_named_is_built() -> None:
    assert cli.verbs_to_build(["new", "runs/a", "--yes"]) == ("new",)
    assert cli.verbs_to_build(["--debug", "check", "a.yml"]) == ("check",)
    assert cli.verbs_to_build(["--help"]) == cli.VERBS
    assert cli.verbs_to_build(["nwe"]) == cli.VERBS  # argparse's error lists every verb
    assert cli.verbs_to_build([]) == cli.VERBS


def test_a_misspelt_verb_is_told_the_verbs_there_are() -> None:
    done = run_wizard("nwe")
    assert done.returncode == 2
    assert "invalid choice: 'nwe'" in done.stderr
    for verb in cli.VERBS:
        assert verb in done.stderr


def test_the_help_of_one_verb_is_that_verb_s(tmp_path: Path) -> None:
    done = run_wizard("estimate", "--help", cwd=tmp_path)
    assert done.returncode == 0 and "usage: axolotl-wizard estimate" in done.stdout


@pytest.mark.parametrize(
    ("argv", "quick"),
    [
        (["new", "r", "--yes"], True),
        (["new", "r"], False),  # the interview: a person takes minutes
        (["check", "a.yml"], True),
        (["estimate", "r"], True),
        (["presets", "list"], True),
        (["launch", "r"], False),
        (["demo"], False),
    ],
)
def test_which_runs_are_quick(argv: list[str], quick: bool) -> None:
    args = cli.build_parser(argv).parse_args(argv)
    assert cli.is_quick(args) is quick


def test_quick_exit_flushes_everything_and_keeps_the_exit_code(tmp_path: Path) -> None:
    done = run_wizard("new", "run", *QLORA, "--yes", cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    assert done.stdout.rstrip().endswith("axolotl-wizard launch run")  # the last line arrived
    assert (tmp_path / "run" / "axolotl.yml").is_file()
    refused = run_wizard("new", "run", *QLORA, "--yes", cwd=tmp_path)
    assert refused.returncode == 1
    assert refused.stderr.startswith("error: ") and "--force" in refused.stderr


def test_a_reader_that_goes_away_is_no_traceback(tmp_path: Path) -> None:
    """`new ... --yes | head -0`: the reader is gone before anything is written, and what `new`
    prints waits in stdout's buffer, so the flush on the way out meets a closed pipe."""
    wizard = subprocess.Popen(
        [sys.executable, "-m", "wizard", "new", "run", *QLORA, "--yes"],
        cwd=tmp_path,
        env={k: v for k, v in os.environ.items() if k != "PYTHONUNBUFFERED"},
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
    )
    assert wizard.stdout is not None and wizard.stderr is not None
    wizard.stdout.close()
    stderr = wizard.stderr.read().decode()
    assert wizard.wait(timeout=60) == 1
    assert "Traceback" not in stderr and "Exception ignored" not in stderr


def test_the_collector_is_back_on_for_a_long_run(monkeypatch: pytest.MonkeyPatch) -> None:
    """A run that is not quick gets the usual life cycle: collector on, normal exit."""
    monkeypatch.setattr(sys, "argv", ["axolotl-wizard", "presets"])
    monkeypatch.setattr(cli, "QUICK_VERBS", ())
    exits: list[int] = []
    monkeypatch.setattr(os, "_exit", exits.append)
    was_enabled = gc.isenabled()
    try:
        with pytest.raises(SystemExit) as stopped:
            cli.entry()
        assert gc.isenabled()
    finally:
        gc.enable() if was_enabled else gc.disable()
    assert stopped.value.code == 0 and exits == []
